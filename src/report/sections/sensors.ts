/** Sensors that could not be read, and why (with the fix). */
import { esc, table } from "../html.ts";
import type { ReportContext } from "../context.ts";
import { isObj, type Section, wrapSection } from "./common.ts";

export const sensorsSection: Section = {
  id: "sensors",
  title: "Sensors",
  render(ctx: ReportContext) {
    const notes = (Array.isArray(ctx.summary.sensors) ? ctx.summary.sensors : []).filter(isObj);
    const noEnergy = (ctx.summary.devices ?? []).filter((d) => d.energy_j === null);
    const rows = notes.map((n) => [
      `<code>${esc(n.source ?? "")}</code>${n.device ? ` ${esc(n.device)}` : ""}`,
      `<span class="sensor-status s-${esc(String(n.status ?? "").replace(/[^a-z-]/g, ""))}">${
        esc(n.status ?? "")
      }</span>`,
      esc(n.message ?? ""),
      n.fix ? `<span class="fix">${esc(n.fix)}</span>` : "",
    ]);
    for (const d of noEnergy) {
      rows.push([
        `<code>${esc(d.source)}</code> ${esc(d.device)}${
          ctx.multiNode ? ` on ${esc(d.host)}` : ""
        }`,
        '<span class="sensor-status s-error">no energy</span>',
        esc(d.note ?? "no energy could be obtained"),
        "",
      ]);
    }
    const body = rows.length
      ? table(
        [{ label: "Source" }, { label: "Status" }, { label: "What was seen" }, { label: "Fix" }],
        rows,
        {
          cls: "sensors",
        },
      )
      : '<p class="muted">Every sensor found was read; nothing to report.</p>';
    return wrapSection({
      id: "sensors",
      title: "Sensors & notes",
      lead: rows.length
        ? "What could not be measured on this run and how to fix it. Missing sources are never silently dropped."
        : "",
      body,
    });
  },
};
