/**
 * `aimeter carbon`: look up and explain a region's grid intensity, convert an
 * energy into emissions, list regions. Also the option parsers that `run` and
 * `record` reuse (`parsePue`, `parseRegion`, `parseEnergy`...).
 *
 *   aimeter carbon [--region X] [--energy 3.2kWh] [--pue N] [--carbon-intensity G]
 *                  [--wue L] [--price 0.25EUR] [--list [FILTER]] [--json]
 *
 * Usage errors throw `CarbonUsageError` (exitCode 2).
 */
import { Command } from "commander";
import { computeCarbon } from "../carbon/carbon.ts";
import type { Price } from "../carbon/carbon.ts";
import { CarbonUsageError } from "../carbon/errors.ts";
import { basisWords, carbonTextLines, formatEnergy, formatGrams, sig } from "../carbon/format.ts";
import {
  checkPue,
  loadCarbonSettings,
  requireRegion,
  resolveIntensity,
  resolvePue,
} from "../carbon/resolve.ts";
import {
  entryById,
  listRegions,
  PUE_REFERENCES,
  type RegionEntry,
  sourceLine,
} from "../carbon/table.ts";
import type { TimeZoneGuess } from "../carbon/timezone.ts";

export { CarbonUsageError };

const ENERGY_UNITS: Record<string, number> = {
  j: 1,
  kj: 1e3,
  mj: 1e6,
  gj: 1e9,
  wh: 3600,
  kwh: 3.6e6,
  mwh: 3.6e9,
  gwh: 3.6e12,
};

/** "3.2kWh" | "500 Wh" | "12MJ" | "100J" → joules. Units are case-insensitive (MWh, not mWh). */
export function parseEnergy(s: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([a-zA-Z]+)\s*$/.exec(String(s));
  if (!m) {
    throw new CarbonUsageError(
      `bad energy '${s}': give a number and a unit, e.g. 3.2kWh, 500Wh, 12MJ, 100J`,
    );
  }
  const f = ENERGY_UNITS[m[2].toLowerCase()];
  if (f === undefined) {
    throw new CarbonUsageError(
      `bad energy unit '${m[2]}' in '${s}': use J, kJ, MJ, GJ, Wh, kWh, MWh or GWh`,
    );
  }
  return Number(m[1]) * f;
}

function parseNumber(s: string, what: string): number {
  const t = String(s).trim();
  const v = t === "" ? NaN : Number(t);
  if (!Number.isFinite(v)) throw new CarbonUsageError(`${what} must be a number, got '${s}'`);
  return v;
}

/** `--pue N`: a number ≥ 1. */
export function parsePue(s: string): number {
  return checkPue(parseNumber(s, "--pue"), "--pue");
}

/** `--region X`: the table entry, or a usage error with close matches. */
export function parseRegion(s: string): RegionEntry {
  return requireRegion(s);
}

/** `--carbon-intensity G`: g CO2e/kWh ≥ 0. */
export function parseIntensity(s: string): number {
  const v = parseNumber(s, "--carbon-intensity");
  if (v < 0) throw new CarbonUsageError(`--carbon-intensity must be ≥ 0 g/kWh, got ${v}`);
  return v;
}

/** `--wue L_PER_KWH`: ≥ 0. */
export function parseWue(s: string): number {
  const v = parseNumber(s, "--wue");
  if (v < 0) throw new CarbonUsageError(`--wue must be ≥ 0 L/kWh, got ${v}`);
  return v;
}

const SYMBOLS: Record<string, string> = { "€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY" };

/** `--price`: "0.25EUR", "0.25 EUR", "EUR 0.25", "€0.25", "$0.12" (per kWh). */
export function parsePrice(s: string): Price {
  const t = String(s).trim().replace(/\/\s*kwh$/i, "").trim();
  const num = "([0-9]*\\.?[0-9]+)";
  let m = new RegExp(`^${num}\\s*([A-Za-z]{3}|[€$£¥])$`).exec(t);
  let value: string | undefined, cur: string | undefined;
  if (m) [value, cur] = [m[1], m[2]];
  else if ((m = new RegExp(`^([A-Za-z]{3}|[€$£¥])\\s*${num}$`).exec(t))) {
    [cur, value] = [m[1], m[2]];
  }
  if (value === undefined || cur === undefined) {
    throw new CarbonUsageError(
      `bad --price '${s}': give a price per kWh with its currency, e.g. 0.25EUR, "0.12 USD", €0.25`,
    );
  }
  return { per_kwh: Number(value), currency: SYMBOLS[cur] ?? cur.toUpperCase() };
}

/** Where the command writes; injectable for tests. */
export interface CarbonCmdIO {
  out?: (line: string) => void;
  env?: Record<string, string | undefined>;
  readText?: (p: string) => string;
  guessTimeZone?: () => TimeZoneGuess | undefined;
}

