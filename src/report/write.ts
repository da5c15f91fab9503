/**
 * Writing report.html: render, then write atomically. A report that takes
 * longer than a second shows progress on a terminal.
 */
import type { Trace } from "../trace/reader.ts";
import type { Summary } from "../analysis/summary.ts";
import { renderReport } from "./render.ts";

export async function writeReport(
  traces: Trace[],
  summary: Summary,
  path: string,
  quiet = false,
): Promise<void> {
  const t0 = performance.now();
  const tty = !quiet && Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  const onProgress = (done: number, total: number, what: string) => {
    if (!tty || performance.now() - t0 < 1000) return;
    Deno.stderr.writeSync(enc.encode(`\r\x1b[2Kaimeter: report ${done}/${total} ${what}`));
  };
  const html = await renderReport({ traces, summary, onProgress });
  if (tty && performance.now() - t0 >= 1000) Deno.stderr.writeSync(enc.encode("\r\x1b[2K"));
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, html);
  await Deno.rename(tmp, path);
}
