/**
 * Small deterministic traces for tests (and the report benchmark): hosts,
 * GPUs (NVML-style channels), RAPL zones, the workload's process, workload
 * metrics, phases and marks in `meta.extra.workload`, sensor notes. Values
 * are smooth functions of time and device index (no randomness), so the same
 * options give the same trace, byte for byte, on every machine.
 *
 *   const dir = await writeFixtureTrace({ dir: tmp, gpus: 2, durationS: 60 });
 *   const trace = await readTrace(dir);
 *   // or both at once, and several nodes of one job:
 *   const traces = await fixtureJob({ dir: tmp, hosts: ["node1", "node2"] });
 */
import { TraceWriter } from "../../src/trace/writer.ts";
import { readTrace, type Trace } from "../../src/trace/reader.ts";
import type { TraceFormat, TraceMeta } from "../../src/trace/schema.ts";
import type { DeviceInfo, SensorNote } from "../../src/sensors/types.ts";

export interface FixturePhase {
  name: string;
  /** Seconds from the start. */
  start: number;
  end: number;
}

export interface FixtureMark {
  /** Seconds from the start. */
  time: number;
  text: string;
}

export interface FixtureOptions {
  /** Run folder to write (created). */
  dir: string;
  format?: TraceFormat;
  host?: string;
  /** ISO start time (default 2026-01-01T00:00:00Z). */
  start?: string;
  /** Length of the run in seconds (default 60). */
  durationS?: number;
  /** Sampling period in seconds (default 1). */
  intervalS?: number;
  /** Number of GPUs (default 2). */
  gpus?: number;
  gpuModel?: string;
  /** Which GPU metrics to write (default all the standard ones). */
  gpuMetrics?: string[];
  /** GPU energy from a counter (`energy_j` channel, default) or from power only. */
  gpuEnergy?: "counter" | "power-integral";
  /**
   * RAPL zones (default one package with its DRAM subzone:
   * `["package-0", "package-0/dram"]`); each writes `energy_j`.
   */
  raplZones?: string[];
  /** A CPU estimate instead of RAPL (`source=estimate`, `device=cpu`). */
  cpuEstimate?: boolean;
  /** Write `proc` channels (host CPU, memory, process tree). Default true. */
  proc?: boolean;
  /** Workload metrics written every `workloadEveryS` seconds (default loss, samples_per_s). */
  workloadMetrics?: string[];
  workloadEveryS?: number;
  phases?: FixturePhase[];
  marks?: FixtureMark[];
  command?: string[];
  exitCode?: number | null;
  notes?: SensorNote[];
  cpuModel?: string;
  /** Scales every power (different nodes draw differently). Default 1. */
  load?: number;
  /** Extra metadata merged over the generated one. */
  meta?: Partial<TraceMeta>;
  /** Rows per segment flush (default 200 000). */
  flushRows?: number;
  /**
   * What a real recorder keeps in `meta.extra` beyond the samples (off by
   * default): tick statistics (`sampler`), aimeter's own cost (`self`),
   * effective update periods of the GPU power/energy channels, NVML's process
   * lists and the command's CPU share (`attribution`). The last GPU is left
   * idle and unused when there are at least two, and GPU 0 is shared with
   * another process.
   */
  recorderExtras?: boolean;
  /**
   * An idle baseline of this many seconds at the start (`meta.extra.baseline`):
   * GPUs idle, as `aimeter run --baseline` records before the command.
   */
  baselineS?: number;
  /** Cumulative workload counters: `step` and `samples` (counted by the workload stage). */
  workloadCounters?: boolean;
}

export const FIXTURE_START = "2026-01-01T00:00:00.000Z";

const DEFAULT_GPU_METRICS = [
  "power_w",
  "energy_j",
  "util_pct",
  "mem_used_bytes",
  "temp_c",
  "sm_clock_mhz",
];

/** How busy the workload is at a fraction `f` of its time: idle, ramp up, busy, ramp down, idle. */
function busyAt(f: number): number {
  if (f > 0.1 && f < 0.9) return 1;
  if (f >= 0.05 && f <= 0.1) return (f - 0.05) / 0.05;
  if (f >= 0.9 && f <= 0.95) return (0.95 - f) / 0.05;
  return 0;
}

/** GPU power profile: idle, ramp, busy with a ripple, a peak burst, cool-down. */
function gpuPower(t: number, dur: number, g: number, load: number, from = 0): number {
  const base = 70 + 10 * g;
  if (t < from) return base * load;
  const f = (t - from) / (dur - from);
  const busy = busyAt(f);
  const ripple = 25 * Math.sin((2 * Math.PI * t) / Math.max(4, dur / 12) + g);
  const burst = Math.abs(f - (0.5 + 0.04 * g)) < 0.01 ? 90 : 0;
  return (base + busy * (420 - 15 * g + ripple) + burst) * load;
}

