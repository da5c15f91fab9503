/**
 * summary.json's `carbon` block, computed purely from measured energy and a
 * resolved intensity. The summary builder and the report both call
 * `computeCarbon`; the CLI resolves the settings once (`loadCarbonSettings` +
 * `resolveIntensity` + `resolvePue`).
 */
import { type Comparison, comparisons as makeComparisons } from "./comparisons.ts";
import { computeEmbodied, type EmbodiedBlock, type EmbodiedOptions } from "./embodied.ts";
import {
  costOf,
  type EnergySeries,
  gramsOf,
  integrateSeries,
  J_PER_KWH,
  seriesLength,
  waterL,
  type Window,
} from "./emissions.ts";
import type { IntensityResolution, ResolvedBy } from "./resolve.ts";
import type { Basis, EntryKind } from "./table.ts";

/** A price per kWh with its currency ("0.25 EUR"). */
export interface Price {
  per_kwh: number;
  currency: string;
}

/** One measured device, as in summary.json `devices`. */
export interface CarbonDeviceInput {
  source: string;
  device: string;
  /** Model name (used for embodied figures). */
  name?: string | null;
  /** Total energy of the run (J). Ignored when `series` is given. */
  energyJ?: number;
  /** Cumulative energy samples [(timeUs, J)] (the trace's `energy_j`). */
  series?: EnergySeries;
  /**
   * Whether the device counts into the total (default true). Pass false for
   * devices whose energy is inside another one (RAPL core/uncore, `total: none`).
   */
  counted?: boolean;
  /** Whether it is a GPU, for embodied emissions (default: source nvml or amdgpu). */
  gpu?: boolean;
}

export interface CarbonPhaseInput {
  name: string;
  startUs: number;
  endUs: number;
}

/** Everything computeCarbon needs; nothing is read from disk or the clock. */
export interface CarbonInput {
  /** From `resolveIntensity(loadCarbonSettings(flags))`. */
  resolution: IntensityResolution;
  /** From `resolvePue(flag, config)`; ≥ 1. */
  pue: number;
  /** The run's time span (µs since the epoch). */
  run: Window;
  devices: readonly CarbonDeviceInput[];
  phases?: readonly CarbonPhaseInput[];
  /** Water usage effectiveness, L per kWh of IT energy. */
  wue?: number;
  price?: Price;
  /** Embodied emissions of the GPUs (off unless given). */
  embodied?: EmbodiedOptions | boolean;
}

export interface CarbonDeviceResult {
  source: string;
  device: string;
  energy_j: number;
  emissions_g: number;
  counted: boolean;
}

export interface CarbonPhaseResult {
  name: string;
  start: string;
  end: string;
  energy_j: number;
  emissions_g: number;
}

/**
 * summary.json `carbon` (contract: region, intensity_g_per_kwh,
 * intensity_source, pue, emissions_g; the rest are extensions).
 */
export interface CarbonBlock {
  /** Region id (`FR`, `gcp:europe-west1`, `CAMX`...), null with a user intensity and no region. */
  region: string | null;
  /**
   * g CO2e/kWh: the table's or user's fixed value; with a time series, the
   * effective (energy-weighted) value over the run.
   */
  intensity_g_per_kwh: number;
  /** Source and year in words: "Ember (2026); ... (CC BY 4.0), 2025". */
  intensity_source: string;
  pue: number;
  /** Operational emissions: counted devices' energy × PUE × intensity (g CO2e). */
  emissions_g: number;

  region_name: string | null;
  region_kind: EntryKind | null;
  /** lifecycle | direct-combustion | grid-average | user */
  basis: Basis | "user";
  year: number | null;
  /** True when the region was guessed from the time zone. */
  guess: boolean;
  resolved_by: ResolvedBy;
  /** How to set the region (when guessed or defaulted). */
  hint: string | null;
  /** The entry the figure comes from (cloud region → its grid). */
  via: string | null;
  intensity_series: {
    rows: number;
    first: string;
    last: string;
    min_g_per_kwh: number;
    max_g_per_kwh: number;
  } | null;
  /** Measured (IT) energy of the counted devices, J. */
  energy_j: number;
  /** Energy drawn from the grid: energy_j × PUE. */
  grid_energy_j: number;
  per_device: CarbonDeviceResult[];
  per_phase: CarbonPhaseResult[];
  wue_l_per_kwh: number | null;
  /** Water: energy_j (kWh) × WUE. */
  water_l: number | null;
  cost: { amount: number; currency: string; price_per_kwh: number } | null;
  /** Manufacturing share of the GPUs, apart from `emissions_g`. */
  embodied: EmbodiedBlock | null;
  comparisons: Comparison[];
  notes: string[];
}