/** Explanation of one entry, in lines. */
export function explainEntry(e: RegionEntry): string[] {
  const out = [
    `${e.name} [${e.id}] — ${e.kind}`,
    `  intensity: ${e.g_per_kwh} g CO2e/kWh (${e.year})`,
    `  basis:     ${basisWords(e.basis)}`,
    `  source:    ${sourceLine(e)}`,
    `             ${e.source.url}`,
  ];
  if (e.via) {
    const v = entryById(e.via);
    out.push(`  via:       ${e.via}${v ? ` (${v.name})` : ""}`);
  }
  if (e.aliases.length) out.push(`  also:      ${e.aliases.join(", ")}`);
  for (const n of e.notes) out.push(`  note:      ${n}`);
  if (e.provider) {
    const refs = PUE_REFERENCES.filter((p) => p.scope.toLowerCase().startsWith(e.provider!));
    if (refs.length) {
      out.push(
        `  PUE:       aimeter's default is 1.0; published figures for ${e.provider}: ` +
          refs.map((p) => `${p.pue} (${p.who}, ${p.year})`).join("; ") + " — pass --pue",
      );
    }
  }
  return out;
}

export function carbonCommand(io: CarbonCmdIO = {}): Command {
  const out = io.out ?? ((l: string) => console.log(l));
  return new Command("carbon")
    .description(
      "look up a region's grid carbon intensity (offline table), explain it, convert an energy, list regions",
    )
    .option("--region <code>", "ISO country code or name, US eGRID subregion, cloud region id")
    .option("--energy <amount>", "an energy to convert, e.g. 3.2kWh, 500Wh, 12MJ")
    .option("--pue <n>", "data-centre power usage effectiveness (≥ 1)")
    .option("--carbon-intensity <g>", "use this intensity (g CO2e/kWh) instead of the table")
    .option("--wue <l_per_kwh>", "water usage effectiveness (L per kWh)")
    .option("--price <per_kwh>", "electricity price per kWh with currency, e.g. 0.25EUR")
    .option(
      "--list [filter]",
      "list regions (filter: country, cloud, gcp, aws, azure, egrid, text)",
    )
    .option("--json", "print JSON")
    .action((opts: Record<string, string | boolean | undefined>) => {
      const json = Boolean(opts.json);
      if (opts.list !== undefined) {
        const filter = typeof opts.list === "string" ? opts.list : undefined;
        const rows = listRegions(filter);
        if (json) {
          out(JSON.stringify(
            rows.map((e) => ({
              id: e.id,
              kind: e.kind,
              name: e.name,
              g_per_kwh: e.g_per_kwh,
              year: e.year,
              basis: e.basis,
              source: e.source_key,
              ...(e.via ? { via: e.via } : {}),
            })),
            null,
            2,
          ));
          return;
        }
        if (rows.length === 0) {
          out(`no region matches '${filter}'`);
          return;
        }
        const w = Math.max(...rows.map((e) => e.id.length));
        for (const e of rows) {
          out(
            `${e.id.padEnd(w)}  ${String(e.g_per_kwh).padStart(8)} g/kWh  ${e.year}  ${
              e.kind.padEnd(9)
            }  ${e.name}${e.via ? `  → ${e.via}` : ""}`,
          );
        }
        out(`${rows.length} regions; sources: \`aimeter carbon --region X\` explains one`);
        return;
      }
      const settings = loadCarbonSettings(
        {
          region: opts.region as string | undefined,
          carbonIntensity: opts.carbonIntensity !== undefined
            ? parseIntensity(String(opts.carbonIntensity))
            : undefined,
        },
        { env: io.env, readText: io.readText, guessTimeZone: io.guessTimeZone },
      );
      const resolution = resolveIntensity(settings);
      const pue = resolvePue(
        opts.pue !== undefined ? parsePue(String(opts.pue)) : undefined,
        settings.config,
      );
      const wue = opts.wue !== undefined ? parseWue(String(opts.wue)) : settings.config?.wue;
      const price = opts.price !== undefined
        ? parsePrice(String(opts.price))
        : settings.config?.price
        ? parsePrice(settings.config.price)
        : undefined;
      const energyJ = opts.energy !== undefined ? parseEnergy(String(opts.energy)) : undefined;
      const block = energyJ !== undefined
        ? computeCarbon({
          resolution,
          pue,
          run: { startUs: 0, endUs: 0 },
          devices: [{ source: "input", device: "energy", energyJ }],
          ...(wue !== undefined ? { wue } : {}),
          ...(price ? { price } : {}),
        })
        : undefined;
      if (json) {
        const { intensity: _i, entry, ...rest } = resolution;
        out(JSON.stringify(
          {
            resolution: { ...rest, entry: entry ? { ...entry, source: entry.source_key } : null },
            pue,
            ...(block ? { carbon: block } : {}),
          },
          null,
          2,
        ));
        return;
      }
      if (resolution.entry && resolution.resolved_by !== "carbon-intensity") {
        for (const l of explainEntry(resolution.entry)) out(l);
      } else {
        out(`intensity: ${sig(resolution.g_per_kwh)} g CO2e/kWh — ${resolution.source}`);
      }
      out(
        `  chosen by: ${resolution.resolved_by}${
          resolution.guess ? " (a GUESS from the time zone)" : ""
        }`,
      );
      if (resolution.hint) out(`  hint:      ${resolution.hint}`);
      if (block && energyJ !== undefined) {
        out("");
        out(
          `${formatEnergy(energyJ)} × PUE ${pue} × ${sig(block.intensity_g_per_kwh)} g/kWh = ` +
            `${formatGrams(block.emissions_g)} CO2e`,
        );
        for (const l of carbonTextLines(block)) {
          if (/^ {2}(water|cost|≈)/.test(l)) out(l);
        }
      }
    });
}
