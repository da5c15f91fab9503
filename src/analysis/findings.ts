/**
 * summary.json `findings`: bottlenecks and waste, each with its evidence in
 * numbers, a suggestion, and the energy it cost where that can be computed.
 *
 *   gpu_idle          GPUs allocated but (almost) never used
 *   input_pipeline    GPUs under-used while the CPU is busy (data loading)
 *   gpu_underused     GPUs under-used with an idle CPU (small batches, syncs)
 *   power_cap         power at the limit / SwPowerCap or power-brake clock events
 *   thermal_throttle  SwThermalSlowdown / HwThermalSlowdown clock events
 *   hw_slowdown       HwSlowdown clock events (power supply, temperature)
 *   gpu_memory_full   GPU memory used close to its size
 *   host_memory_full  host memory used close to its size
 *   idle_head         a long stretch before the GPUs (or the CPU) start working
 *   idle_tail         a long stretch after they stopped
 *
 * Thresholds are constants below; every finding is computed from the traces
 * alone, over the command's time (after an idle baseline, if one was taken).
 */
import type { Series, Trace } from "../trace/reader.ts";
import type { EnrichContext } from "./stages.ts";
import { energyInWindow } from "./phases.ts";
import { traceSpan } from "./workload_stage.ts";

export type Severity = "info" | "warning" | "critical";

export interface Finding {
  id: string;
  title: string;
  severity: Severity;
  evidence: string;
  suggestion: string;
  energy_j?: number;
  devices?: string[];
}

export const THRESHOLDS = {
  /** Mean utilization below which a GPU counts as idle, %. */
  idleUtilPct: 5,
  /** Utilization above which a GPU counts as working (head/tail), %. */
  activeUtilPct: 10,
  /** Process CPU above which a CPU-only workload counts as working, % of one core. */
  activeCpuPct: 20,
  /** GPU utilization below which a used GPU is under-used, %. */
  underusedUtilPct: 60,
  /** The workload's processes use at least this much CPU for "CPU busy", % of one core. */
  busyProcessCpuPct: 90,
  /** Or the node's CPU at least this busy, %. */
  busyNodeCpuPct: 80,
  /** Share of the active time with a clock-event reason before it is reported. */
  throttleFraction: 0.1,
  /** Power at or above this share of the limit counts as "at the limit". */
  atLimit: 0.97,
  /** Memory used share that counts as "near full". */
  memoryFull: 0.95,
  /** A head or tail is reported when at least this long, s ... */
  idleEdgeS: 5,
  /** ... and at least this share of the command's time. */
  idleEdgeFraction: 0.1,
  /** Shortest command worth judging, s. */
  minDurationS: 3,
};

/** NVML clock-event reason bits (nvmlClocksEventReason*). */
export const CLOCK_EVENT = {
  GpuIdle: 0x1,
  ApplicationsClocksSetting: 0x2,
  SwPowerCap: 0x4,
  HwSlowdown: 0x8,
  SyncBoost: 0x10,
  SwThermalSlowdown: 0x20,
  HwThermalSlowdown: 0x40,
  HwPowerBrakeSlowdown: 0x80,
};

const GPU_SOURCES = new Set(["nvml", "amdgpu", "rocm_smi"]);

/** Time weights: each sample counts until the next one (the last: the median gap). */
function weights(times: ArrayLike<number>): Float64Array {
  const n = times.length;
  const w = new Float64Array(n);
  const gaps = new Float64Array(Math.max(0, n - 1));
  for (let i = 1; i < n; i++) gaps[i - 1] = times[i] - times[i - 1];
  gaps.sort(); // typed-array sort: numeric, no boxed copies
  const med = gaps.length ? gaps[gaps.length >> 1] : 0;
  for (let i = 0; i < n; i++) w[i] = i + 1 < n ? times[i + 1] - times[i] : med;
  return w;
}

interface Slice {
  times: Float64Array;
  values: Float64Array;
  w: Float64Array;
}

