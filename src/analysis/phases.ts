/**
 * Energy inside a time window (a phase, the idle baseline, the command), and
 * the units of work (steps, samples, tokens, requests) a workload did in it.
 * Pure functions over trace series.
 */
import type { Series, Trace } from "../trace/reader.ts";
import type { DeviceInfo } from "../sensors/types.ts";
import { deviceEnergies, type DeviceEnergy, type EnergyTotals, energyTotals } from "./energy.ts";

/** Index of the last time ≤ t (−1 when none). */
export function lastAtOrBefore(times: ArrayLike<number>, t: number): number {
  let lo = 0, hi = times.length - 1, ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] <= t) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/** Linear interpolation of a series at t, clamped to its first and last values. */
export function valueAt(times: ArrayLike<number>, values: ArrayLike<number>, t: number): number {
  const n = times.length;
  if (!n) return NaN;
  if (t <= times[0]) return values[0];
  if (t >= times[n - 1]) return values[n - 1];
  const i = lastAtOrBefore(times, t);
  const t0 = times[i], t1 = times[i + 1];
  return t1 === t0 ? values[i] : values[i] + ((values[i + 1] - values[i]) * (t - t0)) / (t1 - t0);
}

/** Trapezoidal integral (J from W, times µs) of a series between t0 and t1 (clipped to its span). */
export function integrateWindow(
  times: ArrayLike<number>,
  values: ArrayLike<number>,
  t0: number,
  t1: number,
): number {
  const n = times.length;
  if (n < 2) return 0;
  const a = Math.max(t0, times[0]), b = Math.min(t1, times[n - 1]);
  if (b <= a) return 0;
  let j = 0;
  let pt = a, pv = valueAt(times, values, a);
  for (let i = lastAtOrBefore(times, a) + 1; i < n && times[i] < b; i++) {
    j += ((values[i] + pv) / 2) * ((times[i] - pt) / 1e6);
    pt = times[i];
    pv = values[i];
  }
  const bv = valueAt(times, values, b);
  j += ((bv + pv) / 2) * ((b - pt) / 1e6);
  return j;
}

export interface WindowEnergy {
  totals: EnergyTotals;
  devices: DeviceEnergy[];
}

/**
 * Energy of every device between t0 and t1 (µs): the cumulative `energy_j`
 * series where there is one (interpolated at the bounds), else the integral
 * of `power_w`. Totals follow the same rules as the run's (no double count).
 */
export function energyInWindow(traces: Trace[], t0: number, t1: number): WindowEnergy {
  const devices: DeviceEnergy[] = [];
  for (const tr of traces) {
    const infos = (tr.meta?.devices ?? []) as DeviceInfo[];
    const bySeries = new Map<string, Map<string, Series>>();
    for (const s of tr.series) {
      const k = `${s.host}\u0000${s.source}\u0000${s.device}`;
      let m = bySeries.get(k);
      if (!m) bySeries.set(k, m = new Map());
      m.set(s.metric, s);
    }
    for (const d of deviceEnergies(tr.series, infos)) {
      const m = bySeries.get(`${d.host}\u0000${d.source}\u0000${d.device}`);
      const e = m?.get("energy_j"), p = m?.get("power_w");
      let j: number | null = null;
      if (e && e.times.length >= 1 && d.energy_j !== null && m?.get("energy_j")) {
        j = e.times.length > 1
          ? valueAt(e.times, e.values, t1) - valueAt(e.times, e.values, t0)
          : 0;
      } else if (p && p.times.length > 1) {
        j = integrateWindow(p.times, p.values, t0, t1);
      }
      const dur = Math.max(0, (t1 - t0) / 1e6);
      devices.push({
        ...d,
        energy_j: j,
        avg_power_w: j !== null && dur > 0 ? j / dur : null,
        duration_s: dur,
      });
    }
  }
  return { totals: energyTotals(devices), devices };
}

/** Workload series of the traces by metric name (the first trace that has a name wins). */
export function workloadSeries(traces: Trace[]): Map<string, Series> {
  const out = new Map<string, Series>();
  for (const tr of traces) {
    for (const s of tr.series) {
      if (s.source === "workload" && !out.has(s.metric) && s.times.length) out.set(s.metric, s);
    }
  }
  return out;
}

export type UnitKind = "steps" | "samples" | "tokens" | "requests";

export interface UnitCount {
  value: number;
  /** How it was counted, in words (`counter step`, `integrated samples_per_s`, ...). */
  method: string;
}

