/** A mistake in how aimeter was called: one line on stderr, exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
}

/** Thrown by a command action to end with a given exit code (e.g. the wrapped command's). */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
