/** Derived series for drawing: power from an energy counter, cumulative energy per device. */
import type { Series } from "../trace/reader.ts";
import { resampleAt } from "./downsample.ts";

/** Power (W) between consecutive samples of a cumulative energy counter (J), at the later sample. */
export function powerFromEnergy(e: Series): { x: Float64Array; y: Float64Array } {
  const n = e.times.length;
  if (n < 2) return { x: new Float64Array(0), y: new Float64Array(0) };
  const x = new Float64Array(n - 1), y = new Float64Array(n - 1);
  for (let i = 1; i < n; i++) {
    const dt = (e.times[i] - e.times[i - 1]) / 1e6;
    x[i - 1] = e.times[i];
    y[i - 1] = dt > 0 ? Math.max(0, (e.values[i] - e.values[i - 1]) / dt) : NaN;
  }
  return { x, y };
}

/** Cumulative energy (J from the first sample) of a device from its energy counter or power. */
export function cumulativeEnergy(
  energy: Series | undefined,
  power: Series | undefined,
): { x: Float64Array; y: Float64Array } | undefined {
  if (energy && energy.times.length) {
    const v0 = energy.values[0];
    return { x: energy.times, y: energy.values.map((v) => v - v0) };
  }
  if (power && power.times.length > 1) {
    const n = power.times.length;
    const y = new Float64Array(n);
    for (let i = 1; i < n; i++) {
      y[i] = y[i - 1] +
        ((power.values[i] + power.values[i - 1]) / 2) *
          ((power.times[i] - power.times[i - 1]) / 1e6);
    }
    return { x: power.times, y };
  }
  return undefined;
}

/** An evenly spaced grid of `n` times from t0 to t1. */
export function grid(t0: number, t1: number, n: number): Float64Array {
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) g[i] = t0 + ((t1 - t0) * i) / (n - 1);
  return g;
}

/** Cumulative energy on a grid (0 before the device's first sample, held after its last). */
export function cumulativeOnGrid(
  c: { x: Float64Array; y: Float64Array },
  g: Float64Array,
): Float64Array {
  return resampleAt(c.x, c.y, g, 0);
}

/** Mean power in each grid step from a cumulative energy on that grid. */
export function meanPowerOnGrid(
  cum: Float64Array,
  g: Float64Array,
): { x: Float64Array; y: Float64Array } {
  const n = g.length;
  const x = new Float64Array(Math.max(0, n - 1)), y = new Float64Array(Math.max(0, n - 1));
  for (let i = 1; i < n; i++) {
    x[i - 1] = (g[i] + g[i - 1]) / 2;
    y[i - 1] = (cum[i] - cum[i - 1]) / ((g[i] - g[i - 1]) / 1e6);
  }
  return { x, y };
}

/** Mean of a series' values (NaN ignored). */
export function mean(v: ArrayLike<number>): number | null {
  let s = 0, n = 0;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isNaN(v[i])) {
      s += v[i];
      n++;
    }
  }
  return n ? s / n : null;
}

export function max(v: ArrayLike<number>): number | null {
  let m = -Infinity;
  for (let i = 0; i < v.length; i++) if (v[i] > m) m = v[i];
  return Number.isFinite(m) ? m : null;
}
