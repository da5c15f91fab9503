/**
 * The prolog/epilog log: one line per event, appended to a root-only file
 * (`<dir>/aimeter-slurm.log` by default). slurmd shows the hooks' output to
 * nobody, so this file is where an admin looks. Logging never throws.
 */

export class HookLog {
  #enc = new TextEncoder();
  constructor(readonly file: string | undefined, readonly prefix: string) {}

  write(level: "info" | "warn" | "error", msg: string): void {
    const line = `${new Date().toISOString()} ${level} ${this.prefix}: ${msg}\n`;
    if (!this.file) {
      try {
        Deno.stderr.writeSync(this.#enc.encode(line));
      } catch { /* nowhere to write */ }
      return;
    }
    try {
      Deno.writeFileSync(this.file, this.#enc.encode(line), { append: true, mode: 0o600 });
    } catch {
      try {
        Deno.stderr.writeSync(this.#enc.encode(line));
      } catch { /* nowhere to write */ }
    }
  }
  info(msg: string) {
    this.write("info", msg);
  }
  warn(msg: string) {
    this.write("warn", msg);
  }
  error(msg: string) {
    this.write("error", msg);
  }
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
