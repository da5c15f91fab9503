/** The options every recording command shares (`run`, `record`, and later `serve`, `slurm prolog`). */
import { Command, Option } from "commander";
import { parseChoice, parseDuration, parseInterval, parsePositive } from "./parse.ts";
import type { SessionConfig } from "../recorder/session.ts";
import type { TraceFormat } from "../trace/schema.ts";
import { resolveGpuSelection } from "../sensors/nvml.ts";
import { UsageError } from "./errors.ts";

export function addRecordingOptions(cmd: Command): Command {
  return cmd
    .option("--interval <dur>", "sampling period (10ms, 0.5s, 2s, ...)", "100ms")
    .option("--out <dir>", "run folder (default: aimeter-<UTC time>-<host>)")
    .addOption(
      new Option("--format <fmt>", "trace format").choices(["parquet", "csv"]).default("parquet"),
    )
    .option("--no-report", "do not write report.html")
    .option("-q, --quiet", "print nothing of aimeter's own (errors only)")
    .option("--sysfs-root <dir>", "where sysfs is mounted (containers, tests)", "/sys")
    .option("--procfs-root <dir>", "where procfs is mounted", "/proc")
    .option("--nvml-lib <path>", "NVML library to load", "libnvidia-ml.so.1")
    .option(
      "--gpus <list>",
      "GPUs to measure: NVML indices or UUIDs (0,2), or 'auto' (CUDA_VISIBLE_DEVICES, SLURM_JOB_GPUS, ...)",
    )
    .option("--cpu-tdp <watts>", "CPU TDP for the estimate where RAPL is not readable")
    .option("--sources <list>", "only these sources (nvml,rapl,amdgpu,hwmon,estimate,proc)")
    .option("--region <code>", "grid region for carbon (ISO country, US grid region, cloud region)")
    .option("--pue <n>", "data-centre power usage effectiveness (>= 1)");
}

// deno-lint-ignore no-explicit-any
export type RawOptions = Record<string, any>;

/** Turn commander's raw option values into a session config (UsageError on bad values). */
export function sessionConfig(
  mode: "run" | "record",
  command: string[],
  o: RawOptions,
): SessionConfig {
  const intervalS = parseInterval(String(o.interval));
  const format = parseChoice<TraceFormat>(String(o.format), "--format", ["parquet", "csv"]);
  let gpus: string[] | undefined;
  if (o.gpus !== undefined) {
    gpus = resolveGpuSelection(String(o.gpus), Deno.env.toObject());
    if (gpus !== undefined && gpus.length === 0 && String(o.gpus) !== "auto") {
      throw new UsageError(`--gpus: '${o.gpus}' names no GPU (use e.g. 0,2 or GPU-<uuid> or auto)`);
    }
  }
  const pue = o.pue !== undefined ? parsePositive(String(o.pue), "--pue") : undefined;
  if (pue !== undefined && pue < 1) throw new UsageError(`--pue: ${o.pue} is below 1`);
  return {
    mode,
    command,
    intervalS,
    outDir: o.out,
    format,
    report: o.report !== false,
    quiet: !!o.quiet,
    sensorOptions: {
      sysfsRoot: o.sysfsRoot,
      procfsRoot: o.procfsRoot,
      nvmlLib: o.nvmlLib,
      gpus,
      cpuTdpW: o.cpuTdp !== undefined ? parsePositive(String(o.cpuTdp), "--cpu-tdp") : undefined,
    },
    sources: o.sources
      ? String(o.sources).split(",").map((s) => s.trim()).filter(Boolean)
      : undefined,
    durationS: o.duration !== undefined
      ? parseDuration(String(o.duration), "--duration")
      : undefined,
    pidFile: o.pidFile,
    analysis: { region: o.region, pue },
  };
}
