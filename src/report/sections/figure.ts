/** One chart figure: caption, legend, SVG. */
import { fill } from "../html.ts";
import { TEMPLATES } from "../templates.ts";
import { legend, type Line, renderChart } from "../charts.ts";
import { minMaxBuckets } from "../downsample.ts";
import type { ReportContext } from "../context.ts";

export interface FigureOptions {
  id: string;
  title: string;
  note?: string;
  yLabel: string;
  lines: Line[];
  stacked?: boolean;
  /** Draw the workload's phases and marks. */
  phases?: boolean;
  height?: number;
  yDomain?: [number, number];
  zero?: boolean;
  /** Leave the legend out (one line named like the chart). */
  noLegend?: boolean;
  /** Legend notes per line label (e.g. "estimate"). */
  notes?: Record<string, string>;
}

/** Downsample a line for drawing (min/max buckets: peaks stay). */
export function drawable(l: Line, buckets: number): Line {
  const d = minMaxBuckets(l.x, l.y, buckets);
  return { ...l, x: d.x, y: d.y };
}

export function figure(ctx: ReportContext, o: FigureOptions): string {
  if (!o.lines.length) return "";
  const b = ctx.buckets(o.lines.length);
  const lines = o.stacked ? o.lines : o.lines.map((l) => drawable(l, b));
  const svg = renderChart({
    title: o.title,
    yLabel: o.yLabel,
    lines,
    stacked: o.stacked,
    time: ctx.time,
    height: o.height,
    yDomain: o.yDomain,
    zero: o.zero,
    phases: o.phases ? ctx.phases : undefined,
    marks: o.phases ? ctx.marks.map((m) => ({ time: m.time, label: String(m.n) })) : undefined,
  });
  return fill(TEMPLATES.chart, {
    id: o.id,
    title: o.title,
    note: o.note,
    legend: o.noLegend ? "" : legend(
      o.lines.map((l) => ({
        label: l.label,
        color: l.color,
        dashed: l.dashed,
        note: o.notes?.[l.label] ??
          (l.dashed && !/estimate/i.test(l.label) ? "estimate" : undefined),
      })),
    ),
    svg,
  });
}

/** A safe fragment of an HTML id from any text. */
export function idPart(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "x";
}
