/**
 * Part 4, report: `aimeter report` (a subprocess, as a user runs it) on
 * fixture traces of 8 GPUs (9 NVML metrics each, a RAPL package and its DRAM,
 * the process channels, two workload metrics) of 1 h and 24 h at 1 Hz and
 * 10 Hz: wall time, CPU time, peak resident memory (from /usr/bin/time -v)
 * and the size of report.html.
 *
 * Where scripts/bench_report.ts (the report's own benchmark, in-process) is
 * present, it is called too for 1 h and 24 h at 1 Hz, and its per-stage times
 * (read, summary, render) go into bench.json beside the end-to-end numbers.
 *
 * The fixture traces (tests/helpers/fixture_trace.ts, deterministic) are kept
 * under bench-out/fixtures/ and reused by later runs: the 24 h × 10 Hz one
 * holds 68 M values and takes minutes to write.
 */
import { writeFixtureTrace } from "../../tests/helpers/fixture_trace.ts";
import {
  type BenchContext,
  exists,
  fmt,
  MAIN,
  mb,
  type PartResult,
  ROOT,
  type Row,
  runToEnd,
} from "./common.ts";

export const FIXTURE_GPU_METRICS = [
  "power_w",
  "energy_j",
  "util_pct",
  "mem_util_pct",
  "mem_used_bytes",
  "temp_c",
  "sm_clock_mhz",
  "mem_clock_mhz",
  "power_limit_w",
];

export interface ReportCase {
  name: string;
  durationS: number;
  intervalS: number;
}

/** Build (or reuse) the fixture trace of a case; returns its run folder. */
export async function fixtureFor(ctx: BenchContext, c: ReportCase): Promise<string> {
  const base = `${ctx.out}/fixtures`;
  // a fixture is written again when the generator changes
  const gen = await crypto.subtle.digest(
    "SHA-256",
    Deno.readFileSync(new URL("../../tests/helpers/fixture_trace.ts", import.meta.url)),
  );
  const genHash = Array.from(
    new Uint8Array(gen).slice(0, 8),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  const stamp = `v1-8gpu-${c.durationS}s-${c.intervalS}s-${genHash}`;
  const dir = `${base}/${c.name}`;
  if (exists(`${dir}/trace.parquet`) && exists(`${dir}/.stamp`)) {
    if (Deno.readTextFileSync(`${dir}/.stamp`) === stamp) return dir;
  }
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* new */ }
  ctx.log(`report: writing the fixture trace ${c.name} (cached in ${dir})`);
  const t0 = performance.now();
  await writeFixtureTrace({
    dir,
    gpus: 8,
    durationS: c.durationS,
    intervalS: c.intervalS,
    gpuMetrics: FIXTURE_GPU_METRICS,
    command: ["python", "train.py"],
  });
  ctx.log(`report: fixture ${c.name} written in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  Deno.writeTextFileSync(`${dir}/.stamp`, stamp);
  return dir;
}

export interface ReportRun {
  name: string;
  duration_s: number;
  interval_s: number;
  trace_bytes: number;
  wall_s: number;
  cpu_s: number;
  peak_rss_bytes: number;
  html_bytes: number;
  error?: string;
}

export async function reportOnce(name: string, dir: string, c: ReportCase): Promise<ReportRun> {
  const html = `${dir}/../${name}.report.html`;
  const base = {
    name,
    duration_s: c.durationS,
    interval_s: c.intervalS,
    trace_bytes: Deno.statSync(`${dir}/trace.parquet`).size,
  };
  try {
    const r = await runToEnd(Deno.execPath(), [
      "run",
      "-A",
      "--quiet",
      MAIN,
      "report",
      dir,
      "-o",
      html,
      "--summary",
      `${dir}/../${name}.summary.json`,
      "-q",
    ]);
    return {
      ...base,
      wall_s: r.wallS,
      cpu_s: r.cpuS,
      peak_rss_bytes: r.maxRssBytes,
      html_bytes: Deno.statSync(html).size,
    };
  } catch (e) {
    return {
      ...base,
      wall_s: NaN,
      cpu_s: NaN,
      peak_rss_bytes: NaN,
      html_bytes: NaN,
      error: (e as Error).message.slice(0, 2000),
    };
  }
}

export function reportCases(quick: boolean): ReportCase[] {
  const all: ReportCase[] = [
    { name: "1h-1hz", durationS: 3600, intervalS: 1 },
    { name: "1h-10hz", durationS: 3600, intervalS: 0.1 },
    { name: "24h-1hz", durationS: 86400, intervalS: 1 },
    { name: "24h-10hz", durationS: 86400, intervalS: 0.1 },
  ];
  return quick ? all.slice(0, 2) : all;
}

export async function benchReport(ctx: BenchContext): Promise<PartResult> {
  const runs: ReportRun[] = [];
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const c of reportCases(ctx.quick)) {
    const dir = await fixtureFor(ctx, c);
    ctx.log(`report: aimeter report on ${c.name}`);
    const r = await reportOnce(c.name, dir, c);
    runs.push(r);
    if (r.error) notes.push(`report ${c.name} failed: ${r.error.split("\n").slice(-3).join(" ")}`);
    const target = c.name === "24h-1hz"
      ? { target: "≤ 10 s, ≤ 2 MB HTML", met: r.wall_s <= 10 && r.html_bytes <= 2e6 }
      : c.name === "24h-10hz"
      ? { target: "≤ 60 s, memory bounded", met: r.wall_s <= 60 && r.peak_rss_bytes <= 1e9 }
      : {};
    rows.push({
      part: "report",
      measure: `report ${c.name} (8 GPUs; trace ${mb(r.trace_bytes)})`,
      value: r.error
        ? "failed"
        : `${fmt(r.wall_s, 1)} s, peak ${mb(r.peak_rss_bytes)}, HTML ${
          fmt(r.html_bytes / 1e6, 2)
        } MB`,
      ...target,
    });
  }
  const stages = await reportStages(ctx);
  if (stages?.error) notes.push(`scripts/bench_report.ts failed: ${stages.error}`);
  for (const r of (stages?.results ?? []) as Record<string, number>[]) {
    rows.push({
      part: "report",
      measure: `stages, ${r.hours} h at ${r.interval_s} s (scripts/bench_report.ts, in-process)`,
      value: `read ${fmt(r.read_s, 1)} s + summary ${fmt(r.summary_s, 1)} s + render ${
        fmt(r.render_s, 1)
      } s`,
    });
  }
  return { data: { runs, stages }, rows, notes };
}

/** The report's own benchmark (per-stage times), when it is there. */
async function reportStages(ctx: BenchContext): Promise<Record<string, unknown> | undefined> {
  const script = `${ROOT}/scripts/bench_report.ts`;
  if (!exists(script)) return undefined;
  ctx.log("report: scripts/bench_report.ts (per-stage times)");
  try {
    const r = await runToEnd(Deno.execPath(), [
      "run",
      "-A",
      "--quiet",
      script,
      "--hours",
      ctx.quick ? "1" : "1,24",
      "--gpus",
      "8",
      "--out",
      `${ctx.work}/bench_report`,
    ]);
    const line = r.stdout.trim().split("\n").reverse().find((l) => l.startsWith("{"));
    return line ? JSON.parse(line) : { error: "no JSON line in its output" };
  } catch (e) {
    return { error: (e as Error).message.split("\n")[0] };
  }
}
