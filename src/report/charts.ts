/**
 * Charts: Observable Plot rendered at build time into SVG markup, with
 * linkedom as the document. Output is deterministic (fixed sizes, no clip or
 * pattern ids, coordinates rounded), so golden files can pin it down.
 *
 * Time runs left to right as elapsed time since the run's start, in s, min
 * or h; the wall-clock start is in the run section.
 */
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { esc } from "./html.ts";

export const CHART_WIDTH = 800;
export const CHART_HEIGHT = 240;

/** Twenty distinct colours (Observable 10, then Tableau 20's lighter tones). */
export const PALETTE = [
  "#4269d0",
  "#efb118",
  "#ff725c",
  "#6cc5b0",
  "#3ca951",
  "#ff8ab7",
  "#a463f2",
  "#97bbf5",
  "#9c6b4e",
  "#9498a0",
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

const PHASE_FILLS = ["#4269d0", "#efb118", "#3ca951", "#ff725c", "#a463f2", "#6cc5b0"];

export interface Line {
  /** Legend text (escaped when drawn). */
  label: string;
  color: string;
  /** Estimates and the like: drawn dashed. */
  dashed?: boolean;
  /** Heavier stroke (totals). */
  bold?: boolean;
  /** Unix µs. */
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

export interface Band {
  name: string;
  /** Unix µs. */
  start: number;
  end: number;
}

export interface Mark {
  /** Unix µs. */
  time: number;
  /** Short label drawn at the top (e.g. its number in the marks list). */
  label: string;
}

export interface TimeAxis {
  /** Unix µs of elapsed time 0. */
  t0: number;
  /** µs per unit. */
  div: number;
  unit: "s" | "min" | "h";
}

export interface ChartSpec {
  /** Accessible name and legend caption. */
  title: string;
  /** Y axis label including the unit: `Power (W)`. */
  yLabel: string;
  lines: Line[];
  time: TimeAxis;
  /** Stacked areas instead of lines (cumulative energy). */
  stacked?: boolean;
  yDomain?: [number, number];
  /** Start the y axis at 0 (default true; false for workload metrics). */
  zero?: boolean;
  phases?: Band[];
  marks?: Mark[];
  width?: number;
  height?: number;
}

/** The elapsed-time unit that suits a run of `durationUs`. */
export function timeAxis(t0: number, durationUs: number): TimeAxis {
  const s = durationUs / 1e6;
  if (s <= 180) return { t0, div: 1e6, unit: "s" };
  if (s <= 3 * 3600) return { t0, div: 60e6, unit: "min" };
  return { t0, div: 3600e6, unit: "h" };
}

const COMPACT = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 2 });
const PLAIN = new Intl.NumberFormat("en-US", { maximumFractionDigits: 4 });

let DOC: Document | undefined;
function doc(): Document {
  if (!DOC) {
    DOC = parseHTML("<!doctype html><html><head></head><body></body></html>")
      .document as unknown as Document;
  }
  return DOC;
}

/** Round every decimal number in path data and coordinates to 1 decimal place. */
function roundCoordinates(svg: string): string {
  return svg.replace(
    / (d|points|x|y|x1|x2|y1|y2|width|height|transform)="([^"]*)"/g,
    (_m, attr, v) => ` ${attr}="${v.replace(/(\d+\.\d)\d+/g, "$1")}"`,
  );
}

