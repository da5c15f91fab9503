/**
 * summary.json `workload`: the workload's metrics, its phases with their
 * energy, its marks, energy per unit of work (step, sample, token, request)
 * and throughput per watt, bad event lines, and, with `--baseline`, gross and
 * net energy side by side. Built from the traces alone (rows `workload/main/*`
 * and `meta.extra.workload` / `meta.extra.baseline`).
 */
import type { EnrichContext } from "./stages.ts";
import type { Trace } from "../trace/reader.ts";
import type { EnergyTotals } from "./energy.ts";
import {
  energyInWindow,
  type UnitCount,
  type UnitKind,
  unitsInWindow,
  type WindowEnergy,
  workloadSeries,
} from "./phases.ts";

export interface MetricStats {
  last: number;
  mean: number;
  min: number;
  max: number;
  n: number;
}

export interface PhaseSummary {
  name: string;
  start: string;
  end: string;
  start_us: number;
  end_us: number;
  duration_s: number;
  energy_j: number;
  energy_by: { gpu: number; cpu: number; dram: number; host: number; other: number };
  avg_power_w: number | null;
  /** With a baseline: energy above the idle power. */
  net_energy_j?: number;
  units?: Partial<Record<UnitKind, number>>;
  energy_per_step_j?: number;
  energy_per_sample_j?: number;
  energy_per_token_j?: number;
  energy_per_request_j?: number;
}

export interface BaselineSummary {
  window: { start: string; end: string; start_us: number; end_us: number; duration_s: number };
  idle_power_w: number;
  idle_power_by: { gpu: number; cpu: number; dram: number; host: number; other: number };
  idle_power_devices: { key: string; power_w: number | null }[];
  command: { start: string; end: string; duration_s: number };
  gross_energy_j: number;
  idle_energy_j: number;
  net_energy_j: number;
  gross_energy_by: Record<string, number>;
  net_energy_by: Record<string, number>;
  method: string;
}

const iso = (us: number) => new Date(us / 1000).toISOString();
const by = (t: EnergyTotals) => ({
  gpu: t.gpu,
  cpu: t.cpu,
  dram: t.dram,
  host: t.host,
  other: t.other,
});
const round = (x: number, d = 6) => Number.isFinite(x) ? Number(x.toPrecision(d)) : x;

/** Time span of all series of the traces (µs). */
export function traceSpan(traces: Trace[]): [number, number] {
  let t0 = Infinity, t1 = -Infinity;
  for (const tr of traces) {
    for (const s of tr.series) {
      if (!s.times.length) continue;
      t0 = Math.min(t0, s.times[0]);
      t1 = Math.max(t1, s.times[s.times.length - 1]);
    }
  }
  return [t0, t1];
}

// deno-lint-ignore no-explicit-any
function extraOf(traces: Trace[], key: string): any {
  for (const t of traces) {
    const v = t.meta?.extra?.[key];
    if (v) return v;
  }
  return undefined;
}

const PER: Record<UnitKind, string> = {
  steps: "step",
  samples: "sample",
  tokens: "token",
  requests: "request",
};

function perUnitFields(
  units: Partial<Record<UnitKind, UnitCount>>,
  energyJ: number,
  durationS: number,
  netJ?: number,
): Record<string, number> {
  const o: Record<string, number> = {};
  for (const [k, u] of Object.entries(units) as [UnitKind, UnitCount][]) {
    o[k] = round(u.value);
    if (energyJ > 0) o[`energy_per_${PER[k]}_j`] = round(energyJ / u.value);
    if (netJ !== undefined && netJ > 0) o[`net_energy_per_${PER[k]}_j`] = round(netJ / u.value);
    if (durationS > 0) o[`${k}_per_s`] = round(u.value / durationS);
    // throughput per watt: (units/s) / (J/s) = units per joule
    if (energyJ > 0) o[`${k}_per_s_per_w`] = round(u.value / energyJ);
  }
  return o;
}

