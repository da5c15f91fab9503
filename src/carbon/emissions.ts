/**
 * Pure emission arithmetic: energy (per device, per phase) × PUE × grid
 * intensity, fixed or time-varying; water (WUE) and cost.
 *
 * Units: time in microseconds since the Unix epoch (the trace's clock), energy
 * in joules, intensity in g CO2e per kWh, emissions in grams.
 *
 * Time-varying intensity is a step function: each row of the series holds from
 * its time until the next row (the last holds for ever; before the first row,
 * the first value is used and a note says so). Emissions are integrated sample
 * by sample: the energy of each interval between two energy samples is spread
 * evenly over the interval (constant power between samples) and each part is
 * multiplied by the intensity in force during it; an interval that contains no
 * intensity change simply gets the value in force at its samples.
 */

export const J_PER_KWH = 3.6e6;

/** One row of a time-varying intensity series. */
export interface IntensityPoint {
  timeUs: number;
  g_per_kwh: number;
}

/** Cumulative energy of one device: [(timeUs, joules since its first sample)]. */
export type EnergySeries =
  | readonly (readonly [number, number])[]
  /** Column form (no per-sample objects): times in µs, cumulative joules (any offset). */
  | { readonly times: ArrayLike<number>; readonly joules: ArrayLike<number> };

/** Number of samples of an energy series, in either form. */
export function seriesLength(s: EnergySeries): number {
  return "times" in s ? s.times.length : s.length;
}

/** Fixed intensity, or a series sorted by time. */
export type Intensity =
  | { kind: "fixed"; g_per_kwh: number }
  | { kind: "series"; points: readonly IntensityPoint[] };

/** Index of the row in force at time t (-1: before the first row). */
function rowAt(points: readonly IntensityPoint[], t: number): number {
  let lo = 0, hi = points.length - 1, ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].timeUs <= t) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/** The intensity in force at time t (step function; the first value before it starts). */
export function intensityAt(intensity: Intensity, t: number): number {
  if (intensity.kind === "fixed") return intensity.g_per_kwh;
  const i = rowAt(intensity.points, t);
  return intensity.points[Math.max(0, i)].g_per_kwh;
}

/**
 * `joules` spread evenly over [t0, t1) (constant power), split at intensity
 * changes: returns Σ energy_part × intensity_part (in J·g/kWh).
 */
function weightedJoules(intensity: Intensity, t0: number, t1: number, joules: number): number {
  if (joules === 0) return 0;
  if (intensity.kind === "fixed" || t1 <= t0) return joules * intensityAt(intensity, t0);
  const pts = intensity.points;
  let acc = 0;
  let i = rowAt(pts, t0);
  let a = t0;
  const span = t1 - t0;
  while (a < t1) {
    const next = i + 1 < pts.length ? pts[i + 1].timeUs : Infinity;
    const b = Math.min(t1, next);
    const g = pts[Math.max(0, i)].g_per_kwh;
    acc += joules * ((b - a) / span) * g;
    a = b;
    i++;
  }
  return acc;
}

/** A time window [startUs, endUs). */
export interface Window {
  startUs: number;
  endUs: number;
}

/**
 * Energy (J) and intensity-weighted energy (J·g/kWh) of a cumulative series
 * inside a window (whole series when no window). The part of an interval that
 * lies in the window counts pro rata (constant power within an interval).
 */
export function integrateSeries(
  series: EnergySeries,
  intensity: Intensity,
  window?: Window,
): { energyJ: number; weighted: number } {
  let energyJ = 0, weighted = 0;
  const cols = "times" in series ? series : undefined;
  const rows = cols ? undefined : series as readonly (readonly [number, number])[];
  const n = seriesLength(series);
  for (let k = 1; k < n; k++) {
    const t0 = cols ? cols.times[k - 1] : rows![k - 1][0];
    const e0 = cols ? cols.joules[k - 1] : rows![k - 1][1];
    const t1 = cols ? cols.times[k] : rows![k][0];
    const e1 = cols ? cols.joules[k] : rows![k][1];
    const dE = e1 - e0;
    if (!(dE > 0)) continue; // flat or (never, by contract) decreasing
    let a = t0, b = t1;
    if (window) {
      if (t1 > t0) {
        a = Math.max(t0, window.startUs);
        b = Math.min(t1, window.endUs);
        if (b <= a) continue;
      } else if (t0 < window.startUs || t0 >= window.endUs) continue;
    }
    const part = t1 > t0 ? dE * (b - a) / (t1 - t0) : dE;
    energyJ += part;
    weighted += weightedJoules(intensity, a, b, part);
  }
  return { energyJ, weighted };
}

/** grams CO2e of `weighted` J·g/kWh at a given PUE. */
export function gramsOf(weighted: number, pue: number): number {
  return weighted * pue / J_PER_KWH;
}

/** Emissions (g) of a plain energy at a fixed intensity and PUE. */
export function emissionsG(energyJ: number, gPerKwh: number, pue = 1): number {
  return energyJ / J_PER_KWH * pue * gPerKwh;
}

/**
 * Water (L): WUE (The Green Grid) is site water per kWh of IT energy, so it
 * applies to the measured energy, before PUE.
 */
export function waterL(energyJ: number, wueLPerKwh: number): number {
  return energyJ / J_PER_KWH * wueLPerKwh;
}

/** Cost of the energy drawn from the grid (IT energy × PUE) at a price per kWh. */
export function costOf(energyJ: number, pricePerKwh: number, pue = 1): number {
  return energyJ / J_PER_KWH * pue * pricePerKwh;
}

/** Rows of a `time,g_per_kwh` CSV, validated and sorted. */
export function validateSeries(points: IntensityPoint[]): IntensityPoint[] {
  if (points.length === 0) throw new Error("the intensity series has no rows");
  for (const p of points) {
    if (!Number.isFinite(p.timeUs)) {
      throw new Error("a row of the intensity series has no valid time");
    }
    if (!Number.isFinite(p.g_per_kwh) || p.g_per_kwh < 0) {
      throw new Error(`intensity ${p.g_per_kwh} is not a number ≥ 0`);
    }
  }
  return [...points].sort((a, b) => a.timeUs - b.timeUs);
}
