/**
 * Part 3, trace writing: the TraceWriter fed a steady 8-GPU recording of the
 * recorder's shape (8 GPUs × 14 NVML channels + 5 powercap zones × 2, the
 * value kinds NVML and powercap really give: integer mW, mJ and µJ counters,
 * integer percentages and clocks), one segment per 5 s of samples as the
 * recorder writes them. Values per second through append + segment writes,
 * the time one segment takes (what a tick waits behind at 10 ms), and bytes
 * per value of the final file, in Parquet and CSV.
 */
import { TraceWriter } from "../../src/trace/writer.ts";
import type { TraceMeta } from "../../src/trace/schema.ts";
import { type BenchContext, fmt, type PartResult, type Row } from "./common.ts";
import { mulberry32 } from "../../src/analysis/prng.ts";

const GPU_METRICS = [
  "energy_j",
  "power_w",
  "power_instant_w",
  "util_pct",
  "mem_util_pct",
  "mem_used_bytes",
  "mem_total_bytes",
  "temp_c",
  "sm_clock_mhz",
  "mem_clock_mhz",
  "power_limit_w",
  "throttle_reasons",
  "process_count",
  "process_mem_used_bytes",
];
const ZONES = ["package-0", "package-0/core", "package-0/uncore", "package-0/dram", "psys"];

export interface WriteResult {
  format: "parquet" | "csv";
  interval_s: number;
  ticks: number;
  values: number;
  segments: number;
  append_flush_s: number;
  values_per_s: number;
  segment_ms_mean: number;
  segment_ms_max: number;
  finalize_s: number;
  bytes: number;
  bytes_per_value: number;
}

/** Write `ticks` ticks of a steady 8-GPU recording at `intervalS`; one segment per 5 s of samples. */
export async function writeSteadyTrace(
  dir: string,
  format: "parquet" | "csv",
  intervalS: number,
  ticks: number,
): Promise<WriteResult> {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* new */ }
  const meta: TraceMeta = {
    schema: "aimeter/trace@1",
    aimeter_version: "bench",
    host: "bench-node",
    command: [],
    start: new Date(Date.UTC(2026, 0, 1)).toISOString(),
    interval_s: intervalS,
    mode: "record",
  };
  const w = new TraceWriter({ dir, format, meta, segmentSeconds: 1e9 });
  const gpuIds = Array.from(
    { length: 8 },
    (_, g) => GPU_METRICS.map((m) => w.seriesId("nvml", `gpu${g}`, m)),
  );
  const zoneIds = ZONES.map((
    z,
  ) => [w.seriesId("rapl", z, "energy_j"), w.seriesId("rapl", z, "power_w")]);
  const rand = mulberry32(42);
  const gpuMj = new Float64Array(8).fill(1e9);
  const zoneUj = ZONES.map((_, k) => 1e10 * (k + 1));
  const zoneFirst = ZONES.map((_, k) => 1e10 * (k + 1));
  const t0 = Date.UTC(2026, 0, 1) * 1000;
  const perSegment = Math.max(1, Math.round(5 / intervalS));
  const dtUs = intervalS * 1e6;
  let values = 0, segments = 0, segMs = 0, segMax = 0;
  const start = performance.now();
  for (let k = 0; k < ticks; k++) {
    // timer lateness: a few hundred µs, as the sampler really stamps ticks
    const t = t0 + k * dtUs + Math.round(rand() * 400);
    for (let g = 0; g < 8; g++) {
      const mw = Math.round(400_000 + 20_000 * g + rand() * 15_000);
      gpuMj[g] += Math.round(mw * intervalS);
      const ids = gpuIds[g];
      w.append(t, ids[0], (gpuMj[g] - 1e9) / 1000);
      w.append(t, ids[1], mw / 1000);
      w.append(t, ids[2], Math.round(mw + (rand() - 0.5) * 40_000) / 1000);
      w.append(t, ids[3], rand() < 0.9 ? 100 : 99);
      w.append(t, ids[4], 40 + Math.floor(rand() * 4));
      w.append(t, ids[5], 60_129_542_144 + g * 1_048_576);
      w.append(t, ids[6], 85_520_809_984);
      w.append(t, ids[7], 65 + (rand() < 0.05 ? 1 : 0));
      w.append(t, ids[8], 1980);
      w.append(t, ids[9], 2619);
      w.append(t, ids[10], 700);
      w.append(t, ids[11], 0);
      values += 12;
      if (k % Math.max(1, Math.round(2 / intervalS)) === 0) {
        w.append(t, ids[12], 1);
        w.append(t, ids[13], 60_129_542_144 - 536_870_912);
        values += 2;
      }
    }
    for (let z = 0; z < ZONES.length; z++) {
      const uw = z === 3 ? 18e6 : 110e6 / (z + 1);
      const prev = zoneUj[z];
      zoneUj[z] += Math.round(uw * intervalS + (rand() - 0.5) * uw * intervalS * 0.1);
      w.append(t, zoneIds[z][0], (zoneUj[z] - zoneFirst[z]) / 1e6);
      if (k > 0) {
        w.append(t, zoneIds[z][1], (zoneUj[z] - prev) / 1e6 / (intervalS + (rand() - 0.5) * 4e-4));
        values++;
      }
      values++;
    }
    if ((k + 1) % perSegment === 0) {
      const s0 = performance.now();
      w.flush();
      const ms = performance.now() - s0;
      segMs += ms;
      segMax = Math.max(segMax, ms);
      segments++;
    }
  }
  const appendFlushS = (performance.now() - start) / 1000;
  const f0 = performance.now();
  const path = await w.finalize({ end: new Date().toISOString(), exit_code: 0 });
  const finalizeS = (performance.now() - f0) / 1000;
  const bytes = Deno.statSync(path).size;
  return {
    format,
    interval_s: intervalS,
    ticks,
    values,
    segments,
    append_flush_s: appendFlushS,
    values_per_s: values / appendFlushS,
    segment_ms_mean: segments ? segMs / segments : NaN,
    segment_ms_max: segMax,
    finalize_s: finalizeS,
    bytes,
    bytes_per_value: bytes / values,
  };
}

