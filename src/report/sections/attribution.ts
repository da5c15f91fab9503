/**
 * Whose energy is it (`summary.attribution`): the command's share of the CPU
 * energy, by its share of the host's busy CPU time (an attribution, not a
 * measurement), and per GPU whether the command used it, its memory there,
 * other processes on it, and GPUs that stayed idle all run.
 */
import { esc, facts, table } from "../html.ts";
import { bytes, duration, joules, pct } from "../format.ts";
import type { ReportContext } from "../context.ts";
import { dot, isNum, isObj, methodBadge, type Section, wrapSection } from "./common.ts";

/** The badge of an attributed (not measured) figure. */
export function attributionBadge(method?: unknown): string {
  return `<span class="method m-attribution" title="${
    esc(typeof method === "string" && method ? method : "attribution, not measurement")
  }">attribution</span>`;
}

function yesNo(v: unknown, yes: string, no: string): string {
  if (v === true) return yes;
  if (v === false) return no;
  return '<span class="muted">unknown</span>';
}

export const attributionSection: Section = {
  id: "attribution",
  title: "Attribution",
  render(ctx: ReportContext) {
    const a = ctx.summary.attribution;
    if (!isObj(a) || !Array.isArray(a.hosts)) return "";
    const hosts = a.hosts.filter(isObj);
    if (!hosts.length) return "";
    const parts: string[] = [];

    // idle GPUs first: they are the point
    const idle = Array.isArray(a.idle_gpus) ? a.idle_gpus.map(String) : [];
    if (idle.length) {
      const gpuOf = (name: string) => {
        for (const h of hosts) {
          for (const g of Array.isArray(h.gpus) ? h.gpus.filter(isObj) : []) {
            if (`${h.host}:${g.device}` === name) return { h, g };
          }
        }
        return undefined;
      };
      let wasted = 0;
      const names = idle.map((n) => {
        const x = gpuOf(n);
        if (x && isNum(x.g.energy_j)) wasted += x.g.energy_j;
        return `<b>${esc(ctx.multiNode || !x ? n : x.g.device)}</b>`;
      });
      parts.push(
        `<p class="callout warn">${idle.length === 1 ? "GPU" : `${idle.length} GPUs`} ${
          names.join(", ")
        } stayed idle the whole run (utilization under 5&nbsp;%)${
          wasted > 0 ? `, drawing ${esc(joules(wasted))} for nothing` : ""
        }.</p>`,
      );
    }

    for (const h of hosts) {
      const head = ctx.multiNode ? `<h3>Node <code>${esc(h.host ?? "")}</code></h3>` : "";
      const cpu = isObj(h.cpu) ? h.cpu : undefined;
      let cpuHtml = "";
      if (cpu) {
        const share = isNum(cpu.share) ? cpu.share : undefined;
        // the CPU energy it divides may itself be an estimate
        const cpuDevs = (ctx.summary.devices ?? []).filter((d) =>
          d.host === h.host && d.total === "cpu" && d.energy_j !== null
        );
        const estimated = cpuDevs.length > 0 &&
          cpuDevs.every((d) => d.energy_method === "estimate");
        cpuHtml = facts([
          [
            "CPU energy",
            isNum(cpu.command_cpu_energy_j)
              ? `<b>${esc(joules(cpu.command_cpu_energy_j))}</b> ${
                attributionBadge(cpu.method)
              } for the command${
                isNum(cpu.cpu_energy_j)
                  ? `, <span class="muted">of ${esc(joules(cpu.cpu_energy_j))} ${
                    estimated ? "estimated" : "measured"
                  } for the CPU</span>${estimated ? ` ${methodBadge("estimate")}` : ""}`
                  : ""
              }`
              : '<span class="muted">— (no CPU energy measured)</span>',
          ],
          [
            "CPU time",
            share !== undefined
              ? `${esc(pct(share * 100, 1))} of the host's busy CPU time <span class="muted">(${
                esc(duration(cpu.command_cpu_s))
              } of ${esc(duration(cpu.host_busy_cpu_s))})</span>`
              : "",
          ],
          ["Method", typeof cpu.method === "string" ? esc(cpu.method) : ""],
        ]);
      }
      const gpus = Array.isArray(h.gpus) ? h.gpus.filter(isObj) : [];
      let gpuHtml = "";
      if (gpus.length) {
        // without the drivers' process lists, say so once instead of a column of "unknown"
        const procs = gpus.some((g) => typeof g.used_by_command === "boolean");
        const rows = gpus.map((g) => {
          const others = Array.isArray(g.other_pids) ? g.other_pids : [];
          return [
            `<span class="nowrap">${
              dot(ctx.colorOf(String(g.source ?? ""), String(g.device ?? "")))
            }<b${g.uuid ? ` title="${esc(g.uuid)}"` : ""}>${esc(g.device ?? "")}</b></span>`,
            ...(procs
              ? [
                yesNo(g.used_by_command, "yes", '<span class="warn-text">no</span>'),
                isNum(g.command_mem_bytes) && g.command_mem_bytes > 0
                  ? esc(bytes(g.command_mem_bytes))
                  : g.used_by_command === false
                  ? ""
                  : "—",
                others.length
                  ? `<span class="warn-text">${others.length} (PID ${
                    others.slice(0, 6).map((p: unknown) => esc(p)).join(", ")
                  }${others.length > 6 ? ", …" : ""})</span>`
                  : "none",
              ]
              : []),
            isNum(g.max_util_pct) ? esc(pct(g.max_util_pct, 0)) : "—",
            g.idle === true
              ? '<span class="status-pill idle">idle</span>'
              : g.idle === false
              ? '<span class="status-pill busy">busy</span>'
              : "",
            esc(joules(g.energy_j)),
          ];
        });
        gpuHtml = table(
          [
            { label: "GPU" },
            ...(procs
              ? [
                {
                  label: "Used by the command",
                  title: "its process tree was in the GPU's process list",
                },
                { label: "Command memory", num: true, title: "most GPU memory its processes held" },
                { label: "Other processes", title: "processes outside the command on this GPU" },
              ]
              : []),
            { label: "Max util.", num: true },
            { label: "State" },
            { label: "Energy", num: true },
          ],
          rows,
          { cls: "attribution-gpus" },
        ) +
          (procs
            ? ""
            : '<p class="muted small">The GPUs\' process lists were not recorded: which GPUs the command used is not known.</p>');
      }
      if (cpuHtml || gpuHtml) parts.push(head + cpuHtml + gpuHtml);
    }
    return wrapSection({
      id: "attribution",
      title: "Attribution",
      lead: "Which part of the measured energy belongs to the command. The CPU share is an " +
        "attribution (energy × share of busy CPU time), not a measurement; GPU use comes from " +
        "the drivers' process lists.",
      body: parts.join("\n"),
    });
  },
};
