/**
 * What the sensors learned during a run beyond the samples, kept in the
 * trace metadata (`meta.extra`) so later analysis has it: which GPUs the
 * command used (NVML process lists), its share of the host's CPU time, the
 * effective update period of power/energy channels, counter wraps and
 * aimeter's own cost.
 */
import process from "node:process";
import type { Sensor } from "../sensors/types.ts";

interface MaybeExtras {
  gpuUse?: () => unknown[];
  updatePeriods?: () => Record<string, Record<string, number | null>>;
  cpuTimeShare?: () => { treeCpuS: number; hostBusyCpuS: number; share: number };
  wraps?: () => Record<string, number>;
}

export function sensorExtras(sensors: Sensor[]): Record<string, unknown> {
  const attribution: Record<string, unknown> = {};
  const updatePeriods: Record<string, unknown> = {};
  const counters: Record<string, unknown> = {};
  for (const s of sensors) {
    const x = s as Sensor & MaybeExtras;
    try {
      if (x.gpuUse) attribution.gpus = x.gpuUse();
      if (x.cpuTimeShare) {
        const c = x.cpuTimeShare();
        attribution.cpu = {
          tree_cpu_s: c.treeCpuS,
          host_busy_cpu_s: c.hostBusyCpuS,
          share: Number.isFinite(c.share) ? c.share : null,
        };
      }
      if (x.updatePeriods) updatePeriods[s.source] = x.updatePeriods();
      if (x.wraps) counters[`${s.source}_wraps`] = x.wraps();
    } catch {
      // extras are best effort; the samples are what matters
    }
  }
  const cpu = process.cpuUsage();
  return {
    ...(Object.keys(attribution).length ? { attribution } : {}),
    ...(Object.keys(updatePeriods).length ? { update_periods: updatePeriods } : {}),
    ...(Object.keys(counters).length ? { counters } : {}),
    self: {
      cpu_s: (cpu.user + cpu.system) / 1e6,
      rss_bytes: Deno.memoryUsage().rss,
    },
  };
}
