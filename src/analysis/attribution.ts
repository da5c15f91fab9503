/**
 * Whose energy is it? summary.json `attribution`: the wrapped command's share
 * of the CPU package energy by its share of the host's busy CPU time
 * (labelled as attribution, not measurement), which GPUs it used (NVML's
 * running compute processes matched against its process tree), and GPUs
 * that stayed idle all run.
 */
import type { EnrichContext } from "./stages.ts";

interface GpuUse {
  device: string;
  uuid?: string;
  usedByCommand?: boolean;
  maxCommandMemBytes?: number;
  otherPids?: number[];
}

/** Highest utilization seen per host/device (`nvml`/`amdgpu` `util_pct`). */
function maxUtil(ctx: EnrichContext): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of ctx.traces) {
    for (const s of t.series) {
      if (s.metric !== "util_pct" || (s.source !== "nvml" && s.source !== "amdgpu")) continue;
      let m = 0;
      for (const v of s.values) if (v > m) m = v;
      out.set(`${s.host}\u0000${s.source}\u0000${s.device}`, m);
    }
  }
  return out;
}

export function attributionStage(ctx: EnrichContext): void {
  const { traces, summary } = ctx;
  const util = maxUtil(ctx);
  const hosts = traces.map((t) => {
    const a = (t.meta?.extra?.attribution ?? {}) as {
      cpu?: { tree_cpu_s: number; host_busy_cpu_s: number; share: number | null };
      gpus?: GpuUse[];
    };
    const host = t.meta?.host ?? "";
    const cpuJ = summary.devices
      .filter((d) => d.host === host && d.total === "cpu" && d.energy_j !== null)
      .reduce((s, d) => s + d.energy_j!, 0);
    const cpu = a.cpu && a.cpu.share !== null
      ? {
        command_cpu_s: a.cpu.tree_cpu_s,
        host_busy_cpu_s: a.cpu.host_busy_cpu_s,
        share: a.cpu.share,
        cpu_energy_j: cpuJ,
        command_cpu_energy_j: cpuJ > 0 ? cpuJ * a.cpu.share : null,
        method: "attribution: CPU energy × the command's share of the host's busy CPU time",
      }
      : undefined;
    const gpus = summary.devices
      .filter((d) => d.host === host && (d.source === "nvml" || d.source === "amdgpu"))
      .map((d) => {
        const use = a.gpus?.find((g) => g.device === d.device);
        const maxU = util.get(`${host}\u0000${d.source}\u0000${d.device}`);
        return {
          source: d.source,
          device: d.device,
          uuid: d.uuid ?? use?.uuid,
          used_by_command: use?.usedByCommand ?? null,
          command_mem_bytes: use?.maxCommandMemBytes ?? null,
          other_pids: use?.otherPids ?? [],
          max_util_pct: maxU ?? null,
          idle: maxU !== undefined ? maxU < 5 : null,
          energy_j: d.energy_j,
        };
      });
    return { host, cpu, gpus };
  });
  const idle = hosts.flatMap((h) =>
    h.gpus.filter((g) => g.idle).map((g) => `${h.host}:${g.device}`)
  );
  if (hosts.every((h) => !h.cpu && h.gpus.length === 0)) return;
  summary.attribution = { hosts, idle_gpus: idle };
}