/** Render a chart to SVG markup. */
export function renderChart(spec: ChartSpec): string {
  const { time } = spec;
  const ex = (t: number) => (t - time.t0) / time.div;
  // deno-lint-ignore no-explicit-any
  const marks: any[] = [];
  if (spec.phases?.length) {
    const ph = spec.phases.map((p, i) => ({
      x1: ex(p.start),
      x2: ex(p.end),
      name: p.name,
      fill: PHASE_FILLS[i % PHASE_FILLS.length],
    }));
    marks.push(Plot.rectX(ph, { x1: "x1", x2: "x2", fill: "fill", fillOpacity: 0.08 }));
    marks.push(
      Plot.text(ph, {
        x: (d: { x1: number; x2: number }) => (d.x1 + d.x2) / 2,
        text: "name",
        frameAnchor: "top",
        dy: 4,
        fill: "#555",
        fontSize: 10,
        lineAnchor: "top",
      }),
    );
  }
  let yMin = Infinity, yMax = -Infinity, xMin = Infinity, xMax = -Infinity;
  if (spec.stacked) {
    // one shared x grid (the first line's), areas stacked in line order
    const base = spec.lines[0];
    const n = base?.x.length ?? 0;
    const acc = new Float64Array(n);
    for (const l of spec.lines) {
      const x = Array.from(l.x, ex);
      const y1 = Float64Array.from(acc);
      for (let i = 0; i < n; i++) acc[i] += l.y[i] || 0;
      const y2 = Float64Array.from(acc);
      marks.push(
        Plot.areaY({ length: n }, {
          x: x,
          y1,
          y2,
          fill: l.color,
          fillOpacity: l.dashed ? 0.35 : 0.75,
          curve: "linear",
        }),
      );
      marks.push(Plot.lineY({ length: n }, {
        x,
        y: y2,
        stroke: l.color,
        strokeWidth: 1,
        strokeDasharray: l.dashed ? "4,3" : undefined,
      }));
      for (let i = 0; i < n; i++) {
        yMax = Math.max(yMax, y2[i]);
        xMin = Math.min(xMin, x[i]);
        xMax = Math.max(xMax, x[i]);
      }
    }
    yMin = 0;
  } else {
    for (const l of spec.lines) {
      const x = Array.from(l.x, ex);
      const y = Array.from(l.y);
      for (let i = 0; i < x.length; i++) {
        if (!Number.isNaN(y[i])) {
          if (y[i] < yMin) yMin = y[i];
          if (y[i] > yMax) yMax = y[i];
        }
        if (x[i] < xMin) xMin = x[i];
        if (x[i] > xMax) xMax = x[i];
      }
      marks.push(
        Plot.lineY({ length: x.length }, {
          x,
          y,
          stroke: l.color,
          strokeWidth: l.bold ? 2.25 : 1.5,
          strokeDasharray: l.dashed ? "5,3" : undefined,
          curve: "linear",
        }),
      );
    }
  }
  if (spec.marks?.length) {
    const mk = spec.marks.map((m) => ({ x: ex(m.time), label: m.label }));
    marks.push(
      Plot.ruleX(mk, { x: "x", stroke: "#444", strokeOpacity: 0.55, strokeDasharray: "2,3" }),
    );
    marks.push(
      Plot.text(mk, {
        x: "x",
        text: "label",
        frameAnchor: "top",
        dy: spec.phases?.length ? 17 : 3,
        dx: 3,
        textAnchor: "start",
        fill: "#333",
        fontSize: 9,
        lineAnchor: "top",
      }),
    );
  }
  if (!Number.isFinite(yMin)) [yMin, yMax] = [0, 1];
  if (!Number.isFinite(xMin)) [xMin, xMax] = [0, 1];
  const lo = spec.zero === false ? yMin : Math.min(0, yMin);
  const hi = yMax > lo ? yMax : lo + 1;
  const svg = Plot.plot({
    document: doc(),
    width: spec.width ?? CHART_WIDTH,
    height: spec.height ?? CHART_HEIGHT,
    marginLeft: 58,
    marginRight: 16,
    marginTop: 22,
    marginBottom: 34,
    style: { fontSize: "11px", fontFamily: "inherit", background: "transparent" },
    // linkedom escapes text nodes but not `<` in attributes: keep markup characters out
    ariaLabel: spec.title.replace(/[<>&"']/g, " "),
    x: {
      label: `Elapsed time (${time.unit}) →`,
      labelAnchor: "right",
      domain: [Math.min(0, xMin), xMax > 0 ? xMax : 1],
      nice: false,
      ticks: 8,
    },
    y: {
      label: `↑ ${spec.yLabel}`,
      domain: spec.yDomain ?? [lo, hi],
      nice: true,
      grid: true,
      ticks: 5,
      tickFormat: Math.max(Math.abs(lo), Math.abs(hi)) >= 1e5 ? COMPACT.format : PLAIN.format,
    },
    marks: spec.zero === false && lo > 0
      ? marks
      : [...marks, Plot.ruleY([0], { stroke: "#999", strokeWidth: 0.75 })],
  }) as unknown as Element;
  return roundCoordinates(svg.outerHTML);
}

/** The legend of a chart as HTML (swatches matching line colour and dash). */
export function legend(
  lines: { label: string; color: string; dashed?: boolean; note?: string }[],
): string {
  if (!lines.length) return "";
  return `<ul class="legend">${
    lines.map((l) =>
      `<li><svg class="sw" width="18" height="10" aria-hidden="true"><line x1="0" y1="5" x2="18" y2="5" stroke="${
        esc(l.color)
      }" stroke-width="${l.dashed ? 2 : 3}"${l.dashed ? ' stroke-dasharray="4,2"' : ""}/></svg>${
        esc(l.label)
      }${l.note ? ` <span class="est">${esc(l.note)}</span>` : ""}</li>`
    ).join("")
  }</ul>`;
}

/** A correlation heatmap: a square matrix of r in −1..1, one row and column per series. */
export interface HeatmapSpec {
  /** Accessible name. */
  title: string;
  /** Axis labels, one per row/column (already shortened; drawn as text). */
  labels: string[];
  /** Full names, shown as the tooltip of each cell. */
  names?: string[];
  /** r by row and column; null where the pair was not tested. */
  matrix: (number | null)[][];
  /** Print r in the cells (default: when 12 series or fewer). */
  values?: boolean;
  /** Cell size in px (default from the number of series). */
  cell?: number;
}

