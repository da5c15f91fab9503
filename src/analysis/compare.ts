/**
 * `aimeter compare`: runs side by side. Runs of the same command are repeats
 * of one configuration (a group); each group gets its mean and, with two or
 * more runs, a 95 % bootstrap interval; each group is compared with the first
 * (difference, relative difference, bootstrap interval of the difference:
 * "real" when it excludes 0). A Pareto view of energy against time shows which
 * configurations no other beats on both.
 */
import type { Summary } from "./summary.ts";
import { mulberry32 } from "./prng.ts";

export interface RunPoint {
  label: string;
  dir: string;
  command: string[];
  exit_code: number | null;
  values: Record<string, number>;
}

/** The quantities compared, in order: key, label, unit. Lower is better for all but throughput. */
export const COMPARED: { key: string; label: string; unit: string }[] = [
  { key: "duration_s", label: "time", unit: "s" },
  { key: "energy_j", label: "energy", unit: "J" },
  { key: "net_energy_j", label: "net energy (above idle)", unit: "J" },
  { key: "avg_power_w", label: "average power", unit: "W" },
  { key: "emissions_g", label: "emissions", unit: "g CO2e" },
  { key: "energy_per_step_j", label: "energy per step", unit: "J" },
  { key: "energy_per_sample_j", label: "energy per sample", unit: "J" },
  { key: "energy_per_token_j", label: "energy per token", unit: "J" },
  { key: "energy_per_request_j", label: "energy per request", unit: "J" },
  { key: "samples_per_s_per_w", label: "samples/s per W", unit: "samples/J" },
  { key: "tokens_per_s_per_w", label: "tokens/s per W", unit: "tokens/J" },
];

/** The numbers of one run's summary that `compare` uses. */
export function runPoint(s: Summary, label: string, dir: string): RunPoint {
  const v: Record<string, number> = {};
  const put = (k: string, x: unknown) => {
    if (typeof x === "number" && Number.isFinite(x)) v[k] = x;
  };
  put("duration_s", s.run?.duration_s);
  put("energy_j", s.energy_j?.total);
  put("avg_power_w", s.power_w?.avg);
  put("emissions_g", s.carbon?.emissions_g);
  put("net_energy_j", s.workload?.baseline?.net_energy_j);
  const pu = s.workload?.per_unit ?? {};
  for (const k of COMPARED.map((c) => c.key)) if (k in pu) put(k, pu[k]);
  return {
    label,
    dir,
    command: s.run?.command ?? [],
    exit_code: s.run?.exit_code ?? null,
    values: v,
  };
}

const meanOf = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;

function quantile(sorted: Float64Array, q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i), hi = Math.ceil(i);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo);
}

function resampleMean(x: number[], r: () => number): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[Math.floor(r() * x.length)];
  return s / x.length;
}

/** Percentile bootstrap 95 % interval of the mean. */
export function bootstrapMean(x: number[], B = 2000, seed = 1): [number, number] {
  const r = mulberry32(seed);
  const m = new Float64Array(B);
  for (let b = 0; b < B; b++) m[b] = resampleMean(x, r);
  m.sort();
  return [quantile(m, 0.025), quantile(m, 0.975)];
}

/** Percentile bootstrap 95 % interval of mean(y) − mean(x) (groups resampled independently). */
export function bootstrapDiff(x: number[], y: number[], B = 2000, seed = 1): [number, number] {
  const r = mulberry32(seed);
  const d = new Float64Array(B);
  for (let b = 0; b < B; b++) d[b] = resampleMean(y, r) - resampleMean(x, r);
  d.sort();
  return [quantile(d, 0.025), quantile(d, 0.975)];
}

export interface GroupStat {
  mean: number;
  min: number;
  max: number;
  sd?: number;
  ci95?: [number, number];
}

export interface Group {
  label: string;
  command: string[];
  runs: string[];
  n: number;
  stats: Record<string, GroupStat>;
}

export interface Difference {
  metric: string;
  group: string;
  vs: string;
  diff: number;
  rel: number | null;
  ci95?: [number, number];
  /** With repeats: the interval of the difference excludes 0. */
  real?: boolean;
}