function iso(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}

/** A device without samples: its energy spread evenly over the run. */
function seriesOf(d: CarbonDeviceInput, run: Window): EnergySeries {
  if (d.series && seriesLength(d.series) > 0) return d.series;
  return [[run.startUs, 0], [run.endUs, d.energyJ ?? 0]];
}

export function computeCarbon(input: CarbonInput): CarbonBlock {
  const { resolution: r, pue, run } = input;
  if (!Number.isFinite(pue) || pue < 1) throw new RangeError(`pue must be ≥ 1, got ${pue}`);
  const notes = [...r.notes];
  const intensity = r.intensity;

  const per_device: CarbonDeviceResult[] = [];
  let energy = 0, weighted = 0;
  let spread = false;
  for (const d of input.devices) {
    if (!d.series || seriesLength(d.series) === 0) spread = true;
    const { energyJ, weighted: w } = integrateSeries(seriesOf(d, run), intensity);
    const counted = d.counted ?? true;
    per_device.push({
      source: d.source,
      device: d.device,
      energy_j: energyJ,
      emissions_g: gramsOf(w, pue),
      counted,
    });
    if (counted) {
      energy += energyJ;
      weighted += w;
    }
  }
  if (spread && (intensity.kind === "series" || (input.phases?.length ?? 0) > 0)) {
    notes.push(
      "devices without energy samples have their energy spread evenly over the run " +
        "(for the time series and phases)",
    );
  }

  const per_phase: CarbonPhaseResult[] = (input.phases ?? []).map((p) => {
    let e = 0, w = 0;
    for (const d of input.devices) {
      if (!(d.counted ?? true)) continue;
      const x = integrateSeries(seriesOf(d, run), intensity, {
        startUs: p.startUs,
        endUs: p.endUs,
      });
      e += x.energyJ;
      w += x.weighted;
    }
    return {
      name: p.name,
      start: iso(p.startUs),
      end: iso(p.endUs),
      energy_j: e,
      emissions_g: gramsOf(w, pue),
    };
  });

  const emissions = gramsOf(weighted, pue);
  let effective = r.g_per_kwh;
  let intensity_series: CarbonBlock["intensity_series"] = null;
  if (intensity.kind === "series") {
    const pts = intensity.points;
    if (energy > 0) effective = weighted / energy;
    intensity_series = {
      rows: pts.length,
      first: iso(pts[0].timeUs),
      last: iso(pts[pts.length - 1].timeUs),
      // reduce, not spread: a year of 5-minute data is more arguments than a call takes
      min_g_per_kwh: pts.reduce((m, p) => Math.min(m, p.g_per_kwh), Infinity),
      max_g_per_kwh: pts.reduce((m, p) => Math.max(m, p.g_per_kwh), -Infinity),
    };
    if (pts[0].timeUs > run.startUs) {
      notes.push(
        `the intensity series starts ${((pts[0].timeUs - run.startUs) / 1e6).toFixed(1)} s ` +
          "after the run: its first value is used before that",
      );
    }
    if (pts.length > 1 && pts[pts.length - 1].timeUs < run.startUs) {
      notes.push("the intensity series ends before the run: its last value is used throughout");
    }
  }

  let embodied: EmbodiedBlock | null = null;
  if (input.embodied) {
    const opts = input.embodied === true ? {} : input.embodied;
    const gpus = input.devices.filter((d) =>
      d.gpu ?? (d.source === "nvml" || d.source === "amdgpu")
    );
    embodied = computeEmbodied(
      gpus.map((g) => ({ device: g.device, name: g.name ?? null })),
      Math.max(0, (run.endUs - run.startUs) / 1e6),
      opts,
    );
  }

  return {
    region: r.region,
    intensity_g_per_kwh: effective,
    intensity_source: r.source,
    pue,
    emissions_g: emissions,
    region_name: r.region_name,
    region_kind: r.region_kind,
    basis: r.basis,
    year: r.year,
    guess: r.guess,
    resolved_by: r.resolved_by,
    hint: r.hint ?? null,
    via: r.entry?.via ?? null,
    intensity_series,
    energy_j: energy,
    grid_energy_j: energy * pue,
    per_device,
    per_phase,
    wue_l_per_kwh: input.wue ?? null,
    water_l: input.wue !== undefined ? waterL(energy, input.wue) : null,
    cost: input.price
      ? {
        amount: costOf(energy, input.price.per_kwh, pue),
        currency: input.price.currency,
        price_per_kwh: input.price.per_kwh,
      }
      : null,
    embodied,
    comparisons: makeComparisons(emissions, energy),
    notes,
  };
}

/** Energy (J) → kWh. */
export function kwh(j: number): number {
  return j / J_PER_KWH;
}
