/**
 * Correlation between hardware series and workload metrics.
 *
 * Method (also written to summary.json `correlation.method`):
 * 1. One time grid: bins of Δ = max(sampling interval, median reporting
 *    interval of the workload metrics), closed on the right, so a rate the
 *    workload reports at t (covering the time since its last report) meets the
 *    hardware samples of that same stretch. A series' value in a bin is the
 *    mean of its samples there; bins where either series has none are left out
 *    (no interpolation: nothing is invented between reports).
 * 2. Cumulative workload counters (step, tokens, *_total ...) are turned into
 *    rates per bin first (a counter grows with time and would correlate with
 *    any trend); cumulative energy, bit masks and constants are not used.
 *    Pairs of two workload metrics are skipped (they are mostly derived from
 *    each other: samples = steps × batch).
 * 3. Pearson r on the values, Spearman ρ on their ranks, over the n common bins.
 * 4. Autocorrelation: neighbouring samples of a time series are not independent,
 *    and two trending series correlate by accident. The p-value uses an
 *    effective sample size (Bartlett / Bretherton et al. 1999):
 *    n_eff = n / (1 + 2 Σ_k (1 − k/n) ρ_a(k) ρ_b(k)), the lag sum running while
 *    both autocorrelations stay positive; t = r √((n_eff − 2)/(1 − r²)) with
 *    n_eff − 2 degrees of freedom, two-sided.
 * 5. Many pairs are tested at once: Benjamini–Hochberg false-discovery-rate
 *    control across all pairs (q ≤ 0.05) decides which pairs are reported.
 */
import type { Series } from "../trace/reader.ts";
import type { EnrichContext } from "./stages.ts";

export interface CorrelationPair {
  a: string;
  b: string;
  pearson: number;
  spearman: number;
  /** Common bins. */
  n: number;
  /** Effective sample size after autocorrelation. */
  n_eff: number;
  /** Two-sided p-value of Pearson's r with n_eff. */
  p_value: number;
  /** Benjamini–Hochberg adjusted p-value across all pairs tested. */
  q_value: number;
  significant: boolean;
  /** `rate` when a cumulative counter was differenced first. */
  a_transform?: "rate";
  b_transform?: "rate";
}

export interface CorrelationOptions {
  /** Sampling interval of the run, s (the finest grid). */
  intervalS?: number;
  /** Most grid bins (a coarser grid beyond). */
  maxBins?: number;
  /** Fewest common bins for a pair. */
  minN?: number;
  /** FDR level. */
  alpha?: number;
  /** Most series taken (workload first, then the main hardware metrics). */
  maxSeries?: number;
}

export interface CorrelationResult {
  pairs: CorrelationPair[];
  keys: string[];
  gridS: number;
  bins: number;
  tested: number;
}

export const CORRELATION_METHOD =
  "time grid of Δ = max(sampling interval, median workload reporting interval), bins closed on " +
  "the right, bin means, no interpolation; cumulative workload counters differenced to rates; " +
  "Pearson r and Spearman ρ over the common bins; p-value from Student's t with the effective " +
  "sample size n_eff = n / (1 + 2 Σ (1 − k/n) ρa(k) ρb(k)) (Bartlett/Bretherton, lags while both " +
  "autocorrelations are positive) to account for autocorrelation; Benjamini–Hochberg FDR " +
  "(q ≤ 0.05) across all pairs tested decides what is reported.";

/** Metrics never correlated: cumulative energy, bit masks, fixed capacities and limits. */
const SKIP_METRIC =
  /^(energy_j|throttle_reasons|power_limit_w|mem_total_bytes|total_bytes|.*_total_bytes)$/;
const COUNTER_NAME =
  /(^|_)(step|steps|global_step|iteration|iter|samples|tokens|requests|count|total|seen|epoch)$/;

// ---------- statistics ----------

