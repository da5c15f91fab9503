/**
 * Energy per device from a trace: the `energy_j` series where the recorder
 * wrote one (counter or power integral, as the sensor said), else a
 * trapezoidal integral of `power_w`; average and peak power; which total the
 * device counts into. Pure functions over series, shared by the summary,
 * the report and the exporter.
 */
import type { Series } from "../trace/reader.ts";
import type { DeviceInfo, EnergyMethod, EnergyTotal } from "../sensors/types.ts";

/** Trapezoidal integral of a series (times µs, values W) in joules. */
export function integrate(times: ArrayLike<number>, values: ArrayLike<number>): number {
  let j = 0;
  for (let i = 1; i < times.length; i++) {
    j += ((values[i] + values[i - 1]) / 2) * ((times[i] - times[i - 1]) / 1e6);
  }
  return j;
}

/** Where a device's energy goes when the trace does not say (older or foreign traces). */
export function defaultTotal(source: string, device: string): EnergyTotal {
  if (source === "nvml" || source === "amdgpu" || source === "rocm_smi") return "gpu";
  if (source === "rapl") {
    const leaf = device.split("/").pop() ?? device;
    if (leaf.startsWith("dram")) return "dram";
    if (leaf.startsWith("package")) return "cpu";
    if (leaf.startsWith("psys")) return "host";
    return "none";
  }
  if (source === "estimate") return "cpu";
  return "other";
}

export interface DeviceEnergy {
  host: string;
  source: string;
  device: string;
  name?: string;
  uuid?: string;
  /** null: no energy could be obtained for this device (see `note`). */
  energy_j: number | null;
  energy_method: EnergyMethod | null;
  total: EnergyTotal;
  avg_power_w: number | null;
  peak_power_w: number | null;
  samples: number;
  duration_s: number;
  note?: string;
}

/** Group a trace's series by host/source/device. */
export function seriesByDevice(series: Series[]): Map<string, Map<string, Series>> {
  const out = new Map<string, Map<string, Series>>();
  for (const s of series) {
    const k = `${s.host}\u0000${s.source}\u0000${s.device}`;
    let m = out.get(k);
    if (!m) out.set(k, m = new Map());
    m.set(s.metric, s);
  }
  return out;
}

/** Energy of every device of a trace that has energy or power. */
export function deviceEnergies(series: Series[], infos: DeviceInfo[] = []): DeviceEnergy[] {
  const info = new Map(infos.map((d) => [`${d.source}\u0000${d.device}`, d]));
  const out: DeviceEnergy[] = [];
  for (const metrics of seriesByDevice(series).values()) {
    const energy = metrics.get("energy_j");
    const power = metrics.get("power_w");
    if (!energy && !power) continue;
    const any = (energy ?? power)!;
    const d = info.get(`${any.source}\u0000${any.device}`);
    const ref = power ?? energy!;
    // a reduced series (a very long trace) keeps exact stats of every sample
    const n = ref.stats?.n ?? ref.values.length;
    const duration_s = ref.stats && ref.stats.n > 1
      ? (ref.stats.t1 - ref.stats.t0) / 1e6
      : ref.times.length > 1
      ? (ref.times[ref.times.length - 1] - ref.times[0]) / 1e6
      : 0;
    let energy_j: number | null = null;
    let method: EnergyMethod | null = null;
    let note: string | undefined;
    if (energy && energy.values.length) {
      energy_j = energy.values[energy.values.length - 1] - energy.values[0];
      method = d?.energyMethod ?? "counter";
    } else if (power && (power.stats?.n ?? power.values.length) > 1) {
      energy_j = power.reduced && power.stats
        ? power.stats.integral
        : integrate(power.times, power.values);
      method = "power-integral";
    } else {
      note = "too few samples to compute energy (run longer or sample faster)";
    }
    let peak: number | null = power?.stats ? power.stats.max : null;
    if (power && !power.stats) {
      for (const v of power.values) if (peak === null || v > peak) peak = v;
    }
    const eDur = energy && energy.times.length > 1
      ? (energy.times[energy.times.length - 1] - energy.times[0]) / 1e6
      : duration_s;
    out.push({
      host: any.host,
      source: any.source,
      device: any.device,
      name: d?.name,
      uuid: d?.uuid,
      energy_j,
      energy_method: method,
      total: d?.total ?? defaultTotal(any.source, any.device),
      avg_power_w: energy_j !== null && eDur > 0 ? energy_j / eDur : null,
      peak_power_w: peak,
      samples: n,
      duration_s,
      ...(note ? { note } : {}),
    });
  }
  return out;
}

export interface EnergyTotals {
  /** gpu + cpu + dram + other; devices marked `none` are inside another. */
  total: number;
  gpu: number;
  cpu: number;
  dram: number;
  /**
   * Platform meters (RAPL psys, a Grace module or ACPI power meter): they hold
   * some of the devices above (CPU, DRAM, on Grace Hopper also the GPU), so
   * they are shown beside the total, never added to it.
   */
  host: number;
  other: number;
  /** Joules from counters or power integrals. */
  measured: number;
  /** Joules from models (e.g. CPU TDP × utilization). */
  estimated: number;
}

export function energyTotals(devices: DeviceEnergy[]): EnergyTotals {
  const t: EnergyTotals = {
    total: 0,
    gpu: 0,
    cpu: 0,
    dram: 0,
    host: 0,
    other: 0,
    measured: 0,
    estimated: 0,
  };
  for (const d of devices) {
    if (d.energy_j === null || d.total === "none") continue;
    t[d.total] += d.energy_j;
    if (d.total === "host") continue; // a platform meter, shown beside the total (see EnergyTotals.host)
    t.total += d.energy_j;
    if (d.energy_method === "estimate") t.estimated += d.energy_j;
    else t.measured += d.energy_j;
  }
  return t;
}
