/** Parsers for option values; each throws a UsageError naming the flag. */
import { UsageError } from "./errors.ts";

const DURATION_UNITS: Record<string, number> = {
  us: 1e-6,
  µs: 1e-6,
  ms: 1e-3,
  s: 1,
  "": 1,
  m: 60,
  min: 60,
  h: 3600,
  d: 86400,
};

/** `10ms`, `0.5s`, `2m`, `1h`, `90` (seconds) → seconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zµ]*)\s*$/i.exec(text);
  const unit = m ? DURATION_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new UsageError(
      `${flag}: '${text}' is not a duration (use e.g. 10ms, 0.5s, 2m, 1h)`,
    );
  }
  return Number(m[1]) * unit;
}

/** The sampling interval: at least 10 ms. */
export function parseInterval(text: string): number {
  const s = parseDuration(text, "--interval");
  if (s < 0.01) throw new UsageError(`--interval: ${text} is below the 10ms minimum`);
  if (s > 3600) throw new UsageError(`--interval: ${text} is above the 1h maximum`);
  return s;
}

export function parsePositive(text: string, flag: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) {
    throw new UsageError(`${flag}: '${text}' is not a positive number`);
  }
  return v;
}

export function parseChoice<T extends string>(text: string, flag: string, choices: T[]): T {
  if (!choices.includes(text as T)) {
    throw new UsageError(`${flag}: '${text}' is not one of ${choices.join(", ")}`);
  }
  return text as T;
}

/** Human form of seconds: `1.5 s`, `2 min 3 s`, `1 h 2 min`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** Human form of joules: `12.3 J`, `4.56 kJ`, `1.23 MJ (0.342 kWh)`. */
export function formatEnergy(j: number | null | undefined): string {
  if (j === null || j === undefined || !Number.isFinite(j)) return "n/a";
  const kwh = j / 3.6e6;
  if (Math.abs(j) < 1e3) return `${j.toFixed(1)} J`;
  if (Math.abs(j) < 1e6) return `${(j / 1e3).toFixed(2)} kJ (${(kwh * 1000).toFixed(2)} Wh)`;
  return `${(j / 1e6).toFixed(2)} MJ (${kwh.toFixed(3)} kWh)`;
}
