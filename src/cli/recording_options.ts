/** The options every recording command shares (`run`, `record`, and later `serve`, `slurm prolog`). */
import { type Command, Option } from "commander";
import { parseChoice, parseDuration, parseInterval, parsePositive } from "./parse.ts";
import type { SessionConfig } from "../recorder/session.ts";
import type { TraceFormat } from "../trace/schema.ts";
import { resolveGpuSelection } from "../sensors/nvml.ts";
import { UsageError } from "./errors.ts";
import { prepareRunDir } from "../recorder/run_dir.ts";
import { parseIntensity, parsePrice, parsePue, parseWue } from "./carbon_cmd.ts";
import { loadCarbonSettings, resolveIntensity } from "../carbon/mod.ts";
import type { CarbonOptions } from "../analysis/carbon_stage.ts";

export function addRecordingOptions(cmd: Command): Command {
  cmd
    .option("--interval <dur>", "sampling period (10ms, 0.5s, 2s, ...)", "100ms")
    .option("--out <dir>", "run folder (default: aimeter-<UTC time>-<host>)")
    .addOption(
      new Option("--format <fmt>", "trace format").choices(["parquet", "csv"]).default("parquet"),
    )
    .option("--no-report", "do not write report.html")
    .option("--overwrite", "replace the run already in --out (default: refuse)")
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
    .option("--pue <n>", "data-centre power usage effectiveness (>= 1, default 1.0)");
  return addCarbonOptions(cmd);
}

/** Carbon, water and cost options (recording commands and `report`). */
export function addCarbonOptions(cmd: Command): Command {
  return cmd
    .option("--carbon-intensity <g>", "fixed grid intensity in g CO2e/kWh (overrides --region)")
    .option(
      "--carbon-intensity-file <csv>",
      "time series of grid intensity (CSV: time,g_per_kwh); emissions integrated sample by sample",
    )
    .option(
      "--wue <l_per_kwh>",
      "water usage effectiveness, litres per kWh (shown beside the energy)",
    )
    .option("--price <per_kwh>", "electricity price per kWh with currency, e.g. '0.25 EUR'")
    .option("--embodied", "also show the GPUs' embodied (manufacturing) emissions, apart");
}

/**
 * Check the carbon options now (exit 2 before anything starts) and turn them
 * into the analysis options saved with the run.
 */
export function carbonAnalysisOptions(o: RawOptions, forRecording: boolean): CarbonOptions {
  const out: CarbonOptions = {};
  if (o.pue !== undefined) out.pue = parsePue(String(o.pue));
  if (o.wue !== undefined) out.wue = parseWue(String(o.wue));
  if (o.price !== undefined) out.price = parsePrice(String(o.price));
  if (o.embodied) out.embodied = true;
  const intensity = o.carbonIntensity !== undefined
    ? parseIntensity(String(o.carbonIntensity))
    : undefined;
  const settings = loadCarbonSettings({
    region: o.region,
    carbonIntensity: intensity,
    carbonIntensityFile: o.carbonIntensityFile,
  });
  const res = resolveIntensity(settings); // throws a usage error for an unknown region
  if (intensity !== undefined) out.carbon_intensity = intensity;
  if (settings.intensitySeries) {
    out.carbon_intensity_file = settings.intensitySeries.file;
    out.carbon_intensity_points = settings.intensitySeries.points;
  }
  if (o.region !== undefined) out.region = res.region ?? o.region;
  else if (forRecording && res.region && res.resolved_by !== "default") {
    // save where the recording machine is (env, config or time-zone guess) with the run
    out.region = res.region;
    if (res.guess) out.region_guess = true;
  }
  return out;
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
  if (o.out !== undefined && !o.overwrite) prepareRunDir(String(o.out), false); // refuse early, exit 2
  const format = parseChoice<TraceFormat>(String(o.format), "--format", ["parquet", "csv"]);
  let gpus: string[] | undefined;
  if (o.gpus !== undefined) {
    gpus = resolveGpuSelection(String(o.gpus), Deno.env.toObject());
    if (gpus !== undefined && gpus.length === 0 && String(o.gpus) !== "auto") {
      throw new UsageError(`--gpus: '${o.gpus}' names no GPU (use e.g. 0,2 or GPU-<uuid> or auto)`);
    }
  }
  return {
    mode,
    command,
    intervalS,
    outDir: o.out,
    overwrite: !!o.overwrite,
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
    analysis: { ...carbonAnalysisOptions(o, true) },
  };
}
