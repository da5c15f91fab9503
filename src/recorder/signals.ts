/** Signal names and numbers (Linux x86_64/aarch64), for 128+N exit codes. */
export const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGXCPU: 24,
};

/** The shell's exit code for a child that ended by a signal: 128 + N. */
export function signalExitCode(signal: string | null | undefined): number {
  return 128 + (signal ? SIGNAL_NUMBERS[signal] ?? 0 : 0);
}
