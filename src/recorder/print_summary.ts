/** The short summary `run` and `record` print on stderr at the end. */
import type { Summary } from "../analysis/summary.ts";
import { formatDuration, formatEnergy } from "../cli/parse.ts";
import { existingRunFiles } from "./run_dir.ts";

/** `12.3 kg`, `45.6 g`, `2.04 mg`: grams with a sensible unit. */
export function formatGrams(g: number): string {
  if (g >= 1000) return `${(g / 1000).toFixed(2)} kg`;
  if (g >= 1) return `${g.toFixed(1)} g`;
  if (g > 0) return `${(g * 1000).toPrecision(3)} mg`;
  return "0 g";
}

export function formatRunSummary(s: Summary, dir: string, report: boolean): string {
  const e = s.energy_j;
  const lines: string[] = [];
  lines.push(
    `aimeter: ${formatDuration(s.run.duration_s)}, ${formatEnergy(e.total)} in total` +
      (s.power_w.avg !== null ? `, ${s.power_w.avg.toFixed(1)} W on average` : ""),
  );
  const parts: string[] = [];
  if (e.gpu) parts.push(`GPU ${formatEnergy(e.gpu)}`);
  if (e.cpu) parts.push(`CPU ${formatEnergy(e.cpu)}`);
  if (e.dram) parts.push(`DRAM ${formatEnergy(e.dram)}`);
  if (e.other) parts.push(`other ${formatEnergy(e.other)}`);
  if (parts.length) lines.push(`  ${parts.join(", ")}`);
  if (e.host) {
    lines.push(`  node platform meter (psys / module, beside the total): ${formatEnergy(e.host)}`);
  }
  if (e.estimated > 0) {
    lines.push(`  of which estimated (not measured): ${formatEnergy(e.estimated)}`);
  }
  if (s.devices.length === 0) {
    lines.push(
      "  no energy source could be read on this node: run `aimeter sensors` for the fixes",
    );
  }
  for (const d of s.devices.filter((d) => d.energy_j === null)) {
    lines.push(`  ${d.source} ${d.device}: no energy (${d.note ?? "unknown reason"})`);
  }
  if (e.total > 0 && typeof s.carbon?.emissions_g === "number") {
    lines.push(
      `  emissions ${
        formatGrams(s.carbon.emissions_g)
      } CO2e (${s.carbon.region}, ${s.carbon.intensity_g_per_kwh} g/kWh${
        s.carbon.guess ? ", region guessed from the time zone" : ""
      })`,
    );
  }
  const pu = s.workload?.per_unit ?? {};
  const perUnit = (["token", "sample", "step", "request"] as const)
    .filter((u) => typeof pu[`energy_per_${u}_j`] === "number" && e.total > 0)
    .map((u) => `${formatEnergy(pu[`energy_per_${u}_j`])} per ${u}`);
  if (perUnit.length) lines.push(`  ${perUnit.join(", ")}`);
  if (Array.isArray(s.findings) && s.findings.length) {
    lines.push(
      `  findings: ${
        s.findings.map((f: { title?: string }) => f.title).join("; ")
      } (see the report)`,
    );
  }
  const trace = existingRunFiles(dir).find((f) => /^trace\.(parquet|csv|parts)$/.test(f));
  const files = [trace, "summary.json", report ? "report.html" : undefined].filter(Boolean);
  lines.push(`  files: ${dir}/ (${files.join(", ")})`);
  return lines.join("\n");
}

export function printRunSummary(s: Summary, dir: string, report: boolean): void {
  console.error(formatRunSummary(s, dir, report));
}
