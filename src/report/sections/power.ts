/** Power over time per device and cumulative energy (per node when there are several). */
import { esc } from "../html.ts";
import type { Line } from "../charts.ts";
import type { ReportContext } from "../context.ts";
import { cumulativeEnergy, cumulativeOnGrid, grid, powerFromEnergy } from "../series_math.ts";
import { figure, idPart } from "./figure.ts";
import { type Progress, type Section, wrapSection } from "./common.ts";
import type { Series } from "../../trace/reader.ts";

/** Devices of a host that count into the energy totals (or have power), in colour order. */
export function countedDevices(ctx: ReportContext, host: string) {
  const byDev = new Map<
    string,
    { source: string; device: string; power?: Series; energy?: Series }
  >();
  for (const s of ctx.series) {
    if (s.host !== host || (s.metric !== "power_w" && s.metric !== "energy_j") || !s.times.length) {
      continue;
    }
    const k = `${s.source}/${s.device}`;
    const d = byDev.get(k) ?? { source: s.source, device: s.device };
    if (s.metric === "power_w") d.power = s;
    else d.energy = s;
    byDev.set(k, d);
  }
  return [...byDev.values()]
    .map((d) => ({ ...d, info: ctx.deviceEnergy(host, d.source, d.device) }))
    .filter((d) => (d.info?.total ?? "other") !== "none")
    .sort((a, b) => order(ctx, a) - order(ctx, b));
}

function order(_ctx: ReportContext, d: { source: string; device: string }): number {
  // the colour assignment already follows the device order
  const rank = ["nvml", "amdgpu", "rocm_smi"].includes(d.source) ? 0 : d.source === "rapl" ? 1 : 2;
  const n = Number(/\d+/.exec(d.device)?.[0] ?? 0);
  return rank * 1e6 + n * 10 + (d.device.includes("/") ? 1 : 0);
}

export function powerLines(ctx: ReportContext, host: string): Line[] {
  const lines: Line[] = [];
  for (const d of countedDevices(ctx, host)) {
    const est = d.info?.energy_method === "estimate" || d.source === "estimate";
    const p = d.power
      ? { x: d.power.times, y: d.power.values }
      : d.energy
      ? powerFromEnergy(d.energy)
      : undefined;
    if (!p || !p.x.length) continue;
    lines.push({
      label: ctx.label(d.source, d.device),
      color: ctx.colorOf(d.source, d.device),
      dashed: est,
      ...p,
    });
  }
  return lines;
}

const GRID = 240;

/** Cumulative energy of each counted device on a common grid, for stacking. */
export function cumulativeLines(ctx: ReportContext, host: string): Line[] {
  const g = grid(ctx.t0, ctx.t1, GRID);
  const lines: Line[] = [];
  for (const d of countedDevices(ctx, host)) {
    if (d.info && d.info.energy_j === null) continue;
    const c = cumulativeEnergy(d.energy, d.power);
    if (!c) continue;
    lines.push({
      label: ctx.label(d.source, d.device),
      color: ctx.colorOf(d.source, d.device),
      dashed: d.info?.energy_method === "estimate" || d.source === "estimate",
      x: g,
      y: cumulativeOnGrid(c, g),
    });
  }
  return lines;
}

/** Choose a display unit for joules. */
export function energyScale(maxJ: number): { div: number; unit: string } {
  if (maxJ >= 3.6e6 * 0.5) return { div: 3.6e6, unit: "kWh" };
  if (maxJ >= 3600 * 2) return { div: 3600, unit: "Wh" };
  if (maxJ >= 1e4) return { div: 1e3, unit: "kJ" };
  return { div: 1, unit: "J" };
}

export function scaleLines(lines: Line[], div: number): Line[] {
  return div === 1
    ? lines
    : lines.map((l) => ({ ...l, y: Float64Array.from(l.y, (v) => v / div) }));
}

export const powerSection: Section = {
  id: "power",
  title: "Power & energy",
  render(ctx: ReportContext, progress: Progress) {
    const parts: string[] = [];
    for (const host of ctx.hosts) {
      const sub: string[] = [];
      const pl = powerLines(ctx, host);
      sub.push(figure(ctx, {
        id: `chart-power-${idPart(host)}`,
        title: "Power per device",
        note: ctx.multiNode ? `on ${host}` : "every peak of the full data is kept",
        yLabel: "Power (W)",
        lines: pl,
        phases: true,
      }));
      progress.step(`power ${host}`);
      const cl = cumulativeLines(ctx, host);
      let maxJ = 0;
      for (const l of cl) maxJ += l.y[l.y.length - 1] || 0;
      const sc = energyScale(maxJ);
      sub.push(figure(ctx, {
        id: `chart-energy-${idPart(host)}`,
        title: "Cumulative energy",
        note: ctx.multiNode
          ? `on ${host}, stacked by device`
          : "stacked by device; the top edge is the total",
        yLabel: `Energy (${sc.unit})`,
        lines: scaleLines(cl, sc.div),
        stacked: true,
        phases: true,
      }));
      progress.step(`energy ${host}`);
      const body = sub.filter(Boolean).join("\n");
      if (!body) continue;
      parts.push(
        ctx.multiNode
          ? `<div class="chart-group"><h3>Node <code>${esc(host)}</code></h3>${body}</div>`
          : body,
      );
    }
    if (!parts.length) {
      return wrapSection({
        id: "power",
        title: "Power & energy",
        body:
          '<p class="muted">No power or energy series in the trace(s): see “Sensors not read” below.</p>',
      });
    }
    return wrapSection({ id: "power", title: "Power & energy", body: parts.join("\n") });
  },
};
