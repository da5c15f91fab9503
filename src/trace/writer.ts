/**
 * The crash-safe trace writer.
 *
 * Rows collect in memory and are written out as complete segments at least
 * every `segmentSeconds` (5 s): a Parquet segment is a whole, valid Parquet
 * file (`trace.parts/seg-000001.parquet`, written to a temporary name and
 * renamed), a CSV segment is whole lines appended to `trace.csv`. A SIGKILL
 * therefore loses at most the rows since the last segment, and everything
 * before stays readable. `finalize()` merges the Parquet segments, row group
 * by row group, into `trace.parquet` and removes the parts.
 */
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { fileWriter } from "hyparquet-writer";
import { RowBatch, SeriesTable } from "./batch.ts";
import {
  batchColumns,
  chunkColumns,
  encodeSegment,
  openParquet,
  writeRowGroup,
} from "./parquet_codec.ts";
import { batchToCsv, CSV_HEADER } from "./csv_codec.ts";
import { META_KEY, type TraceFormat, type TraceMeta } from "./schema.ts";
import { listSegments, readParquetColumns } from "./reader.ts";

export const PARTS_DIR = "trace.parts";

export interface TraceWriterOptions {
  dir: string;
  format: TraceFormat;
  meta: TraceMeta;
  /** Longest time rows wait in memory (default 5 s). */
  segmentSeconds?: number;
  /**
   * Most rows a segment holds (default 16,384): at fast intervals with many
   * devices a segment is written before 5 s, so encoding it stays shorter than
   * a tick and memory stays small.
   */
  segmentRows?: number;
}

export class TraceWriter {
  readonly series = new SeriesTable();
  readonly dir: string;
  readonly format: TraceFormat;
  meta: TraceMeta;
  rowsWritten = 0;
  bytesWritten = 0;
  #batch = new RowBatch();
  #segment = 0;
  #lastFlushMs = performance.now();
  #segmentMs: number;
  #segmentRows: number;
  #csvFd: number | undefined;
  #finalized = false;

  constructor(opts: TraceWriterOptions) {
    this.dir = opts.dir;
    this.format = opts.format;
    this.meta = opts.meta;
    this.#segmentMs = (opts.segmentSeconds ?? 5) * 1000;
    this.#segmentRows = opts.segmentRows ?? 16_384;
    Deno.mkdirSync(this.dir, { recursive: true });
    this.writeMeta();
    if (this.format === "csv") {
      this.#csvFd = openSync(`${this.dir}/trace.csv`, "w");
      writeSync(this.#csvFd, CSV_HEADER);
    } else {
      Deno.mkdirSync(`${this.dir}/${PARTS_DIR}`, { recursive: true });
    }
  }

  get path(): string {
    return `${this.dir}/trace.${this.format}`;
  }

  /** The series index for a (source, device, metric) triple. */
  seriesId(source: string, device: string, metric: string): number {
    return this.series.id(source, device, metric);
  }

  append(timeUs: number, series: number, value: number): void {
    this.#batch.push(timeUs, series, value);
  }

  /** Rows waiting for the next segment. */
  get pending(): number {
    return this.#batch.length;
  }

  /** Write a segment if the last one is older than the segment period, or full. */
  maybeFlush(): boolean {
    if (
      this.#batch.length < this.#segmentRows &&
      performance.now() - this.#lastFlushMs < this.#segmentMs
    ) return false;
    this.flush();
    return true;
  }

  /** Write what is pending as one complete segment. */
  flush(): void {
    this.#lastFlushMs = performance.now();
    if (this.#batch.length === 0 || this.#finalized) return;
    const batch = this.#batch.take();
    this.rowsWritten += batch.length;
    if (this.format === "csv") {
      const text = batchToCsv(batch, this.series.list, this.meta.host);
      const bytes = new TextEncoder().encode(text);
      writeSync(this.#csvFd!, bytes);
      fsyncSync(this.#csvFd!);
      this.bytesWritten += bytes.length;
      return;
    }
    const cols = batchColumns(batch, this.series.list, this.meta.host);
    const bytes = encodeSegment(cols, { [META_KEY]: JSON.stringify(this.meta) });
    const name = `${this.dir}/${PARTS_DIR}/seg-${String(++this.#segment).padStart(6, "0")}.parquet`;
    Deno.writeFileSync(name + ".tmp", bytes);
    Deno.renameSync(name + ".tmp", name);
    this.bytesWritten += bytes.length;
  }

  writeMeta(): void {
    const tmp = `${this.dir}/meta.json.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(this.meta, null, 2) + "\n");
    Deno.renameSync(tmp, `${this.dir}/meta.json`);
  }

  /**
   * Flush, then turn the segments into the final trace file. Safe to call twice.
   * Returns the path of the trace.
   */
  async finalize(update: Partial<TraceMeta> = {}): Promise<string> {
    if (this.#finalized) return this.path;
    this.meta = { ...this.meta, ...update };
    this.flush();
    this.#finalized = true;
    this.writeMeta();
    if (this.format === "csv") {
      closeSync(this.#csvFd!);
      return this.path;
    }
    await mergeSegments(this.dir, this.meta);
    return this.path;
  }
}

/**
 * Merge `trace.parts/seg-*.parquet` into `trace.parquet` (one row group per
 * segment, streamed to disk), then remove the parts. Also used by `aimeter
 * report` / `slurm epilog` to finish a trace whose recorder was killed.
 */
export async function mergeSegments(dir: string, meta: TraceMeta): Promise<void> {
  const segments = listSegments(`${dir}/${PARTS_DIR}`);
  const out = `${dir}/trace.parquet`;
  const tmp = out + ".tmp";
  const fw = fileWriter(tmp);
  const pw = openParquet(fw, { [META_KEY]: JSON.stringify(meta) });
  for (const seg of segments) {
    for await (const c of readParquetColumns(seg)) writeRowGroup(pw, chunkColumns(c));
  }
  pw.finish();
  Deno.renameSync(tmp, out);
  Deno.removeSync(`${dir}/${PARTS_DIR}`, { recursive: true });
}