export function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  const mx = mean(x), my = mean(y);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx <= 0 || syy <= 0) return NaN;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Ranks 1..n, ties get their average rank. */
export function ranks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && x[idx[j + 1]] === x[idx[i]]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]] = avg;
    i = j + 1;
  }
  return r;
}

export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return pearson(ranks(x), ranks(y));
}

/** Autocorrelation at lags 1..maxLag of a gridded series (NaN = no value; pairs with a gap are skipped). */
export function acf(x: Float64Array, maxLag: number): Float64Array {
  let s = 0, c = 0;
  for (const v of x) {
    if (v === v) {
      s += v;
      c++;
    }
  }
  const m = s / c;
  let v0 = 0;
  for (const v of x) if (v === v) v0 += (v - m) * (v - m);
  v0 /= c;
  const out = new Float64Array(maxLag + 1);
  out[0] = 1;
  for (let k = 1; k <= maxLag; k++) {
    let acc = 0, n = 0;
    for (let i = 0; i + k < x.length; i++) {
      const a = x[i], b = x[i + k];
      if (a === a && b === b) {
        acc += (a - m) * (b - m);
        n++;
      }
    }
    out[k] = n > 0 && v0 > 0 ? acc / n / v0 : 0;
  }
  return out;
}

/** Effective sample size of a correlation between two autocorrelated series. */
export function effectiveN(n: number, ra: Float64Array, rb: Float64Array): number {
  let sum = 0;
  const K = Math.min(ra.length, rb.length) - 1;
  for (let k = 1; k <= K; k++) {
    if (ra[k] <= 0 || rb[k] <= 0) break;
    sum += (1 - k / n) * ra[k] * rb[k];
  }
  return Math.max(3, Math.min(n, n / (1 + 2 * sum)));
}

