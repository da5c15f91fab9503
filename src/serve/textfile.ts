/**
 * `--textfile PATH`: the same metrics, in the Prometheus text format, for
 * node_exporter's textfile collector (`--collector.textfile.directory`).
 *
 * Each write goes to `PATH.<pid>.tmp` in the same directory and is renamed
 * over `PATH`, so node_exporter never reads half a file (the collector reads
 * only `*.prom`, so the temporary file is never picked up). The file is
 * rewritten at most once a second, and removed when aimeter stops cleanly so
 * node_exporter does not go on exporting the last values as current.
 */
import type { Exporter } from "./exporter.ts";

export class TextfileWriter {
  readonly path: string;
  readonly #tmp: string;
  readonly #minPeriodMs: number;
  #lastMs = -Infinity;
  #failed = false;
  #onError: (msg: string) => void;
  writes = 0;

  constructor(
    path: string,
    readonly exporter: Exporter,
    opts: { minPeriodMs?: number; onError?: (msg: string) => void } = {},
  ) {
    this.path = path;
    this.#tmp = `${path}.${Deno.pid}.tmp`;
    this.#minPeriodMs = opts.minPeriodMs ?? 1000;
    this.#onError = opts.onError ?? ((m) => console.error(`aimeter: ${m}`));
  }

  /** Write now if the last write is older than the period (called after each tick). */
  maybeWrite(): void {
    const now = performance.now();
    if (now - this.#lastMs < this.#minPeriodMs) return;
    this.#lastMs = now;
    this.write();
  }

  /** Write the file now (atomically). Errors are said once, never thrown. */
  write(): boolean {
    try {
      Deno.writeTextFileSync(this.#tmp, this.exporter.scrape("prometheus"), { mode: 0o644 });
      Deno.renameSync(this.#tmp, this.path);
      this.writes++;
      if (this.#failed) this.#onError(`--textfile: writing ${this.path} works again`);
      this.#failed = false;
      return true;
    } catch (e) {
      if (!this.#failed) {
        this.#onError(`--textfile: cannot write ${this.path}: ${(e as Error).message}`);
      }
      this.#failed = true;
      try {
        Deno.removeSync(this.#tmp);
      } catch { /* not there */ }
      return false;
    }
  }

  /** Remove the file (clean stop). */
  remove(): void {
    for (const p of [this.#tmp, this.path]) {
      try {
        Deno.removeSync(p);
      } catch { /* not there */ }
    }
  }
}

/** Check a `--textfile` path before starting: its directory must exist; say when the name is not `*.prom`. */
export function checkTextfilePath(path: string): { error?: string; warning?: string } {
  const slash = path.lastIndexOf("/");
  const dir = slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
  try {
    if (!Deno.statSync(dir).isDirectory) return { error: `--textfile: ${dir} is not a directory` };
  } catch {
    return { error: `--textfile: the directory ${dir} does not exist` };
  }
  if (!path.endsWith(".prom")) {
    return {
      warning:
        `--textfile: ${path} does not end in .prom; node_exporter's textfile collector reads only *.prom files`,
    };
  }
  return {};
}
