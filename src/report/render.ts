/**
 * The HTML report: one self-contained file (inline CSS, charts as inline SVG
 * drawn at build time by Observable Plot on linkedom; no scripts, fonts,
 * images or network), made from the traces and their summary alone.
 *
 * Page parts are in `templates/` (layout, sections, styles); each section is
 * a module in `sections/` and renders nothing when its data is absent.
 */
import type { Trace } from "../trace/reader.ts";
import type { Summary } from "../analysis/summary.ts";
import { esc, fill } from "./html.ts";
import { TEMPLATES } from "./templates.ts";
import { buildContext } from "./context.ts";
import { SECTIONS } from "./sections/mod.ts";
import { shellJoin } from "./sections/run.ts";
import { utc } from "./format.ts";
import { VERSION } from "../version.ts";

export interface RenderInput {
  traces: Trace[];
  summary: Summary;
  onProgress?: (done: number, total: number, what: string) => void;
  /** The time written in the footer (tests pin it); default now. */
  generatedAt?: Date;
}

/** Charts each section draws per host, for the progress total. */
function plannedSteps(hosts: number, multi: boolean, workloadMetrics: number): number {
  return hosts * 2 + hosts * 5 + (multi ? 2 : 0) + Math.min(8, workloadMetrics) + 1;
}

export async function renderReport(input: RenderInput): Promise<string> {
  const { traces, summary } = input;
  const ctx = buildContext(traces, summary);
  let done = 0;
  const wlMetrics =
    new Set(ctx.series.filter((s) => s.source === "workload").map((s) => s.metric)).size;
  const heatmap = Array.isArray(summary.correlation?.keys) && summary.correlation.keys.length >= 2;
  let total = plannedSteps(ctx.hosts.length, ctx.multiNode, wlMetrics) + (heatmap ? 1 : 0);
  const progress = {
    step(what: string) {
      done++;
      if (done > total) total = done;
      input.onProgress?.(done, total, what);
    },
  };

  const rendered: { id: string; title: string; html: string }[] = [];
  for (const s of SECTIONS) {
    let html: string;
    try {
      html = await s.render(ctx, progress);
    } catch (e) {
      // one section's trouble never costs the whole report
      html = `<section id="${esc(s.id)}" class="section"><h2>${esc(s.title || s.id)}</h2>` +
        `<p class="est">This part could not be drawn: ${
          esc((e as Error)?.message ?? e)
        }</p></section>`;
    }
    if (html) rendered.push({ id: s.id, title: s.title, html });
  }
  progress.step("page");

  const run = summary.run;
  const cmd = shellJoin(run?.command);
  const heading = cmd
    ? (cmd.length > 90 ? cmd.slice(0, 87) + "…" : cmd)
    : `Recording of ${ctx.hosts.join(", ")}`;
  const subtitle = [
    ctx.multiNode ? `${ctx.hosts.length} nodes (${ctx.hosts.join(", ")})` : ctx.hosts[0],
    run?.slurm?.SLURM_JOB_ID ? `SLURM job ${run.slurm.SLURM_JOB_ID}` : "",
    utc(run?.start),
  ].filter(Boolean).join(" · ");
  let status = "";
  if (run?.exit_code !== null && run?.exit_code !== undefined && run.exit_code !== 0) {
    status = ` <span class="status bad">exit code ${esc(run.exit_code)}</span>`;
  } else if (run?.complete === false) {
    status = ' <span class="status warn">incomplete run</span>';
  }
  const nav = rendered.filter((r) => r.title).map((r) =>
    `<a href="#${esc(r.id)}">${esc(r.title)}</a>`
  ).join("");
  const sources = traces.length === 1
    ? (traces[0].location?.files?.length === 1 ? "one trace" : "the segments of one trace")
    : `${traces.length} traces`;
  return fill(TEMPLATES.layout, {
    title: `aimeter · ${heading}`,
    version: run?.aimeter_version ?? VERSION,
    styles: TEMPLATES.styles,
    status,
    heading,
    subtitle,
    nav,
    sections: rendered.map((r) => r.html).join("\n"),
    sources,
    generated: utc((input.generatedAt ?? new Date()).toISOString()),
  });
}
