/** GPU utilization and memory, temperatures and clocks, host and process CPU and memory. */
import { esc } from "../html.ts";
import type { Line } from "../charts.ts";
import { pick, type ReportContext } from "../context.ts";
import type { Series } from "../../trace/reader.ts";
import { figure, idPart } from "./figure.ts";
import { type Progress, type Section, wrapSection } from "./common.ts";

const GPU_SOURCES = ["nvml", "amdgpu", "rocm_smi"];
const GIB = 1024 ** 3;

function lines(ctx: ReportContext, ss: Series[], scale = 1, label?: (s: Series) => string): Line[] {
  return ss.map((s) => ({
    label: label ? label(s) : ctx.label(s.source, s.device),
    color: ctx.colorOf(s.source, s.device),
    x: s.times,
    y: scale === 1 ? s.values : Float64Array.from(s.values, (v) => v / scale),
  }));
}

/** The charts of one host, as [id, html] pairs; empty ones left out. */
function hostCharts(ctx: ReportContext, host: string, progress: Progress): string[] {
  const out: string[] = [];
  const h = idPart(host);
  const on = ctx.multiNode ? `on ${host}` : "";
  const util = pick(ctx, host, "util_pct", GPU_SOURCES);
  out.push(figure(ctx, {
    id: `chart-gpu-util-${h}`,
    title: "GPU utilization",
    note: on || "share of time a kernel was running",
    yLabel: "Utilization (%)",
    lines: lines(ctx, util),
    yDomain: [0, 100],
    phases: true,
    height: 200,
  }));
  progress.step("GPU utilization");
  const mem = pick(ctx, host, "mem_used_bytes", GPU_SOURCES);
  const memUtil = mem.length ? [] : pick(ctx, host, "mem_util_pct", GPU_SOURCES);
  out.push(figure(ctx, {
    id: `chart-gpu-mem-${h}`,
    title: "GPU memory",
    note: on || (mem.length ? "memory in use" : "memory controller busy time"),
    yLabel: mem.length ? "Memory used (GiB)" : "Memory activity (%)",
    lines: mem.length ? lines(ctx, mem, GIB) : lines(ctx, memUtil),
    phases: true,
    height: 200,
  }));
  progress.step("GPU memory");
  const temp = ctx.series.filter((s) =>
    s.host === host && s.metric.startsWith("temp") && s.metric.endsWith("_c") && s.times.length &&
    !["proc", "workload"].includes(s.source)
  );
  out.push(figure(ctx, {
    id: `chart-temp-${h}`,
    title: "Temperatures",
    note: on,
    yLabel: "Temperature (°C)",
    lines: lines(
      ctx,
      temp,
      1,
      (s) => `${ctx.label(s.source, s.device)}${s.metric === "temp_c" ? "" : ` ${s.metric}`}`,
    ),
    height: 200,
  }));
  progress.step("temperatures");
  let clocks = pick(ctx, host, "sm_clock_mhz");
  if (!clocks.length) {
    clocks = ctx.series.filter((s) => s.host === host && s.metric.endsWith("clock_mhz"));
  }
  out.push(figure(ctx, {
    id: `chart-clock-${h}`,
    title: "Clocks",
    note: on || (clocks[0]?.metric === "sm_clock_mhz" ? "GPU streaming-multiprocessor clock" : ""),
    yLabel: "Clock (MHz)",
    lines: lines(ctx, clocks),
    height: 200,
  }));
  progress.step("clocks");
  const hostCpu = pick(ctx, host, "util_pct", ["proc"], ["cpu"]);
  const procCpu = pick(ctx, host, "cpu_pct", ["proc"], ["process"]);
  const cpuLines: Line[] = [
    ...hostCpu.map((s) => ({
      label: "host, all cores",
      color: "#9c6b4e",
      x: s.times,
      y: s.values,
    })),
  ];
  out.push(figure(ctx, {
    id: `chart-cpu-${h}`,
    title: "Host CPU",
    note: on || "share of all cores busy",
    yLabel: "CPU busy (%)",
    lines: cpuLines,
    yDomain: [0, 100],
    phases: true,
    height: 180,
  }));
  out.push(figure(ctx, {
    id: `chart-proc-cpu-${h}`,
    title: "Workload process CPU",
    note: `${
      on ? `${on}; ` : ""
    }the command's whole process tree, in cores (1 = one core fully busy)`,
    yLabel: "CPU (cores)",
    lines: procCpu.map((s) => ({
      label: "process tree",
      color: "#a463f2",
      x: s.times,
      y: Float64Array.from(s.values, (v) => v / 100),
    })),
    phases: true,
    height: 180,
  }));
  const memLines: Line[] = [
    ...pick(ctx, host, "used_bytes", ["proc"], ["mem"]).map((s) => ({
      label: "host memory used",
      color: "#9c6b4e",
      x: s.times,
      y: Float64Array.from(s.values, (v) => v / GIB),
    })),
    ...pick(ctx, host, "rss_bytes", ["proc"], ["process"]).map((s) => ({
      label: "process tree RSS",
      color: "#a463f2",
      x: s.times,
      y: Float64Array.from(s.values, (v) => v / GIB),
    })),
  ];
  out.push(figure(ctx, {
    id: `chart-mem-${h}`,
    title: "Host memory",
    note: on,
    yLabel: "Memory (GiB)",
    lines: memLines,
    height: 180,
  }));
  progress.step("CPU and memory");
  return out.filter(Boolean);
}

export const hardwareSection: Section = {
  id: "hardware",
  title: "Hardware",
  render(ctx: ReportContext, progress: Progress) {
    const parts: string[] = [];
    for (const host of ctx.hosts) {
      const charts = hostCharts(ctx, host, progress);
      if (!charts.length) continue;
      parts.push(
        ctx.multiNode
          ? `<div class="chart-group"><h3>Node <code>${esc(host)}</code></h3>${
            charts.join("\n")
          }</div>`
          : charts.join("\n"),
      );
    }
    if (!parts.length) return "";
    return wrapSection({
      id: "hardware",
      title: "Hardware",
      lead: "Utilization, memory, temperatures and clocks over the run.",
      body: parts.join("\n"),
    });
  },
};