/** The highest share of `total` (e.g. memory used / memory size) over a slice. */
function peakShare(x: Slice, total: Series): number {
  let peak = 0;
  for (let i = 0; i < x.values.length; i++) {
    const tot = valueNear(total, x.times[i]);
    if (tot > 0) peak = Math.max(peak, x.values[i] / tot);
  }
  return peak;
}

function slice(s: Series, t0: number, t1: number): Slice {
  let a = 0, b = s.times.length;
  while (a < b && s.times[a] < t0) a++;
  while (b > a && s.times[b - 1] > t1) b--;
  const times = s.times.subarray(a, b), values = s.values.subarray(a, b);
  return { times, values, w: weights(times) };
}

function wmean(x: Slice): number {
  let s = 0, w = 0;
  for (let i = 0; i < x.values.length; i++) {
    s += x.values[i] * x.w[i];
    w += x.w[i];
  }
  return w > 0 ? s / w : NaN;
}

function wfraction(x: Slice, cond: (v: number, i: number) => boolean): number {
  let s = 0, w = 0;
  for (let i = 0; i < x.values.length; i++) {
    if (cond(x.values[i], i)) s += x.w[i];
    w += x.w[i];
  }
  return w > 0 ? s / w : 0;
}

const pct = (f: number) => `${(f * 100).toFixed(f < 0.1 ? 1 : 0)} %`;
const fmtS = (s: number) => (s < 100 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);
const fmtJ = (j: number) =>
  Math.abs(j) < 1e3
    ? `${j.toFixed(0)} J`
    : Math.abs(j) < 1e6
    ? `${(j / 1e3).toFixed(1)} kJ`
    : `${(j / 1e6).toFixed(2)} MJ`;

interface Ctx {
  traces: Trace[];
  series: Series[];
  t0: number;
  t1: number;
  durationS: number;
  totalJ: number;
  get(source: string | RegExp, device: string | RegExp, metric: string): Series[];
}

function makeCtx(traces: Trace[], baselineEndUs?: number): Ctx | undefined {
  const series = traces.flatMap((t) => t.series);
  let [t0, t1] = traceSpan(traces);
  if (!Number.isFinite(t0)) return undefined;
  if (baselineEndUs && baselineEndUs > t0 && baselineEndUs < t1) t0 = baselineEndUs;
  const durationS = (t1 - t0) / 1e6;
  const m = (p: string | RegExp, v: string) => (typeof p === "string" ? p === v : p.test(v));
  return {
    traces,
    series,
    t0,
    t1,
    durationS,
    totalJ: energyInWindow(traces, t0, t1).totals.total,
    get: (source, device, metric) =>
      series.filter((s) =>
        m(source, s.source) && m(device, s.device) && s.metric === metric && s.times.length
      ),
  };
}

const gpuUtil = (c: Ctx) =>
  c.series.filter((s) => GPU_SOURCES.has(s.source) && s.metric === "util_pct" && s.times.length);
const dev = (s: Series) => (s.host && s.host !== "" ? `${s.source}/${s.device}` : s.device);

/** Where the work happens: first and last time a GPU (or the workload's CPU) is busy. */
export function activeWindow(c: Ctx): { start: number; end: number; by: string } | undefined {
  let start = Infinity, end = -Infinity;
  let by = "GPU utilization";
  let src = gpuUtil(c);
  let thr = THRESHOLDS.activeUtilPct;
  if (!src.length) {
    src = c.get("proc", "process", "cpu_pct");
    thr = THRESHOLDS.activeCpuPct;
    by = "the command's CPU use";
  }
  for (const s of src) {
    for (let i = 0; i < s.times.length; i++) {
      const t = s.times[i];
      if (t < c.t0 || t > c.t1 || !(s.values[i] >= thr)) continue;
      if (t < start) start = t;
      if (t > end) end = t;
    }
  }
  return Number.isFinite(start) ? { start, end, by } : undefined;
}

