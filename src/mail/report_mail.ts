/** The mail that carries a report: subject and body with the key numbers, report.html attached. */
import type { Summary } from "../analysis/summary.ts";
import { formatDuration, formatEnergy } from "../cli/parse.ts";
import type { MailMessage } from "./send.ts";

function basename(p: string): string {
  return p.replace(/\/+$/, "").split("/").pop() ?? p;
}

/** Subject + plain-text body for a run or job summary. */
export function reportMail(
  summary: Summary,
  reportPath: string,
  to: string,
  extra: { summaryPath?: string; folder?: string } = {},
): MailMessage {
  const job = summary.slurm_job as Record<string, unknown> | undefined;
  const e = summary.energy_j;
  const hosts = summary.hosts ?? [];
  const jobLabel = job?.job_id
    ? `SLURM job ${job.array_job_id ? `${job.array_job_id}_${job.array_task_id}` : job.job_id}${
      job.job_name ? ` (${job.job_name})` : ""
    }`
    : `run on ${summary.run.host}`;
  const kwh = e.total / 3.6e6;
  const subject =
    `aimeter: ${jobLabel}: ${kwh < 0.01 ? formatEnergy(e.total) : `${kwh.toFixed(3)} kWh`}` +
    ` on ${hosts.length || 1} node${(hosts.length || 1) === 1 ? "" : "s"}`;
  const lines: string[] = [];
  lines.push(`Energy report for ${jobLabel}.`, "");
  if (job?.user) lines.push(`User:        ${job.user}`);
  if (job?.nodelist) lines.push(`Nodes:       ${job.nodelist}`);
  lines.push(`Start:       ${summary.run.start}`);
  lines.push(`End:         ${summary.run.end}`);
  lines.push(`Duration:    ${formatDuration(summary.run.duration_s)}`);
  lines.push(`Energy:      ${formatEnergy(e.total)}`);
  const parts: string[] = [];
  if (e.gpu) parts.push(`GPU ${formatEnergy(e.gpu)}`);
  if (e.cpu) parts.push(`CPU ${formatEnergy(e.cpu)}`);
  if (e.dram) parts.push(`DRAM ${formatEnergy(e.dram)}`);
  if (e.host) parts.push(`host ${formatEnergy(e.host)}`);
  if (e.other) parts.push(`other ${formatEnergy(e.other)}`);
  if (parts.length) lines.push(`             ${parts.join(", ")}`);
  if (e.estimated > 0) {
    lines.push(`             of which estimated (not measured): ${formatEnergy(e.estimated)}`);
  }
  if (summary.power_w.avg !== null) {
    lines.push(`Avg power:   ${summary.power_w.avg.toFixed(1)} W`);
  }
  const c = summary.carbon;
  if (c && typeof c.emissions_g === "number") {
    lines.push(
      `Emissions:   ${c.emissions_g.toFixed(1)} g CO2e` +
        (c.region
          ? ` (${c.region}${c.intensity_g_per_kwh ? `, ${c.intensity_g_per_kwh} g/kWh` : ""})`
          : ""),
    );
  }
  if (hosts.length > 1) {
    lines.push("", "Per node:");
    for (const h of hosts) {
      lines.push(`  ${h.host.padEnd(16)} ${formatEnergy(h.energy_j.total)}`);
    }
  }
  const missing = job?.missing_nodes as string[] | undefined;
  if (missing?.length) lines.push("", `No trace from: ${missing.join(", ")}`);
  const warnings = (summary.sensors ?? []).filter((n) => n.source === "slurm");
  if (warnings.length) {
    lines.push("", "Warnings:");
    for (const w of warnings) lines.push(`  - ${w.message}`);
  }
  if (summary.devices.length === 0) {
    lines.push(
      "",
      "No energy source could be read on these nodes (see the report's sensor notes).",
    );
  }
  lines.push("", `The full report is attached (${basename(reportPath)}).`);
  if (extra.folder) lines.push(`Traces and report: ${extra.folder}`);
  lines.push("", "-- ", "aimeter");
  const attachments: MailMessage["attachments"] = [
    { filename: basename(reportPath), path: reportPath, contentType: "text/html" },
  ];
  if (extra.summaryPath) {
    attachments.push({
      filename: basename(extra.summaryPath),
      path: extra.summaryPath,
      contentType: "application/json",
    });
  }
  return { to, subject, text: lines.join("\n") + "\n", attachments };
}
