/**
 * The prolog/epilog log: one line per event, appended to a root-only file
 * (`<dir>/aimeter-slurm.log` by default). slurmd shows the hooks' output to
 * nobody, so this file is where an admin looks. Logging never throws.
 */

export class HookLog {
  #enc = new TextEncoder();
  /** `file` undefined: stderr; null: nowhere. */
  constructor(readonly file: string | undefined | null, readonly prefix: string) {}

  write(level: "info" | "warn" | "error", msg: string): void {
    if (this.file === null) return;
    const line = `${new Date().toISOString()} ${level} ${this.prefix}: ${msg}\n`;
    if (this.file === undefined) {
      try {
        Deno.stderr.writeSync(this.#enc.encode(line));
      } catch { /* nowhere to write */ }
      return;
    }
    try {
      // create it root-only; never chmod a file that exists (it may be /dev/null)
      let f: Deno.FsFile;
      try {
        f = Deno.openSync(this.file, { createNew: true, write: true, mode: 0o600 });
      } catch {
        f = Deno.openSync(this.file, { append: true });
      }
      try {
        f.writeSync(this.#enc.encode(line));
      } finally {
        f.close();
      }
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
