/**
 * Adapter from the summary's devices and the trace's series to
 * `computeCarbon`'s device input. Structural types only, so this module does
 * not depend on the analysis or trace modules.
 */
import type { CarbonDeviceInput } from "./carbon.ts";

/** The fields used from summary.json `devices` (analysis/energy.ts DeviceEnergy). */
export interface DeviceEnergyLike {
  host: string;
  source: string;
  device: string;
  name?: string;
  energy_j: number | null;
  /** `none` marks energy already inside another device: shown, not counted. */
  total: string;
}

/** The fields used from a trace series (trace/reader.ts Series); times in µs. */
export interface SeriesLike {
  host: string;
  source: string;
  device: string;
  metric: string;
  times: ArrayLike<number>;
  values: ArrayLike<number>;
}

/**
 * One CarbonDeviceInput per device with energy: its cumulative `energy_j`
 * series when the trace has one (for time-varying intensity and phases), else
 * its total. Devices of several hosts are named `host:device`.
 */
export function carbonDevicesFrom(
  devices: readonly DeviceEnergyLike[],
  series: readonly SeriesLike[] = [],
): CarbonDeviceInput[] {
  const multiHost = new Set(devices.map((d) => d.host)).size > 1;
  const energy = new Map<string, SeriesLike>();
  for (const s of series) {
    if (s.metric === "energy_j") energy.set(`${s.host}\u0000${s.source}\u0000${s.device}`, s);
  }
  const out: CarbonDeviceInput[] = [];
  for (const d of devices) {
    if (d.energy_j === null) continue;
    const s = energy.get(`${d.host}\u0000${d.source}\u0000${d.device}`);
    out.push({
      source: d.source,
      device: multiHost ? `${d.host}:${d.device}` : d.device,
      name: d.name ?? null,
      energyJ: d.energy_j,
      // the trace's own columns, no copy: only differences of joules are used
      ...(s && s.times.length >= 2 ? { series: { times: s.times, joules: s.values } } : {}),
      counted: d.total !== "none",
    });
  }
  return out;
}