function gpuIdle(c: Ctx, out: Finding[]): void {
  const utils = gpuUtil(c);
  if (!utils.length) return;
  const idle: { s: Series; mean: number; max: number }[] = [];
  let busy = 0;
  for (const s of utils) {
    const x = slice(s, c.t0, c.t1);
    if (x.values.length < 3) continue;
    const mean = wmean(x);
    let max = 0;
    for (const v of x.values) max = Math.max(max, v);
    if (mean < THRESHOLDS.idleUtilPct) idle.push({ s, mean, max });
    else busy++;
  }
  if (!idle.length) return;
  const win = energyInWindow(c.traces, c.t0, c.t1);
  let energy = 0;
  const parts: string[] = [];
  for (const { s, mean, max } of idle) {
    const d = win.devices.find((d) =>
      d.source === s.source && d.device === s.device && d.host === s.host
    );
    const j = d?.energy_j ?? null;
    if (j !== null) energy += j;
    parts.push(
      `${s.device}: mean utilization ${mean.toFixed(1)} % (max ${max.toFixed(0)} %)` +
        (j !== null ? `, ${fmtJ(j)} at ${(j / c.durationS).toFixed(0)} W average` : ""),
    );
  }
  const all = busy === 0;
  out.push({
    id: "gpu_idle",
    title: all
      ? "The GPUs were allocated but not used"
      : `${idle.length} of ${utils.length} GPUs allocated but idle`,
    severity: all ? "warning" : "critical",
    evidence: `${parts.join("; ")} over ${fmtS(c.durationS)}` +
      (energy > 0 && c.totalJ > 0 ? `; ${pct(energy / c.totalJ)} of the run's energy` : ""),
    suggestion: all
      ? "The command did not use the GPU(s): check that the code moves the model and data to the device (model.to('cuda')), that CUDA is visible (CUDA_VISIBLE_DEVICES), or run it on a CPU node."
      : "Request only the GPUs the job uses (SLURM --gres=gpu:N, --gpus), or make the job use all of them (DistributedDataParallel / torchrun --nproc-per-node, accelerate, device_map='auto').",
    ...(energy > 0 ? { energy_j: Math.round(energy) } : {}),
    devices: idle.map(({ s }) => dev(s)),
  });
}

function cpuBusy(c: Ctx, a: number, b: number): { busy: boolean; text: string } {
  const texts: string[] = [];
  let busy = false;
  for (const s of c.get("proc", "process", "cpu_pct")) {
    const m = wmean(slice(s, a, b));
    if (!Number.isFinite(m)) continue;
    texts.push(`the command's processes used ${m.toFixed(0)} % CPU (100 % = one core)`);
    if (m >= THRESHOLDS.busyProcessCpuPct) busy = true;
  }
  for (const s of c.get("proc", "cpu", "util_pct")) {
    const m = wmean(slice(s, a, b));
    if (!Number.isFinite(m)) continue;
    texts.push(`the node's CPUs were ${m.toFixed(0)} % busy`);
    if (m >= THRESHOLDS.busyNodeCpuPct) busy = true;
  }
  return { busy, text: texts.join(", ") };
}

