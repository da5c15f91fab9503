/**
 * The workload: its metrics over time (with phases shaded and marks numbered),
 * a metrics table, phases with their energy, marks, energy per unit of work.
 * From `summary.workload` when present, else from the trace itself
 * (`source=workload` series, `meta.extra.workload` phases and marks).
 */
import { esc, generic, table } from "../html.ts";
import { duration, joules, toMicros, utc, value } from "../format.ts";
import type { Line } from "../charts.ts";
import type { ReportContext } from "../context.ts";
import { resampleAt } from "../downsample.ts";
import { cumulativeEnergy } from "../series_math.ts";
import { countedDevices } from "./power.ts";
import { figure, idPart } from "./figure.ts";
import { isNum, isObj, type Progress, type Section, wrapSection } from "./common.ts";

const MAX_CHARTS = 8;
const KNOWN = new Set(["metrics", "phases", "marks", "per_unit"]);

/** Measured energy of all counted devices between two times (µs), from the full data. */
function energyBetween(ctx: ReportContext, a: number, b: number): number {
  let j = 0;
  for (const host of ctx.hosts) {
    for (const d of countedDevices(ctx, host)) {
      const c = cumulativeEnergy(d.energy, d.power);
      if (!c) continue;
      const v = resampleAt(c.x, c.y, [a, b], 0);
      j += v[1] - v[0];
    }
  }
  return j;
}

export const workloadSection: Section = {
  id: "workload",
  title: "Workload",
  render(ctx: ReportContext, progress: Progress) {
    const wl = isObj(ctx.summary.workload) ? ctx.summary.workload : {};
    const wseries = ctx.series.filter((s) => s.source === "workload" && s.times.length);
    const names = [...new Set(wseries.map((s) => s.metric))];
    if (!names.length && !ctx.phases.length && !ctx.marks.length && !Object.keys(wl).length) {
      return "";
    }
    const parts: string[] = [];

    // charts: one per metric, a line per node
    for (const m of names.slice(0, MAX_CHARTS)) {
      const lines: Line[] = wseries.filter((s) => s.metric === m).map((s) => ({
        label: ctx.multiNode
          ? `${s.host} ${s.device}`
          : s.device === "main"
          ? m
          : `${s.device} ${m}`,
        color: ctx.multiNode ? ctx.hostColor(s.host) : "#4269d0",
        x: s.times,
        y: s.values,
      }));
      parts.push(
        figure(ctx, {
          id: `chart-wl-${idPart(m)}`,
          title: m,
          yLabel: m,
          lines,
          phases: true,
          height: 180,
          zero: false,
          noLegend: lines.length === 1,
        }),
      );
      progress.step(`workload ${m}`);
    }
    if (names.length > MAX_CHARTS) {
      parts.push(
        `<p class="muted">${names.length - MAX_CHARTS} more metrics are in the table below.</p>`,
      );
    }

    // metrics table: the summary's statistics, else computed from the series
    const metrics = isObj(wl.metrics) ? wl.metrics : Object.fromEntries(names.map((m) => {
      const v = wseries.filter((s) => s.metric === m).flatMap((s) => Array.from(s.values));
      let sum = 0, lo = Infinity, hi = -Infinity;
      for (const x of v) {
        sum += x;
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
      return [m, { last: v.at(-1), mean: sum / v.length, min: lo, max: hi, samples: v.length }];
    }));
    const mNames = Object.keys(metrics);
    if (mNames.length) {
      const keys: string[] = [];
      for (const n of mNames) {
        const st = metrics[n];
        if (isObj(st)) { for (const k of Object.keys(st)) if (!keys.includes(k)) keys.push(k); }
      }
      const rows = mNames.map((n) => {
        const st = metrics[n];
        return [
          `<code>${esc(n)}</code>`,
          ...(isObj(st)
            ? keys.map((k) =>
              isObj(st[k]) || Array.isArray(st[k]) ? generic(st[k]) : esc(value(st[k]))
            )
            : keys.map(() => "")),
        ];
      });
      parts.push(
        "<h3>Metrics</h3>" +
          table([{ label: "Metric" }, ...keys.map((k) => ({ label: k, num: true }))], rows),
      );
    }

    // phases: summary's when given, else the trace's; energy from the full data when not given
    // deno-lint-ignore no-explicit-any
    const phases: Record<string, any>[] = Array.isArray(wl.phases) && wl.phases.length
      ? wl.phases.filter(isObj)
      : ctx.phases.map((p) => ({ name: p.name, start: p.start, end: p.end }));
    const phaseRows = phases.map((p) => {
      const a = toMicros(p.start), b = toMicros(p.end ?? ctx.summary.run?.end);
      const dur = isNum(p.duration_s) ? p.duration_s : (b - a) / 1e6;
      const computed = !isNum(p.energy_j) && Number.isFinite(a) && Number.isFinite(b);
      const ej = isNum(p.energy_j) ? p.energy_j : computed ? energyBetween(ctx, a, b) : null;
      return [
        esc(p.name ?? ""),
        esc(Number.isFinite(a) ? utc(new Date(a / 1000).toISOString()) : String(p.start ?? "")),
        esc(duration(dur)),
        `${esc(joules(ej))}${
          computed ? ' <span class="muted" title="from the trace by the report">*</span>' : ""
        }`,
        isNum(ej) && isNum(dur) && dur > 0 ? esc(`${value(ej / dur, 4)}\u00a0W`) : "",
      ];
    });
    if (phaseRows.length) {
      parts.push(
        "<h3>Phases</h3>" +
          table([
            { label: "Phase" },
            { label: "Start" },
            { label: "Duration", num: true },
            { label: "Energy", num: true },
            { label: "Avg power", num: true },
          ], phaseRows),
      );
      if (phaseRows.some((r) => r[3].includes("*"))) {
        parts.push(
          '<p class="muted">* computed by the report from the trace (measured devices only).</p>',
        );
      }
    }
    if (ctx.marks.length) {
      parts.push(
        `<h3>Marks</h3><ol class="marks">${
          ctx.marks.map((m) =>
            `<li value="${m.n}"><span class="muted">${
              esc(duration((m.time - ctx.t0) / 1e6))
            }</span> ${esc(m.text)}</li>`
          ).join("")
        }</ol>`,
      );
    }
    if (wl.per_unit !== undefined) {
      parts.push("<h3>Energy per unit of work</h3>" + generic(wl.per_unit));
    }
    const extra = Object.fromEntries(Object.entries(wl).filter(([k]) => !KNOWN.has(k)));
    if (Object.keys(extra).length) parts.push(generic(extra));
    return wrapSection({
      id: "workload",
      title: "Workload",
      lead: "What the workload reported. Shaded bands are phases; numbered dashed lines are marks.",
      body: parts.join("\n"),
    });
  },
};
