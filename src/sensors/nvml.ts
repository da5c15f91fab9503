/**
 * NVIDIA GPUs through NVML (ffi/nvml.ts): devices `gpu<NVML index>`, source `nvml`.
 *
 * Per GPU, every tick: energy counter first (all GPUs), then power, field 186
 * (instant power), utilization, memory, temperature, clocks, enforced power
 * limit, clock-event reasons, and GPM metrics on Hopper+. Slow queries (process
 * lists every 2 s, legacy PCIe throughput every 1 s) run on NVML's blocking
 * thread through nonblocking FFI calls, and their values are written on the
 * first tick after they arrive. A channel whose first call at open says
 * NOT_SUPPORTED (or whose symbol the library lacks) is not listed; one note per
 * metric says so.
 */
import {
  FieldValues,
  GpmMetricsRequest,
  type GpmSample,
  Nvml,
  NVML_ARCHITECTURES,
  NVML_CLOCK_MEM,
  NVML_CLOCK_SM,
  NVML_DEFAULT_LIB,
  NVML_ERROR_DRIVER_NOT_LOADED,
  NVML_ERROR_LIBRARY_NOT_FOUND,
  NVML_ERROR_NO_PERMISSION,
  NVML_FI_DEV_POWER_INSTANT,
  NVML_GPM_METRIC_ANY_TENSOR_UTIL,
  NVML_GPM_METRIC_DRAM_BW_UTIL,
  NVML_GPM_METRIC_NVLINK_TOTAL_RX_PER_SEC,
  NVML_GPM_METRIC_NVLINK_TOTAL_TX_PER_SEC,
  NVML_GPM_METRIC_PCIE_RX_PER_SEC,
  NVML_GPM_METRIC_PCIE_TX_PER_SEC,
  NVML_GPM_METRIC_SM_OCCUPANCY,
  NVML_GPM_METRIC_SM_UTIL,
  NVML_PCIE_UTIL_RX_BYTES,
  NVML_PCIE_UTIL_TX_BYTES,
  NVML_SUCCESS,
  type NvmlDevice,
  NvmlError,
  ProcessList,
} from "../../ffi/nvml.ts";
import { CounterAccumulator, PowerIntegrator } from "./energy.ts";
import { processTree } from "./proctree.ts";
import type {
  Channel,
  DeviceInfo,
  Sensor,
  SensorFactory,
  SensorNote,
  SensorOptions,
} from "./types.ts";

const SOURCE = "nvml";
const MIB = 1024 * 1024;
/** nvmlDeviceGetPcieThroughput reports KB/s; NVML's KB is taken as 1024 bytes. */
const KIB = 1024;
/** Process lists cost milliseconds and hold the driver lock: at most every 2 s. */
const PROCESS_PERIOD_US = 2_000_000;
/** Legacy PCIe throughput blocks 20 ms per counter: at most every 1 s. */
const PCIE_PERIOD_US = 1_000_000;
/** GPM metrics are rates between two samples; shorter windows are noise. */
const GPM_MIN_PERIOD_US = 100_000;

const SCALAR_TEMP = 0,
  SCALAR_SM_CLOCK = 1,
  SCALAR_MEM_CLOCK = 2,
  SCALAR_LIMIT = 3,
  SCALAR_THROTTLE = 4;
const SCALAR_METRICS = [
  "temp_c",
  "sm_clock_mhz",
  "mem_clock_mhz",
  "power_limit_w",
  "throttle_reasons",
];

/** GPM metric → trace metric, and the factor to the trace unit (nvml.h GPM enums: % or MiB/sec). */
const GPM_CHANNELS: readonly [id: number, metric: string, scale: number][] = [
  [NVML_GPM_METRIC_SM_UTIL, "sm_active_pct", 1],
  [NVML_GPM_METRIC_SM_OCCUPANCY, "sm_occupancy_pct", 1],
  [NVML_GPM_METRIC_ANY_TENSOR_UTIL, "tensor_active_pct", 1],
  [NVML_GPM_METRIC_DRAM_BW_UTIL, "dram_bw_util_pct", 1],
  [NVML_GPM_METRIC_PCIE_TX_PER_SEC, "pcie_tx_bytes_per_s", MIB],
  [NVML_GPM_METRIC_PCIE_RX_PER_SEC, "pcie_rx_bytes_per_s", MIB],
  [NVML_GPM_METRIC_NVLINK_TOTAL_TX_PER_SEC, "nvlink_tx_bytes_per_s", MIB],
  [NVML_GPM_METRIC_NVLINK_TOTAL_RX_PER_SEC, "nvlink_rx_bytes_per_s", MIB],
];