function underuse(c: Ctx, out: Finding[]): void {
  const win = activeWindow(c);
  if (!win || !gpuUtil(c).length || (win.end - win.start) / 1e6 < THRESHOLDS.minDurationS) return;
  const low: { s: Series; mean: number; lowFrac: number }[] = [];
  for (const s of gpuUtil(c)) {
    const x = slice(s, win.start, win.end);
    const mean = wmean(x);
    if (!Number.isFinite(mean) || mean < THRESHOLDS.idleUtilPct) continue; // idle: gpu_idle
    if (mean < THRESHOLDS.underusedUtilPct) {
      low.push({ s, mean, lowFrac: wfraction(x, (v) => v < 30) });
    }
  }
  if (!low.length) return;
  const cpu = cpuBusy(c, win.start, win.end);
  const gpuText = low.map(({ s, mean, lowFrac }) =>
    `${s.device}: mean utilization ${mean.toFixed(0)} %, below 30 % for ${pct(lowFrac)} of the time`
  ).join("; ");
  const span = `while working (${fmtS((win.end - win.start) / 1e6)})`;
  if (cpu.busy) {
    out.push({
      id: "input_pipeline",
      title: "GPUs wait for data: the CPU side is the bottleneck",
      severity: "warning",
      evidence: `${gpuText} ${span}; meanwhile ${cpu.text}`,
      suggestion:
        "Feed the GPU faster: more DataLoader workers (num_workers), pin_memory=True and prefetching, " +
        "lighter or precomputed augmentation/tokenization, faster storage (stage data to local disk), " +
        "or GPU-side decoding (DALI). Check the process is not limited to a few cores (SLURM --cpus-per-task).",
      devices: low.map(({ s }) => dev(s)),
    });
  } else {
    out.push({
      id: "gpu_underused",
      title: "GPUs under-used",
      severity: "info",
      evidence: `${gpuText} ${span}${cpu.text ? `; ${cpu.text}` : ""}`,
      suggestion:
        "Give the GPU more work per step: larger batches, mixed precision, fewer host-device synchronizations " +
        "(.item(), printing tensors), CUDA graphs / torch.compile; or share the GPU (MIG, MPS) if the job is small.",
      devices: low.map(({ s }) => dev(s)),
    });
  }
}

function throttling(c: Ctx, out: Finding[]): void {
  const win = activeWindow(c);
  const a = win?.start ?? c.t0, b = win?.end ?? c.t1;
  const power: string[] = [], thermal: string[] = [], hw: string[] = [];
  const powerDevs: string[] = [], thermalDevs: string[] = [], hwDevs: string[] = [];
  let thermalWorst = 0, powerWorst = 0;
  const gpus = new Set(
    c.series.filter((s) => GPU_SOURCES.has(s.source)).map((s) =>
      `${s.host}\u0000${s.source}\u0000${s.device}`
    ),
  );
  for (const key of gpus) {
    const [host, source, device] = key.split("\u0000");
    const one = (metric: string) =>
      c.series.find((s) =>
        s.host === host && s.source === source && s.device === device && s.metric === metric &&
        s.times.length
      );
    const tr = one("throttle_reasons");
    const pw = one("power_w");
    const lim = one("power_limit_w");
    const clk = one("sm_clock_mhz");
    let fPower = 0, fThermal = 0, fHw = 0, fBrake = 0, fAt = 0;
    if (tr) {
      const x = slice(tr, a, b);
      fPower = wfraction(x, (v) => (v & CLOCK_EVENT.SwPowerCap) !== 0);
      fBrake = wfraction(x, (v) => (v & CLOCK_EVENT.HwPowerBrakeSlowdown) !== 0);
      fThermal = wfraction(
        x,
        (v) => (v & (CLOCK_EVENT.SwThermalSlowdown | CLOCK_EVENT.HwThermalSlowdown)) !== 0,
      );
      fHw = wfraction(x, (v) => (v & CLOCK_EVENT.HwSlowdown) !== 0);
    }
    let limitW: number | undefined;
    if (pw && lim) {
      const x = slice(pw, a, b);
      limitW = lim.values[lim.values.length - 1];
      fAt = wfraction(x, (v, i) => v >= THRESHOLDS.atLimit * valueNear(lim, x.times[i]));
    }
    let clockText = "";
    if (clk) {
      const x = slice(clk, a, b);
      const sorted = Float64Array.from(x.values).sort();
      if (sorted.length) {
        clockText = `, SM clock median ${sorted[sorted.length >> 1].toFixed(0)} MHz (max seen ${
          sorted[sorted.length - 1].toFixed(0)
        } MHz)`;
      }
    }
    const thr = THRESHOLDS.throttleFraction;
    if (fPower >= thr || fAt >= thr) {
      powerWorst = Math.max(powerWorst, fPower, fAt);
      powerDevs.push(device);
      power.push(
        `${device}: ` + [
          fPower ? `power-capped (SwPowerCap) ${pct(fPower)} of the working time` : "",
          limitW !== undefined
            ? `power ≥ ${Math.round(THRESHOLDS.atLimit * 100)} % of the ${
              limitW.toFixed(0)
            } W limit ${pct(fAt)} of it`
            : "",
        ].filter(Boolean).join(", ") + clockText,
      );
    }
    if (fThermal >= thr) {
      thermalWorst = Math.max(thermalWorst, fThermal);
      thermalDevs.push(device);
      const temp = one("temp_c");
      let tText = "";
      if (temp) {
        let mx = -Infinity;
        for (const v of slice(temp, a, b).values) mx = Math.max(mx, v);
        if (Number.isFinite(mx)) tText = `, up to ${mx.toFixed(0)} °C`;
      }
      thermal.push(
        `${device}: thermal slowdown ${pct(fThermal)} of the working time${tText}${clockText}`,
      );
    }
    if (fHw >= thr || fBrake >= thr) {
      hwDevs.push(device);
      hw.push(
        `${device}: ` + [
          fHw >= thr ? `HwSlowdown ${pct(fHw)}` : "",
          fBrake >= thr ? `HwPowerBrakeSlowdown ${pct(fBrake)}` : "",
        ].filter(Boolean).join(", ") + " of the working time" + clockText,
      );
    }
  }
  if (power.length) {
    out.push({
      id: "power_cap",
      title: "GPUs run at their power limit",
      severity: powerWorst >= 0.5 ? "warning" : "info",
      evidence: power.join("; "),
      suggestion:
        "The GPUs are power-bound: clocks drop to stay under the limit. That is often fine, and a somewhat " +
        "lower limit (nvidia-smi -pl) can save energy for a small slowdown: compare runs with aimeter compare. " +
        "If speed matters more, check the limit is the board's default (nvidia-smi -q -d POWER).",
      devices: powerDevs,
    });
  }
  if (thermal.length) {
    out.push({
      id: "thermal_throttle",
      title: "GPUs slow down because they are too hot",
      severity: thermalWorst >= 0.25 ? "critical" : "warning",
      evidence: thermal.join("; "),
      suggestion:
        "Cooling is insufficient: check fans, airflow and inlet temperature, blanking panels and dust; tell the " +
        "site admins. Heat costs speed and energy (leakage power rises with temperature).",
      devices: thermalDevs,
    });
  }
  if (hw.length) {
    out.push({
      id: "hw_slowdown",
      title: "Hardware slowdown (power supply or temperature protection)",
      severity: "critical",
      evidence: hw.join("; "),
      suggestion:
        "HwSlowdown / power-brake events come from the board or the chassis (power supply limits, external " +
        "power-brake signal, overheating): report them to the site admins with this run.",
      devices: hwDevs,
    });
  }
}