/** Counters (cumulative) and rates per unit, by metric name, in order of preference. */
const COUNTERS: Record<UnitKind, string[]> = {
  steps: ["step", "global_step", "steps", "train_step", "iteration", "iter"],
  samples: ["samples", "samples_total", "num_samples", "samples_seen", "train_samples", "images"],
  tokens: ["tokens", "tokens_total", "num_tokens", "generated_tokens", "num_input_tokens_seen"],
  requests: ["requests", "requests_total", "num_requests"],
};
const RATES: Record<UnitKind, string[]> = {
  steps: ["steps_per_s", "steps_per_second", "it_per_s", "train_steps_per_second"],
  samples: [
    "samples_per_s",
    "samples_per_sec",
    "samples_per_second",
    "train_samples_per_second",
    "images_per_s",
    "images_per_second",
  ],
  tokens: ["tokens_per_s", "tokens_per_sec", "tokens_per_second", "train_tokens_per_second"],
  requests: ["requests_per_s", "requests_per_second"],
};
/** Scraped counter roles (meta.extra.workload.counters) that count a unit. */
const ROLE_UNIT: Record<string, UnitKind> = {
  tokens: "tokens",
  requests: "requests",
  inferences: "requests",
};

function median(a: number[]): number {
  if (!a.length) return NaN;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Growth of a cumulative counter inside [t0, t1]. The value before the
 * window is the last one at or before t0; with none, a workload counter is
 * taken to start at 0 (or one increment before its first value when it
 * clearly did not start at 0: a resumed run), a scraped one at its first value.
 */
export function counterDelta(
  s: Series,
  t0: number,
  t1: number,
  scraped: boolean,
): number | undefined {
  const iEnd = lastAtOrBefore(s.times, t1);
  if (iEnd < 0) return undefined;
  const iStart = lastAtOrBefore(s.times, t0);
  if (iStart >= 0 && iStart === iEnd) return 0;
  let base: number;
  if (iStart >= 0) base = s.values[iStart];
  else {
    const first = s.values[0];
    if (scraped) base = first;
    else {
      const inc: number[] = [];
      for (let i = 1; i < Math.min(s.values.length, 50); i++) {
        const d = s.values[i] - s.values[i - 1];
        if (d > 0) inc.push(d);
      }
      const step = median(inc);
      base = Number.isFinite(step) && first > 2 * step ? first - step : 0;
    }
  }
  // counters that were reset (a restarted server) count their growth piecewise
  let total = 0;
  let prev = base;
  for (let i = Math.max(0, iStart + 1); i <= iEnd; i++) {
    const v = s.values[i];
    total += v >= prev ? v - prev : v;
    prev = v;
  }
  return total;
}

/** ∫ rate dt over [t0, t1]: each value covers the time since the previous report. */
export function integrateRate(s: Series, t0: number, t1: number): number | undefined {
  const n = s.times.length;
  if (n < 2) return undefined;
  const gaps: number[] = [];
  for (let i = 1; i < n; i++) gaps.push(s.times[i] - s.times[i - 1]);
  const gap0 = median(gaps);
  let total = 0;
  let any = false;
  for (let i = 0; i < n; i++) {
    const t = s.times[i];
    const from = i ? s.times[i - 1] : t - gap0;
    const a = Math.max(from, t0), b = Math.min(t, t1);
    if (b <= a) continue;
    total += s.values[i] * ((b - a) / 1e6);
    any = true;
  }
  return any ? total : undefined;
}

/** Units of work done inside [t0, t1], from whatever the workload reported. */
export function unitsInWindow(
  ws: Map<string, Series>,
  counters: Record<string, string>,
  t0: number,
  t1: number,
  wholeRun: boolean,
): Partial<Record<UnitKind, UnitCount>> {
  const out: Partial<Record<UnitKind, UnitCount>> = {};
  for (const unit of ["steps", "samples", "tokens", "requests"] as UnitKind[]) {
    // 1. a cumulative counter the workload reported
    for (const name of COUNTERS[unit]) {
      const s = ws.get(name);
      if (!s) continue;
      const v = counterDelta(s, t0, t1, false);
      if (v !== undefined && v > 0) {
        out[unit] = { value: v, method: `counter ${name}` };
        break;
      }
    }
    if (out[unit]) continue;
    // 2. a scraped server counter
    for (const [name, role] of Object.entries(counters)) {
      if (ROLE_UNIT[role] !== unit) continue;
      const s = ws.get(name);
      if (!s) continue;
      const v = counterDelta(s, t0, t1, true);
      if (v !== undefined && v > 0) {
        out[unit] = { value: v, method: `scraped counter ${name}` };
        break;
      }
    }
    if (out[unit]) continue;
    // 3. a rate, integrated over time
    for (const name of RATES[unit]) {
      const s = ws.get(name);
      if (!s) continue;
      const v = integrateRate(s, t0, t1);
      if (v !== undefined && v > 0) {
        out[unit] = { value: v, method: `integrated ${name}` };
        break;
      }
      // 4. Hugging Face's end-of-training rate × runtime
      const rt = ws.get("train_runtime");
      if (wholeRun && rt && s.values.length && name.startsWith("train_")) {
        const val = s.values[s.values.length - 1] * rt.values[rt.values.length - 1];
        if (val > 0) {
          out[unit] = { value: val, method: `${name} × train_runtime` };
          break;
        }
      }
    }
  }
  return out;
}
