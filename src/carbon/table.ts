/**
 * The embedded grid carbon-intensity table: lookup by code, name, alias or
 * cloud region id (any case, accents optional), close-match suggestions, and
 * listing.
 *
 * The data is imported at build time (`with { type: "json" }`), so it is inside
 * the compiled binary; nothing is read from disk or the network at run time.
 * Rebuild it with `scripts/build_carbon_table.ts` (see the README (Carbon section)).
 */
import rawTable from "../../data/carbon/table.json" with { type: "json" };

export type EntryKind = "country" | "us-egrid" | "us-state" | "cloud" | "aggregate";
/**
 * `lifecycle`: includes upstream emissions (OWID/Ember); `direct-combustion`:
 * stack emissions only (US eGRID); `grid-average`: Google's hourly-weighted
 * location-based figure.
 */
export type Basis = "lifecycle" | "direct-combustion" | "grid-average";

export interface SourceInfo {
  title: string;
  citation: string;
  licence: string;
  url: string;
  basis: Basis;
}

/** One region of the table, with its source expanded. */
export interface RegionEntry {
  id: string;
  kind: EntryKind;
  name: string;
  aliases: string[];
  g_per_kwh: number;
  /** Key of the source (`owid`, `egrid`, `gcp`). */
  source_key: string;
  source: SourceInfo;
  year: number;
  basis: Basis;
  /** Entry whose figure this one uses (cloud region → grid, fallback → World). */
  via?: string;
  provider?: string;
  location?: string;
  notes: string[];
}

interface RawEntry {
  id: string;
  kind: string;
  name: string;
  aliases: string[];
  g_per_kwh: number;
  source: string;
  year: number;
  basis: string;
  via?: string;
  provider?: string;
  location?: string;
  notes?: string[];
}

interface RawTable {
  schema: string;
  sources: Record<string, SourceInfo>;
  entries: RawEntry[];
  timezones: Record<string, string>;
  pue_references: { who: string; scope: string; pue: number; year: string; source: string }[];
}

const TABLE = rawTable as unknown as RawTable;

export const ENTRIES: readonly RegionEntry[] = TABLE.entries.map((e) => ({
  id: e.id,
  kind: e.kind as EntryKind,
  name: e.name,
  aliases: e.aliases,
  g_per_kwh: e.g_per_kwh,
  source_key: e.source,
  source: TABLE.sources[e.source],
  year: e.year,
  basis: e.basis as Basis,
  ...(e.via ? { via: e.via } : {}),
  ...(e.provider ? { provider: e.provider } : {}),
  ...(e.location ? { location: e.location } : {}),
  notes: e.notes ?? [],
}));

export const SOURCES: Readonly<Record<string, SourceInfo>> = TABLE.sources;
/** IANA zone → ISO alpha-2. */
export const TIMEZONES: Readonly<Record<string, string>> = TABLE.timezones;
export const PUE_REFERENCES = TABLE.pue_references;

