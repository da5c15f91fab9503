/**
 * Downsampling for drawing. Tables use the full data; charts get a bounded
 * number of points per series so a 24 h trace draws as fast as a 1 min one.
 *
 * `minMaxBuckets` keeps, per time bucket, the first, lowest, highest and last
 * sample in time order (M4): every peak and dip of the full data is still
 * drawn, at the cost of up to 4 points per bucket. `lttb` (largest triangle
 * three buckets) keeps the visual shape with exactly `n` points.
 * Both insert a NaN where the data has a gap, so lines break there.
 */

export interface XY {
  x: Float64Array;
  y: Float64Array;
}

/** Median step of ascending times (0 for fewer than 2). */
export function medianStep(t: ArrayLike<number>): number {
  const n = t.length;
  if (n < 2) return 0;
  const stride = Math.max(1, Math.floor((n - 1) / 512));
  const d: number[] = [];
  for (let i = 1; i < n; i += stride) d.push(t[i] - t[i - 1]);
  d.sort((a, b) => a - b);
  return d[d.length >> 1];
}

/**
 * First, min, max and last of each of `buckets` equal time buckets, in time
 * order; a bucket holding no sample after one that did marks a gap (NaN).
 */
export function minMaxBuckets(x: ArrayLike<number>, y: ArrayLike<number>, buckets: number): XY {
  const n = x.length;
  if (n <= buckets * 4) return withGaps(x, y);
  const x0 = x[0], span = x[n - 1] - x0 || 1;
  const step = medianStep(x);
  const ox: number[] = [], oy: number[] = [];
  let i = 0;
  let lastT = NaN;
  for (let b = 0; b < buckets && i < n; b++) {
    const end = b === buckets - 1 ? Infinity : x0 + (span * (b + 1)) / buckets;
    if (x[i] >= end) continue;
    const first = i;
    let lo = i, hi = i;
    while (i < n && x[i] < end) {
      if (y[i] < y[lo] || Number.isNaN(y[lo])) lo = i;
      if (y[i] > y[hi] || Number.isNaN(y[hi])) hi = i;
      i++;
    }
    const last = i - 1;
    if (step > 0 && x[first] - lastT > step * 5) {
      ox.push((lastT + x[first]) / 2);
      oy.push(NaN);
    }
    const picks = [...new Set([first, lo, hi, last])].sort((a, b) => a - b);
    for (const p of picks) {
      ox.push(x[p]);
      oy.push(y[p]);
    }
    lastT = x[last];
  }
  return { x: Float64Array.from(ox), y: Float64Array.from(oy) };
}

/** Largest-triangle-three-buckets down to `n` points (plus NaN gap markers). */
export function lttb(x: ArrayLike<number>, y: ArrayLike<number>, n: number): XY {
  const len = x.length;
  if (n >= len || n < 3) return withGaps(x, y);
  const idx: number[] = [0];
  const every = (len - 2) / (n - 2);
  let a = 0;
  for (let i = 0; i < n - 2; i++) {
    const s = Math.floor((i + 1) * every) + 1;
    const e = Math.min(Math.floor((i + 2) * every) + 1, len);
    let avgX = 0, avgY = 0;
    for (let j = s; j < e; j++) {
      avgX += x[j];
      avgY += y[j];
    }
    const cnt = e - s || 1;
    avgX /= cnt;
    avgY /= cnt;
    const rs = Math.floor(i * every) + 1, re = Math.floor((i + 1) * every) + 1;
    let best = rs, bestArea = -1;
    for (let j = rs; j < re; j++) {
      const area = Math.abs((x[a] - avgX) * (y[j] - y[a]) - (x[a] - x[j]) * (avgY - y[a]));
      if (area > bestArea) {
        bestArea = area;
        best = j;
      }
    }
    idx.push(best);
    a = best;
  }
  idx.push(len - 1);
  const step = medianStep(x);
  const ox: number[] = [], oy: number[] = [];
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k];
    if (
      k > 0 && step > 0 && x[i] - x[idx[k - 1]] > Math.max(step * 5, (x[len - 1] - x[0]) / n * 3)
    ) {
      // only a gap when the raw data has one inside this span
      if (hasGap(x, idx[k - 1], i, step * 5)) {
        ox.push((x[idx[k - 1]] + x[i]) / 2);
        oy.push(NaN);
      }
    }
    ox.push(x[i]);
    oy.push(y[i]);
  }
  return { x: Float64Array.from(ox), y: Float64Array.from(oy) };
}

function hasGap(x: ArrayLike<number>, from: number, to: number, gap: number): boolean {
  for (let i = from + 1; i <= to; i++) if (x[i] - x[i - 1] > gap) return true;
  return false;
}

/** The data as is, with NaN markers where samples are missing for more than 5 steps. */
export function withGaps(x: ArrayLike<number>, y: ArrayLike<number>): XY {
  const step = medianStep(x);
  const ox: number[] = [], oy: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (i > 0 && step > 0 && x[i] - x[i - 1] > step * 5) {
      ox.push((x[i] + x[i - 1]) / 2);
      oy.push(NaN);
    }
    ox.push(x[i]);
    oy.push(y[i]);
  }
  return { x: Float64Array.from(ox), y: Float64Array.from(oy) };
}

/**
 * Value of a monotone (cumulative) series at the given times, by linear
 * interpolation; before the first sample 0, after the last the last value.
 */
export function resampleAt(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  at: ArrayLike<number>,
  before = 0,
): Float64Array {
  const out = new Float64Array(at.length);
  let j = 0;
  for (let k = 0; k < at.length; k++) {
    const t = at[k];
    if (!x.length || t < x[0]) {
      out[k] = before;
      continue;
    }
    while (j < x.length - 1 && x[j + 1] <= t) j++;
    if (j >= x.length - 1) out[k] = y[x.length - 1];
    else {
      const f = (t - x[j]) / (x[j + 1] - x[j] || 1);
      out[k] = y[j] + f * (y[j + 1] - y[j]);
    }
  }
  return out;
}
