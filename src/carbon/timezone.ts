/**
 * A region guess from the machine's time zone: the last resort before the
 * World average, always marked `guess: true`. No network, no IP geolocation.
 *
 * The zone → country map is the IANA tz database's zone.tab (and its legacy
 * links such as `Asia/Calcutta`), embedded in the table.
 */
import { type RegionEntry, TIMEZONES } from "./table.ts";
import { entryById } from "./table.ts";

export interface TimeZoneGuess {
  /** The zone the guess came from, e.g. `Europe/Paris`. */
  timeZone: string;
  /** Where the zone was read: `Intl`, `TZ`, `/etc/timezone`, `/etc/localtime`. */
  from: string;
  entry: RegionEntry;
  guess: true;
}

/** Zones that say nothing about where the machine is. */
function isUninformative(tz: string): boolean {
  return /^(Etc\/|UTC$|UCT$|GMT|Universal$|Zulu$|Factory$|[A-Z]{3}\d?([A-Z]{3})?$)/.test(tz);
}

/** The country of an IANA zone name (`Europe/Paris` → FR), or undefined. */
export function countryForTimeZone(tz: string): string | undefined {
  const z = tz.trim().replace(/^:/, "").replace(/^\/usr\/share\/zoneinfo\//, "");
  return TIMEZONES[z];
}

/** Guess from one zone name; undefined for UTC-like or unknown zones. */
export function guessFromTimeZone(
  tz: string | undefined,
  from = "Intl",
): TimeZoneGuess | undefined {
  if (!tz) return undefined;
  const z = tz.trim().replace(/^:/, "").replace(/^.*\/zoneinfo\//, "");
  if (z === "" || isUninformative(z)) return undefined;
  const cc = countryForTimeZone(z);
  if (!cc) return undefined;
  const entry = entryById(cc);
  if (!entry) return undefined;
  return { timeZone: z, from, entry, guess: true };
}

/** Where the zone can be read; injectable for tests. */
export interface TimeZoneSources {
  /** `Intl.DateTimeFormat().resolvedOptions().timeZone` */
  intl?: string;
  /** The TZ environment variable. */
  tzEnv?: string;
  /** Contents of /etc/timezone. */
  etcTimezone?: string;
  /** Target of the /etc/localtime symlink. */
  localtimeLink?: string;
}

/** Tries each source in turn (Intl, TZ, /etc/timezone, /etc/localtime). */
export function guessRegionFromSources(s: TimeZoneSources): TimeZoneGuess | undefined {
  return guessFromTimeZone(s.intl, "Intl") ??
    guessFromTimeZone(s.tzEnv, "TZ") ??
    guessFromTimeZone(s.etcTimezone?.split("\n")[0], "/etc/timezone") ??
    guessFromTimeZone(s.localtimeLink, "/etc/localtime");
}

/** Reads the machine's time zone sources (never fails; missing ones are skipped). */
export function readTimeZoneSources(): TimeZoneSources {
  const s: TimeZoneSources = {};
  try {
    s.intl = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch { /* no Intl zone */ }
  try {
    s.tzEnv = Deno.env.get("TZ");
  } catch { /* no env permission */ }
  try {
    s.etcTimezone = Deno.readTextFileSync("/etc/timezone");
  } catch { /* absent or not permitted */ }
  try {
    s.localtimeLink = Deno.readLinkSync("/etc/localtime");
  } catch { /* absent or not permitted */ }
  return s;
}

/** The machine's guess (reads Intl, TZ and /etc). */
export function guessRegionFromMachine(): TimeZoneGuess | undefined {
  return guessRegionFromSources(readTimeZoneSources());
}
