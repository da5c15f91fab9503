/**
 * Which intensity a run uses, and why. Precedence, highest first, each result
 * labelled with where it came from (`resolved_by`):
 *
 *   1. `--carbon-intensity G`          fixed user value
 *   2. `--carbon-intensity-file CSV`   user time series (`time,g_per_kwh`)
 *   3. `--region X`
 *   4. `AIMETER_REGION`
 *   5. config file (`AIMETER_CONFIG`, else `$XDG_CONFIG_HOME/aimeter/config.json`,
 *      else `~/.config/aimeter/config.json`): `{"region": "FR", "pue": 1.2}`
 *   6. a guess from the machine's time zone (marked `guess: true`, with a hint)
 *   7. the World average (labelled as the last resort)
 *
 * With 1 or 2, the region (from 3–5 only: never a guess) is still reported for
 * context. PUE: `--pue` > config `pue` > 1.0.
 *
 * `resolveIntensity` is pure; `loadCarbonSettings` does the reading (env,
 * config file, time zone, CSV file).
 */
import { csvParse } from "d3-dsv";
import { CarbonUsageError } from "./errors.ts";
import { type Intensity, type IntensityPoint, validateSeries } from "./emissions.ts";
import {
  type Basis,
  type EntryKind,
  lookupRegion,
  type RegionEntry,
  sourceLine,
  suggest,
  worldEntry,
} from "./table.ts";
import { guessRegionFromMachine, type TimeZoneGuess } from "./timezone.ts";

export type ResolvedBy =
  | "carbon-intensity"
  | "carbon-intensity-file"
  | "region"
  | "AIMETER_REGION"
  | "config"
  | "timezone"
  | "default";

/** Keys aimeter's config file may hold for carbon (others are ignored here). */
export interface CarbonConfig {
  region?: string;
  pue?: number;
  wue?: number;
  /** "0.25 EUR" */
  price?: string;
}

/** Everything the user (or the machine) said; see `loadCarbonSettings`. */
export interface CarbonSettings {
  /** `--region` */
  region?: string;
  /** `--carbon-intensity` (g/kWh) */
  carbonIntensity?: number;
  /** `--carbon-intensity-file`, already parsed */
  intensitySeries?: { file: string; points: IntensityPoint[] };
  /** `AIMETER_REGION` */
  envRegion?: string;
  /** The config file's carbon keys and its path. */
  config?: CarbonConfig & { path: string };
  /** The time-zone guess; undefined or null: none. */
  timeZone?: TimeZoneGuess | null;
}

export interface IntensityResolution {
  intensity: Intensity;
  /** The fixed value, or the series' time-weighted mean over its rows (for display). */
  g_per_kwh: number;
  region: string | null;
  region_name: string | null;
  region_kind: EntryKind | null;
  entry: RegionEntry | null;
  /** "citation (licence), year", or "user value (--carbon-intensity)"... */
  source: string;
  year: number | null;
  basis: Basis | "user";
  guess: boolean;
  resolved_by: ResolvedBy;
  /** How to set the region, when it was guessed or defaulted. */
  hint?: string;
  notes: string[];
}

export const HOW_TO_SET_REGION =
  'set it with --region CODE, AIMETER_REGION=CODE, or {"region": "CODE"} in ' +
  "~/.config/aimeter/config.json (see `aimeter carbon --list`)";

/** Finds a region or throws a usage error with close matches. */
export function requireRegion(query: string, where = "region"): RegionEntry {
  const e = lookupRegion(query);
  if (e) return e;
  const s = suggest(query);
  const did = s.length ? `; did you mean: ${s.map((x) => `${x.id} (${x.name})`).join(", ")}` : "";
  throw new CarbonUsageError(
    `unknown ${where} '${query}'${did}. See \`aimeter carbon --list\` for all regions.`,
  );
}

function seriesMean(points: readonly IntensityPoint[]): number {
  if (points.length === 1) return points[0].g_per_kwh;
  let acc = 0, span = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const dt = points[i + 1].timeUs - points[i].timeUs;
    acc += points[i].g_per_kwh * dt;
    span += dt;
  }
  return span > 0 ? acc / span : points[0].g_per_kwh;
}

function fromEntry(
  e: RegionEntry,
  resolved_by: ResolvedBy,
  guess: boolean,
): IntensityResolution {
  return {
    intensity: { kind: "fixed", g_per_kwh: e.g_per_kwh },
    g_per_kwh: e.g_per_kwh,
    region: e.id,
    region_name: e.name,
    region_kind: e.kind,
    entry: e,
    source: sourceLine(e),
    year: e.year,
    basis: e.basis,
    guess,
    resolved_by,
    notes: [...e.notes],
  };
}

