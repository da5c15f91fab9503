/**
 * Rebuilds aimeter's embedded grid carbon-intensity table.
 *
 *   deno run -A scripts/build_carbon_table.ts [SRC_DIR] [--out DIR] [--check]
 *
 * SRC_DIR (default `data/carbon/sources`) holds the source CSVs (see
 * data/carbon/sources/README.md). When SRC_DIR is another folder (a new yearly
 * release), the files read from it are copied into `data/carbon/sources` so
 * the repository keeps the exact inputs of its table. Files missing from
 * SRC_DIR (iso3166.csv, zone.tab, tz_links.tsv) are taken from
 * `data/carbon/sources`.
 *
 * Writes `DIR/table.json` (default `data/carbon`) and `DIR/SOURCES.md`.
 * `--check` writes nothing and exits 1 when the committed files differ.
 *
 * The product never reads these CSVs: it imports table.json, so the table is
 * inside the binary.
 */
import { csvParse } from "d3-dsv";

export type EntryKind = "country" | "us-egrid" | "us-state" | "cloud" | "aggregate";
export type Basis = "lifecycle" | "direct-combustion" | "grid-average";

/** One row of table.json `entries`. */
export interface TableEntry {
  /** Canonical id: ISO alpha-2 (`FR`), eGRID code (`CAMX`), `US-VA`, `gcp:europe-west1`, `WORLD`... */
  id: string;
  kind: EntryKind;
  name: string;
  /** Other accepted spellings (alpha-3, ISO names, bare cloud region ids...). */
  aliases: string[];
  g_per_kwh: number;
  /** Key into table.json `sources`. */
  source: string;
  year: number;
  basis: Basis;
  /** The entry whose figure this one uses (cloud region → grid, fallback → World...). */
  via?: string;
  /** Cloud provider for `cloud` entries. */
  provider?: string;
  /** Where a cloud region is, in the provider's words. */
  location?: string;
  /** Caveats: provisional, stale, uncertain, fallback... */
  notes?: string[];
}

export interface SourceInfo {
  title: string;
  citation: string;
  licence: string;
  url: string;
  basis: Basis;
}

export interface CarbonTable {
  schema: "aimeter/carbon-table@1";
  sources: Record<string, SourceInfo>;
  entries: TableEntry[];
  /** IANA time zone → ISO alpha-2 (for the region guess; links resolved). */
  timezones: Record<string, string>;
  /** PUE figures published by tools and providers (for explanations only). */
  pue_references: { who: string; scope: string; pue: number; year: string; source: string }[];
}

export const SOURCE_FILES = [
  "countries.csv",
  "countries_2019_2025.csv",
  "regions.csv",
  "countries_flags.csv",
  "gcp_regions.csv",
  "aws_azure_region_locations.csv",
  "us_egrid.csv",
  "pue_defaults.csv",
  "iso3166.csv",
  "zone.tab",
  "tz_links.tsv",
] as const;

const SOURCES: Record<string, SourceInfo> = {
  owid: {
    title: "Our World in Data: carbon intensity of electricity generation",
    citation: "Ember (2026); Energy Institute - Statistical Review of World Energy (2025) - " +
      "with major processing by Our World in Data (owid/energy-data@e7897aed)",
    licence: "CC BY 4.0",
    url: "https://github.com/owid/energy-data",
    basis: "lifecycle",
  },
  egrid: {
    title: "US EPA eGRID2023 subregion total output emission rates",
    citation: "US EPA eGRID2023 (Jan 2025), via EPA GHG Emission Factors Hub 2025, Table 6; " +
      "CO2e = CO2 + 28 CH4 + 265 N2O (AR5)",
    licence: "public domain (US Government work)",
    url: "https://www.epa.gov/egrid",
    basis: "direct-combustion",
  },
  gcp: {
    title: "Google Cloud region carbon information (grid carbon intensity)",
    citation: "Google Cloud region-carbon-info, data/yearly/2024.csv (commit 49f3f26); " +
      "hourly grid data from Electricity Maps",
    licence: "Apache-2.0",
    url: "https://github.com/GoogleCloudPlatform/region-carbon-info",
    basis: "grid-average",
  },
};

