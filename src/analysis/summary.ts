/**
 * summary.json (schema `aimeter/summary@1`, see the README): built from one
 * or more traces alone, so `aimeter report` on another machine gives the same
 * numbers as the run that recorded them. Later stages (carbon, workload,
 * correlations, findings) add their blocks through `extend`.
 */
import type { Trace } from "../trace/reader.ts";
import type { DeviceInfo, SensorNote } from "../sensors/types.ts";
import { deviceEnergies, type DeviceEnergy, type EnergyTotals, energyTotals } from "./energy.ts";
import { VERSION } from "../version.ts";

export interface RunBlock {
  command: string[];
  exit_code: number | null;
  start: string;
  end: string;
  duration_s: number;
  host: string;
  hosts: string[];
  interval_s: number;
  aimeter_version: string;
  mode?: string;
  cpu_model?: string;
  gpu_models?: string[];
  driver_versions?: Record<string, string>;
  slurm?: Record<string, string>;
  /** False when the trace was read from the segments of a run that did not finish. */
  complete: boolean;
}

export interface HostBlock {
  host: string;
  energy_j: EnergyTotals;
  devices: number;
}

export interface Summary {
  schema: "aimeter/summary@1";
  run: RunBlock;
  devices: DeviceEnergy[];
  energy_j: EnergyTotals;
  energy_kwh: number;
  /** Share of the total that is measured (counter or power integral) rather than estimated. */
  measured_fraction: number | null;
  /**
   * `peak`: the highest total power of the counted devices at one instant
   * (`peak_method: "coincident"`: every device sampled in the same tick), or,
   * where ticks cannot be aligned (several nodes), the sum of per-host peaks.
   */
  power_w: { avg: number | null; peak: number | null; peak_method: string | null };
  hosts: HostBlock[];
  /** Sources that could not be read, with the reason and the fix. */
  sensors: SensorNote[];
  // deno-lint-ignore no-explicit-any
  carbon?: any;
  // deno-lint-ignore no-explicit-any
  workload?: any;
  // deno-lint-ignore no-explicit-any
  correlations?: any[];
  // deno-lint-ignore no-explicit-any
  findings?: any[];
  // deno-lint-ignore no-explicit-any
  quality?: any;
  // deno-lint-ignore no-explicit-any
  [extra: string]: any;
}

/**
 * The highest sum of `power_w` over the counted devices of one trace at one
 * tick (all samples of a tick share a timestamp). Ticks where a device has
 * no sample carry its previous value forward.
 */
function coincidentPeak(tr: Trace, devices: DeviceEnergy[]): number {
  const counted = new Set(
    devices.filter((d) => d.total !== "none" && d.total !== "host").map((d) =>
      `${d.host}\u0000${d.source}\u0000${d.device}`
    ),
  );
  const power = tr.series.filter((s) =>
    s.metric === "power_w" && counted.has(`${s.host}\u0000${s.source}\u0000${s.device}`)
  );
  if (!power.length) return 0;
  const idx = new Array(power.length).fill(0);
  const last = new Array(power.length).fill(0);
  let peak = 0;
  for (;;) {
    let t = Infinity;
    for (let k = 0; k < power.length; k++) {
      if (idx[k] < power[k].times.length) t = Math.min(t, power[k].times[idx[k]]);
    }
    if (t === Infinity) break;
    let sum = 0;
    for (let k = 0; k < power.length; k++) {
      while (idx[k] < power[k].times.length && power[k].times[idx[k]] <= t) {
        last[k] = power[k].values[idx[k]++];
      }
      sum += last[k];
    }
    if (sum > peak) peak = sum;
  }
  return peak;
}

function isoOf(us: number): string {
  return new Date(us / 1000).toISOString();
}

/** Build the summary of one run (one trace) or of one job (traces of several nodes). */
export function buildSummary(traces: Trace[]): Summary {
  if (traces.length === 0) throw new Error("buildSummary: no trace");
  let t0 = Infinity, t1 = -Infinity;
  const devices: DeviceEnergy[] = [];
  const notes: SensorNote[] = [];
  const hosts: HostBlock[] = [];
  for (const tr of traces) {
    for (const s of tr.series) {
      if (s.times.length) {
        t0 = Math.min(t0, s.times[0]);
        t1 = Math.max(t1, s.times[s.times.length - 1]);
      }
    }
    const infos = (tr.meta?.devices ?? []) as DeviceInfo[];
    const devs = deviceEnergies(tr.series, infos);
    devices.push(...devs);
    for (const n of (tr.meta?.notes ?? []) as SensorNote[]) {
      notes.push(traces.length > 1 ? { ...n, message: `${tr.meta?.host}: ${n.message}` } : n);
    }
    const byHost = new Map<string, DeviceEnergy[]>();
    for (const d of devs) {
      if (!byHost.has(d.host)) byHost.set(d.host, []);
      byHost.get(d.host)!.push(d);
    }
    if (byHost.size === 0 && tr.meta?.host) byHost.set(tr.meta.host, []);
    for (const [host, ds] of byHost) {
      hosts.push({ host, energy_j: energyTotals(ds), devices: ds.length });
    }
  }
  const first = traces[0].meta;
  const metaStart = traces.map((t) => t.meta?.start).filter(Boolean).sort()[0];
  const metaEnd = traces.map((t) => t.meta?.end).filter(Boolean).sort().at(-1);
  const start = metaStart ?? (Number.isFinite(t0) ? isoOf(t0) : "");
  const end = metaEnd ?? (Number.isFinite(t1) ? isoOf(t1) : start);
  const duration_s = start && end ? Math.max(0, (Date.parse(end) - Date.parse(start)) / 1000) : 0;
  const totals = energyTotals(devices);
  const powerPeaks = devices.filter(
    (d) => d.total !== "none" && d.total !== "host" && d.peak_power_w !== null,
  );
  const hostPeaks = traces.map((t) => coincidentPeak(t, devices)).filter((p) => p > 0);
  const exitCodes = traces.map((t) => t.meta?.exit_code).filter((c) => c !== undefined);
  const run: RunBlock = {
    command: first?.command ?? [],
    exit_code: exitCodes.length
      ? (exitCodes.find((c) => c !== 0 && c !== null) ?? exitCodes[0] ?? null)
      : null,
    start,
    end,
    duration_s,
    host: first?.host ?? traces[0].series[0]?.host ?? "unknown",
    hosts: [...new Set(hosts.map((h) => h.host))],
    interval_s: first?.interval_s ?? 0,
    aimeter_version: first?.aimeter_version ?? VERSION,
    mode: first?.mode,
    cpu_model: first?.cpu_model,
    gpu_models: first?.gpu_models,
    driver_versions: first?.driver_versions,
    slurm: first?.slurm,
    complete: traces.every((t) => t.location.complete),
  };
  return {
    schema: "aimeter/summary@1",
    run,
    devices,
    energy_j: totals,
    energy_kwh: totals.total / 3.6e6,
    measured_fraction: totals.total > 0 ? totals.measured / totals.total : null,
    power_w: {
      avg: duration_s > 0 && totals.total > 0 ? totals.total / duration_s : null,
      peak: powerPeaks.length ? hostPeaks.reduce((a, b) => a + b, 0) : null,
      peak_method: powerPeaks.length
        ? (hostPeaks.length > 1 ? "sum of coincident per-node peaks" : "coincident") +
          (traces.some((t) => t.series.some((x) => x.reduced))
            ? " (a long trace: from each time bucket's extremes)"
            : "")
        : null,
    },
    hosts,
    sensors: notes,
  };
}
