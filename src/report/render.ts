/** Placeholder until the report generator lands: a minimal valid page with the key numbers. */
import type { Trace } from "../trace/reader.ts";
import type { Summary } from "../analysis/summary.ts";

export interface RenderInput {
  traces: Trace[];
  summary: Summary;
  onProgress?: (done: number, total: number, what: string) => void;
}

export function renderReport(input: RenderInput): Promise<string> {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return Promise.resolve(
    `<!doctype html><meta charset="utf-8"><title>aimeter report</title><pre>${
      esc(JSON.stringify(input.summary, null, 2))
    }</pre>`,
  );
}