const OWID_FLAG_ACTIONS: Record<string, string> = {
  CAF: "fallback-africa",
  TKM: "uncertain",
  UZB: "use-2024",
  ESH: "stale",
  UKR: "stale",
  LSO: "stale",
  FLK: "low-precision",
  SHN: "low-precision",
  MSR: "low-precision",
  CRI: "provisional",
  URY: "provisional",
  VEN: "provisional",
  KGZ: "provisional",
  TJK: "provisional",
};

/** Places with no published figure that are served by a neighbour's grid. */
const SERVED_BY: Record<string, string> = {
  MC: "FR", // Monaco: inside the French grid
  SM: "IT", // San Marino: inside the Italian grid
  VA: "IT", // Vatican City: inside the Italian grid
};

const US_STATE_NAMES: Record<string, string> = {
  CA: "California",
  GA: "Georgia",
  IA: "Iowa",
  IL: "Illinois",
  OH: "Ohio",
  OR: "Oregon",
  TX: "Texas",
  VA: "Virginia",
};

function num(s: string | undefined, what: string): number {
  const v = Number(s);
  if (s === undefined || s.trim() === "" || !Number.isFinite(v)) {
    throw new Error(`${what}: not a number: '${s}'`);
  }
  return v;
}

function parseTsvLike(text: string, sep: RegExp): string[][] {
  return text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#")).map((l) =>
    l.split(sep)
  );
}

