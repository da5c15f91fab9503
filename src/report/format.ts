/**
 * Number formatting for the report: fixed locale (en-US) so a report reads
 * the same wherever it is made, units always attached with a no-break space.
 * All functions return plain text (escape before use).
 */

const NB = "\u00a0";

function num(v: number, digits: number): string {
  return v.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Three significant figures at most, thousands separated. */
export function sig(v: number, s = 3): string {
  if (!Number.isFinite(v)) return "—";
  if (v === 0) return "0";
  const a = Math.abs(v);
  const digits = Math.max(0, s - 1 - Math.floor(Math.log10(a)));
  return num(v, Math.min(digits, 6));
}

function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** Joules in a unit that suits the size: J, kJ, MJ, GJ. */
export function joules(j: number | null | undefined): string {
  if (!isNum(j)) return "—";
  const a = Math.abs(j);
  if (a >= 1e9) return `${sig(j / 1e9)}${NB}GJ`;
  if (a >= 1e6) return `${sig(j / 1e6)}${NB}MJ`;
  if (a >= 1e4) return `${sig(j / 1e3)}${NB}kJ`;
  return `${sig(j)}${NB}J`;
}

/** Joules as exact-ish J with separators (the full figure under the kWh one). */
export function joulesExact(j: number | null | undefined): string {
  if (!isNum(j)) return "—";
  return `${num(j, Math.abs(j) >= 100 ? 0 : 1)}${NB}J`;
}

/** Energy in kWh (or Wh for small amounts). */
export function kwh(j: number | null | undefined): string {
  if (!isNum(j)) return "—";
  const k = j / 3.6e6;
  if (Math.abs(k) >= 0.1) return `${sig(k, 4)}${NB}kWh`;
  return `${sig(j / 3600, 3)}${NB}Wh`;
}

export function watts(w: number | null | undefined): string {
  if (!isNum(w)) return "—";
  if (Math.abs(w) >= 1e4) return `${sig(w / 1e3)}${NB}kW`;
  return `${num(w, Math.abs(w) >= 100 ? 0 : 1)}${NB}W`;
}

export function pct(p: number | null | undefined, digits = 0): string {
  if (!isNum(p)) return "—";
  return `${num(p, digits)}${NB}%`;
}

export function grams(g: number | null | undefined): string {
  if (!isNum(g)) return "—";
  const a = Math.abs(g);
  if (a >= 1e6) return `${sig(g / 1e6)}${NB}t${NB}CO₂e`;
  if (a >= 1e3) return `${sig(g / 1e3)}${NB}kg${NB}CO₂e`;
  return `${sig(g)}${NB}g${NB}CO₂e`;
}

export function bytes(b: number | null | undefined): string {
  if (!isNum(b)) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = b, i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i ? sig(v) : String(v)}${NB}${units[i]}`;
}

/** "1.50" → "1.5", "2.00" → "2"; integers untouched. */
export function trimZeros(t: string): string {
  return t.includes(".") ? t.replace(/0+$/, "").replace(/\.$/, "") : t;
}

/** 1 h 02 min 03 s, 4.2 s, 120 ms. */
export function duration(s: number | null | undefined): string {
  if (!isNum(s)) return "—";
  if (s < 1) return `${Math.round(s * 1000)}${NB}ms`;
  if (s < 60) return `${trimZeros(sig(s))}${NB}s`;
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  const d = Math.floor(h / 24);
  const p2 = (n: number) => String(n).padStart(2, "0");
  if (d > 0) return `${d}${NB}d ${h % 24}${NB}h ${p2(m)}${NB}min`;
  if (h > 0) return `${h}${NB}h ${p2(m)}${NB}min ${p2(sec)}${NB}s`;
  return `${m}${NB}min ${p2(sec)}${NB}s`;
}

/** ISO time as `2026-01-01 12:00:00 UTC` (the report never uses the reader's time zone). */
export function utc(iso: string | null | undefined): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return String(iso);
  return new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$|Z$/, "") + " UTC";
}

/** A plain number with up to `s` significant digits, or the raw value as text. */
export function value(v: unknown, s = 4): string {
  if (isNum(v)) {
    if (Number.isInteger(v)) return v.toLocaleString("en-US");
    return sig(v, s);
  }
  if (v === null || v === undefined) return "—";
  return String(v);
}

/**
 * A time given in any of the forms summaries use (ISO string, unix seconds,
 * ms or µs) as unix µs, or NaN.
 */
export function toMicros(t: unknown): number {
  if (typeof t === "number" && Number.isFinite(t)) {
    const a = Math.abs(t);
    if (a >= 1e14) return t; // µs
    if (a >= 1e11) return t * 1e3; // ms
    return t * 1e6; // s
  }
  if (typeof t === "string") {
    const n = Number(t);
    if (t.trim() !== "" && Number.isFinite(n)) return toMicros(n);
    const p = Date.parse(t);
    return Number.isFinite(p) ? p * 1e3 : NaN;
  }
  if (t instanceof Date) return t.getTime() * 1e3;
  return NaN;
}
