/**
 * Reading traces back: a finished `trace.parquet` / `trace.csv`, a run folder,
 * or the segments of an unfinished run (`trace.parts/`, left by a crash or a
 * SIGKILL). Parquet is streamed row group by row group, so a reader that only
 * aggregates never holds the whole trace as objects.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead } from "hyparquet";
import { zstdDecompressSync } from "node:zlib";
import { parseCsvTrace, TraceFormatError } from "./csv_codec.ts";
import { META_KEY, type TraceMeta } from "./schema.ts";

export { TraceFormatError };

const DECOMPRESSORS = {
  ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompressSync(input)),
};
const PARSERS = { timestampFromMicroseconds: (v: bigint | number) => v };

/** Segment files of an unfinished Parquet trace, in order. */
export function listSegments(partsDir: string): string[] {
  let names: string[];
  try {
    names = [...Deno.readDirSync(partsDir)].map((e) => e.name);
  } catch {
    return [];
  }
  return names.filter((n) => /^seg-\d+\.parquet$/.test(n)).sort().map((n) => `${partsDir}/${n}`);
}

/** Concatenate the chunks hyparquet hands over for one column of one row group. */
function joinChunks(parts: ArrayLike<unknown>[], n: number): ArrayLike<unknown> {
  if (parts.length === 1 && parts[0].length === n) return parts[0];
  const out = new Array(n);
  let k = 0;
  for (const p of parts) for (let i = 0; i < p.length && k < n; i++) out[k++] = p[i];
  return out;
}

/** Row groups of one Parquet trace file as columns (times as unix µs numbers). */
export async function* readParquetColumns(file: string): AsyncGenerator<RowChunk> {
  let buf;
  let metadata;
  try {
    buf = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buf);
  } catch (e) {
    throw new TraceFormatError(`${file}: not a readable Parquet file (${(e as Error).message})`);
  }
  const names = metadata.schema.slice(1).map((s) => s.name);
  for (const col of ["time", "host", "source", "device", "metric", "value"]) {
    if (!names.includes(col)) {
      throw new TraceFormatError(`${file}: not an aimeter trace (no '${col}' column)`);
    }
  }
  let rowStart = 0;
  for (const rg of metadata.row_groups) {
    const n = Number(rg.num_rows);
    const parts: Record<string, ArrayLike<unknown>[]> = {};
    await parquetRead({
      file: buf,
      metadata,
      rowStart,
      rowEnd: rowStart + n,
      columns: ["time", "host", "source", "device", "metric", "value"],
      compressors: DECOMPRESSORS,
      // deno-lint-ignore no-explicit-any
      parsers: PARSERS as any,
      onChunk: (chunk) => {
        (parts[chunk.columnName] ??= []).push(chunk.columnData as ArrayLike<unknown>);
      },
    });
    rowStart += n;
    const t = joinChunks(parts.time ?? [], n) as ArrayLike<bigint | number>;
    const v = joinChunks(parts.value ?? [], n) as ArrayLike<number>;
    const time = new Float64Array(n);
    for (let i = 0; i < n; i++) time[i] = Number(t[i]);
    yield {
      time,
      host: joinChunks(parts.host ?? [], n) as string[],
      source: joinChunks(parts.source ?? [], n) as string[],
      device: joinChunks(parts.device ?? [], n) as string[],
      metric: joinChunks(parts.metric ?? [], n) as string[],
      value: v instanceof Float64Array ? v : Float64Array.from(v),
    };
  }
}

/** TraceMeta from a Parquet file's key-value metadata, if present. */
export async function parquetMeta(file: string): Promise<TraceMeta | undefined> {
  const buf = await asyncBufferFromFile(file);
  const md = await parquetMetadataAsync(buf);
  const kv = md.key_value_metadata?.find((e) => e.key === META_KEY);
  return kv?.value ? JSON.parse(kv.value) : undefined;
}