/** What the summary says about one GPU's use by the wrapped command. */
export interface GpuUse {
  device: string;
  uuid: string;
  /** One of the command's processes was seen on this GPU. */
  usedByCommand: boolean;
  /** Largest sum of GPU memory held by the command's processes at one query (bytes). */
  maxCommandMemBytes: number;
  /** Pids of other processes seen on this GPU during the run. */
  otherPids: number[];
}

/** The NVML sensor: the Sensor contract plus what the summary needs. */
export interface NvmlSensor extends Sensor {
  gpuUse(): GpuUse[];
  /** Mean seconds between changes of the raw value, per device and metric; null until seen twice. */
  updatePeriods(): Record<string, Record<string, number | null>>;
  /** Resolves when no slow query is in flight (tests; shutdown after close()). */
  settled(): Promise<void>;
}

// ---------------------------------------------------------------------------
// --gpus

function splitList(v: string): string[] {
  return v.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * Resolve `--gpus SPEC` to the entries the NVML sensor keeps (`opts.gpus`), or
 * undefined for all GPUs.
 * - `all` or empty: undefined;
 * - `0,2` / `GPU-8c1b...`: that list;
 * - `auto`: the first of CUDA_VISIBLE_DEVICES, NVIDIA_VISIBLE_DEVICES (ignoring
 *   `all`/`none`/`void`), SLURM_JOB_GPUS, ROCR_VISIBLE_DEVICES that is set and
 *   not empty; undefined when none is. CUDA_VISIBLE_DEVICES comes first because
 *   inside a SLURM job with device cgroups its indices are the ones NVML sees,
 *   while SLURM_JOB_GPUS holds the node's global indices. CUDA stops at the
 *   first invalid entry (`-1`), and so do we.
 */
export function resolveGpuSelection(
  spec: string,
  env: Record<string, string | undefined>,
): string[] | undefined {
  const s = spec.trim();
  if (s === "" || s.toLowerCase() === "all") return undefined;
  if (s.toLowerCase() !== "auto") return splitList(s);
  const cuda = env.CUDA_VISIBLE_DEVICES;
  if (cuda !== undefined && cuda.trim() !== "") {
    const list = splitList(cuda);
    const bad = list.findIndex((e) => /^-\d+$/.test(e));
    return bad < 0 ? list : list.slice(0, bad);
  }
  const nv = env.NVIDIA_VISIBLE_DEVICES?.trim();
  if (nv && !["all", "none", "void"].includes(nv.toLowerCase())) return splitList(nv);
  for (const name of ["SLURM_JOB_GPUS", "ROCR_VISIBLE_DEVICES"]) {
    const v = env[name]?.trim();
    if (v) return splitList(v);
  }
  return undefined;
}

/** Which NVML indices a `--gpus` list keeps, and notes for entries that match nothing. */
export function selectGpus(
  entries: readonly string[],
  gpus: readonly { index: number; uuid: string }[],
): { keep: Set<number>; notes: SensorNote[] } {
  const keep = new Set<number>();
  const notes: SensorNote[] = [];
  const found = gpus.map((g) => `${g.index} ${g.uuid}`).join(", ") || "none";
  for (const raw of entries) {
    const e = raw.trim();
    let matches: number[];
    if (/^\d+$/.test(e)) {
      matches = gpus.filter((g) => g.index === Number(e)).map((g) => g.index);
    } else {
      const p = e.toLowerCase();
      matches = gpus.filter((g) => g.uuid.toLowerCase().startsWith(p)).map((g) => g.index);
    }
    if (matches.length === 1) {
      keep.add(matches[0]);
    } else if (matches.length > 1) {
      notes.push({
        source: SOURCE,
        status: "not-found",
        message: `--gpus entry "${e}" matches ${matches.length} GPUs; it was ignored`,
        fix: `give a longer UUID prefix or NVML indices (found: ${found})`,
      });
    } else {
      const mig = /^mig-/i.test(e);
      notes.push({
        source: SOURCE,
        status: "not-found",
        message: mig
          ? `--gpus entry "${e}" is a MIG device; MIG instances are not measured separately`
          : `--gpus entry "${e}" matches no NVIDIA GPU`,
        fix: mig
          ? "select the parent GPU by index or GPU- UUID (nvidia-smi -L)"
          : `use an NVML index or GPU- UUID prefix from nvidia-smi -L (found: ${found})`,
      });
    }
  }
  return { keep, notes };
}

// ---------------------------------------------------------------------------
// helpers

/** Mean time between changes of a raw reading (the effective update period). */
class ChangeTracker {
  #last = NaN;
  #firstChangeUs = NaN;
  #lastChangeUs = NaN;
  #changes = 0;
  observe(raw: number, timeUs: number): void {
    if (raw === this.#last) return;
    if (this.#last === this.#last) { // not the first reading (NaN !== NaN)
      if (this.#changes === 0) this.#firstChangeUs = timeUs;
      this.#lastChangeUs = timeUs;
      this.#changes++;
    }
    this.#last = raw;
  }
  /** Seconds, or null with fewer than two changes seen. */
  period(): number | null {
    if (this.#changes < 2) return null;
    return (this.#lastChangeUs - this.#firstChangeUs) / 1e6 / (this.#changes - 1);
  }
}

interface Gpu {
  index: number;
  device: string;
  uuid: string;
  handle: NvmlDevice;
  // channel slots in `values` (-1 when the channel is absent)
  iEnergy: number;
  iPower: number;
  iInstant: number;
  iUtil: number;
  iMemUtil: number;
  iMemUsed: number;
  iMemTotal: number;
  iTemp: number;
  iSm: number;
  iMemClk: number;
  iLimit: number;
  iThrottle: number;
  iPcieTx: number;
  iPcieRx: number;
  iProcCount: number;
  iProcMem: number;
  iOther: number;
  hasCounter: boolean;
  acc: CounterAccumulator;
  integ: PowerIntegrator;
  fv: FieldValues | null;
  mem: Float64Array;
  gpm: GpmState | null;
  // slow queries: results waiting to be written on the next tick
  procs: ProcessList;
  procFresh: boolean;
  procCount: number;
  procMem: number;
  procOther: number;
  pcieFresh: boolean;
  pcieTx: number;
  pcieRx: number;
  pcieDisabled: boolean;
  // summary
  usedByCommand: boolean;
  maxCommandMemBytes: number;
  otherPids: Set<number>;
  periods: { power_w: ChangeTracker; power_instant_w: ChangeTracker; energy_j: ChangeTracker };
}

interface GpmState {
  req: GpmMetricsRequest;
  prev: GpmSample;
  cur: GpmSample;
  slots: number[];
  scales: number[];
  lastUs: number;
}

/** Kinds of failure that mean "this GPU/driver does not have it". */
function unsupported(e: unknown): boolean {
  return e instanceof NvmlError && e.unsupported;
}

function describe(e: unknown): string {
  if (e instanceof NvmlError) return `${e.fn}: ${e.message} (${e.name})`;
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------------------
// the sensor

class NvmlGpuSensor implements NvmlSensor {
  readonly source = SOURCE;
  readonly channels: Channel[] = [];
  readonly devices: DeviceInfo[] = [];
  readonly notes: SensorNote[];
  readonly #nvml: Nvml;
  readonly #gpus: Gpu[];
  readonly #opts: SensorOptions;
  readonly #errors = new Map<string, { note: SensorNote; count: number; text: string }>();
  #procInflight: Promise<void> | null = null;
  #pcieInflight: Promise<void> | null = null;
  #nextProcUs = -Infinity;
  #nextPcieUs = -Infinity;
  #closed = false;
  #hasProcs = false;
  #released: Promise<void> | undefined;

  /** `gpus` is filled by the caller while it lists channels; call `ready()` after. */
  constructor(nvml: Nvml, gpus: Gpu[], opts: SensorOptions, notes: SensorNote[]) {
    this.#nvml = nvml;
    this.#gpus = gpus;
    this.#opts = opts;
    this.notes = notes;
  }

  ready(): this {
    this.#hasProcs = this.#gpus.some((g) => g.iProcCount >= 0);
    return this;
  }

  /** Allocate a slot for a channel; returns its index in `values`. */
  addChannel(device: string, metric: string): number {
    this.channels.push({ source: SOURCE, device, metric });
    return this.channels.length - 1;
  }

  read(values: Float64Array, timeUs: number): void {
    const nvml = this.#nvml;
    const gpus = this.#gpus;
    // Energy counters first, as close to the tick's timestamp as possible.
    for (let k = 0; k < gpus.length; k++) {
      const g = gpus[k];
      if (!g.hasCounter || g.iEnergy < 0) continue;
      try {
        const mj = nvml.totalEnergyMj(g.handle);
        g.periods.energy_j.observe(mj, timeUs);
        values[g.iEnergy] = g.acc.add(mj);
      } catch (e) {
        values[g.iEnergy] = NaN;
        this.#fail(g, "energy_j", e);
      }
    }
    for (let k = 0; k < gpus.length; k++) this.#readGpu(gpus[k], values, timeUs);

    if (this.#hasProcs && this.#procInflight === null && timeUs >= this.#nextProcUs) {
      this.#nextProcUs = timeUs + PROCESS_PERIOD_US;
      this.#procInflight = this.#queryProcesses().finally(() => this.#procInflight = null);
    }
    if (this.#pcieInflight === null && timeUs >= this.#nextPcieUs) {
      this.#nextPcieUs = timeUs + PCIE_PERIOD_US;
      if (gpus.some((g) => g.iPcieTx >= 0 && g.gpm === null && !g.pcieDisabled)) {
        this.#pcieInflight = this.#queryPcie().finally(() => this.#pcieInflight = null);
      }
    }
  }

  #readGpu(g: Gpu, values: Float64Array, timeUs: number): void {
    const nvml = this.#nvml;
    const h = g.handle;
    if (g.iPower >= 0) {
      try {
        const mw = nvml.powerUsageMw(h);
        g.periods.power_w.observe(mw, timeUs);
        const w = mw / 1000;
        values[g.iPower] = w;
        if (!g.hasCounter && g.iEnergy >= 0) values[g.iEnergy] = g.integ.add(timeUs, w);
      } catch (e) {
        values[g.iPower] = NaN;
        if (!g.hasCounter && g.iEnergy >= 0) values[g.iEnergy] = NaN;
        this.#fail(g, "power_w", e);
      }
    }
    if (g.iInstant >= 0 && g.fv !== null) {
      try {
        nvml.fieldValues(h, g.fv);
        const mw = g.fv.value(0);
        if (mw === mw) g.periods.power_instant_w.observe(mw, timeUs);
        else this.#fail(g, "power_instant_w", this.#fieldError(g.fv.ret(0)));
        values[g.iInstant] = mw / 1000;
      } catch (e) {
        values[g.iInstant] = NaN;
        this.#fail(g, "power_instant_w", e);
      }
    }
    if (g.iUtil >= 0) {
      try {
        const u = nvml.utilization(h);
        values[g.iUtil] = u[0];
        values[g.iMemUtil] = u[1];
      } catch (e) {
        values[g.iUtil] = values[g.iMemUtil] = NaN;
        this.#fail(g, "util_pct", e);
      }
    }
    if (g.iMemUsed >= 0) {
      try {
        nvml.memoryInfo(h, g.mem);
        values[g.iMemTotal] = g.mem[0];
        values[g.iMemUsed] = g.mem[2];
      } catch (e) {
        values[g.iMemTotal] = values[g.iMemUsed] = NaN;
        this.#fail(g, "mem_used_bytes", e);
      }
    }
    if (g.iTemp >= 0) values[g.iTemp] = this.#scalar(g, SCALAR_TEMP);
    if (g.iSm >= 0) values[g.iSm] = this.#scalar(g, SCALAR_SM_CLOCK);
    if (g.iMemClk >= 0) values[g.iMemClk] = this.#scalar(g, SCALAR_MEM_CLOCK);
    if (g.iLimit >= 0) values[g.iLimit] = this.#scalar(g, SCALAR_LIMIT);
    if (g.iThrottle >= 0) values[g.iThrottle] = this.#scalar(g, SCALAR_THROTTLE);
    if (g.gpm !== null) this.#readGpm(g, values, timeUs);
    else if (g.iPcieTx >= 0) {
      values[g.iPcieTx] = g.pcieFresh ? g.pcieTx : NaN;
      values[g.iPcieRx] = g.pcieFresh ? g.pcieRx : NaN;
      g.pcieFresh = false;
    }
    if (g.iProcCount >= 0) {
      values[g.iProcCount] = g.procFresh ? g.procCount : NaN;
      values[g.iProcMem] = g.procFresh ? g.procMem : NaN;
      values[g.iOther] = g.procFresh ? g.procOther : NaN;
      g.procFresh = false;
    }
  }

  /** One single-value read (no closure, no allocation on success); NaN and a counted error on failure. */
  #scalar(g: Gpu, kind: number): number {
    const nvml = this.#nvml, h = g.handle;
    try {
      switch (kind) {
        case SCALAR_TEMP:
          return nvml.temperatureC(h);
        case SCALAR_SM_CLOCK:
          return nvml.clockMhz(h, NVML_CLOCK_SM);
        case SCALAR_MEM_CLOCK:
          return nvml.clockMhz(h, NVML_CLOCK_MEM);
        case SCALAR_LIMIT:
          return nvml.enforcedPowerLimitMw(h) / 1000;
        default:
          return nvml.clocksEventReasons(h);
      }
    } catch (e) {
      this.#fail(g, SCALAR_METRICS[kind], e);
      return NaN;
    }
  }

  #fieldError(code: number): NvmlError {
    return new NvmlError(code, "nvmlDeviceGetFieldValues[186]", this.#nvml.errorString(code));
  }

  #readGpm(g: Gpu, values: Float64Array, timeUs: number): void {
    const s = g.gpm!;
    const slots = s.slots;
    if (timeUs - s.lastUs < GPM_MIN_PERIOD_US) {
      for (let i = 0; i < slots.length; i++) values[slots[i]] = NaN;
      return;
    }
    try {
      this.#nvml.gpmSampleGet(g.handle, s.cur);
      s.req.setSamples(s.prev, s.cur);
      this.#nvml.gpmMetricsGet(s.req);
      for (let i = 0; i < slots.length; i++) {
        const v = s.req.value(i);
        values[slots[i]] = v * s.scales[i];
        if (v !== v) this.#fail(g, this.channels[slots[i]].metric, this.#gpmError(s.req.ret(i)));
      }
      const t = s.prev;
      s.prev = s.cur;
      s.cur = t;
      s.lastUs = timeUs;
    } catch (e) {
      for (let i = 0; i < slots.length; i++) values[slots[i]] = NaN;
      this.#fail(g, "gpm", e);
    }
  }

  #gpmError(code: number): NvmlError {
    return new NvmlError(code, "nvmlGpmMetricsGet", this.#nvml.errorString(code));
  }

  /** Count a failed read; the first of each kind (device, metric, code) becomes a note. */
  #fail(g: Gpu, metric: string, e: unknown): void {
    const code = e instanceof NvmlError ? e.code : -1;
    const key = `${g.device}/${metric}/${code}`;
    let entry = this.#errors.get(key);
    if (entry === undefined) {
      const text = `${g.device} ${metric}: read failed: ${describe(e)}`;
      const note: SensorNote = { source: SOURCE, device: g.device, status: "error", message: text };
      if (e instanceof NvmlError && e.code === 15) {
        note.fix = "the GPU fell off the bus: check dmesg / nvidia-smi";
      }
      entry = { note, count: 0, text };
      this.#errors.set(key, entry);
      this.notes.push(note);
    }
    entry.count++;
    if (entry.count > 1) entry.note.message = `${entry.text} (${entry.count} times)`;
  }

  async #queryProcesses(): Promise<void> {
    const gpus = this.#gpus.filter((g) => g.iProcCount >= 0);
    const results = await Promise.allSettled(
      gpus.map((g) => this.#nvml.computeRunningProcesses(g.handle, g.procs)),
    );
    if (this.#closed) return;
    const root = this.#opts.rootPid?.();
    const tree = root === undefined ? undefined : processTree(this.#opts.procfsRoot, root);
    for (let k = 0; k < gpus.length; k++) {
      const g = gpus[k];
      const r = results[k];
      if (r.status === "rejected") {
        this.#fail(g, "process_count", r.reason);
        continue;
      }
      let count = 0, mem = 0, other = 0;
      for (let i = 0; i < g.procs.count; i++) {
        const pid = g.procs.pid(i);
        if (tree?.has(pid)) {
          count++;
          const b = g.procs.usedGpuMemory(i);
          if (b === b) mem += b;
        } else {
          other++;
          g.otherPids.add(pid);
        }
      }
      g.procCount = tree === undefined ? NaN : count;
      g.procMem = tree === undefined ? NaN : mem;
      g.procOther = other;
      g.procFresh = true;
      if (count > 0) g.usedByCommand = true;
      if (mem > g.maxCommandMemBytes) g.maxCommandMemBytes = mem;
    }
  }

  async #queryPcie(): Promise<void> {
    const gpus = this.#gpus.filter((g) => g.iPcieTx >= 0 && g.gpm === null && !g.pcieDisabled);
    await Promise.all(gpus.map(async (g) => {
      try {
        const [tx, rx] = await Promise.all([
          this.#nvml.pcieThroughputKBps(g.handle, NVML_PCIE_UTIL_TX_BYTES),
          this.#nvml.pcieThroughputKBps(g.handle, NVML_PCIE_UTIL_RX_BYTES),
        ]);
        g.pcieTx = tx * KIB;
        g.pcieRx = rx * KIB;
        g.pcieFresh = true;
      } catch (e) {
        if (unsupported(e)) g.pcieDisabled = true;
        if (!this.#closed) this.#fail(g, "pcie_tx_bytes_per_s", e);
      }
    }));
  }

  gpuUse(): GpuUse[] {
    return this.#gpus.map((g) => ({
      device: g.device,
      uuid: g.uuid,
      usedByCommand: g.usedByCommand,
      maxCommandMemBytes: g.maxCommandMemBytes,
      otherPids: [...g.otherPids].sort((a, b) => a - b),
    }));
  }

  updatePeriods(): Record<string, Record<string, number | null>> {
    const out: Record<string, Record<string, number | null>> = {};
    for (const g of this.#gpus) {
      const p: Record<string, number | null> = {};
      if (g.iPower >= 0) p.power_w = g.periods.power_w.period();
      if (g.iInstant >= 0) p.power_instant_w = g.periods.power_instant_w.period();
      if (g.iEnergy >= 0 && g.hasCounter) p.energy_j = g.periods.energy_j.period();
      out[g.device] = p;
    }
    return out;
  }

  async settled(): Promise<void> {
    await this.#drain();
    await this.#released;
  }

  async #drain(): Promise<void> {
    while (this.#procInflight || this.#pcieInflight) {
      await Promise.allSettled([this.#procInflight, this.#pcieInflight]);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const release = () => {
      for (const g of this.#gpus) {
        if (g.gpm) {
          this.#nvml.gpmSampleFree(g.gpm.prev);
          this.#nvml.gpmSampleFree(g.gpm.cur);
        }
      }
      this.#nvml.close();
    };
    // A slow query may still run on NVML's blocking thread: unload only after it returns.
    if (this.#procInflight || this.#pcieInflight) this.#released = this.#drain().then(release);
    else release();
  }
}

// ---------------------------------------------------------------------------
// open

function openFailure(lib: string, e: unknown): SensorNote {
  if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
    return {
      source: SOURCE,
      status: "not-permitted",
      message: `NVML library ${lib} may not be loaded: ${describe(e)}`,
      fix: "run with --allow-ffi (the compiled aimeter binary has it)",
    };
  }
  if (e instanceof NvmlError && e.code === NVML_ERROR_LIBRARY_NOT_FOUND) {
    const bare = !lib.includes("/");
    return {
      source: SOURCE,
      status: "not-found",
      message: bare
        ? `NVML library ${lib} not found: no NVIDIA driver on this node (${e.message})`
        : `NVML library ${lib} could not be loaded: ${e.message}`,
      fix: bare
        ? "pass --nvml-lib PATH if it is installed elsewhere"
        : "check the --nvml-lib path (it must be libnvidia-ml.so from the NVIDIA driver)",
    };
  }
  if (e instanceof NvmlError && e.code === NVML_ERROR_DRIVER_NOT_LOADED) {
    return {
      source: SOURCE,
      status: "not-found",
      message: `NVIDIA driver not loaded: ${e.fn}: ${e.message} (${e.name})`,
      fix: "load the driver (sudo modprobe nvidia) or run on a GPU node; `nvidia-smi` must work",
    };
  }
  if (e instanceof NvmlError && e.code === NVML_ERROR_NO_PERMISSION) {
    return {
      source: SOURCE,
      status: "not-permitted",
      message: `NVML refused access: ${e.fn}: ${e.message} (${e.name})`,
      fix: "check permissions on /dev/nvidia* (the user must be able to run nvidia-smi)",
    };
  }
  if (e instanceof NvmlError && e.code === 18) {
    return {
      source: SOURCE,
      status: "error",
      message: `NVML and the kernel driver differ: ${e.fn}: ${e.message} (${e.name})`,
      fix: "reboot or reload the nvidia kernel module after the driver update",
    };
  }
  return { source: SOURCE, status: "error", message: `NVML failed: ${describe(e)}` };
}

/** Try one call at open: true = keep the channel; false = not supported (recorded). */
function probe(f: () => unknown, onUnsupported: () => void): boolean {
  try {
    f();
    return true;
  } catch (e) {
    if (unsupported(e)) {
      onUnsupported();
      return false;
    }
    return true; // other errors may pass; reads will note them
  }
}

function attempt<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

function openNvml(opts: SensorOptions): { sensor: NvmlSensor | null; notes: SensorNote[] } {
  const lib = opts.nvmlLib || NVML_DEFAULT_LIB;
  const notes: SensorNote[] = [];
  let nvml: Nvml;
  try {
    nvml = Nvml.load(lib);
  } catch (e) {
    return { sensor: null, notes: [openFailure(lib, e)] };
  }
  try {
    nvml.init();
  } catch (e) {
    nvml.close();
    return { sensor: null, notes: [openFailure(lib, e)] };
  }
  try {
    return build(nvml, opts, notes);
  } catch (e) {
    nvml.close();
    notes.push(openFailure(lib, e));
    return { sensor: null, notes };
  }
}

function build(
  nvml: Nvml,
  opts: SensorOptions,
  notes: SensorNote[],
): { sensor: NvmlSensor | null; notes: SensorNote[] } {
  const driver = attempt(() => nvml.driverVersion());
  const nvmlVersion = attempt(() => nvml.nvmlVersion());
  const count = nvml.deviceCount();
  const all: { index: number; handle: NvmlDevice; uuid: string }[] = [];
  for (let i = 0; i < count; i++) {
    try {
      const handle = nvml.deviceHandleByIndex(i);
      all.push({ index: i, handle, uuid: attempt(() => nvml.deviceUuid(handle)) ?? "" });
    } catch (e) {
      notes.push({
        source: SOURCE,
        device: `gpu${i}`,
        status: e instanceof NvmlError && e.code === NVML_ERROR_NO_PERMISSION
          ? "not-permitted"
          : "error",
        message: `gpu${i}: ${describe(e)}`,
        fix:
          "nvmlDeviceGetCount counts GPUs this user may not open; check /dev/nvidia* permissions",
      });
    }
  }
  let chosen = all;
  if (opts.gpus !== undefined) {
    const sel = selectGpus(opts.gpus, all);
    notes.push(...sel.notes);
    chosen = all.filter((g) => sel.keep.has(g.index));
  }
  if (chosen.length === 0) {
    nvml.close();
    notes.push({
      source: SOURCE,
      status: "not-found",
      message: count === 0
        ? "NVML sees no NVIDIA GPU"
        : "no NVIDIA GPU left after --gpus selection",
      fix: count === 0 ? "check nvidia-smi -L" : "check --gpus against nvidia-smi -L",
    });
    return { sensor: null, notes };
  }

  const gpus: Gpu[] = [];
  const sensor = new NvmlGpuSensor(nvml, gpus, opts, notes);
  const unsupportedBy = new Map<string, string[]>();
  const skip = (metric: string, device: string) => () => {
    const list = unsupportedBy.get(metric) ?? [];
    list.push(device);
    unsupportedBy.set(metric, list);
  };

  for (const c of chosen) {
    const h = c.handle;
    const device = `gpu${c.index}`;
    const ch = (metric: string) => sensor.addChannel(device, metric);
    const g: Gpu = {
      index: c.index,
      device,
      uuid: c.uuid,
      handle: h,
      iEnergy: -1,
      iPower: -1,
      iInstant: -1,
      iUtil: -1,
      iMemUtil: -1,
      iMemUsed: -1,
      iMemTotal: -1,
      iTemp: -1,
      iSm: -1,
      iMemClk: -1,
      iLimit: -1,
      iThrottle: -1,
      iPcieTx: -1,
      iPcieRx: -1,
      iProcCount: -1,
      iProcMem: -1,
      iOther: -1,
      hasCounter: false,
      acc: new CounterAccumulator(1e-3), // mJ, u64: no wrap in practice; a drop is a driver reload
      integ: new PowerIntegrator(),
      fv: null,
      mem: new Float64Array(3),
      gpm: null,
      procs: new ProcessList(),
      procFresh: false,
      procCount: NaN,
      procMem: NaN,
      procOther: NaN,
      pcieFresh: false,
      pcieTx: NaN,
      pcieRx: NaN,
      pcieDisabled: false,
      usedByCommand: false,
      maxCommandMemBytes: 0,
      otherPids: new Set(),
      periods: {
        power_w: new ChangeTracker(),
        power_instant_w: new ChangeTracker(),
        energy_j: new ChangeTracker(),
      },
    };

    // energy_j first in the channel list: the counter where the GPU has one (Volta+).
    const hasPower = probe(() => nvml.powerUsageMw(h), skip("power_w", device));
    let counterWhy = "";
    g.hasCounter = probe(() => nvml.totalEnergyMj(h), () => {
      counterWhy = nvml.has("nvmlDeviceGetTotalEnergyConsumption")
        ? nvml.errorString(3)
        : "not in this NVML library";
    });
    if (g.hasCounter || hasPower) g.iEnergy = ch("energy_j");
    if (!g.hasCounter) {
      notes.push({
        source: SOURCE,
        device,
        status: hasPower ? "estimated" : "unsupported",
        message: hasPower
          ? `${device}: no energy counter (nvmlDeviceGetTotalEnergyConsumption: ${counterWhy}); energy_j integrates power_w (power-integral)`
          : `${device}: neither an energy counter nor power readings; no energy_j`,
      });
    }
    if (hasPower) g.iPower = ch("power_w");

    if (nvml.has("nvmlDeviceGetFieldValues")) {
      const fv = new FieldValues([NVML_FI_DEV_POWER_INSTANT]);
      let ok = false;
      try {
        nvml.fieldValues(h, fv);
        ok = fv.ret(0) === NVML_SUCCESS;
        if (!ok && fv.ret(0) !== 3) ok = true; // not "not supported": keep, reads will note
      } catch (e) {
        ok = !unsupported(e);
      }
      if (ok) {
        g.fv = fv;
        g.iInstant = ch("power_instant_w");
      } else skip("power_instant_w", device)();
    } else skip("power_instant_w", device)();

    if (probe(() => nvml.utilization(h), skip("util_pct", device))) {
      g.iUtil = ch("util_pct");
      g.iMemUtil = ch("mem_util_pct");
    }
    if (probe(() => nvml.memoryInfo(h, g.mem), skip("mem_used_bytes", device))) {
      g.iMemUsed = ch("mem_used_bytes");
      g.iMemTotal = ch("mem_total_bytes");
    }
    if (probe(() => nvml.temperatureC(h), skip("temp_c", device))) g.iTemp = ch("temp_c");
    if (probe(() => nvml.clockMhz(h, NVML_CLOCK_SM), skip("sm_clock_mhz", device))) {
      g.iSm = ch("sm_clock_mhz");
    }
    if (probe(() => nvml.clockMhz(h, NVML_CLOCK_MEM), skip("mem_clock_mhz", device))) {
      g.iMemClk = ch("mem_clock_mhz");
    }
    const limitMw = attempt(() => nvml.enforcedPowerLimitMw(h));
    if (probe(() => nvml.enforcedPowerLimitMw(h), skip("power_limit_w", device))) {
      g.iLimit = ch("power_limit_w");
    }
    if (probe(() => nvml.clocksEventReasons(h), skip("throttle_reasons", device))) {
      g.iThrottle = ch("throttle_reasons");
    }

    // GPM (Hopper+): two samples give rates; the first is taken now.
    let gpmOk = false;
    try {
      gpmOk = nvml.has("nvmlGpmSampleGet") && nvml.has("nvmlGpmMetricsGet") && nvml.gpmSupported(h);
    } catch {
      gpmOk = false;
    }
    if (gpmOk) {
      try {
        const prev = nvml.gpmSampleAlloc();
        const cur = nvml.gpmSampleAlloc();
        nvml.gpmSampleGet(h, prev);
        g.gpm = {
          req: new GpmMetricsRequest(GPM_CHANNELS.map((m) => m[0])),
          prev,
          cur,
          slots: GPM_CHANNELS.map((m) => ch(m[1])),
          scales: GPM_CHANNELS.map((m) => m[2]),
          lastUs: performance.timeOrigin * 1000 + performance.now() * 1000,
        };
        g.iPcieTx = g.gpm.slots[4];
        g.iPcieRx = g.gpm.slots[5];
      } catch (e) {
        notes.push({
          source: SOURCE,
          device,
          status: "error",
          message: `${device}: GPM: ${describe(e)}`,
        });
      }
    }
    if (g.gpm === null) {
      skip("gpm (sm_active_pct, tensor_active_pct, ...: Hopper and newer)", device)();
      if (nvml.has("nvmlDeviceGetPcieThroughput")) {
        g.iPcieTx = ch("pcie_tx_bytes_per_s");
        g.iPcieRx = ch("pcie_rx_bytes_per_s");
      } else skip("pcie_tx_bytes_per_s", device)();
    }

    if (nvml.has("nvmlDeviceGetComputeRunningProcesses_v3")) {
      g.iProcCount = ch("process_count");
      g.iProcMem = ch("process_mem_used_bytes");
      g.iOther = ch("other_process_count");
    } else skip("process_count", device)();

    const name = attempt(() => nvml.deviceName(h));
    const pci = attempt(() => nvml.devicePciInfo(h));
    const arch = attempt(() => nvml.deviceArchitecture(h));
    const attributes: Record<string, string | number | boolean> = { nvml_index: c.index };
    if (driver) attributes.driver_version = driver;
    if (nvmlVersion) attributes.nvml_version = nvmlVersion;
    if (pci) {
      attributes.pci_bus_id = pci.busId;
      attributes.pci_device_id = `0x${(pci.pciDeviceId >>> 0).toString(16).padStart(8, "0")}`;
    }
    if (arch !== undefined) {
      attributes.architecture = NVML_ARCHITECTURES[arch] ?? `unknown (${arch})`;
    }
    if (limitMw !== undefined) attributes.power_limit_w = limitMw / 1000;
    attributes.gpm = g.gpm !== null;
    sensor.devices.push({
      source: SOURCE,
      device,
      name,
      uuid: c.uuid || undefined,
      energyMethod: g.iEnergy < 0 ? undefined : g.hasCounter ? "counter" : "power-integral",
      total: "gpu",
      attributes,
    });
    gpus.push(g);
  }

  for (const [metric, devices] of unsupportedBy) {
    notes.push({
      source: SOURCE,
      status: "unsupported",
      message: `${metric}: not supported on ${devices.join(", ")}`,
    });
  }
  return { sensor: sensor.ready(), notes };
}

export const nvmlFactory: SensorFactory = {
  source: SOURCE,
  open(opts: SensorOptions): { sensor: NvmlSensor | null; notes: SensorNote[] } {
    try {
      return openNvml(opts);
    } catch (e) {
      return { sensor: null, notes: [openFailure(opts.nvmlLib || NVML_DEFAULT_LIB, e)] };
    }
  },
};
