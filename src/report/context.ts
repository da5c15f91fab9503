/**
 * What every section of the report needs, worked out once: the series of all
 * traces by host and device, the time axis, device colours (the same device
 * has the same colour in every chart and on every node), labels, phases and
 * marks, the point budget for drawing and the progress callback.
 */
import type { Series, Trace } from "../trace/reader.ts";
import type { Summary } from "../analysis/summary.ts";
import type { DeviceEnergy } from "../analysis/energy.ts";
import { type Band, PALETTE, type TimeAxis, timeAxis } from "./charts.ts";
import { toMicros } from "./format.ts";

export interface WorkloadMark {
  time: number;
  text: string;
  /** 1-based number drawn on the charts. */
  n: number;
}

export interface ReportContext {
  summary: Summary;
  traces: Trace[];
  /** Host names in order (one per node). */
  hosts: string[];
  multiNode: boolean;
  /** Unix µs of the run's start and end. */
  t0: number;
  t1: number;
  time: TimeAxis;
  /** All series of all traces. */
  series: Series[];
  /** `source/device` → colour. */
  colorOf(source: string, device: string): string;
  /** host → colour (node totals). */
  hostColor(host: string): string;
  /** summary.devices entry of a device. */
  deviceEnergy(host: string, source: string, device: string): DeviceEnergy | undefined;
  /** Human label of a device: `gpu0`, `package-0`, `CPU (estimate)`. */
  label(source: string, device: string): string;
  phases: Band[];
  marks: WorkloadMark[];
  /** Points per series when drawing. */
  buckets(nSeries: number): number;
}

/** Series of a host matching source(s) and metric. */
export function pick(
  ctx: ReportContext,
  host: string,
  metric: string | string[],
  sources?: string[],
  devices?: string[],
): Series[] {
  const ms = Array.isArray(metric) ? metric : [metric];
  return ctx.series.filter((s) =>
    s.host === host && ms.includes(s.metric) && s.times.length > 0 &&
    (!sources || sources.includes(s.source)) && (!devices || devices.includes(s.device))
  );
}

function devOrder(a: { source: string; device: string }, b: { source: string; device: string }) {
  const rank = (s: string) =>
    ["nvml", "amdgpu", "rocm_smi"].includes(s) ? 0 : s === "rapl" ? 1 : s === "estimate" ? 2 : 3;
  return rank(a.source) - rank(b.source) || a.source.localeCompare(b.source) ||
    a.device.localeCompare(b.device, "en", { numeric: true });
}

// deno-lint-ignore no-explicit-any
function asArray(v: any): any[] {
  return Array.isArray(v) ? v : [];
}

export function buildContext(traces: Trace[], summary: Summary): ReportContext {
  const series = traces.flatMap((t) => t.series);
  const hostSet: string[] = [];
  for (const h of summary.hosts ?? []) {
    if (h?.host && !hostSet.includes(h.host)) hostSet.push(h.host);
  }
  for (const s of series) if (!hostSet.includes(s.host)) hostSet.push(s.host);
  if (!hostSet.length) hostSet.push(summary.run?.host ?? "unknown");

  let t0 = toMicros(summary.run?.start), t1 = toMicros(summary.run?.end);
  let sMin = Infinity, sMax = -Infinity;
  for (const s of series) {
    if (!s.times.length) continue;
    sMin = Math.min(sMin, s.times[0]);
    sMax = Math.max(sMax, s.times[s.times.length - 1]);
  }
  if (!Number.isFinite(t0) || (Number.isFinite(sMin) && sMin < t0)) {
    t0 = Number.isFinite(sMin) ? sMin : 0;
  }
  if (!Number.isFinite(t1) || (Number.isFinite(sMax) && sMax > t1)) {
    t1 = Number.isFinite(sMax) ? sMax : t0 + 1e6;
  }
  if (t1 <= t0) t1 = t0 + 1e6;

  // colours: devices in a stable order, GPUs first, the same key on every host
  const keys = new Map<string, { source: string; device: string }>();
  for (const s of series) {
    if (["proc", "workload"].includes(s.source)) continue;
    keys.set(`${s.source}/${s.device}`, { source: s.source, device: s.device });
  }
  for (const d of summary.devices ?? []) keys.set(`${d.source}/${d.device}`, d);
  const ordered = [...keys.values()].sort(devOrder);
  const colors = new Map<string, string>();
  ordered.forEach((d, i) => colors.set(`${d.source}/${d.device}`, PALETTE[i % PALETTE.length]));
  const hostColors = new Map(hostSet.map((h, i) => [h, PALETTE[i % PALETTE.length]]));

  const energies = new Map<string, DeviceEnergy>();
  for (const d of summary.devices ?? []) {
    energies.set(`${d.host}\u0000${d.source}\u0000${d.device}`, d);
  }

  // workload phases and marks: the summary's block, else what the trace carries
  const wl = summary.workload ?? traces.map((t) => t.meta?.extra?.workload).find(Boolean) ?? {};
  const phases: Band[] = [];
  for (const p of asArray(wl?.phases)) {
    // the recorder's block has start_us/end_us; the summary's has both
    const start = toMicros(p?.start_us ?? p?.start);
    const end = toMicros(p?.end_us ?? p?.end ?? summary.run?.end);
    if (Number.isFinite(start)) {
      phases.push({
        name: String(p?.name ?? "phase"),
        start,
        end: Number.isFinite(end) ? end : t1,
      });
    }
  }
  const marks: WorkloadMark[] = [];
  for (const m of asArray(wl?.marks)) {
    const time = toMicros(m?.time_us ?? m?.time);
    if (Number.isFinite(time)) {
      marks.push({ time, text: String(m?.text ?? m?.mark ?? ""), n: marks.length + 1 });
    }
  }

  return {
    summary,
    traces,
    hosts: hostSet,
    multiNode: hostSet.length > 1,
    t0,
    t1,
    time: timeAxis(t0, t1 - t0),
    series,
    colorOf: (source, device) => colors.get(`${source}/${device}`) ?? "#777",
    hostColor: (h) => hostColors.get(h) ?? "#777",
    deviceEnergy: (host, source, device) => energies.get(`${host}\u0000${source}\u0000${device}`),
    label: (source, device) => {
      if (source === "estimate") {
        return /^cpu/.test(device) ? "CPU (estimate)" : `${device} (estimate)`;
      }
      if (["nvml", "amdgpu", "rocm_smi", "rapl"].includes(source)) return device;
      return `${source} ${device}`;
    },
    phases,
    marks,
    buckets: (n) => Math.max(60, Math.min(300, Math.floor(4000 / Math.max(1, n)))),
  };
}