export interface TraceLocation {
  /** Files holding the rows, in order. */
  files: string[];
  format: "parquet" | "csv";
  /** The run folder, when the trace is in one. */
  dir?: string;
  /** False when only segments of an unfinished run were found. */
  complete: boolean;
}

/** Find the trace behind a path given by the user (file or run folder). */
export function locateTrace(path: string): TraceLocation {
  let stat: Deno.FileInfo;
  try {
    stat = Deno.statSync(path);
  } catch {
    throw new TraceFormatError(`${path}: no such file or folder`);
  }
  if (stat.isFile) {
    if (path.endsWith(".csv")) return { files: [path], format: "csv", complete: true };
    return { files: [path], format: "parquet", complete: true };
  }
  const dir = path.replace(/\/+$/, "");
  const exists = (p: string) => {
    try {
      Deno.statSync(p);
      return true;
    } catch {
      return false;
    }
  };
  if (exists(`${dir}/trace.parquet`)) {
    return { files: [`${dir}/trace.parquet`], format: "parquet", dir, complete: true };
  }
  const segs = listSegments(`${dir}/trace.parts`);
  if (segs.length) return { files: segs, format: "parquet", dir, complete: false };
  if (exists(`${dir}/trace.csv`)) {
    return {
      files: [`${dir}/trace.csv`],
      format: "csv",
      dir,
      complete: exists(`${dir}/summary.json`),
    };
  }
  if (dir.endsWith("trace.parts") && listSegments(dir).length) {
    return { files: listSegments(dir), format: "parquet", complete: false };
  }
  throw new TraceFormatError(
    `${path}: no trace here (looked for trace.parquet, trace.parts/, trace.csv)`,
  );
}

/** One time series of a trace. Times in unix µs, ascending. */
export interface Series {
  host: string;
  source: string;
  device: string;
  metric: string;
  /** `source/device/metric` */
  key: string;
  times: Float64Array;
  values: Float64Array;
}

export interface Trace {
  meta: TraceMeta | undefined;
  series: Series[];
  rows: number;
  location: TraceLocation;
}

/** A chunk of rows in column form, as streamed by `scanTrace`. */
export interface RowChunk {
  /** unix µs */
  time: ArrayLike<number>;
  host: ArrayLike<string>;
  source: ArrayLike<string>;
  device: ArrayLike<string>;
  metric: ArrayLike<string>;
  value: ArrayLike<number>;
}

/** Stream a trace chunk by chunk (a Parquet row group, or the whole CSV). */
export async function* scanTrace(loc: TraceLocation): AsyncGenerator<RowChunk> {
  if (loc.format === "csv") {
    let text: string;
    try {
      text = await Deno.readTextFile(loc.files[0]);
    } catch (e) {
      throw new TraceFormatError(`${loc.files[0]}: cannot read (${(e as Error).message})`);
    }
    const rows = parseCsvTrace(text, loc.files[0]);
    yield {
      time: rows.map((r) => r.time),
      host: rows.map((r) => r.host),
      source: rows.map((r) => r.source),
      device: rows.map((r) => r.device),
      metric: rows.map((r) => r.metric),
      value: rows.map((r) => r.value),
    };
    return;
  }
  for (const f of loc.files) yield* readParquetColumns(f);
}

/** The run metadata of a trace: meta.json beside it, else the Parquet key-value metadata. */
export async function readMeta(loc: TraceLocation): Promise<TraceMeta | undefined> {
  if (loc.dir) {
    try {
      return JSON.parse(await Deno.readTextFile(`${loc.dir}/meta.json`));
    } catch {
      // fall through to the file's own metadata
    }
  }
  if (loc.format === "parquet") {
    for (const f of loc.files) {
      const m = await parquetMeta(f).catch(() => undefined);
      if (m) return m;
    }
  }
  return undefined;
}

const BLOCK = 65_536;

/**
 * A growable column of doubles kept in fixed blocks (no JS arrays of numbers,
 * no doubling headroom): `done()` copies it once into an array of exact size.
 */
