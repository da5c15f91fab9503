/**
 * The contract between hardware sources and the sampler.
 *
 * A sensor lists its channels once (source/device/metric triples, see the trace
 * schema in the README) and then, once per tick, fills one value per channel.
 * Everything a sensor knows about its devices (model, UUID, how energy is
 * obtained, which total it counts into) is in `devices`; everything that went
 * wrong or could not be found is in `notes`, with the fix.
 */

/** How an energy figure was obtained. Shown next to every energy number. */
export type EnergyMethod = "counter" | "power-integral" | "estimate";

/**
 * Which total of summary.json `energy_j` a device's energy counts into.
 * `none` marks devices whose energy is already inside another device
 * (RAPL core/uncore inside their package, a Grace module meter containing the GPU).
 */
export type EnergyTotal = "gpu" | "cpu" | "dram" | "host" | "other" | "none";

export interface Channel {
  /** `nvml`, `rapl`, `amdgpu`, `hwmon`, `proc`, `workload`, ... */
  source: string;
  /** `gpu0`, `package-0`, `package-0/dram`, `cpu`, `process`, ... */
  device: string;
  /** snake case with the unit last: `power_w`, `energy_j`, `util_pct` ... */
  metric: string;
}

export interface DeviceInfo {
  source: string;
  device: string;
  /** Human model name: "NVIDIA H100 80GB HBM3", "Intel(R) Xeon(R) ..." */
  name?: string;
  uuid?: string;
  /** How this device's `energy_j` channel is obtained; absent when it has none. */
  energyMethod?: EnergyMethod;
  /** Which summary total the device's energy goes into. */
  total?: EnergyTotal;
  /** Anything else worth keeping in the trace metadata (driver, pci bus, limits). */
  attributes?: Record<string, string | number | boolean>;
}

/** Outcome of looking for a source; what `aimeter sensors` prints. */
export type ProbeStatus =
  | "found"
  | "not-found"
  | "not-permitted"
  | "estimated"
  | "unsupported"
  | "error";

export interface SensorNote {
  source: string;
  status: ProbeStatus;
  /** One line in words: what was seen. */
  message: string;
  /** What the user can do about it (exact command where possible). */
  fix?: string;
  device?: string;
}

export interface Sensor {
  readonly source: string;
  readonly channels: readonly Channel[];
  readonly devices: readonly DeviceInfo[];
  /** Problems and facts seen while opening or reading; may grow during a run. */
  readonly notes: SensorNote[];
  /**
   * Read every channel once, synchronously. `values[i]` belongs to
   * `channels[i]`; write NaN where there is no value this tick (the sampler
   * then writes no row). `timeUs` is the tick's timestamp (unix µs), the same
   * for every sensor in the tick.
   */
  read(values: Float64Array, timeUs: number): void;
  /** Release files, libraries, handles. Safe to call twice. */
  close(): void;
}

/** Everything a sensor factory may need to open its source. */
export interface SensorOptions {
  /** Where sysfs is mounted (`/sys`); tests point it at a fixture tree. */
  sysfsRoot: string;
  /** Where procfs is mounted (`/proc`). */
  procfsRoot: string;
  /** NVML library path or bare name (`libnvidia-ml.so.1`). */
  nvmlLib: string;
  /** Sampling period in seconds. */
  intervalS: number;
  /** GPU selection as given by `--gpus` (indices or UUIDs), resolved; undefined = all. */
  gpus?: string[];
  /** `--cpu-tdp` watts for the CPU estimate, when given. */
  cpuTdpW?: number;
  /** The wrapped command's pid, once it is running (undefined for `record`). */
  rootPid?: () => number | undefined;
  /**
   * The processes to attribute, when they are not one tree (a SLURM job's
   * cgroup): when set, it is used instead of `rootPid`'s process tree.
   */
  processPids?: () => Set<number>;
}

/**
 * A source of sensors. `open` never throws for a missing or unreadable
 * source: it returns `sensor: null` and notes saying why and how to fix it.
 */
export interface SensorFactory {
  source: string;
  open(opts: SensorOptions): { sensor: Sensor | null; notes: SensorNote[] };
}
