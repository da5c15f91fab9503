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
  /** Exact statistics of every sample read (also when the points below were reduced). */
  stats?: SeriesStats;
  /**
   * True when `times`/`values` keep only the first, lowest, highest and last
   * sample of each time bucket (traces too large to hold whole); numbers must
   * then come from `stats`.
   */
  reduced?: boolean;
}

/** Statistics of all samples of a series, gathered while streaming. */
export interface SeriesStats {
  n: number;
  min: number;
  max: number;
  sum: number;
  /** Trapezoid integral of the values over time, value × seconds. */
  integral: number;
  first: number;
  last: number;
  /** First and last sample times, unix µs. */
  t0: number;
  t1: number;
}

/** Options of `readTrace`. */
export interface ReadOptions {
  /**
   * Above this many rows the trace is not held whole: each series keeps the
   * first, lowest, highest and last sample of each of `buckets` time buckets
   * (peaks and counter end points stay exact; sums and integrals come from
   * `stats`). Default 10 M rows.
   */
  reduceAboveRows?: number;
  /** Time buckets per series when reducing (default 16,384: at most 4 × that many points). */
  buckets?: number;
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

/** Rows and time range of a Parquet trace from its metadata alone (no data read). */
async function parquetExtent(
  files: string[],
): Promise<{ rows: number; t0: number; t1: number } | undefined> {
  let rows = 0, t0 = Infinity, t1 = -Infinity;
  for (const f of files) {
    const md = await parquetMetadataAsync(await asyncBufferFromFile(f));
    rows += Number(md.num_rows);
    for (const rg of md.row_groups) {
      const st = rg.columns.find((c) => c.meta_data?.path_in_schema?.[0] === "time")?.meta_data
        ?.statistics;
      const lo = st?.min_value as unknown, hi = st?.max_value as unknown;
      const us = (x: unknown) =>
        x instanceof Date ? x.getTime() * 1000 : typeof x === "bigint" ? Number(x) : NaN;
      if (!Number.isFinite(us(lo)) || !Number.isFinite(us(hi))) return undefined;
      t0 = Math.min(t0, us(lo));
      t1 = Math.max(t1, us(hi) + 1000); // statistics may be rounded to ms
    }
  }
  return Number.isFinite(t0) ? { rows, t0, t1 } : undefined;
}

/** One series while the trace streams by: exact stats, and all points or bucketed ones. */
class SeriesAcc {
  t = new DoubleColumn();
  v = new DoubleColumn();
  stats: SeriesStats = {
    n: 0,
    min: Infinity,
    max: -Infinity,
    sum: 0,
    integral: 0,
    first: NaN,
    last: NaN,
    t0: NaN,
    t1: NaN,
  };
  // bucket state (reducing only): first, min, max, last of the current bucket
  #b = -1;
  #bt = new Float64Array(4);
  #bv = new Float64Array(4);

  constructor(readonly s: Series, readonly grid?: { t0: number; width: number }) {}

  push(t: number, v: number): void {
    const st = this.stats;
    if (st.n === 0) {
      st.first = v;
      st.t0 = t;
    } else if (t > st.t1) st.integral += ((v + st.last) / 2) * ((t - st.t1) / 1e6);
    st.n++;
    st.sum += v;
    if (v < st.min) st.min = v;
    if (v > st.max) st.max = v;
    st.last = v;
    st.t1 = t;
    if (!this.grid) {
      this.t.push(t);
      this.v.push(v);
      return;
    }
    const b = Math.floor((t - this.grid.t0) / this.grid.width);
    const bt = this.#bt, bv = this.#bv;
    if (b !== this.#b) {
      this.flush();
      this.#b = b;
      bt.fill(t);
      bv.fill(v);
      return;
    }
    if (v < bv[1]) {
      bt[1] = t;
      bv[1] = v;
    }
    if (v > bv[2]) {
      bt[2] = t;
      bv[2] = v;
    }
    bt[3] = t;
    bv[3] = v;
  }

  /** Write the current bucket's points in time order, each once. */
  flush(): void {
    if (this.#b < 0) return;
    const bt = this.#bt, bv = this.#bv;
    const order = [0, 1, 2, 3].sort((x, y) => bt[x] - bt[y] || x - y);
    let lastT = NaN;
    for (const k of order) {
      if (bt[k] === lastT) continue;
      lastT = bt[k];
      this.t.push(bt[k]);
      this.v.push(bv[k]);
    }
    this.#b = -1;
  }
}

/** Read a whole trace into series (for reports and analysis of ordinary size). */
export async function readTrace(path: string, opts: ReadOptions = {}): Promise<Trace> {
  const location = locateTrace(path);
  const meta = await readMeta(location);
  let grid: { t0: number; width: number } | undefined;
  if (location.format === "parquet") {
    const ext = await parquetExtent(location.files).catch(() => undefined);
    if (ext && ext.rows > (opts.reduceAboveRows ?? 10_000_000) && ext.t1 > ext.t0) {
      grid = { t0: ext.t0, width: (ext.t1 - ext.t0) / (opts.buckets ?? 16_384) };
    }
  }
  const acc = new Map<string, SeriesAcc>();
  let rows = 0;
  for await (const c of scanTrace(location)) {
    const n = c.value.length;
    rows += n;
    // rows come grouped by series: look the series up only when it changes
    let h = "", so = "", d = "", m = "";
    let cur: SeriesAcc | undefined;
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
          acc.set(k, cur = new SeriesAcc(s, grid));
        }
      }
      cur.push(time[i], value[i]);
    }
  }
  const series: Series[] = [];
  // The series of one device are sampled in the same ticks: they share one
  // times array (half the memory of a long trace).
  const sharedTimes = new Map<string, Float64Array[]>();
  for (const a of acc.values()) {
    a.flush();
    const { s, t, v } = a;
    s.stats = a.stats;
    if (grid) s.reduced = true;
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