/** The diverging colour of a correlation (red −1, near-white 0, blue +1), the heatmap's scale. */
export const CORRELATION_COLOR: Plot.ScaleOptions = {
  type: "diverging",
  scheme: "RdBu",
  domain: [-1, 1],
  pivot: 0,
};

/** Colours of the correlation scale at −1, −0.5, 0, 0.5, 1 (for an HTML legend). */
export function correlationStops(): string[] {
  const s = Plot.scale({ color: CORRELATION_COLOR });
  return [-1, -0.5, 0, 0.5, 1].map((v) => String(s.apply(v)));
}

/** Width in px the longest label needs at 11px (a generous estimate: no text metrics here). */
function labelWidth(labels: string[]): number {
  return Math.max(0, ...labels.map((l) => l.length)) * 7 + 14;
}

/** Render a correlation heatmap to SVG markup (deterministic, like `renderChart`). */
export function renderHeatmap(spec: HeatmapSpec): string {
  const n = spec.labels.length;
  const cell = spec.cell ?? Math.max(18, Math.min(44, Math.floor(520 / Math.max(1, n))));
  const values = spec.values ?? n <= 12;
  const lw = Math.ceil(labelWidth(spec.labels));
  const marginLeft = Math.max(40, lw);
  // column labels are turned 45°: they need about 0.71 × their length below the cells
  const marginBottom = Math.max(30, Math.ceil(lw * 0.72) + 8);
  const marginTop = 8, marginRight = 8 + Math.ceil(lw * 0.3);
  const cells: { x: number; y: number; r: number | null; name: string }[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = spec.matrix[i]?.[j];
      const r = typeof v === "number" && Number.isFinite(v) ? Math.max(-1, Math.min(1, v)) : null;
      const a = spec.names?.[i] ?? spec.labels[i], b = spec.names?.[j] ?? spec.labels[j];
      cells.push({
        x: j,
        y: i,
        r,
        name: (i === j ? a : `${a} × ${b}: ${r === null ? "not tested" : `r = ${fmtR(r)}`}`)
          // linkedom escapes text nodes (the <title>); keep markup characters out all the same
          .replace(/[<>&]/g, " "),
      });
    }
  }
  const tested = cells.filter((c) => c.r !== null);
  const untested = cells.filter((c) => c.r === null);
  const idx = Array.from({ length: n }, (_, i) => i);
  const tick = (i: number) => spec.labels[i] ?? "";
  // deno-lint-ignore no-explicit-any
  const marks: any[] = [
    // pairs not tested: an empty cell, crossed out (no colour of the scale means "no value")
    Plot.cell(untested, {
      x: "x",
      y: "y",
      fill: "white",
      stroke: "#d5d9df",
      inset: 1,
      title: "name",
    }),
    Plot.text(untested, {
      x: "x",
      y: "y",
      text: () => "×",
      fill: "#a9b0ba",
      fontSize: Math.max(9, Math.round(cell * 0.45)),
    }),
    Plot.cell(tested, { x: "x", y: "y", fill: "r", inset: 0.5, title: "name" }),
  ];
  if (values) {
    marks.push(
      Plot.text(tested, {
        x: "x",
        y: "y",
        text: (d: { r: number }) => fmtR(d.r),
        fill: (d: { r: number }) => Math.abs(d.r) >= 0.6 ? "white" : "#1d2330",
        fontSize: cell >= 34 ? 10 : 9,
      }),
    );
  }
  const svg = Plot.plot({
    document: doc(),
    width: marginLeft + marginRight + n * cell,
    height: marginTop + marginBottom + n * cell,
    marginLeft,
    marginRight,
    marginTop,
    marginBottom,
    style: { fontSize: "11px", fontFamily: "inherit", background: "transparent" },
    ariaLabel: spec.title.replace(/[<>&"']/g, " "),
    x: {
      domain: idx,
      tickFormat: tick,
      tickRotate: -45,
      label: null,
      tickSize: 0,
      padding: 0,
    },
    y: { domain: idx, tickFormat: tick, label: null, tickSize: 0, padding: 0 },
    color: CORRELATION_COLOR,
    marks,
  }) as unknown as Element;
  return roundCoordinates(svg.outerHTML);
}

/** r with two decimals and a real minus sign; 1 and −1 without decimals. */
export function fmtR(r: number): string {
  if (Math.abs(r) >= 0.9995) return r > 0 ? "1" : "−1";
  const t = Math.abs(r).toFixed(2).replace(/^0/, "");
  return r < 0 && t !== ".00" ? `−${t}` : t;
}
