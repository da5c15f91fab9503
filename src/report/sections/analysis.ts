/** Findings: rendered when the summary has them, the most severe first. */
import { esc, fill, generic } from "../html.ts";
import { joules } from "../format.ts";
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