function valueNear(s: Series, t: number): number {
  let lo = 0, hi = s.times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (s.times[mid] <= t) lo = mid;
    else hi = mid - 1;
  }
  return s.values[lo];
}

function memory(c: Ctx, out: Finding[]): void {
  const full: string[] = [];
  const devs: string[] = [];
  for (
    const used of c.series.filter((s) => GPU_SOURCES.has(s.source) && s.metric === "mem_used_bytes")
  ) {
    const total = c.series.find((s) =>
      s.host === used.host && s.source === used.source && s.device === used.device &&
      s.metric === "mem_total_bytes"
    );
    if (!total?.values.length) continue;
    const x = slice(used, c.t0, c.t1);
    const peak = peakShare(x, total);
    if (peak >= THRESHOLDS.memoryFull) {
      const frac = wfraction(
        x,
        (v, i) => v >= THRESHOLDS.memoryFull * valueNear(total, x.times[i]),
      );
      const tot = total.values[total.values.length - 1];
      full.push(
        `${used.device}: peak ${(peak * 100).toFixed(1)} % of ${
          (tot / 2 ** 30).toFixed(0)
        } GiB, ≥ ${Math.round(THRESHOLDS.memoryFull * 100)} % for ${pct(frac)} of the run`,
      );
      devs.push(used.device);
    }
  }
  if (full.length) {
    out.push({
      id: "gpu_memory_full",
      title: "GPU memory nearly full",
      severity: "warning",
      evidence: full.join("; ") +
        " (PyTorch's caching allocator keeps freed memory reserved, so this is an upper bound of what is needed)",
      suggestion:
        "Close to out-of-memory: leave headroom or save memory with mixed precision (bf16), gradient " +
        "checkpointing, a smaller micro-batch with gradient accumulation, or sharding (FSDP/ZeRO); " +
        "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True reduces fragmentation.",
      devices: devs,
    });
  }
  const used = c.get("proc", "mem", "used_bytes")[0];
  const total = c.get("proc", "mem", "total_bytes")[0];
  if (used && total) {
    const x = slice(used, c.t0, c.t1);
    const peak = peakShare(x, total);
    if (peak >= THRESHOLDS.memoryFull) {
      out.push({
        id: "host_memory_full",
        title: "Host memory nearly full",
        severity: "warning",
        evidence: `peak ${(peak * 100).toFixed(1)} % of ${
          (total.values[total.values.length - 1] / 2 ** 30).toFixed(0)
        } GiB used`,
        suggestion:
          "The node is close to swapping or the OOM killer: load data lazily (memory-mapped datasets, streaming), " +
          "use fewer DataLoader workers or shared memory, or request more memory (SLURM --mem).",
      });
    }
  }
}

