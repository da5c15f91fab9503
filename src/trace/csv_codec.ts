/**
 * CSV form of the trace: the same six columns, time as ISO-8601 UTC with
 * microseconds, RFC 4180 quoting (by d3-dsv).
 */
// @ts-types="npm:@types/d3-dsv@3.0.7"
import { csvFormatRows, csvParseRows } from "d3-dsv";
import { TRACE_COLUMNS } from "./schema.ts";
import type { RowBatch, SeriesId } from "./batch.ts";

export const CSV_HEADER = TRACE_COLUMNS.join(",") + "\n";

/** `2026-11-26T04:51:38.123456Z` from unix microseconds. */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micro = Math.round(us - ms * 1000);
  const iso = new Date(ms).toISOString(); // ...SS.mmmZ
  return iso.slice(0, -1) + String(micro).padStart(3, "0") + "Z";
}

/** Parse ISO-8601 (with up to 9 fractional digits) to unix microseconds; NaN when invalid. */
export function parseIsoMicros(s: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/.exec(s.trim());
  if (!m) return NaN;
  const base = Date.parse(m[1] + (m[3] ?? "Z"));
  if (Number.isNaN(base)) return NaN;
  const frac = (m[2] ?? "").padEnd(6, "0").slice(0, 6);
  return base * 1000 + Number(frac);
}

/** Lines for a batch, in arrival order (CSV readers expect time order). */
export function batchToCsv(batch: RowBatch, series: SeriesId[], host: string): string {
  const rows: string[][] = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const s = series[batch.series[i]];
    rows[i] = [
      isoMicros(batch.time[i]),
      host,
      s.source,
      s.device,
      s.metric,
      String(batch.value[i]),
    ];
  }
  return rows.length ? csvFormatRows(rows) + "\n" : "";
}

export interface CsvRow {
  time: number;
  host: string;
  source: string;
  device: string;
  metric: string;
  value: number;
}

export class TraceFormatError extends Error {}

/** Parse a CSV trace; a bad header or row is a TraceFormatError naming the line. */
export function parseCsvTrace(text: string, file: string): CsvRow[] {
  const rows = csvParseRows(text);
  if (rows.length === 0) throw new TraceFormatError(`${file}: empty CSV trace`);
  const header = rows[0].map((h) => h.trim());
  const want = TRACE_COLUMNS as readonly string[];
  const idx = want.map((c) => header.indexOf(c));
  const missing = want.filter((_, i) => idx[i] < 0);
  if (missing.length) {
    throw new TraceFormatError(
      `${file}: not an aimeter CSV trace (missing column${missing.length > 1 ? "s" : ""} ${
        missing.join(", ")
      }; expected ${want.join(",")})`,
    );
  }
  const out: CsvRow[] = [];
  for (let i = 1; i < rows.length; i++) {
    const r = rows[i];
    if (r.length === 1 && r[0] === "") continue;
    const time = parseIsoMicros(r[idx[0]] ?? "");
    const value = Number(r[idx[5]]);
    if (Number.isNaN(time)) {
      throw new TraceFormatError(`${file}:${i + 1}: bad time '${r[idx[0]]}'`);
    }
    if (r[idx[5]] === undefined || r[idx[5]] === "" || Number.isNaN(value)) {
      throw new TraceFormatError(`${file}:${i + 1}: bad value '${r[idx[5]] ?? ""}'`);
    }
    out.push({
      time,
      host: r[idx[1]],
      source: r[idx[2]],
      device: r[idx[3]],
      metric: r[idx[4]],
      value,
    });
  }
  return out;
}
