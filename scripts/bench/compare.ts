/**
 * Part 5, side by side in the same run:
 *
 * - Prometheus node_exporter (Debian's prometheus-node-exporter, rapl
 *   collector only, `--path.sysfs` on the same powercap tree) scraped with
 *   fetch at the same rate as aimeter samples the same zones
 *   (`aimeter record --sources rapl --sysfs-root ...`): CPU time per sample
 *   of each process (utime + stime from /proc over the same window), and the
 *   ratio. node_exporter runs with `--web.disable-exporter-metrics` so it
 *   serves only the rapl collector's families: the cheapest it can be.
 * - DuckDB (npm @duckdb/node-api under node) aggregating the 24 h trace per
 *   series (count, min, max, mean, first and last time) against aimeter's
 *   report time on the same trace.
 */
import {
  type BenchContext,
  cpuSeconds,
  exists,
  fmt,
  type PartResult,
  recordingFixtures,
  ROOT,
  type Row,
  runToEnd,
  sleep,
} from "./common.ts";
import { measureRecording } from "./recorder.ts";
import { fixtureFor, type ReportCase, reportOnce, type ReportRun } from "./report.ts";

export const NODE_EXPORTER = "/usr/bin/prometheus-node-exporter";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Scrape node_exporter every `intervalS` for `windowS`; CPU seconds per scrape. */
async function nodeExporterCost(sysfs: string, intervalS: number, windowS: number) {
  const port = freePort();
  const proc = new Deno.Command(NODE_EXPORTER, {
    args: [
      `--path.sysfs=${sysfs}`,
      "--collector.disable-defaults",
      "--collector.rapl",
      "--web.disable-exporter-metrics",
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const errP = proc.stderr.pipeTo(new WritableStream()); // drain its log
  const url = `http://127.0.0.1:${port}/metrics`;
  try {
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      try {
        const r = await fetch(url);
        up = (await r.text()).includes("node_rapl_");
      } catch {
        await sleep(25);
      }
    }
    if (!up) throw new Error("node_exporter did not serve node_rapl_* metrics");
    // warm up: the Go runtime and the handler
    for (let i = 0; i < 20; i++) await (await fetch(url)).text();
    const c0 = cpuSeconds(proc.pid), t0 = performance.now();
    let scrapes = 0, bytes = 0;
    const dtMs = intervalS * 1000;
    const end = t0 + windowS * 1000;
    for (let k = 1;; k++) {
      const body = await (await fetch(url)).text();
      bytes += body.length;
      scrapes++;
      const next = t0 + k * dtMs;
      if (next >= end) break;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const c1 = cpuSeconds(proc.pid), wall = (performance.now() - t0) / 1000;
    const series = (await (await fetch(url)).text()).split("\n")
      .filter((l) => l.startsWith("node_rapl_")).length;
    return {
      scrapes,
      cpu_s: c1 - c0,
      wall_s: wall,
      bytes_per_scrape: bytes / scrapes,
      rapl_series: series,
    };
  } finally {
    proc.kill("SIGTERM");
    await proc.status;
    await errP.catch(() => {});
  }
}

/** DuckDB under node on one trace; best of `reps` (query time in node, and the process's wall time). */
async function duckdbAggregate(trace: string, threads: number | undefined, reps = 3) {
  let best: Record<string, number> | undefined;
  for (let i = 0; i < reps; i++) {
    const r = await runToEnd("node", [
      `${ROOT}/scripts/bench/duckdb_aggregate.mjs`,
      trace,
      ...(threads ? [String(threads)] : []),
    ]);
    const j = JSON.parse(r.stdout.trim().split("\n").pop()!);
    const run = {
      query_s: j.query_ms / 1000,
      process_wall_s: r.wallS,
      peak_rss_bytes: r.maxRssBytes,
      threads: Number(j.threads),
      series: j.series,
      values: j.values,
    };
    if (!best || run.query_s < best.query_s) best = run;
  }
  return best!;
}

export async function benchCompare(
  ctx: BenchContext,
  reportRuns: ReportRun[] | undefined,
): Promise<PartResult> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const data: Record<string, unknown> = {};

  // --- node_exporter vs aimeter on the same powercap zones
  const windowS = ctx.quick ? 5 : 20;
  const intervalS = 0.1;
  if (!exists(NODE_EXPORTER)) {
    notes.push(`node_exporter comparison skipped: ${NODE_EXPORTER} is not installed`);
  } else {
    const { sysfs } = recordingFixtures(ctx);
    ctx.log(`compare: node_exporter (rapl) scraped every ${intervalS * 1000} ms for ${windowS} s`);
    const ne = await nodeExporterCost(sysfs, intervalS, windowS);
    ctx.log(`compare: aimeter record --sources rapl every ${intervalS * 1000} ms for ${windowS} s`);
    const am = await measureRecording({
      dir: `${ctx.work}/rec-rapl-100ms`,
      interval: "100ms",
      intervalS,
      windowS,
      warmupS: ctx.quick ? 1 : 3,
      args: ["--sources", "rapl", "--sysfs-root", sysfs],
    });
    const neUs = (ne.cpu_s / ne.scrapes) * 1e6;
    const amUs = (am.cpu_s / am.ticks_in_window) * 1e6;
    data.node_exporter = { ...ne, cpu_us_per_sample: neUs };
    data.aimeter_rapl = { ...am, cpu_us_per_sample: amUs };
    data.cpu_per_sample_ratio_node_exporter_over_aimeter = neUs / amUs;
    rows.push({
      part: "compare",
      measure: "CPU per sample, 5 powercap zones at 100 ms: node_exporter / aimeter",
      value: `${fmt(neUs, 0)} µs / ${fmt(amUs, 0)} µs = ${fmt(neUs / amUs, 1)} ×`,
      target: "aimeter cheaper",
      met: amUs < neUs,
    });
    notes.push(
      `CPU time is read from /proc in clock ticks (${
        fmt(1000 / 100, 0)
      } ms each); over ${windowS} s ` +
        `aimeter used ${fmt(am.cpu_s * 1000, 0)} ms and node_exporter ${
          fmt(ne.cpu_s * 1000, 0)
        } ms.`,
    );
  }

  // --- DuckDB vs aimeter report on the same 24 h trace (1 h in --quick)
  const cases: ReportCase[] = ctx.quick ? [{ name: "1h-10hz", durationS: 3600, intervalS: 0.1 }] : [
    { name: "24h-1hz", durationS: 86400, intervalS: 1 },
    { name: "24h-10hz", durationS: 86400, intervalS: 0.1 },
  ];
  const duck: Record<string, unknown>[] = [];
  for (const c of cases) {
    const dir = await fixtureFor(ctx, c);
    let rep = reportRuns?.find((r) => r.name === c.name);
    if (!rep) {
      ctx.log(`compare: aimeter report on ${c.name}`);
      rep = await reportOnce(c.name, dir, c);
    }
    ctx.log(`compare: DuckDB aggregating ${c.name} per series`);
    const d2 = await duckdbAggregate(`${dir}/trace.parquet`, undefined);
    const d1 = await duckdbAggregate(`${dir}/trace.parquet`, 1);
    duck.push({
      name: c.name,
      duckdb: d2,
      duckdb_one_thread: d1,
      aimeter_report_wall_s: rep.wall_s,
    });
    rows.push({
      part: "compare",
      measure: `${c.name}: aimeter report / DuckDB per-series aggregate`,
      value: `${fmt(rep.wall_s, 1)} s / ${fmt(d2.query_s, 2)} s (${d2.threads} threads; ${
        fmt(d1.query_s, 2)
      } s on 1) = ${fmt(rep.wall_s / d2.query_s, 0)} ×`,
    });
  }
  data.duckdb = duck;
  return { data, rows, notes };
}