class DoubleColumn {
  #blocks: Float64Array[] = [];
  #cur = new Float64Array(256);
  #n = 0; // values in #cur
  length = 0;
  push(v: number): void {
    if (this.#n === this.#cur.length) {
      if (this.#cur.length < BLOCK) {
        const d = new Float64Array(this.#cur.length * 4);
        d.set(this.#cur);
        this.#cur = d;
      } else {
        this.#blocks.push(this.#cur);
        this.#cur = new Float64Array(BLOCK);
        this.#n = 0;
      }
    }
    this.#cur[this.#n++] = v;
    this.length++;
  }
  /** The values in one array of exact length; the column is empty afterwards. */
  done(): Float64Array {
    const out = new Float64Array(this.length);
    let k = 0;
    for (const b of this.#blocks) {
      out.set(b, k);
      k += b.length;
    }
    out.set(this.#cur.subarray(0, this.#n), k);
    this.#blocks = [];
    this.#cur = new Float64Array(0);
    return out;
  }
}

function sameValues(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Read a whole trace into series (for reports and analysis of ordinary size). */
export async function readTrace(path: string): Promise<Trace> {
  const location = locateTrace(path);
  const meta = await readMeta(location);
  const acc = new Map<string, { s: Series; t: DoubleColumn; v: DoubleColumn }>();
  let rows = 0;
  for await (const c of scanTrace(location)) {
    const n = c.value.length;
    rows += n;
    // rows come grouped by series: look the series up only when it changes
    let h = "", so = "", d = "", m = "";
    let cur: { s: Series; t: DoubleColumn; v: DoubleColumn } | undefined;
    const { time, value } = c;
    for (let i = 0; i < n; i++) {
      if (
        cur === undefined || c.metric[i] !== m || c.device[i] !== d || c.source[i] !== so ||
        c.host[i] !== h
      ) {
        h = c.host[i];
        so = c.source[i];
        d = c.device[i];
        m = c.metric[i];
        const k = `${h}\u0000${so}\u0000${d}\u0000${m}`;
        cur = acc.get(k);
        if (!cur) {
          const s: Series = {
            host: h,
            source: so,
            device: d,
            metric: m,
            key: `${so}/${d}/${m}`,
            times: new Float64Array(0),
            values: new Float64Array(0),
          };
          acc.set(k, cur = { s, t: new DoubleColumn(), v: new DoubleColumn() });
        }
      }
      cur.t.push(time[i]);
      cur.v.push(value[i]);
    }
  }
  const series: Series[] = [];
  // The series of one device are sampled in the same ticks: they share one
  // times array (half the memory of a long trace).
  const sharedTimes = new Map<string, Float64Array[]>();
  for (const { s, t, v } of acc.values()) {
    let times = t.done();
    const values = v.done();
    const group = `${s.host}\u0000${s.source}\u0000${s.device}`;
    const candidates = sharedTimes.get(group) ?? [];
    const same = candidates.find((c) => sameValues(c, times));
    if (same) times = same;
    else {
      candidates.push(times);
      sharedTimes.set(group, candidates);
    }
    let sorted = true;
    for (let i = 1; i < times.length; i++) {
      if (times[i] < times[i - 1]) {
        sorted = false;
        break;
      }
    }
    if (sorted) {
      s.times = times;
      s.values = values;
    } else {
      const order = Array.from({ length: times.length }, (_, i) => i);
      order.sort((a, b) => times[a] - times[b] || a - b);
      s.times = Float64Array.from(order, (i) => times[i]);
      s.values = Float64Array.from(order, (i) => values[i]);
    }
    series.push(s);
  }
  series.sort((a, b) =>
    a.host.localeCompare(b.host) || a.source.localeCompare(b.source) ||
    a.device.localeCompare(b.device, undefined, { numeric: true }) ||
    a.metric.localeCompare(b.metric)
  );
  return { meta, series, rows, location };
}
