/**
 * Embodied (manufacturing) emissions of the GPUs a run used, amortized over a
 * stated lifetime: share = figure × run duration / lifetime. Always reported
 * apart from operational emissions, and only from a cited figure: a model with
 * no published figure is listed as such, never estimated.
 */

export interface EmbodiedFigure {
  /** Matches the device's model name (NVML/amdgpu name). */
  pattern: RegExp;
  model: string;
  kg_co2e: number;
  /** What the figure covers. */
  scope: string;
  source: string;
  year: number;
}

/**
 * Cited per-GPU manufacturing figures. Add a row only with a published source.
 * (No openly published per-GPU figure was found for H100/H200/B200 or AMD
 * Instinct parts at the time of writing; NVIDIA's HGX H100 product carbon
 * footprint is for the 8-GPU board as a whole.)
 */
export const EMBODIED_FIGURES: readonly EmbodiedFigure[] = [
  {
    pattern: /\bA100\b/i,
    model: "NVIDIA A100",
    kg_co2e: 150,
    scope: "one GPU (estimate used for BLOOM's training hardware; excludes the server)",
    source: "Luccioni, Viguier & Ligozat, Estimating the Carbon Footprint of BLOOM, " +
      "a 176B Parameter Language Model, JMLR 24(253), 2023 (arXiv:2211.02001)",
    year: 2023,
  },
];

export const DEFAULT_LIFETIME_YEARS = 5;
const SECONDS_PER_YEAR = 365.25 * 86400;

export interface EmbodiedOptions {
  /** Years over which manufacturing emissions are spread (default 5). */
  lifetimeYears?: number;
  /** A user figure (kg CO2e per GPU) that replaces the cited ones; labelled as the user's. */
  kgPerGpu?: number;
}

export interface EmbodiedGpu {
  device: string;
  name: string | null;
  kg_co2e: number | null;
  source: string | null;
  year: number | null;
  scope: string | null;
  /** The run's share, in grams; null when no figure exists for the model. */
  emissions_g: number | null;
}

export interface EmbodiedBlock {
  /** Always "embodied, shown apart from operational emissions". */
  kind: "embodied";
  lifetime_years: number;
  duration_s: number;
  /** Sum over GPUs with a figure. */
  emissions_g: number;
  per_gpu: EmbodiedGpu[];
  /** Models with no cited figure (not counted). */
  missing: string[];
  method: string;
}

export function figureFor(name: string | null | undefined): EmbodiedFigure | undefined {
  if (!name) return undefined;
  return EMBODIED_FIGURES.find((f) => f.pattern.test(name));
}

/** The run's share of the GPUs' manufacturing emissions. */
export function computeEmbodied(
  gpus: readonly { device: string; name?: string | null }[],
  durationS: number,
  opts: EmbodiedOptions = {},
): EmbodiedBlock {
  const lifetime = opts.lifetimeYears ?? DEFAULT_LIFETIME_YEARS;
  if (!(lifetime > 0)) throw new Error("embodied lifetime must be > 0 years");
  const share = Math.max(0, durationS) / (lifetime * SECONDS_PER_YEAR);
  const per_gpu: EmbodiedGpu[] = gpus.map((g) => {
    if (opts.kgPerGpu !== undefined) {
      return {
        device: g.device,
        name: g.name ?? null,
        kg_co2e: opts.kgPerGpu,
        source: "user value",
        year: null,
        scope: "one GPU (user value)",
        emissions_g: opts.kgPerGpu * 1000 * share,
      };
    }
    const f = figureFor(g.name);
    return {
      device: g.device,
      name: g.name ?? null,
      kg_co2e: f?.kg_co2e ?? null,
      source: f?.source ?? null,
      year: f?.year ?? null,
      scope: f?.scope ?? null,
      emissions_g: f ? f.kg_co2e * 1000 * share : null,
    };
  });
  const missing = [
    ...new Set(per_gpu.filter((g) => g.kg_co2e === null).map((g) => g.name ?? g.device)),
  ];
  return {
    kind: "embodied",
    lifetime_years: lifetime,
    duration_s: durationS,
    emissions_g: per_gpu.reduce((s, g) => s + (g.emissions_g ?? 0), 0),
    per_gpu,
    missing,
    method: `manufacturing CO2e × run duration ÷ ${lifetime}-year lifetime; ` +
      "shown apart from operational emissions" +
      (missing.length ? `; no cited figure for ${missing.join(", ")} (not counted)` : ""),
  };
}
