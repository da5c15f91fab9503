/**
 * After the trace: summary.json and report.html, from traces alone.
 * `run`/`record` call this at the end; `aimeter report` calls it later,
 * perhaps on another machine. Each analysis stage adds its block to the
 * summary through an enricher, in order.
 */
import { readTrace, type Trace } from "./trace/reader.ts";
import { buildSummary, type Summary } from "./analysis/summary.ts";
import { type AnalysisOptions, STAGES } from "./analysis/stages.ts";

export type { AnalysisOptions };

export async function summarize(traces: Trace[], options: AnalysisOptions = {}): Promise<Summary> {
  const summary = buildSummary(traces);
  // options saved with the run are the defaults; the caller's win
  const saved = (traces[0]?.meta?.extra?.options ?? {}) as AnalysisOptions;
  const merged = { ...saved, ...stripUndefined(options) };
  for (const e of STAGES) {
    try {
      await e.fn({ traces, summary, options: merged });
    } catch (err) {
      summary.sensors.push({
        source: "aimeter",
        status: "error",
        message: `${e.name} analysis failed: ${(err as Error).message}`,
      });
    }
  }
  return summary;
}

function stripUndefined(o: AnalysisOptions): AnalysisOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export async function loadTraces(paths: string[]): Promise<Trace[]> {
  const out: Trace[] = [];
  for (const p of paths) out.push(await readTrace(p));
  return out;
}