/** Builds the table from the source files' text (pure: easy to test). */
export function buildTable(read: (name: string) => string): CarbonTable {
  const entries: TableEntry[] = [];
  const byId = new Map<string, TableEntry>();
  const add = (e: TableEntry) => {
    if (byId.has(e.id)) throw new Error(`duplicate id ${e.id}`);
    byId.set(e.id, e);
    entries.push(e);
  };

  // --- ISO 3166 names -------------------------------------------------------
  const iso = csvParse(read("iso3166.csv"));
  const a3to2 = new Map<string, string>();
  const isoRows = new Map<string, { a2: string; a3: string; name: string; aliases: string[] }>();
  for (const r of iso) {
    const a2 = r.alpha2!, a3 = r.alpha3!;
    a3to2.set(a3, a2);
    isoRows.set(a2, {
      a2,
      a3,
      name: r.name!,
      aliases: (r.aliases ?? "").split(";").filter((s) => s !== ""),
    });
  }
  a3to2.set("XKX", "XK"); // OWID spells Kosovo XKX; i18n-iso-countries XKK

  // --- World and other aggregates -------------------------------------------
  const regions = csvParse(read("regions.csv"));
  for (const r of regions) {
    const code = r.code ?? "";
    const name = r.region!;
    let id: string;
    const aliases: string[] = [];
    if (code === "OWID_WRL") {
      id = "WORLD";
      aliases.push("OWID_WRL", "global", "WRL");
    } else if (code !== "") {
      id = code;
    } else {
      id = "EMBER_" + name.replace(/\(Ember\)/, "").trim().toUpperCase().replace(/[^A-Z0-9]+/g, "_")
        .replace(/^_|_$/g, "");
    }
    if (code === "OWID_EU27") aliases.push("EU", "EU27", "EU-27");
    add({
      id,
      kind: "aggregate",
      name,
      aliases,
      g_per_kwh: num(r.gco2_per_kwh, `regions.csv ${name}`),
      source: "owid",
      year: num(r.year, `regions.csv ${name} year`),
      basis: "lifecycle",
    });
  }
  const world = byId.get("WORLD");
  if (!world) throw new Error("regions.csv has no World (OWID_WRL) row");
  const africa = byId.get("OWID_AFR");

  // --- countries --------------------------------------------------------------
  const flags = csvParse(read("countries_flags.csv"));
  const flagNotes = new Map<string, string>();
  for (const f of flags) {
    for (const code of f.iso3!.split(";").map((s) => s.trim())) {
      if (!(code in OWID_FLAG_ACTIONS)) {
        throw new Error(
          `countries_flags.csv: anomaly for ${code} has no handling in OWID_FLAG_ACTIONS: '${f.issue}' — decide and add it`,
        );
      }
      flagNotes.set(code, `${f.issue} (${f.recommendation})`);
    }
  }
  const byYear = new Map<string, Record<string, string>>();
  for (const r of csvParse(read("countries_2019_2025.csv"))) byYear.set(r.code!, r);

  const owidCountries = csvParse(read("countries.csv"));
  const seenA2 = new Set<string>();
  for (const r of owidCountries) {
    const a3 = r.iso3!;
    const a2 = a3to2.get(a3);
    if (!a2) throw new Error(`countries.csv: ${a3} (${r.country}) is not in iso3166.csv`);
    const isoRow = isoRows.get(a2)!;
    seenA2.add(a2);
    let g = num(r.gco2_per_kwh, `countries.csv ${a3}`);
    let year = num(r.year, `countries.csv ${a3} year`);
    let via: string | undefined;
    const notes: string[] = [];
    const action = OWID_FLAG_ACTIONS[a3];
    if (action && flagNotes.has(a3)) {
      const issue = flagNotes.get(a3)!;
      if (action === "fallback-africa") {
        const fb = africa ?? world;
        g = fb.g_per_kwh;
        year = fb.year;
        via = fb.id;
        notes.push(`published value unusable: ${issue}; ${fb.name} average used`);
      } else if (action === "use-2024") {
        const v = byYear.get(a3)?.["2024"];
        g = num(v, `countries_2019_2025.csv ${a3} 2024`);
        year = 2024;
        notes.push(`provisional: ${issue}; 2024 value used`);
      } else {
        notes.push(`${action}: ${issue}`);
      }
    }
    const aliases = uniq([a3, ...(a3 === "XKX" ? ["XKK"] : []), isoRow.name, ...isoRow.aliases])
      .filter((s) => s !== r.country && s !== a2);
    add({
      id: a2,
      kind: "country",
      name: r.country!,
      aliases,
      g_per_kwh: g,
      source: "owid",
      year,
      basis: "lifecycle",
      ...(via ? { via } : {}),
      ...(notes.length ? { notes } : {}),
    });
  }
  // ISO countries with no figure: a neighbour's grid where one obviously serves
  // them, else the World average; always said.
  for (const [a2, row] of isoRows) {
    if (seenA2.has(a2)) continue;
    const host = SERVED_BY[a2] ? byId.get(SERVED_BY[a2]) : undefined;
    const fb = host ?? world;
    add({
      id: a2,
      kind: "country",
      name: row.name,
      aliases: uniq([row.a3, ...row.aliases]).filter((s) => s !== row.name && s !== a2),
      g_per_kwh: fb.g_per_kwh,
      source: fb.source,
      year: fb.year,
      basis: fb.basis,
      via: fb.id,
      notes: [
        host
          ? `no published figure for ${row.name}; served by the ${host.name} grid, whose figure is used`
          : `no published figure for ${row.name}; World average used`,
      ],
    });
  }

  // --- US eGRID subregions ---------------------------------------------------
  for (const r of csvParse(read("us_egrid.csv"))) {
    const code = r.subregion!;
    const isAvg = code === "US";
    add({
      id: isAvg ? "US-EGRID" : code,
      kind: "us-egrid",
      name: isAvg ? "US average (eGRID)" : `${r.name} (eGRID)`,
      aliases: isAvg ? ["egrid:US", "eGRID US average"] : [`egrid:${code}`, `US-${code}`, r.name!],
      g_per_kwh: num(r.co2e_g_per_kwh, `us_egrid.csv ${code}`),
      source: "egrid",
      year: num(r.data_year, `us_egrid.csv ${code} year`),
      basis: "direct-combustion",
    });
  }

  // --- cloud regions ----------------------------------------------------------
  for (const r of csvParse(read("gcp_regions.csv"))) {
    add({
      id: `gcp:${r.region}`,
      kind: "cloud",
      name: `Google Cloud ${r.region} (${r.location})`,
      aliases: [r.region!],
      g_per_kwh: num(r.gco2_per_kwh, `gcp_regions.csv ${r.region}`),
      source: "gcp",
      year: num(r.year, `gcp_regions.csv ${r.region} year`),
      basis: "grid-average",
      provider: "gcp",
      location: r.location!,
    });
  }
  const states = new Map<string, string>();
  for (const r of csvParse(read("aws_azure_region_locations.csv"))) {
    const target = r.egrid_subregion ? r.egrid_subregion : r.country_iso2!;
    const grid = byId.get(target);
    if (!grid) throw new Error(`aws_azure_region_locations.csv: ${r.region}: no entry ${target}`);
    if (r.us_state && r.egrid_subregion) {
      const prev = states.get(r.us_state);
      if (prev && prev !== r.egrid_subregion) {
        throw new Error(`state ${r.us_state} mapped to both ${prev} and ${r.egrid_subregion}`);
      }
      states.set(r.us_state, r.egrid_subregion);
    }
    const provider = r.provider!;
    const label = provider === "aws" ? "AWS" : provider === "azure" ? "Azure" : provider;
    add({
      id: `${provider}:${r.region}`,
      kind: "cloud",
      name: `${label} ${r.region} (${r.location})`,
      aliases: [r.region!],
      g_per_kwh: grid.g_per_kwh,
      source: grid.source,
      year: grid.year,
      basis: grid.basis,
      via: grid.id,
      provider,
      location: r.location!,
      notes: [
        `${label} publishes no open per-region figure: mapped to the grid it is in (${grid.name})`,
      ],
    });
  }
  for (const [st, sub] of [...states].sort()) {
    const grid = byId.get(sub)!;
    const name = US_STATE_NAMES[st] ?? st;
    add({
      id: `US-${st}`,
      kind: "us-state",
      name: `${name} (US state)`,
      aliases: [`${name}, US`, `${name} US`],
      g_per_kwh: grid.g_per_kwh,
      source: grid.source,
      year: grid.year,
      basis: grid.basis,
      via: grid.id,
      notes: [
        `mapped to its main eGRID subregion (${sub}, as the cloud providers' regions there); ` +
        `parts of a state can be in other subregions: give the subregion code for precision`,
      ],
    });
  }

  // An alias shared by two entries ("Congo") would be ambiguous: drop it there.
  const keyCount = new Map<string, number>();
  for (const e of entries) {
    for (const k of uniq([e.id, e.name, ...e.aliases].map((x) => x.toLowerCase()))) {
      keyCount.set(k, (keyCount.get(k) ?? 0) + 1);
    }
  }
  for (const e of entries) {
    e.aliases = e.aliases.filter((a) => (keyCount.get(a.toLowerCase()) ?? 0) <= 1);
  }

  // --- time zones ---------------------------------------------------------------
  const timezones: Record<string, string> = {};
  for (const cols of parseTsvLike(read("zone.tab"), /\t/)) {
    const [cc, , tz] = cols;
    if (cc && tz) timezones[tz] = cc;
  }
  const links = parseTsvLike(read("tz_links.tsv"), /\t/).slice(1);
  for (const [link, target] of links) {
    if (link && target && !(link in timezones) && timezones[target]) {
      timezones[link] = timezones[target];
    }
  }

  const pue_references = csvParse(read("pue_defaults.csv")).map((r) => ({
    who: r.tool_or_provider!,
    scope: r.scope!,
    pue: num(r.pue, "pue_defaults.csv"),
    year: r.data_year_or_version!,
    source: r.source!,
  }));

  return {
    schema: "aimeter/carbon-table@1",
    sources: SOURCES,
    entries,
    timezones: Object.fromEntries(Object.entries(timezones).sort(([a], [b]) => a < b ? -1 : 1)),
    pue_references,
  };
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs.filter((x) => x && x.trim() !== ""))];
}