/** Write a fixture trace and return its run folder. */
export async function writeFixtureTrace(o: FixtureOptions): Promise<string> {
  const host = o.host ?? "node1";
  const start = o.start ?? FIXTURE_START;
  const dur = o.durationS ?? 60;
  const dt = o.intervalS ?? 1;
  const gpus = o.gpus ?? 2;
  const load = o.load ?? 1;
  const gpuMetrics = (o.gpuMetrics ?? DEFAULT_GPU_METRICS).filter((m) =>
    o.gpuEnergy === "power-integral" ? m !== "energy_j" : true
  );
  const rapl = o.cpuEstimate ? [] : (o.raplZones ?? ["package-0", "package-0/dram"]);
  const proc = o.proc ?? true;
  const wlMetrics = [
    ...(o.workloadMetrics ?? ["loss", "samples_per_s"]),
    ...(o.workloadCounters ? ["step", "samples"] : []),
  ];
  const from = o.baselineS ?? 0;
  const idleGpu = o.recorderExtras && gpus > 1 ? gpus - 1 : -1;
  let steps = 0;
  const wlEvery = o.workloadEveryS ?? Math.max(dt, 5);
  const t0 = Date.parse(start) * 1000;
  const devices: DeviceInfo[] = [];
  for (let g = 0; g < gpus; g++) {
    devices.push({
      source: "nvml",
      device: `gpu${g}`,
      name: o.gpuModel ?? "NVIDIA H100 80GB HBM3",
      uuid: `GPU-0000000${g}-fixture`,
      ...(gpuMetrics.includes("energy_j") ? { energyMethod: "counter" as const } : {}),
      total: "gpu",
    });
  }
  for (const z of rapl) {
    const leaf = z.split("/").pop()!;
    devices.push({
      source: "rapl",
      device: z,
      name: leaf,
      energyMethod: "counter",
      total: leaf.startsWith("dram") ? "dram" : leaf.startsWith("package") ? "cpu" : "none",
    });
  }
  if (o.cpuEstimate) {
    devices.push({
      source: "estimate",
      device: "cpu-estimate",
      name: "CPU (TDP × utilization)",
      energyMethod: "estimate",
      total: "cpu",
    });
  }
  const iso = (s: number) => new Date(Date.parse(start) + s * 1000).toISOString();
  const us = (s: number) => t0 + Math.round(s * 1e6);
  const extra: Record<string, unknown> = {};
  if (o.phases?.length || o.marks?.length) {
    extra.workload = {
      phases: (o.phases ?? []).map((p) => ({
        name: p.name,
        start: iso(p.start),
        end: iso(p.end),
        start_us: us(p.start),
        end_us: us(p.end),
      })),
      marks: (o.marks ?? []).map((m) => ({ time: iso(m.time), time_us: us(m.time), text: m.text })),
    };
  }
  if (o.baselineS) {
    extra.baseline = { start_us: t0, end_us: us(o.baselineS), duration_s: o.baselineS };
  }
  if (o.recorderExtras) {
    const ticks = Math.round(dur / dt) + 1;
    extra.sampler = {
      ticks,
      skipped_ticks: 2,
      jitter_p50_ms: 0.15,
      jitter_p99_ms: 1.8,
      read_mean_ms: 0.42,
      read_max_ms: 6.5,
    };
    extra.self = { cpu_s: dur * 0.004, rss_bytes: 96 * 1024 ** 2 };
    const periods: Record<string, Record<string, number | null>> = {};
    for (let g = 0; g < gpus; g++) {
      periods[`gpu${g}`] = {
        power_w: 1.0,
        ...(gpuMetrics.includes("energy_j") ? { energy_j: 0.1 } : {}),
      };
    }
    if (gpus) extra.update_periods = { nvml: periods };
    extra.attribution = {
      gpus: Array.from({ length: gpus }, (_, g) => {
        const unused = gpus > 1 && g === gpus - 1;
        return {
          device: `gpu${g}`,
          uuid: `GPU-0000000${g}-fixture`,
          usedByCommand: !unused,
          maxCommandMemBytes: unused ? 0 : (60 + 4 * g) * 1024 ** 3,
          otherPids: g === 0 ? [4242] : [],
        };
      }),
      cpu: { tree_cpu_s: dur * 2.5, host_busy_cpu_s: dur * 4, share: 0.625 },
    };
  }
  const meta: TraceMeta = {
    schema: "aimeter/trace@1",
    aimeter_version: "0.1.0",
    host,
    command: o.command ?? ["python", "train.py", "--epochs", "1"],
    start,
    interval_s: dt,
    mode: "run",
    cpu_model: o.cpuModel ?? "AMD EPYC 9654 96-Core Processor",
    gpu_models: devices.filter((d) => d.source === "nvml").map((d) => d.name!),
    driver_versions: gpus ? { nvidia: "560.35.03", cuda: "12.6" } : undefined,
    devices,
    notes: o.notes ?? [],
    ...(Object.keys(extra).length ? { extra } : {}),
    ...o.meta,
  };
  const w = new TraceWriter({
    dir: o.dir,
    format: o.format ?? "parquet",
    meta,
    segmentSeconds: 1e9,
  });
  const id = (s: string, d: string, m: string) => w.seriesId(s, d, m);
  const gpuIds = Array.from(
    { length: gpus },
    (_, g) => gpuMetrics.map((m) => id("nvml", `gpu${g}`, m)),
  );
  const raplIds = rapl.map((z) => id("rapl", z, "energy_j"));
  const estIds = o.cpuEstimate
    ? [id("estimate", "cpu-estimate", "power_w"), id("estimate", "cpu-estimate", "energy_j")]
    : [];
  let estE = 0, estP = 0;
  const procIds = proc
    ? [
      id("proc", "cpu", "util_pct"),
      id("proc", "mem", "used_bytes"),
      id("proc", "process", "cpu_pct"),
      id(
        "proc",
        "process",
        "rss_bytes",
      ),
    ]
    : [];
  const wlIds = wlMetrics.map((m) => id("workload", "main", m));
  const gpuE = new Float64Array(gpus);
  const lastP = new Float64Array(gpus);
  const raplE = new Float64Array(rapl.length);
  const flushRows = o.flushRows ?? 200_000;
  const n = Math.round(dur / dt);
  let rows = 0;
  for (let i = 0; i <= n; i++) {
    const t = i * dt;
    const tu = t0 + Math.round(t * 1e6);
    const f = t / dur;
    for (let g = 0; g < gpus; g++) {
      const p = idleGpu === g ? (70 + 10 * g) * load : gpuPower(t, dur, g, load, from);
      if (i > 0) gpuE[g] += ((p + lastP[g]) / 2) * dt;
      lastP[g] = p;
      const util = Math.min(100, Math.max(0, ((p / load) - 70 - 10 * g) / 4.2));
      const vals: Record<string, number> = {
        power_w: p,
        energy_j: 1000 * (g + 1) + gpuE[g],
        util_pct: Math.round(util),
        mem_util_pct: Math.round(util * 0.6),
        mem_used_bytes: (2 + (f > 0.08 ? 60 + 4 * g : 0)) * 1024 ** 3,
        temp_c: Math.round(35 + (p / load) / 12 + 2 * g),
        sm_clock_mhz: util > 5 ? 1980 - 5 * g : 345,
        mem_clock_mhz: 2619,
        power_limit_w: 700,
      };
      gpuMetrics.forEach((m, k) => w.append(tu, gpuIds[g][k], vals[m] ?? 0));
    }
    rapl.forEach((z, k) => {
      const dram = z.includes("dram");
      const p = (dram ? 18 : 110 + 60 * Math.sin(f * Math.PI)) * load;
      if (i > 0) raplE[k] += p * dt;
      w.append(tu, raplIds[k], 50_000 * (k + 1) + raplE[k]);
    });
    if (o.cpuEstimate) {
      const p = (90 + 50 * Math.sin(f * Math.PI)) * load;
      if (i > 0) estE += ((p + estP) / 2) * dt;
      estP = p;
      w.append(tu, estIds[0], p);
      w.append(tu, estIds[1], estE);
    }
    if (proc) {
      w.append(tu, procIds[0], 20 + 45 * Math.sin(f * Math.PI));
      w.append(tu, procIds[1], (64 + 40 * f) * 1024 ** 3);
      w.append(tu, procIds[2], 100 + 350 * Math.sin(f * Math.PI));
      w.append(tu, procIds[3], (8 + 20 * f) * 1024 ** 3);
    }
    if (
      wlMetrics.length && i > 0 && t > from &&
      Math.abs(t / wlEvery - Math.round(t / wlEvery)) < 1e-9
    ) {
      // steps go as fast as the GPUs are busy (their rate follows the power profile)
      steps += Math.round(10 * busyAt((t - from) / (dur - from)) + 2 + 2 * Math.sin(t / 3));
      wlMetrics.forEach((m, k) => {
        const v = m === "loss"
          ? 2.5 * Math.exp(-3 * f) + 0.3 + 0.05 * Math.sin(t)
          : m === "samples_per_s"
          ? 800 + 40 * Math.sin(t / 7)
          : m === "step"
          ? steps
          : m === "samples"
          ? steps * 400
          : 10 * (k + 1) * f;
        w.append(tu, wlIds[k], v);
      });
    }
    rows += gpus * gpuMetrics.length + rapl.length + 4;
    if (rows >= flushRows) {
      w.flush();
      rows = 0;
    }
  }
  await w.finalize({ end: iso(dur), exit_code: o.exitCode === undefined ? 0 : o.exitCode });
  return o.dir;
}

/** Write and read one fixture trace. */
export async function fixtureTrace(o: FixtureOptions): Promise<Trace> {
  return await readTrace(await writeFixtureTrace(o));
}

/**
 * The traces of one job on several nodes (`dir/<host>/`), each node with its
 * own load so the per-node numbers differ.
 */
export async function fixtureJob(
  o: Omit<FixtureOptions, "host"> & { hosts: string[] },
): Promise<Trace[]> {
  const out: Trace[] = [];
  for (const [i, host] of o.hosts.entries()) {
    out.push(
      await fixtureTrace({
        ...o,
        host,
        dir: `${o.dir}/${host}`,
        load: (o.load ?? 1) * (1 - 0.15 * i),
      }),
    );
  }
  return out;
}