export async function benchWriting(ctx: BenchContext): Promise<PartResult> {
  // 100 ms: 10 min of samples (quick: 1 min); 10 ms: segments of 500 ticks, what a 10 ms recording writes
  const ticks100 = ctx.quick ? 600 : 6000;
  const ticks10 = ctx.quick ? 1000 : 6000;
  const results: WriteResult[] = [];
  for (const format of ["parquet", "csv"] as const) {
    ctx.log(`writing: ${format}, ${ticks100} ticks at 100 ms`);
    results.push(
      await writeSteadyTrace(`${ctx.work}/write-${format}-100ms`, format, 0.1, ticks100),
    );
  }
  ctx.log(`writing: parquet, ${ticks10} ticks at 10 ms (segment size of a 10 ms recording)`);
  results.push(await writeSteadyTrace(`${ctx.work}/write-parquet-10ms`, "parquet", 0.01, ticks10));
  const [pq, csv, pq10] = results;
  const rows: Row[] = [
    {
      part: "writing",
      measure: "values per second (append + segments), Parquet / CSV",
      value: `${fmt(pq.values_per_s, 0)} / ${fmt(csv.values_per_s, 0)}`,
    },
    {
      part: "writing",
      measure: "bytes per value, steady 8-GPU trace at 100 ms, Parquet",
      value: fmt(pq.bytes_per_value),
      target: "≤ 4",
      met: pq.bytes_per_value <= 4,
    },
    { part: "writing", measure: "bytes per value, CSV", value: fmt(csv.bytes_per_value) },
    {
      part: "writing",
      measure: "one 5 s segment, Parquet: at 100 ms / at 10 ms (mean, max)",
      value: `${fmt(pq.segment_ms_mean, 1)} ms / ${fmt(pq10.segment_ms_mean, 1)} ms (max ${
        fmt(pq10.segment_ms_max, 1)
      } ms); ${fmt(pq10.values / pq10.segments, 0)} values`,
    },
  ];
  return { data: { runs: results }, rows };
}