/** Compact JSON: one entry per line, so diffs between releases read well. */
export function serializeTable(t: CarbonTable): string {
  const lines: string[] = ["{"];
  lines.push(`"schema": ${JSON.stringify(t.schema)},`);
  lines.push(`"sources": ${JSON.stringify(t.sources)},`);
  lines.push(`"entries": [`);
  lines.push(t.entries.map((e) => JSON.stringify(e)).join(",\n"));
  lines.push(`],`);
  lines.push(`"timezones": ${JSON.stringify(t.timezones)},`);
  lines.push(`"pue_references": ${JSON.stringify(t.pue_references)}`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

export function sourcesMarkdown(t: CarbonTable): string {
  const count = (k: EntryKind) => t.entries.filter((e) => e.kind === k).length;
  const years = (src: string) => {
    const ys = [...new Set(t.entries.filter((e) => e.source === src && !e.via).map((e) => e.year))]
      .sort();
    return ys.length ? (ys.length > 1 ? `${ys[0]}–${ys[ys.length - 1]}` : String(ys[0])) : "";
  };
  const out = [
    "# Sources of aimeter's carbon-intensity table",
    "",
    "Generated by `scripts/build_carbon_table.ts` from `data/carbon/sources/`; do not edit by hand.",
    "",
    `Entries: ${count("country")} countries and territories (ISO 3166-1), ${
      count("us-egrid")
    } US eGRID subregions (incl. the US average), ${count("us-state")} US states, ${
      count("cloud")
    } cloud regions, ${count("aggregate")} aggregates (World, continents, EU...).`,
    "",
    "| key | data | years | basis | licence | citation |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const [k, s] of Object.entries(t.sources)) {
    out.push(
      `| ${k} | [${s.title}](${s.url}) | ${years(k)} | ${s.basis} | ${s.licence} | ${s.citation} |`,
    );
  }
  out.push(
    "",
    "Other inputs:",
    "",
    "- `iso3166.csv`: ISO 3166-1 alpha-2/alpha-3/numeric codes and English names, from the npm " +
      "package `i18n-iso-countries` 7.14.0 (codes.json, langs/en.json; MIT licence).",
    "- `zone.tab`, `tz_links.tsv`: IANA time zone database 2025b (public domain): zone → country, " +
      "and legacy names (`Asia/Calcutta`) → zones, for the time-zone guess.",
    "- `aws_azure_region_locations.csv`: where AWS and Azure regions are (providers' public region " +
      "lists; facts). AWS and Azure publish no openly licensed per-region intensity, so their " +
      "regions use the figure of the grid they are in (country, or eGRID subregion in the US).",
    "- `countries_flags.csv`: known anomalies in the country data; each is handled and noted on " +
      "its entry (Central African Republic: published 0.00 replaced by the Africa average; " +
      "Uzbekistan: 2024 value instead of a round provisional 2025 figure; others flagged).",
    "- `pue_defaults.csv`: PUE figures used by other tools and providers (shown as references only; " +
      "aimeter's default PUE is 1.0).",
    "",
    "Bases: `lifecycle` figures (OWID/Ember) include upstream emissions of fuels and plants; " +
      "`direct-combustion` figures (eGRID) count stack emissions only and are lower for the same " +
      "grid; `grid-average` (Google) is Google's hourly-weighted location-based figure. All are " +
      "location-based averages, not marginal intensities.",
    "",
  );
  return out.join("\n");
}

if (import.meta.main) {
  const args = [...Deno.args];
  const check = args.includes("--check");
  let outDir = "data/carbon";
  const oi = args.indexOf("--out");
  if (oi >= 0) {
    outDir = args[oi + 1];
    args.splice(oi, 2);
  }
  const positional = args.filter((a) => !a.startsWith("--"));
  const repoSources = "data/carbon/sources";
  const srcDir = positional[0] ?? repoSources;
  const texts = new Map<string, string>();
  for (const f of SOURCE_FILES) {
    let text: string | undefined;
    try {
      text = Deno.readTextFileSync(`${srcDir}/${f}`);
    } catch {
      text = Deno.readTextFileSync(`${repoSources}/${f}`);
    }
    texts.set(f, text);
  }
  const table = buildTable((n) => {
    const t = texts.get(n);
    if (t === undefined) throw new Error(`missing source ${n}`);
    return t;
  });
  const json = serializeTable(table);
  const md = sourcesMarkdown(table);
  if (check) {
    const same = Deno.readTextFileSync(`${outDir}/table.json`) === json &&
      Deno.readTextFileSync(`${outDir}/SOURCES.md`) === md;
    console.log(same ? "table up to date" : "table.json or SOURCES.md differs from the sources");
    Deno.exit(same ? 0 : 1);
  }
  if (srcDir !== repoSources && !check) {
    Deno.mkdirSync(repoSources, { recursive: true });
    for (const [f, t] of texts) Deno.writeTextFileSync(`${repoSources}/${f}`, t);
  }
  Deno.mkdirSync(outDir, { recursive: true });
  Deno.writeTextFileSync(`${outDir}/table.json`, json);
  Deno.writeTextFileSync(`${outDir}/SOURCES.md`, md);
  const k = (kind: string) => table.entries.filter((e) => e.kind === kind).length;
  console.log(
    `wrote ${outDir}/table.json: ${table.entries.length} entries (${k("country")} countries, ${
      k("us-egrid")
    } eGRID, ${k("us-state")} US states, ${k("cloud")} cloud, ${k("aggregate")} aggregates), ${
      Object.keys(table.timezones).length
    } time zones`,
  );
}
