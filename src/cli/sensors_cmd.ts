/** `aimeter sensors`: what can be measured here, and for each thing that cannot, why and the fix. */
import { Command } from "commander";
import { closeSensors, dedupeNotes, openSensors } from "../sensors/registry.ts";
import type { SensorNote } from "../sensors/types.ts";
import { resolveGpuSelection } from "../sensors/nvml.ts";

const STATUS_WORD: Record<SensorNote["status"], string> = {
  "found": "found",
  "not-found": "not found",
  "not-permitted": "not permitted",
  "estimated": "estimated",
  "unsupported": "unsupported",
  "error": "error",
};

export function sensorsCommand(): Command {
  return new Command("sensors")
    .description(
      "list what can be measured here, and why not (permissions, missing driver) with the fix",
    )
    .option("--json", "machine-readable output")
    .option("--sysfs-root <dir>", "where sysfs is mounted", "/sys")
    .option("--procfs-root <dir>", "where procfs is mounted", "/proc")
    .option("--nvml-lib <path>", "NVML library to load", "libnvidia-ml.so.1")
    .option("--gpus <list>", "GPUs to consider (indices, UUIDs, or auto)")
    .option("--cpu-tdp <watts>", "CPU TDP for the estimate where RAPL is not readable")
    .action(async (o) => {
      const { sensors, notes } = openSensors({
        sysfsRoot: o.sysfsRoot,
        procfsRoot: o.procfsRoot,
        nvmlLib: o.nvmlLib,
        intervalS: 0.1,
        gpus: o.gpus ? resolveGpuSelection(String(o.gpus), Deno.env.toObject()) : undefined,
        cpuTdpW: o.cpuTdp ? Number(o.cpuTdp) : undefined,
      });
      const sample = () =>
        sensors.map((s) => {
          const v = new Float64Array(s.channels.length).fill(NaN);
          s.read(v, (performance.timeOrigin + performance.now()) * 1000);
          return v;
        });
      sample();
      await new Promise((r) => setTimeout(r, 250));
      // two samples: counters need a delta to show power
      const readings = sample();
      const report = {
        sources: sensors.map((s, i) => ({
          source: s.source,
          devices: s.devices,
          channels: s.channels.map((c, j) => ({
            ...c,
            value: Number.isNaN(readings[i][j]) ? null : readings[i][j],
          })),
        })),
        notes: dedupeNotes([...notes, ...sensors.flatMap((s) => s.notes)]),
      };
      await closeSensors(sensors);
      if (o.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      const lines: string[] = [];
      for (const s of sensors) {
        lines.push(`${s.source}: found`);
        for (const d of s.devices) {
          const m = d.energyMethod ? `energy by ${d.energyMethod}` : "no energy";
          lines.push(
            `  ${d.device}${d.name ? `  ${d.name}` : ""}  (${m}${
              d.total ? `, counts into ${d.total}` : ""
            })`,
          );
        }
        lines.push(`  channels: ${[...new Set(s.channels.map((c) => c.metric))].join(", ")}`);
      }
      const problems = report.notes.filter((n) => n.status !== "found");
      if (problems.length) lines.push("", "not measured:");
      for (const n of problems) {
        lines.push(
          `  ${n.source}${n.device ? ` ${n.device}` : ""}: ${STATUS_WORD[n.status]}: ${n.message}`,
        );
        if (n.fix) lines.push(`    fix: ${n.fix}`);
      }
      if (!sensors.length) lines.unshift("no energy or power source could be read on this node");
      console.log(lines.join("\n"));
    });
}