export interface ParetoPoint {
  label: string;
  duration_s: number;
  energy_j: number;
  pareto: boolean;
}

export interface Comparison {
  schema: "aimeter/compare@1";
  runs: RunPoint[];
  groups: Group[];
  reference: string;
  differences: Difference[];
  pareto: ParetoPoint[];
  method: string;
}

export const COMPARE_METHOD =
  "runs of the same command form a group (repeats); a group's value is the mean of its runs, " +
  "with a 95 % percentile bootstrap interval (2000 resamples) when it has two runs or more; " +
  "each group is compared with the first: difference of the means, relative difference, and the " +
  "95 % bootstrap interval of the difference (groups resampled independently): the difference " +
  "is called real when that interval excludes 0. With 2–3 runs per group the intervals are rough; " +
  "repeat runs to tighten them. Pareto: a group is on the front when no other is both faster and " +
  "more frugal (lower time and lower energy).";

export function compareRuns(
  runs: RunPoint[],
  opts: { group?: boolean; B?: number; seed?: number } = {},
): Comparison {
  const B = opts.B ?? 2000;
  const seed = opts.seed ?? 1;
  const byKey = new Map<string, RunPoint[]>();
  for (const r of runs) {
    const k = opts.group === false ? `${r.dir}\u0000${r.label}` : JSON.stringify(r.command);
    if (!byKey.has(k)) byKey.set(k, []);
    byKey.get(k)!.push(r);
  }
  const used = new Set<string>();
  const groupRuns = [...byKey.values()];
  const groups: Group[] = groupRuns.map((rs) => {
    let label = rs.length > 1 ? `${rs[0].label} (×${rs.length})` : rs[0].label;
    while (used.has(label)) label += "'";
    used.add(label);
    const stats: Record<string, GroupStat> = {};
    for (const { key } of COMPARED) {
      const x = rs.map((r) => r.values[key]).filter((v) => v !== undefined);
      if (x.length !== rs.length) continue; // not in every run: not comparable
      const m = meanOf(x);
      const st: GroupStat = { mean: m, min: Math.min(...x), max: Math.max(...x) };
      if (x.length >= 2) {
        st.sd = Math.sqrt(x.reduce((a, v) => a + (v - m) ** 2, 0) / (x.length - 1));
        st.ci95 = bootstrapMean(x, B, seed);
      }
      stats[key] = st;
    }
    return { label, command: rs[0].command, runs: rs.map((r) => r.label), n: rs.length, stats };
  });
  const ref = groups[0];
  const differences: Difference[] = [];
  for (let gi = 1; gi < groups.length; gi++) {
    const g = groups[gi];
    for (const { key } of COMPARED) {
      const a = ref.stats[key], b = g.stats[key];
      if (!a || !b) continue;
      const d: Difference = {
        metric: key,
        group: g.label,
        vs: ref.label,
        diff: b.mean - a.mean,
        rel: a.mean !== 0 ? (b.mean - a.mean) / Math.abs(a.mean) : null,
      };
      const xa = groupRuns[0].map((r) => r.values[key]);
      const xb = groupRuns[gi].map((r) => r.values[key]);
      if (xa.length >= 2 && xb.length >= 2) {
        d.ci95 = bootstrapDiff(xa, xb, B, seed);
        d.real = d.ci95[0] > 0 || d.ci95[1] < 0;
      }
      differences.push(d);
    }
  }
  const pts = groups
    .filter((g) => g.stats.duration_s && g.stats.energy_j)
    .map((g) => ({
      label: g.label,
      duration_s: g.stats.duration_s.mean,
      energy_j: g.stats.energy_j.mean,
    }));
  const pareto: ParetoPoint[] = pts.map((p) => ({
    ...p,
    pareto: !pts.some((q) =>
      q !== p && q.duration_s <= p.duration_s && q.energy_j <= p.energy_j &&
      (q.duration_s < p.duration_s || q.energy_j < p.energy_j)
    ),
  }));
  return {
    schema: "aimeter/compare@1",
    runs,
    groups,
    reference: ref?.label ?? "",
    differences,
    pareto,
    method: COMPARE_METHOD,
  };
}