/** Lower case, accents removed, quotes unified, spaces collapsed. */
export function normalizeKey(s: string): string {
  return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[’‘`´]/g, "'").replace(/&/g, " and ").replace(/[\s_]+/g, " ").trim();
}

/** Letters and digits only: "United-States" ~ "united states". */
function looseKey(s: string): string {
  return normalizeKey(s).replace(/[^a-z0-9]/g, "");
}

const KIND_RANK: Record<EntryKind, number> = {
  cloud: 0,
  "us-egrid": 1,
  "us-state": 2,
  country: 3,
  aggregate: 4,
};

const exact = new Map<string, RegionEntry>();
const loose = new Map<string, RegionEntry | null>();
const byId = new Map<string, RegionEntry>();
for (const e of ENTRIES) byId.set(e.id, e);
{
  // ids first, then names, then aliases: an earlier key is never overwritten.
  const layers: ((e: RegionEntry) => string[])[] = [
    (e) => [e.id],
    (e) => [e.name],
    (e) => e.aliases,
  ];
  const sorted = [...ENTRIES].sort((a, b) => KIND_RANK[a.kind] - KIND_RANK[b.kind]);
  for (const layer of layers) {
    for (const e of sorted) {
      for (const k of layer(e)) {
        const n = normalizeKey(k);
        if (!exact.has(n)) exact.set(n, e);
        const l = looseKey(k);
        if (l === "") continue;
        const prev = loose.get(l);
        if (prev === undefined) loose.set(l, e);
        else if (prev !== null && prev !== e && layer !== layers[0]) loose.set(l, null);
      }
    }
  }
}

/** The entry with this exact id (`FR`, `CAMX`, `gcp:europe-west1`, `WORLD`). */
export function entryById(id: string): RegionEntry | undefined {
  return byId.get(id);
}

/** The World average: the last resort, always labelled as such. */
export function worldEntry(): RegionEntry {
  return byId.get("WORLD")!;
}

/**
 * Finds a region by ISO alpha-2 or alpha-3 code, English name, eGRID code,
 * US state (`US-VA`), cloud region id (`europe-west1`, `eu-west-3`,
 * `westeurope`, or prefixed `gcp:`/`aws:`/`azure:`), or aggregate (`World`,
 * `EU`). Case and accents do not matter. Undefined when nothing matches.
 */
export function lookupRegion(query: string): RegionEntry | undefined {
  const n = normalizeKey(query);
  if (n === "") return undefined;
  const hit = exact.get(n);
  if (hit) return hit;
  const l = looseKey(query);
  const lh = l === "" ? undefined : loose.get(l);
  return lh ?? undefined;
}

/** Optimal string alignment distance (edits and adjacent transpositions). */
function editDistance(a: string, b: string): number {
  const m = a.length, n = b.length;
  if (m === 0) return n;
  if (n === 0) return m;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => {
    const row = new Array<number>(n + 1).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j <= n; j++) d[0][j] = j;
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[m][n];
}

/**
 * Close matches for an unknown query, best first (at most `max`): prefix and
 * substring matches of codes and names, then small edit distances.
 */
export function suggest(query: string, max = 5): RegionEntry[] {
  const q = normalizeKey(query);
  if (q === "") return [];
  const scored = new Map<RegionEntry, number>();
  const consider = (e: RegionEntry, score: number) => {
    const prev = scored.get(e);
    if (prev === undefined || score < prev) scored.set(e, score);
  };
  for (const e of ENTRIES) {
    for (const key of [e.id, e.name, ...e.aliases]) {
      const k = normalizeKey(key);
      if (k === q) consider(e, 0);
      else if (k.startsWith(q) || (q.length >= 3 && k.startsWith(q.slice(0, -1)))) {
        consider(e, 1 + (k.length - q.length) / 100);
      } else if (q.length >= 3 && k.includes(q)) consider(e, 2 + k.length / 1000);
      else {
        const d = editDistance(q, k);
        const limit = q.length <= 3 ? 1 : q.length <= 6 ? 2 : 3;
        if (d <= limit) consider(e, 3 + d + Math.abs(k.length - q.length) / 100);
      }
    }
  }
  return [...scored].sort((a, b) =>
    a[1] - b[1] || KIND_RANK[a[0].kind] - KIND_RANK[b[0].kind] || (a[0].id < b[0].id ? -1 : 1)
  ).slice(0, max).map(([e]) => e);
}

/**
 * Entries for `aimeter carbon --list [filter]`. The filter is a kind
 * (`country`, `cloud`, `us-egrid`, `us-state`, `aggregate`), a provider
 * (`gcp`, `aws`, `azure`), or text found in the id, name or aliases.
 */
export function listRegions(filter?: string): RegionEntry[] {
  const all = [...ENTRIES].sort((a, b) =>
    KIND_RANK[a.kind] - KIND_RANK[b.kind] || (a.id < b.id ? -1 : 1)
  );
  if (!filter) return all;
  const f = normalizeKey(filter);
  const kinds: Record<string, EntryKind> = {
    country: "country",
    countries: "country",
    cloud: "cloud",
    "us-egrid": "us-egrid",
    egrid: "us-egrid",
    "us-state": "us-state",
    state: "us-state",
    states: "us-state",
    aggregate: "aggregate",
    aggregates: "aggregate",
  };
  if (kinds[f]) return all.filter((e) => e.kind === kinds[f]);
  if (["gcp", "aws", "azure"].includes(f)) return all.filter((e) => e.provider === f);
  return all.filter((e) =>
    [e.id, e.name, ...e.aliases, e.location ?? ""].some((k) => normalizeKey(k).includes(f))
  );
}

/** "OWID ... (CC BY 4.0), 2025": source and year in one line. */
export function sourceLine(e: RegionEntry): string {
  return `${e.source.citation} (${e.source.licence}), ${e.year}`;
}
