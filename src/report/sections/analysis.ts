/** Findings, correlations and data quality: rendered when their summary blocks are present. */
import { esc, fill, generic, table } from "../html.ts";
import { joules, value } from "../format.ts";
import { TEMPLATES } from "../templates.ts";
import type { ReportContext } from "../context.ts";
import { isNum, isObj, type Section, wrapSection } from "./common.ts";

const SEVERITY = ["critical", "high", "error", "medium", "warning", "warn", "low", "info"];

export const findingsSection: Section = {
  id: "findings",
  title: "Findings",
  render(ctx: ReportContext) {
    const f = ctx.summary.findings;
    if (!Array.isArray(f) || !f.length) return "";
    const rank = (s: unknown) => {
      const i = SEVERITY.indexOf(String(s ?? "").toLowerCase());
      return i < 0 ? SEVERITY.length : i;
    };
    const items = f.filter(isObj).sort((a, b) => rank(a.severity) - rank(b.severity));
    const body = items.map((x) =>
      fill(TEMPLATES.finding, {
        severity: String(x.severity ?? "info").toLowerCase().replace(/[^a-z]/g, "") || "info",
        title: x.title ?? x.id ?? "finding",
        energy: isNum(x.energy_j)
          ? `<span class="energy">${esc(joules(x.energy_j))} at stake</span>`
          : "",
        evidence: x.evidence != null
          ? `<p>${typeof x.evidence === "string" ? esc(x.evidence) : generic(x.evidence)}</p>`
          : "",
        suggestion: x.suggestion != null ? `<p><b>Suggestion:</b> ${esc(x.suggestion)}</p>` : "",
      })
    ).join("\n");
    return wrapSection({ id: "findings", title: "Findings", body });
  },
};

export const correlationsSection: Section = {
  id: "correlations",
  title: "Correlations",
  render(ctx: ReportContext) {
    const c = ctx.summary.correlations;
    if (!Array.isArray(c) || !c.length) return "";
    const items = c.filter(isObj).sort((a, b) =>
      Math.abs(isNum(b.pearson) ? b.pearson : 0) - Math.abs(isNum(a.pearson) ? a.pearson : 0)
    );
    const bar = (r: unknown) => {
      if (!isNum(r)) return "";
      const w = Math.min(1, Math.abs(r)) * 50;
      return `<span class="corr-bar" aria-hidden="true"><i style="left:${
        r < 0 ? 50 - w : 50
      }%;width:${w.toFixed(1)}%;background:${r < 0 ? "#ff725c" : "#4269d0"}"></i></span>`;
    };
    const rows = items.slice(0, 40).map((x) => [
      `<code>${esc(x.a ?? "")}</code>`,
      `<code>${esc(x.b ?? "")}</code>`,
      `${esc(value(x.pearson, 3))}${bar(x.pearson)}`,
      esc(value(x.spearman, 3)),
      esc(value(x.n)),
      esc(
        isNum(x.p_value) ? (x.p_value < 1e-4 ? "< 0.0001" : value(x.p_value, 2)) : value(x.p_value),
      ),
    ]);
    return wrapSection({
      id: "correlations",
      title: "Correlations",
      lead: items.length > 40 ? `The 40 strongest of ${items.length}.` : "",
      body: table([
        { label: "Series A" },
        { label: "Series B" },
        { label: "Pearson", num: true },
        { label: "Spearman", num: true },
        { label: "n", num: true },
        { label: "p", num: true },
      ], rows),
    });
  },
};

export const qualitySection: Section = {
  id: "quality",
  title: "Data quality",
  render(ctx: ReportContext) {
    const q = ctx.summary.quality;
    if (q === undefined || q === null || (isObj(q) && !Object.keys(q).length)) return "";
    return wrapSection({ id: "quality", title: "Data quality", body: generic(q) });
  },
};
