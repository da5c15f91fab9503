/**
 * How far the numbers can be trusted: summary.json `quality`.
 *
 * From the trace alone: counter energy cross-checked against integrated
 * power per device (they disagree on some GPUs over short windows), values
 * that cannot be right (power far above the limit, energy going backwards,
 * a counter stuck while power flows), sample coverage against the interval;
 * and from the recorder's metadata: tick jitter, skipped ticks, aimeter's own
 * CPU time, effective update periods of the power and energy channels,
 * counter wraps and resets the sensors saw.
 */
import type { EnrichContext } from "./stages.ts";
import { integrate, seriesByDevice } from "./energy.ts";
import type { Series } from "../trace/reader.ts";

export interface DeviceQuality {
  host: string;
  source: string;
  device: string;
  /** Counter energy vs trapezoid of power_w, relative difference (counter − integral) / counter. */
  counter_vs_integral?: { counter_j: number; integral_j: number; rel_diff: number };
  coverage?: number;
  problems: string[];
}

/** Longest run (seconds) during which energy did not move while power said it should. */
function stuckSeconds(energy: Series, power: Series | undefined): number {
  if (!power) return 0;
  let longest = 0, since: number | undefined;
  let pi = 0;
  for (let i = 1; i < energy.values.length; i++) {
    const t = energy.times[i];
    while (pi + 1 < power.times.length && power.times[pi + 1] <= t) pi++;
    const p = power.values[pi] ?? 0;
    if (energy.values[i] === energy.values[i - 1] && p > 5) {
      since ??= energy.times[i - 1];
      longest = Math.max(longest, (t - since) / 1e6);
    } else since = undefined;
  }
  return longest;
}

export function deviceQuality(series: Series[], intervalS: number): DeviceQuality[] {
  const out: DeviceQuality[] = [];
  for (const m of seriesByDevice(series).values()) {
    const energy = m.get("energy_j");
    const power = m.get("power_w");
    const limit = m.get("power_limit_w");
    if (!energy && !power) continue;
    const any = (energy ?? power)!;
    const q: DeviceQuality = {
      host: any.host,
      source: any.source,
      device: any.device,
      problems: [],
    };
    if (energy && power && energy.values.length > 2 && power.values.length > 2) {
      const counter = energy.values[energy.values.length - 1] - energy.values[0];
      // integrate power over the same window as the counter
      const t0 = energy.times[0], t1 = energy.times[energy.times.length - 1];
      const ts: number[] = [], vs: number[] = [];
      for (let i = 0; i < power.times.length; i++) {
        if (power.times[i] >= t0 && power.times[i] <= t1) {
          ts.push(power.times[i]);
          vs.push(power.values[i]);
        }
      }
      // a reduced series (very long trace) has the exact integral of all its samples
      const integral = power.reduced && power.stats ? power.stats.integral : integrate(ts, vs);
      if (counter > 0) {
        q.counter_vs_integral = {
          counter_j: counter,
          integral_j: integral,
          rel_diff: (counter - integral) / counter,
        };
        if (Math.abs(q.counter_vs_integral.rel_diff) > 0.1 && (t1 - t0) / 1e6 > 10) {
          q.problems.push(
            `counter and integrated power differ by ${
              (q.counter_vs_integral.rel_diff * 100).toFixed(1)
            }% over ${((t1 - t0) / 1e6).toFixed(0)} s`,
          );
        }
      }
    }
    if (energy) {
      for (let i = 1; i < energy.values.length; i++) {
        if (energy.values[i] < energy.values[i - 1]) {
          q.problems.push("energy went backwards (counter reset not corrected)");
          break;
        }
      }
      const stuck = stuckSeconds(energy, power);
      if (stuck >= 5) {
        q.problems.push(`energy counter stuck for ${stuck.toFixed(1)} s while power was above 5 W`);
      }
    }
    if (power && limit && limit.values.length) {
      let lim = -Infinity;
      for (const v of limit.values) if (v > lim) lim = v; // no spread: series can be millions long
      const over = power.values.filter((v) => v > lim * 1.5).length;
      if (lim > 0 && over > 0) {
        q.problems.push(
          power.reduced
            ? `power reached ${(power.stats?.max ?? NaN).toFixed(0)} W, above 1.5 × the ${
              lim.toFixed(0)
            } W limit`
            : `${over} power samples above 1.5 × the ${lim.toFixed(0)} W limit`,
        );
      }
    }
    if (power && power.values.some((v) => v < 0)) q.problems.push("negative power samples");
    const ref = power ?? energy!;
    if (intervalS > 0 && ref.times.length > 1) {
      const span = (ref.times[ref.times.length - 1] - ref.times[0]) / 1e6;
      q.coverage = Math.min(1, (ref.stats?.n ?? ref.times.length) / (span / intervalS + 1));
    }
    out.push(q);
  }
  return out;
}

export function qualityStage({ traces, summary }: EnrichContext): void {
  const devices = traces.flatMap((t) => deviceQuality(t.series, t.meta?.interval_s ?? 0));
  const recorder = traces.map((t) => ({
    host: t.meta?.host,
    ...((t.meta?.extra?.sampler ?? {}) as Record<string, unknown>),
    ...((t.meta?.extra?.self ?? {}) as Record<string, unknown>),
  }));
  const updatePeriods = traces.map((t) => t.meta?.extra?.update_periods).filter(Boolean);
  const counters = traces.map((t) => t.meta?.extra?.counters).filter(Boolean);
  summary.quality = {
    devices,
    recorder,
    ...(updatePeriods.length ? { update_periods_s: updatePeriods } : {}),
    ...(counters.length ? { counters } : {}),
    problems: devices.flatMap((d) => d.problems.map((p) => `${d.source} ${d.device}: ${p}`)),
  };
}