export function workloadStage(ctx: EnrichContext): void {
  const { traces, summary } = ctx;
  const ws = workloadSeries(traces);
  const extra = extraOf(traces, "workload") ?? {};
  const baselineWin = extraOf(traces, "baseline") as
    | { start_us: number; end_us: number; duration_s: number }
    | undefined;
  const phasesIn = (extra.phases ?? []) as { name: string; start_us: number; end_us: number }[];
  // nothing about a workload at all (`aimeter record`, a foreign trace): no block
  if (!ws.size && !Object.keys(extra).length && !baselineWin) return;
  const [t0, t1] = traceSpan(traces);
  const counters = (extra.counters ?? {}) as Record<string, string>;

  // metrics
  const metrics: Record<string, MetricStats> = {};
  for (const [name, s] of ws) {
    let sum = 0, min = Infinity, max = -Infinity;
    for (const v of s.values) {
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    metrics[name] = {
      last: s.values[s.values.length - 1],
      mean: round(sum / s.values.length, 8),
      min,
      max,
      n: s.values.length,
    };
  }

  // baseline: idle power per device, then gross and net energy of the command
  let idle: WindowEnergy | undefined;
  let idleS = 0;
  let baseline: BaselineSummary | undefined;
  const cmdStart = baselineWin ? Math.max(baselineWin.end_us, t0) : t0;
  const cmdEnd = t1;
  const cmd = energyInWindow(traces, cmdStart, cmdEnd);
  const cmdS = Math.max(0, (cmdEnd - cmdStart) / 1e6);
  if (baselineWin && Number.isFinite(t0)) {
    idleS = (baselineWin.end_us - baselineWin.start_us) / 1e6;
    idle = energyInWindow(traces, baselineWin.start_us, baselineWin.end_us);
    const idleW = idleS > 0 ? idle.totals.total / idleS : 0;
    const idleJ = idleW * cmdS;
    const grossBy = by(cmd.totals);
    const idleBy = by(idle.totals);
    const netBy: Record<string, number> = {};
    for (const k of Object.keys(grossBy) as (keyof typeof grossBy)[]) {
      netBy[k] = round(grossBy[k] - (idleS > 0 ? (idleBy[k] / idleS) * cmdS : 0));
    }
    baseline = {
      window: {
        start: iso(baselineWin.start_us),
        end: iso(baselineWin.end_us),
        start_us: baselineWin.start_us,
        end_us: baselineWin.end_us,
        duration_s: round(idleS),
      },
      idle_power_w: round(idleW),
      idle_power_by: Object.fromEntries(
        Object.entries(idleBy).map(([k, v]) => [k, round(idleS > 0 ? v / idleS : 0)]),
      ) as BaselineSummary["idle_power_by"],
      idle_power_devices: idle.devices.map((d) => ({
        key: `${d.source}/${d.device}`,
        power_w: d.avg_power_w === null ? null : round(d.avg_power_w),
      })),
      command: { start: iso(cmdStart), end: iso(cmdEnd), duration_s: round(cmdS) },
      gross_energy_j: round(cmd.totals.total),
      idle_energy_j: round(idleJ),
      net_energy_j: round(cmd.totals.total - idleJ),
      gross_energy_by: Object.fromEntries(Object.entries(grossBy).map(([k, v]) => [k, round(v)])),
      net_energy_by: netBy,
      method:
        `idle power = energy of each device over the ${round(idleS, 3)} s before the command ` +
        `÷ that time; gross = energy measured while the command ran; net = gross − idle power × ` +
        `the command's duration (what the command added above an idle node). Both are shown: ` +
        `gross is what was drawn, net what the work cost.`,
    };
  }
  const idlePowerW = baseline ? baseline.idle_power_w : undefined;

  // phases
  const phases: PhaseSummary[] = [];
  for (const p of phasesIn) {
    if (!Number.isFinite(p.start_us) || !Number.isFinite(p.end_us)) continue;
    const e = energyInWindow(traces, p.start_us, p.end_us);
    const d = Math.max(0, (p.end_us - p.start_us) / 1e6);
    const units = unitsInWindow(ws, counters, p.start_us, p.end_us, false);
    const ps: PhaseSummary = {
      name: p.name,
      start: iso(p.start_us),
      end: iso(p.end_us),
      start_us: p.start_us,
      end_us: p.end_us,
      duration_s: round(d),
      energy_j: round(e.totals.total),
      energy_by: Object.fromEntries(
        Object.entries(by(e.totals)).map(([k, v]) => [k, round(v)]),
      ) as PhaseSummary["energy_by"],
      avg_power_w: d > 0 ? round(e.totals.total / d) : null,
    };
    if (idlePowerW !== undefined) ps.net_energy_j = round(e.totals.total - idlePowerW * d);
    if (Object.keys(units).length) {
      ps.units = Object.fromEntries(Object.entries(units).map(([k, u]) => [k, round(u!.value)]));
      for (const [k, u] of Object.entries(units) as [UnitKind, UnitCount][]) {
        if (e.totals.total > 0) {
          (ps as unknown as Record<string, number>)[`energy_per_${PER[k]}_j`] = round(
            e.totals.total / u.value,
          );
        }
      }
    }
    phases.push(ps);
  }

  // units of work over the command, energy per unit, throughput per watt
  const units = unitsInWindow(ws, counters, cmdStart, cmdEnd + 1, true);
  const perUnit: Record<string, unknown> = {};
  if (Object.keys(units).length) {
    Object.assign(
      perUnit,
      perUnitFields(units, cmd.totals.total, cmdS, baseline ? baseline.net_energy_j : undefined),
    );
    perUnit.energy_j = round(cmd.totals.total);
    perUnit.duration_s = round(cmdS);
    perUnit.basis = baseline
      ? "the command's run time (after the idle baseline); energy is gross, net_* subtracts the idle power"
      : "the whole run (including start-up and any idle time)";
    perUnit.methods = Object.fromEntries(Object.entries(units).map(([k, u]) => [k, u!.method]));
  }

  const marks = ((extra.marks ?? []) as { time_us: number; text: string }[]).map((m) => ({
    time: iso(m.time_us),
    time_us: m.time_us,
    offset_s: Number.isFinite(t0) ? round((m.time_us - t0) / 1e6) : null,
    text: m.text,
  }));

  summary.workload = {
    ...(summary.workload ?? {}),
    metrics,
    phases,
    marks,
    per_unit: perUnit,
    bad_lines: extra.bad_lines ?? { count: 0, examples: [] },
    ...(extra.inputs ? { inputs: extra.inputs } : {}),
    ...(Object.keys(counters).length ? { counters } : {}),
    ...(extra.scrape ? { scrape: extra.scrape } : {}),
    ...(baseline ? { baseline } : {}),
  };
}