function idleEdges(c: Ctx, out: Finding[]): void {
  if (c.durationS < THRESHOLDS.minDurationS) return;
  const win = activeWindow(c);
  if (!win) return;
  const edge = (id: "idle_head" | "idle_tail", a: number, b: number) => {
    const s = (b - a) / 1e6;
    const frac = s / c.durationS;
    if (s < THRESHOLDS.idleEdgeS || frac < THRESHOLDS.idleEdgeFraction) return;
    const e = energyInWindow(c.traces, a, b).totals.total;
    const head = id === "idle_head";
    out.push({
      id,
      title: head ? "Long idle start before the work begins" : "Long idle end after the work ended",
      severity: frac >= 0.25 ? "warning" : "info",
      evidence: `${fmtS(s)} (${pct(frac)} of the command's ${fmtS(c.durationS)}) ${
        head ? "passed before" : "passed after"
      } ${win.by} first ${head ? "rose above" : "last stood above"} ${
        win.by.startsWith("GPU") ? `${THRESHOLDS.activeUtilPct} %` : `${THRESHOLDS.activeCpuPct} %`
      }; ${fmtJ(e)} drawn meanwhile (${
        e > 0 && c.totalJ > 0 ? pct(e / c.totalJ) : "n/a"
      } of the run's energy, ${(e / s).toFixed(0)} W average)`,
      suggestion: head
        ? "Start-up keeps the hardware waiting: stage data to local disk or cache it, load the model once " +
          "(safetensors, local copy), avoid slow imports and environment set-up inside the job, or overlap them."
        : "The job lingers after the work: look for slow checkpoint writes or uploads, evaluation on the CPU, " +
          "hung processes (DataLoader workers, NCCL teardown) or a sleep at the end of the script.",
      energy_j: Math.round(e),
    });
  };
  edge("idle_head", c.t0, win.start);
  edge("idle_tail", win.end, c.t1);
}

/** All findings of a set of traces (most severe first). */
export function findFindings(traces: Trace[]): Finding[] {
  let baselineEnd: number | undefined;
  for (const t of traces) {
    const b = t.meta?.extra?.baseline as { end_us?: number } | undefined;
    if (b?.end_us) baselineEnd = b.end_us;
  }
  const c = makeCtx(traces, baselineEnd);
  if (!c) return [];
  const out: Finding[] = [];
  gpuIdle(c, out);
  underuse(c, out);
  throttling(c, out);
  memory(c, out);
  idleEdges(c, out);
  const rank: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
  return out.sort((a, b) => rank[a.severity] - rank[b.severity]);
}

export function findingsStage(ctx: EnrichContext): void {
  ctx.summary.findings = [...(ctx.summary.findings ?? []), ...findFindings(ctx.traces)];
}
