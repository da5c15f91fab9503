/**
 * The carbon stage: summary.json `carbon` from the measured energy and the
 * grid intensity chosen when the run was recorded (saved with the trace) or
 * given to `aimeter report`. Never looks anything up on the network.
 */
import type { EnrichContext } from "./stages.ts";
import {
  carbonDevicesFrom,
  type CarbonPhaseInput,
  type CarbonSettings,
  computeCarbon,
  type IntensityPoint,
  loadCarbonSettings,
  type Price,
  resolveIntensity,
  resolvePue,
} from "../carbon/mod.ts";

/** The carbon options as saved in the trace (`meta.extra.options`) and passed by the CLI. */
export interface CarbonOptions {
  region?: string;
  /** The region was guessed from the recording machine's time zone. */
  region_guess?: boolean;
  carbon_intensity?: number;
  carbon_intensity_file?: string;
  carbon_intensity_points?: IntensityPoint[];
  pue?: number;
  wue?: number;
  price?: Price;
  embodied?: boolean | { lifetimeYears?: number; kgPerGpu?: number };
}

/** Settings for the intensity resolution: what was saved with the run wins over this machine. */
export function carbonSettingsFrom(o: CarbonOptions): CarbonSettings {
  if (o.carbon_intensity !== undefined) return { carbonIntensity: o.carbon_intensity };
  if (o.carbon_intensity_points?.length) {
    return {
      intensitySeries: {
        file: o.carbon_intensity_file ?? "series",
        points: o.carbon_intensity_points,
      },
    };
  }
  if (o.region && !o.region_guess) return { region: o.region };
  const s = loadCarbonSettings({});
  if (o.region && o.region_guess && !s.envRegion && !s.config?.region) {
    // keep the recording machine's guess rather than guessing again here
    return { region: o.region, timeZone: null };
  }
  return s;
}

export function carbonStage({ traces, summary, options }: EnrichContext): void {
  const o = options as CarbonOptions;
  const settings = carbonSettingsFrom(o);
  const resolution = resolveIntensity(settings);
  if (o.region_guess && settings.region === o.region) {
    resolution.guess = true;
    resolution.resolved_by = "timezone";
  }
  const pue = resolvePue(o.pue, settings.config);
  const startUs = Date.parse(summary.run.start) * 1000;
  const endUs = Date.parse(summary.run.end) * 1000;
  const phases: CarbonPhaseInput[] = [];
  for (const p of summary.workload?.phases ?? []) {
    const s = p.start_us ?? (p.start ? Date.parse(p.start) * 1000 : NaN);
    const e = p.end_us ?? (p.end ? Date.parse(p.end) * 1000 : NaN);
    if (Number.isFinite(s) && Number.isFinite(e)) {
      phases.push({ name: p.name, startUs: s, endUs: e });
    }
  }
  summary.carbon = computeCarbon({
    resolution,
    pue,
    run: { startUs, endUs },
    devices: carbonDevicesFrom(summary.devices, traces.flatMap((t) => t.series)),
    phases,
    wue: o.wue,
    price: o.price,
    embodied: o.embodied,
  });
}