/** Applies the precedence (pure). Throws CarbonUsageError on an unknown region. */
export function resolveIntensity(s: CarbonSettings): IntensityResolution {
  // The region the user named, if any (flag > env > config), for context or use.
  let named: { entry: RegionEntry; by: ResolvedBy } | undefined;
  if (s.region !== undefined) named = { entry: requireRegion(s.region), by: "region" };
  else if (s.envRegion) {
    named = { entry: requireRegion(s.envRegion, "region in AIMETER_REGION"), by: "AIMETER_REGION" };
  } else if (s.config?.region) {
    named = {
      entry: requireRegion(s.config.region, `region in ${s.config.path}`),
      by: "config",
    };
  }
  const context = (r: IntensityResolution): IntensityResolution => {
    if (named) {
      r.region = named.entry.id;
      r.region_name = named.entry.name;
      r.region_kind = named.entry.kind;
      r.entry = named.entry;
      r.notes.push(
        `region ${named.entry.id} (${named.entry.name}, ${named.entry.g_per_kwh} g/kWh in the table) ` +
          `is shown for context; the user's intensity is used`,
      );
    }
    return r;
  };

  if (s.carbonIntensity !== undefined) {
    const g = s.carbonIntensity;
    if (!Number.isFinite(g) || g < 0) {
      throw new CarbonUsageError(`--carbon-intensity must be a number ≥ 0 (g CO2e/kWh), got ${g}`);
    }
    return context({
      intensity: { kind: "fixed", g_per_kwh: g },
      g_per_kwh: g,
      region: null,
      region_name: null,
      region_kind: null,
      entry: null,
      source: "user value (--carbon-intensity)",
      year: null,
      basis: "user",
      guess: false,
      resolved_by: "carbon-intensity",
      notes: [],
    });
  }
  if (s.intensitySeries) {
    const pts = s.intensitySeries.points;
    return context({
      intensity: { kind: "series", points: pts },
      g_per_kwh: seriesMean(pts),
      region: null,
      region_name: null,
      region_kind: null,
      entry: null,
      source:
        `user time series (--carbon-intensity-file ${s.intensitySeries.file}, ${pts.length} rows)`,
      year: null,
      basis: "user",
      guess: false,
      resolved_by: "carbon-intensity-file",
      notes: [],
    });
  }
  if (named) return fromEntry(named.entry, named.by, false);
  if (s.timeZone) {
    const r = fromEntry(s.timeZone.entry, "timezone", true);
    r.hint = `region guessed from the time zone ${s.timeZone.timeZone} (${s.timeZone.from}); ` +
      HOW_TO_SET_REGION;
    return r;
  }
  const r = fromEntry(worldEntry(), "default", false);
  r.hint = `no region given and none could be guessed: World average used; ${HOW_TO_SET_REGION}`;
  return r;
}

/** PUE: flag > config > 1.0, validated (≥ 1). */
export function resolvePue(flag?: number, config?: CarbonConfig & { path?: string }): number {
  if (flag !== undefined) return checkPue(flag, "--pue");
  if (config?.pue !== undefined) return checkPue(config.pue, `pue in ${config.path ?? "config"}`);
  return 1;
}

export function checkPue(v: number, what = "--pue"): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 1) {
    throw new CarbonUsageError(
      `${what} must be a number ≥ 1 (1.0 = no data-centre overhead), got ${v}`,
    );
  }
  return v;
}

/** Parses a time: ISO-8601 (no offset = UTC) or Unix seconds. Returns µs. */
export function parseTimeUs(s: string): number {
  const t = s.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1e6);
  let iso = /^\d{4}-\d\d-\d\d \d/.test(t) ? t.replace(" ", "T") : t;
  if (iso.includes("T") && !/([zZ]|[+-]\d\d:?\d\d)$/.test(iso)) iso += "Z";
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return NaN;
  const frac = /T[\d:]+\.(\d{4,6})/.exec(iso); // keep microseconds when given
  return frac ? Math.floor(ms / 1000) * 1e6 + Number(frac[1].padEnd(6, "0")) : ms * 1000;
}

/** Parses a `time,g_per_kwh` CSV (header required). */
export function parseIntensityCsv(text: string, file = "CSV"): IntensityPoint[] {
  const rows = csvParse(text.replace(/^\uFEFF/, ""));
  const cols = rows.columns.map((c: string) => c.trim().toLowerCase());
  const ti = cols.indexOf("time");
  const gi = cols.indexOf("g_per_kwh");
  if (ti < 0 || gi < 0) {
    throw new CarbonUsageError(
      `${file}: expected a header 'time,g_per_kwh', found '${rows.columns.join(",")}'`,
    );
  }
  const tcol = rows.columns[ti], gcol = rows.columns[gi];
  const pts: IntensityPoint[] = [];
  rows.forEach((r: Record<string, string | undefined>, i: number) => {
    const t = r[tcol] ?? "", g = r[gcol] ?? "";
    if (t.trim() === "" && g.trim() === "") return;
    const timeUs = parseTimeUs(t);
    const gv = Number(g);
    if (!Number.isFinite(timeUs)) {
      throw new CarbonUsageError(
        `${file} line ${i + 2}: bad time '${t}' (ISO-8601 or Unix seconds)`,
      );
    }
    if (g.trim() === "" || !Number.isFinite(gv) || gv < 0) {
      throw new CarbonUsageError(`${file} line ${i + 2}: bad g_per_kwh '${g}' (a number ≥ 0)`);
    }
    pts.push({ timeUs, g_per_kwh: gv });
  });
  if (pts.length === 0) throw new CarbonUsageError(`${file}: no rows`);
  return validateSeries(pts);
}

