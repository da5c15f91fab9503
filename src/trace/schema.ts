/**
 * The trace: long ("tidy") rows {time, host, source, device, metric, value},
 * as contracted in the README. Here: the column names, the Parquet schema and
 * the run metadata that travels with every trace.
 */

export const TRACE_COLUMNS = ["time", "host", "source", "device", "metric", "value"] as const;

export type TraceFormat = "parquet" | "csv";

/** Run metadata; stored as Parquet key-value metadata and in `meta.json` beside the trace. */
export interface TraceMeta {
  schema: "aimeter/trace@1";
  aimeter_version: string;
  host: string;
  /** The wrapped command (`run`), or [] for `record`. */
  command: string[];
  /** ISO-8601 UTC. */
  start: string;
  interval_s: number;
  mode: "run" | "record" | "serve" | "slurm";
  cpu_model?: string;
  gpu_models?: string[];
  driver_versions?: Record<string, string>;
  slurm?: Record<string, string>;
  /** Per device: name, uuid, energy method, total; see `DeviceInfo`. */
  devices?: unknown[];
  /** Sensor notes (missing sources, fixes). */
  notes?: unknown[];
  /** Filled at the end of a run. */
  end?: string;
  exit_code?: number | null;
  /** Anything a later stage wants to carry (workload phases, marks, ...). */
  extra?: Record<string, unknown>;
}

/** Parquet schema of the trace (hyparquet SchemaElement form). */
export const PARQUET_SCHEMA = [
  { name: "root", num_children: 6 },
  {
    name: "time",
    type: "INT64",
    repetition_type: "REQUIRED",
    converted_type: "TIMESTAMP_MICROS",
    logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MICROS" },
  },
  { name: "host", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
  { name: "source", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
  { name: "device", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
  { name: "metric", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
  { name: "value", type: "DOUBLE", repetition_type: "REQUIRED" },
  // deno-lint-ignore no-explicit-any
] as any[];

/** `source/device/metric`: how the report and analysis name a series. */
export function seriesKey(source: string, device: string, metric: string): string {
  return `${source}/${device}/${metric}`;
}

/** The key-value metadata key under which TraceMeta is stored in Parquet. */
export const META_KEY = "aimeter.meta";