// ---------- text ----------

export function fmtValue(key: string, v: number): string {
  if (!Number.isFinite(v)) return "n/a";
  const unit = COMPARED.find((c) => c.key === key)?.unit ?? "";
  if (unit === "J") {
    const a = Math.abs(v);
    if (a >= 1e6) return `${(v / 1e6).toPrecision(4)} MJ`;
    if (a >= 1e3) return `${(v / 1e3).toPrecision(4)} kJ`;
    if (a >= 1) return `${v.toPrecision(4)} J`;
    if (a >= 1e-3) return `${(v * 1e3).toPrecision(4)} mJ`;
    return `${(v * 1e6).toPrecision(4)} µJ`;
  }
  if (unit === "s") return v >= 600 ? `${(v / 60).toPrecision(4)} min` : `${v.toPrecision(4)} s`;
  return `${Number(v.toPrecision(4))} ${unit}`;
}

function pad(s: string, w: number): string {
  const len = [...s].length;
  return s + " ".repeat(Math.max(0, w - len));
}

/** The comparison as a text table (metrics as rows, groups as columns), then the Pareto view. */
export function formatComparison(c: Comparison): string {
  const rows: string[][] = [];
  const head = ["", ...c.groups.map((g) => g.label)];
  if (c.groups.length > 1) {
    head.push(...c.groups.slice(1).map((g) => `Δ ${g.label} vs ${c.reference}`));
  }
  rows.push(head);
  for (const { key, label } of COMPARED) {
    if (!c.groups.some((g) => g.stats[key])) continue;
    const row = [label];
    for (const g of c.groups) {
      const st = g.stats[key];
      row.push(
        st
          ? fmtValue(key, st.mean) +
            (st.ci95 ? ` [${fmtValue(key, st.ci95[0])}, ${fmtValue(key, st.ci95[1])}]` : "")
          : "—",
      );
    }
    for (const g of c.groups.slice(1)) {
      const d = c.differences.find((d) => d.metric === key && d.group === g.label);
      if (!d) {
        row.push("—");
        continue;
      }
      const sign = d.diff > 0 ? "+" : d.diff < 0 ? "−" : "±";
      let s = `${sign}${fmtValue(key, Math.abs(d.diff))}`;
      if (d.rel !== null) s += ` (${sign}${Math.abs(d.rel * 100).toFixed(1)} %)`;
      if (d.ci95) {
        s += ` [${fmtValue(key, d.ci95[0])}, ${fmtValue(key, d.ci95[1])}] ${
          d.real ? "real" : "within noise"
        }`;
      }
      row.push(s);
    }
    rows.push(row);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? "")].length)));
  const lines = rows.map((r) => r.map((cell, i) => pad(cell, widths[i])).join("  ").trimEnd());
  const out = [lines[0], lines[0].replace(/./g, "─").slice(0, lines[0].length), ...lines.slice(1)];
  out.push("");
  out.push("runs:");
  for (const g of c.groups) {
    out.push(`  ${g.label}: ${g.runs.join(", ")}  (${g.command.join(" ") || "?"})`);
  }
  if (c.pareto.length > 1) {
    out.push("");
    out.push("energy against time (Pareto front: no other is both faster and more frugal):");
    for (const p of [...c.pareto].sort((a, b) => a.duration_s - b.duration_s)) {
      out.push(
        `  ${p.pareto ? "★" : " "} ${
          pad(p.label, Math.max(...c.pareto.map((q) => [...q.label].length)))
        }  ${pad(fmtValue("duration_s", p.duration_s), 12)} ${fmtValue("energy_j", p.energy_j)}`,
      );
    }
  }
  if (c.groups.every((g) => g.n < 2) && c.groups.length > 1) {
    out.push("");
    out.push(
      "single runs: no spread is known; repeat each configuration (3+ runs) to tell a real difference from noise.",
    );
  }
  return out.join("\n");
}