function lgamma(x: number): number {
  const g = 7;
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

function betacf(a: number, b: number, x: number): number {
  const FPMIN = 1e-300;
  const qab = a + b, qap = a + 1, qam = a - 1;
  let c = 1, d = 1 - (qab * x) / qap;
  if (Math.abs(d) < FPMIN) d = FPMIN;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 3e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function betainc(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const bt = Math.exp(
    lgamma(a + b) - lgamma(a) - lgamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  if (x < (a + 1) / (a + b + 2)) return (bt * betacf(a, b, x)) / a;
  return 1 - (bt * betacf(b, a, 1 - x)) / b;
}

/** Two-sided p-value of a correlation r with (effective) sample size n. */
export function correlationP(r: number, n: number): number {
  const df = n - 2;
  if (!(df > 0) || !Number.isFinite(r)) return 1;
  if (Math.abs(r) >= 1) return 0;
  const t2 = (r * r * df) / (1 - r * r);
  return Math.min(1, Math.max(0, betainc(df / (df + t2), df / 2, 0.5)));
}

/** Benjamini–Hochberg adjusted p-values (same order as given). */
export function benjaminiHochberg(p: number[]): number[] {
  const m = p.length;
  const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b]);
  const q = new Array<number>(m);
  let min = 1;
  for (let r = m - 1; r >= 0; r--) {
    const i = order[r];
    min = Math.min(min, (p[i] * m) / (r + 1));
    q[i] = min;
  }
  return q;
}

// ---------- series on a grid ----------

function medianSpacing(s: Series): number {
  const d: number[] = [];
  for (let i = 1; i < s.times.length; i++) d.push(s.times[i] - s.times[i - 1]);
  d.sort((a, b) => a - b);
  return d.length ? d[d.length >> 1] : Infinity;
}

function isMonotoneCounter(s: Series): boolean {
  let ups = 0;
  for (let i = 1; i < s.values.length; i++) {
    const d = s.values[i] - s.values[i - 1];
    if (d < 0) return false;
    if (d > 0) ups++;
  }
  return ups >= 3;
}

function priority(s: Series): number {
  if (s.source === "workload") return 0;
  if (/^(power_w|util_pct)$/.test(s.metric)) return 1;
  if (/^(mem_util_pct|sm_clock_mhz|temp_c|cpu_pct|rss_bytes|mem_used_bytes)$/.test(s.metric)) {
    return 2;
  }
  return 3;
}

interface Gridded {
  key: string;
  values: Float64Array;
  transform?: "rate";
  count: number;
}

/** Pick the series worth correlating; mark cumulative workload counters. */
export function candidateSeries(series: Series[], counterNames: Set<string>, maxSeries = 60) {
  const picked: { s: Series; rate: boolean }[] = [];
  for (const s of series) {
    if (s.times.length < 3 || SKIP_METRIC.test(s.metric)) continue;
    const rate = s.source === "workload" &&
      (counterNames.has(s.metric) || (COUNTER_NAME.test(s.metric) && !/_per_/.test(s.metric))) &&
      isMonotoneCounter(s);
    picked.push({ s, rate });
  }
  picked.sort((x, y) => priority(x.s) - priority(y.s));
  return picked.slice(0, maxSeries);
}

export function correlate(
  series: Series[],
  opts: CorrelationOptions & { counters?: string[] } = {},
): CorrelationResult {
  const minN = opts.minN ?? 10;
  const alpha = opts.alpha ?? 0.05;
  const maxBins = opts.maxBins ?? 2000;
  const picked = candidateSeries(series, new Set(opts.counters ?? []), opts.maxSeries ?? 60);
  const empty = { pairs: [], keys: [], gridS: 0, bins: 0, tested: 0 };
  if (picked.length < 2) return empty;
  let t0 = Infinity, t1 = -Infinity;
  for (const { s } of picked) {
    t0 = Math.min(t0, s.times[0]);
    t1 = Math.max(t1, s.times[s.times.length - 1]);
  }
  const wl = picked.filter((p) => p.s.source === "workload").map((p) => medianSpacing(p.s))
    .filter(Number.isFinite).sort((a, b) => a - b);
  let step = Math.max((opts.intervalS ?? 0) * 1e6, wl.length ? wl[wl.length >> 1] : 0, 1000);
  if ((t1 - t0) / step > maxBins) step = (t1 - t0) / maxBins;
  const bins = Math.max(1, Math.ceil((t1 - t0) / step) + 1);
  // right-closed bins: (t0 + (k−1)Δ, t0 + kΔ]
  const binOf = (t: number) => Math.max(0, Math.ceil((t - t0) / step));

  const grid: Gridded[] = [];
  for (const { s, rate } of picked) {
    const sum = new Float64Array(bins), cnt = new Float64Array(bins);
    if (rate) {
      // rate per second over each report interval, put in the bin of the report
      for (let i = 1; i < s.times.length; i++) {
        const dt = (s.times[i] - s.times[i - 1]) / 1e6;
        if (dt <= 0) continue;
        const d = s.values[i] - s.values[i - 1];
        const b = binOf(s.times[i]);
        sum[b] += d / dt;
        cnt[b]++;
      }
    } else {
      for (let i = 0; i < s.times.length; i++) {
        const b = binOf(s.times[i]);
        sum[b] += s.values[i];
        cnt[b]++;
      }
    }
    const values = new Float64Array(bins);
    let count = 0, lo = Infinity, hi = -Infinity;
    for (let b = 0; b < bins; b++) {
      if (cnt[b]) {
        const v = sum[b] / cnt[b];
        values[b] = v;
        count++;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      } else values[b] = NaN;
    }
    // constants carry no information
    if (count < minN || !(hi - lo > 1e-12 * Math.max(1, Math.abs(hi)))) continue;
    grid.push({ key: s.key, values, count, ...(rate ? { transform: "rate" as const } : {}) });
  }
  const maxLag = Math.min(200, Math.floor(bins / 4));
  const acfs = grid.map((g) => acf(g.values, maxLag));

  const raw: Omit<CorrelationPair, "q_value" | "significant">[] = [];
  const xs = new Float64Array(bins), ys = new Float64Array(bins);
  for (let i = 0; i < grid.length; i++) {
    for (let j = i + 1; j < grid.length; j++) {
      const a = grid[i], b = grid[j];
      // two workload metrics are usually derived from each other (samples and steps): not informative
      if (a.key.includes("workload/") && b.key.includes("workload/")) continue;
      let n = 0;
      for (let k = 0; k < bins; k++) {
        const x = a.values[k], y = b.values[k];
        if (x === x && y === y) {
          xs[n] = x;
          ys[n] = y;
          n++;
        }
      }
      if (n < minN) continue;
      const x = xs.subarray(0, n), y = ys.subarray(0, n);
      const r = pearson(x, y);
      if (!Number.isFinite(r)) continue;
      const rs = spearman(x, y);
      const nEff = effectiveN(n, acfs[i], acfs[j]);
      raw.push({
        a: a.key,
        b: b.key,
        pearson: r,
        spearman: Number.isFinite(rs) ? rs : 0,
        n,
        n_eff: nEff,
        p_value: correlationP(r, nEff),
        ...(a.transform ? { a_transform: a.transform } : {}),
        ...(b.transform ? { b_transform: b.transform } : {}),
      });
    }
  }
  const q = benjaminiHochberg(raw.map((p) => p.p_value));
  const pairs: CorrelationPair[] = raw.map((p, i) => ({
    ...p,
    q_value: q[i],
    significant: q[i] <= alpha,
  }));
  return { pairs, keys: grid.map((g) => g.key), gridS: step / 1e6, bins, tested: raw.length };
}

const r4 = (x: number) => Number(x.toFixed(4));
const sig = (x: number) => Number(x.toPrecision(3));

/** The stage: `summary.correlations` (the strongest significant pairs) and `summary.correlation` (method, matrix). */
export function correlationStage(ctx: EnrichContext): void {
  const { traces, summary } = ctx;
  const series = traces.length === 1
    ? traces[0].series
    : traces.flatMap((t) => t.series.map((s) => ({ ...s, key: `${s.host}:${s.key}` })));
  const counters: string[] = [];
  for (const t of traces) {
    const c = (t.meta?.extra?.workload as { counters?: Record<string, string> } | undefined)
      ?.counters;
    if (c) counters.push(...Object.keys(c));
  }
  const res = correlate(series, { intervalS: summary.run.interval_s, counters });
  const isWl = (p: CorrelationPair) => p.a.includes("workload/") || p.b.includes("workload/");
  const strength = (p: CorrelationPair) => Math.max(Math.abs(p.pearson), Math.abs(p.spearman));
  const sigPairs = res.pairs.filter((p) => p.significant)
    .sort((x, y) => Number(isWl(y)) - Number(isWl(x)) || strength(y) - strength(x))
    .slice(0, 25);
  summary.correlations = sigPairs.map((p) => ({
    a: p.a,
    b: p.b,
    pearson: r4(p.pearson),
    spearman: r4(p.spearman),
    n: p.n,
    n_eff: Number(p.n_eff.toFixed(1)),
    p_value: sig(p.p_value),
    q_value: sig(p.q_value),
    ...(p.a_transform ? { a_transform: p.a_transform } : {}),
    ...(p.b_transform ? { b_transform: p.b_transform } : {}),
  }));
  const idx = new Map(res.keys.map((k, i) => [k, i]));
  const matrix: (number | null)[][] = res.keys.map((_, i) =>
    res.keys.map((_, j) => (i === j ? 1 : null))
  );
  for (const p of res.pairs) {
    const i = idx.get(p.a)!, j = idx.get(p.b)!;
    matrix[i][j] = matrix[j][i] = r4(p.pearson);
  }
  summary.correlation = {
    method: CORRELATION_METHOD,
    grid_s: sig(res.gridS),
    bins: res.bins,
    pairs_tested: res.tested,
    pairs_significant: res.pairs.filter((p) => p.significant).length,
    keys: res.keys,
    pearson_matrix: matrix,
  };
}