/** Path of the config file: AIMETER_CONFIG, else XDG, else ~/.config. */
export function configPath(env: Record<string, string | undefined>): string | undefined {
  if (env.AIMETER_CONFIG) return env.AIMETER_CONFIG;
  if (env.XDG_CONFIG_HOME) return `${env.XDG_CONFIG_HOME}/aimeter/config.json`;
  if (env.HOME) return `${env.HOME}/.config/aimeter/config.json`;
  return undefined;
}

/** Reads and checks the config file's carbon keys; undefined when there is none. */
export function readConfig(
  path: string | undefined,
  readText: (p: string) => string = Deno.readTextFileSync,
  explicit = false,
): (CarbonConfig & { path: string }) | undefined {
  if (!path) return undefined;
  let text: string;
  try {
    text = readText(path);
  } catch (e) {
    if (explicit) {
      throw new CarbonUsageError(`cannot read config file ${path}: ${(e as Error).message}`);
    }
    return undefined;
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new CarbonUsageError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof j !== "object" || j === null) {
    throw new CarbonUsageError(`config file ${path} must hold a JSON object`);
  }
  const o = j as Record<string, unknown>;
  const out: CarbonConfig & { path: string } = { path };
  if (o.region !== undefined) {
    if (typeof o.region !== "string") {
      throw new CarbonUsageError(`${path}: "region" must be a string`);
    }
    out.region = o.region;
  }
  for (const k of ["pue", "wue"] as const) {
    if (o[k] !== undefined) {
      if (typeof o[k] !== "number") throw new CarbonUsageError(`${path}: "${k}" must be a number`);
      out[k] = o[k] as number;
    }
  }
  if (o.price !== undefined) out.price = String(o.price);
  return out;
}

/** The options of `run`/`record`/`carbon` that matter here. */
export interface CarbonFlags {
  region?: string;
  carbonIntensity?: number;
  carbonIntensityFile?: string;
}

/**
 * Gathers the settings from flags, environment, config file, intensity file and
 * the machine's time zone. Never touches the network.
 */
export function loadCarbonSettings(
  flags: CarbonFlags,
  deps: {
    env?: Record<string, string | undefined>;
    readText?: (p: string) => string;
    guessTimeZone?: () => TimeZoneGuess | undefined;
  } = {},
): CarbonSettings {
  const env = deps.env ?? safeEnv();
  const readText = deps.readText ?? Deno.readTextFileSync;
  const s: CarbonSettings = {};
  if (flags.region !== undefined) s.region = flags.region;
  if (flags.carbonIntensity !== undefined) s.carbonIntensity = flags.carbonIntensity;
  if (flags.carbonIntensityFile !== undefined) {
    let text: string;
    try {
      text = readText(flags.carbonIntensityFile);
    } catch (e) {
      throw new CarbonUsageError(
        `cannot read --carbon-intensity-file ${flags.carbonIntensityFile}: ${(e as Error).message}`,
      );
    }
    s.intensitySeries = {
      file: flags.carbonIntensityFile,
      points: parseIntensityCsv(text, flags.carbonIntensityFile),
    };
  }
  if (env.AIMETER_REGION) s.envRegion = env.AIMETER_REGION;
  const cfg = readConfig(configPath(env), readText, Boolean(env.AIMETER_CONFIG));
  if (cfg) s.config = cfg;
  const needGuess = s.carbonIntensity === undefined && !s.intensitySeries && !s.region &&
    !s.envRegion && !s.config?.region;
  if (needGuess) s.timeZone = (deps.guessTimeZone ?? guessRegionFromMachine)() ?? null;
  return s;
}

function safeEnv(): Record<string, string | undefined> {
  const get = (k: string) => {
    try {
      return Deno.env.get(k);
    } catch {
      return undefined;
    }
  };
  return {
    AIMETER_REGION: get("AIMETER_REGION"),
    AIMETER_CONFIG: get("AIMETER_CONFIG"),
    XDG_CONFIG_HOME: get("XDG_CONFIG_HOME"),
    HOME: get("HOME"),
  };
}
