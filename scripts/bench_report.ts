/**
 * Report benchmark: synthetic traces of 8 GPUs sampled at 1 Hz (written with
 * the real TraceWriter, Parquet), then read → summary → report.html, timed.
 *
 *   deno run -A scripts/bench_report.ts                 # 1 h and 24 h
 *   deno run -A scripts/bench_report.ts --hours 1,6,24 --gpus 8 --keep --out bench-out/report
 *
 * Prints a table and then one JSON line (`{"bench":"report","results":[...]}`).
 * Targets (issue "The HTML report"): a 24 h trace of 8 GPUs at 1 Hz gives a
 * report in under 10 s and under 2 MB. RSS is `Deno.memoryUsage().rss`,
 * sampled between stages and at every progress step of the render.
 */
import { parseArgs } from "node:util";
import { writeFixtureTrace } from "../tests/helpers/fixture_trace.ts";
import { readTrace } from "../src/trace/reader.ts";
import { buildSummary } from "../src/analysis/summary.ts";
import { renderReport } from "../src/report/render.ts";

const { values } = parseArgs({
  options: {
    hours: { type: "string", default: "1,24" },
    gpus: { type: "string", default: "8" },
    interval: { type: "string", default: "1" },
    out: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});

const hours = values.hours!.split(",").map(Number).filter((h) => h > 0);
const gpus = Number(values.gpus);
const intervalS = Number(values.interval);
const root = values.out ?? await Deno.makeTempDir({ prefix: "aimeter-bench-report-" });
await Deno.mkdir(root, { recursive: true });

interface Result {
  hours: number;
  gpus: number;
  interval_s: number;
  rows: number;
  series: number;
  trace_bytes: number;
  write_trace_s: number;
  read_s: number;
  summary_s: number;
  render_s: number;
  /** read + summary + render: what `aimeter report` spends on this trace. */
  total_s: number;
  peak_rss_mib: number;
  html_bytes: number;
  charts: number;
}

const results: Result[] = [];
for (const h of hours) {
  const dir = `${root}/trace-${h}h`;
  let t = performance.now();
  await writeFixtureTrace({
    dir,
    gpus,
    durationS: h * 3600,
    intervalS,
    raplZones: ["package-0", "package-0/dram", "package-1", "package-1/dram"],
    phases: [
      { name: "load", start: 0, end: h * 3600 * 0.05 },
      { name: "train", start: h * 3600 * 0.05, end: h * 3600 * 0.9 },
      { name: "eval", start: h * 3600 * 0.9, end: h * 3600 },
    ],
    marks: Array.from(
      { length: 6 },
      (_, i) => ({ time: (h * 3600 * (i + 1)) / 7, text: `checkpoint ${i + 1}` }),
    ),
    workloadEveryS: 10,
    flushRows: 500_000,
  });
  const writeS = (performance.now() - t) / 1000;
  const traceBytes = Deno.statSync(`${dir}/trace.parquet`).size;
  let peak = Deno.memoryUsage().rss;
  const sample = () => (peak = Math.max(peak, Deno.memoryUsage().rss));

  t = performance.now();
  const trace = await readTrace(dir);
  const readS = (performance.now() - t) / 1000;
  sample();
  t = performance.now();
  const summary = buildSummary([trace]);
  const summaryS = (performance.now() - t) / 1000;
  sample();
  t = performance.now();
  const html = await renderReport({ traces: [trace], summary, onProgress: sample });
  const renderS = (performance.now() - t) / 1000;
  sample();
  const out = `${dir}/report.html`;
  await Deno.writeTextFile(out, html);
  const r: Result = {
    hours: h,
    gpus,
    interval_s: intervalS,
    rows: trace.rows,
    series: trace.series.length,
    trace_bytes: traceBytes,
    write_trace_s: round(writeS),
    read_s: round(readS),
    summary_s: round(summaryS),
    render_s: round(renderS),
    total_s: round(readS + summaryS + renderS),
    peak_rss_mib: Math.round(peak / 2 ** 20),
    html_bytes: new TextEncoder().encode(html).length,
    charts: (html.match(/<figure class="chart"/g) ?? []).length,
  };
  results.push(r);
  console.error(`${h} h: report at ${out}`);
  if (!values.keep) await Deno.remove(`${dir}/trace.parquet`);
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

const head = [
  "trace",
  "rows",
  "series",
  "trace MiB",
  "read s",
  "summary s",
  "render s",
  "total s",
  "peak RSS MiB",
  "HTML KiB",
  "charts",
];
const rows = results.map((r) => [
  `${r.hours} h × ${r.gpus} GPU @ ${r.interval_s} s`,
  r.rows.toLocaleString("en-US"),
  String(r.series),
  (r.trace_bytes / 2 ** 20).toFixed(1),
  r.read_s.toFixed(2),
  r.summary_s.toFixed(2),
  r.render_s.toFixed(2),
  r.total_s.toFixed(2),
  String(r.peak_rss_mib),
  (r.html_bytes / 1024).toFixed(0),
  String(r.charts),
]);
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
console.log(line(head));
console.log(w.map((n) => "-".repeat(n)).join("  "));
for (const r of rows) console.log(line(r));
console.log(JSON.stringify({ bench: "report", deno: Deno.version.deno, results }));
if (!values.out && !values.keep) await Deno.remove(root, { recursive: true });
