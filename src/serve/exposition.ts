/**
 * Trace metrics → Prometheus / OpenMetrics exposition.
 *
 * Pure functions: the name and unit mapping (`mapMetric`), the escaping rules,
 * and rendering a list of metric families in either format. Nothing here
 * reads a sensor or a clock; `exporter.ts` builds the families from the
 * sampler's latest values.
 *
 * Formats:
 * - Prometheus text 0.0.4
 *   (https://prometheus.io/docs/instrumenting/exposition_formats/): `# HELP`,
 *   `# TYPE` with the full sample name (`aimeter_energy_joules_total counter`).
 * - OpenMetrics 1.0.0 (https://github.com/prometheus/OpenMetrics/blob/main/specification/OpenMetrics.md):
 *   `# TYPE`/`# UNIT` name the family without the `_total`/`_info` suffix,
 *   info metrics have type `info`, and the body ends with `# EOF`.
 *
 * Neither output carries timestamps: Prometheus stamps samples with the scrape
 * time, and node_exporter's textfile collector rejects timestamped samples.
 */

export type FamilyType = "gauge" | "counter" | "info";

export type Labels = [name: string, value: string][];

export interface Sample {
  labels: Labels;
  value: number;
}

export interface Family {
  /** Family name: for counters without `_total`, for info metrics without `_info`. */
  name: string;
  type: FamilyType;
  help: string;
  /** OpenMetrics unit; the family name must end with `_<unit>`. */
  unit?: string;
  samples: Sample[];
}

export type ExpositionFormat = "prometheus" | "openmetrics";

export const CONTENT_TYPE: Record<ExpositionFormat, string> = {
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

/** How one trace metric is exported. */
export interface MetricMapping {
  /** Family name (counters without `_total`). */
  family: string;
  type: "gauge" | "counter";
  help: string;
  unit?: string;
  /** Multiply the trace value by this (percent → ratio, MHz → Hz, ms → s). */
  scale: number;
  /** Labels the mapping adds (`clock="sm"`). */
  labels?: Labels;
}

export const PREFIX = "aimeter_";

/** NVML clock-event ("throttle") reason bits, nvml.h `nvmlClocksEventReason*`. */
export const THROTTLE_REASONS: readonly [bit: number, reason: string][] = [
  [0x1, "gpu_idle"],
  [0x2, "applications_clocks_setting"],
  [0x4, "sw_power_cap"],
  [0x8, "hw_slowdown"],
  [0x10, "sync_boost"],
  [0x20, "sw_thermal_slowdown"],
  [0x40, "hw_thermal_slowdown"],
  [0x80, "hw_power_brake_slowdown"],
];

/** Trace metrics with a hand-picked name; everything else goes through `genericMapping`. */
const KNOWN: Record<string, Omit<MetricMapping, "scale"> & { scale?: number }> = {
  energy_j: {
    family: "aimeter_energy_joules",
    type: "counter",
    unit: "joules",
    help: "Energy used since aimeter serve started (hardware counter where the device has one, " +
      "else the power integral; see aimeter_device_info energy_method).",
  },
  power_w: {
    family: "aimeter_power_watts",
    type: "gauge",
    unit: "watts",
    help:
      "Power draw (NVML: averaged over about one second; RAPL: energy delta over one interval).",
  },
  power_instant_w: {
    family: "aimeter_power_instant_watts",
    type: "gauge",
    unit: "watts",
    help: "Instantaneous power draw (NVML field value, Ampere and later).",
  },
  power_limit_w: {
    family: "aimeter_power_limit_watts",
    type: "gauge",
    unit: "watts",
    help: "Enforced power limit.",
  },
  util_pct: {
    family: "aimeter_utilization_ratio",
    type: "gauge",
    unit: "ratio",
    scale: 0.01,
    help:
      "Utilization, 0 to 1 (GPU: fraction of time a kernel was running; CPU: fraction of time not idle).",
  },
  mem_util_pct: {
    family: "aimeter_memory_utilization_ratio",
    type: "gauge",
    unit: "ratio",
    scale: 0.01,
    help: "Fraction of time device memory was being read or written, 0 to 1.",
  },
  mem_used_bytes: {
    family: "aimeter_memory_used_bytes",
    type: "gauge",
    unit: "bytes",
    help: "Memory in use.",
  },
  used_bytes: {
    family: "aimeter_memory_used_bytes",
    type: "gauge",
    unit: "bytes",
    help: "Memory in use.",
  },
  mem_total_bytes: {
    family: "aimeter_memory_total_bytes",
    type: "gauge",
    unit: "bytes",
    help: "Memory installed.",
  },
  total_bytes: {
    family: "aimeter_memory_total_bytes",
    type: "gauge",
    unit: "bytes",
    help: "Memory installed.",
  },
  rss_bytes: {
    family: "aimeter_memory_rss_bytes",
    type: "gauge",
    unit: "bytes",
    help: "Resident set size of the measured processes.",
  },
  cpu_pct: {
    family: "aimeter_cpu_cores",
    type: "gauge",
    scale: 0.01,
    help: "CPU time used by the measured processes, in cores (1 = one core busy).",
  },
  temp_c: {
    family: "aimeter_temperature_celsius",
    type: "gauge",
    unit: "celsius",
    help: "Temperature.",
  },
  process_count: {
    family: "aimeter_gpu_processes",
    type: "gauge",
    help: "Processes running on the GPU.",
  },
};

/** Suffix of a trace metric → suffix of the Prometheus name, unit and scale. */
const UNIT_SUFFIXES: [trace: string, prom: string, unit: string | undefined, scale: number][] = [
  ["_bytes_per_s", "_bytes_per_second", "bytes_per_second", 1],
  ["_per_s", "_per_second", undefined, 1],
  ["_pct", "_ratio", "ratio", 0.01],
  ["_mhz", "_hertz", "hertz", 1e6],
  ["_ms", "_seconds", "seconds", 1e-3],
  ["_us", "_seconds", "seconds", 1e-6],
  ["_s", "_seconds", "seconds", 1],
  ["_w", "_watts", "watts", 1],
  ["_j", "_joules", "joules", 1],
  ["_c", "_celsius", "celsius", 1],
  ["_bytes", "_bytes", "bytes", 1],
];

/** Make any string a valid metric name fragment (`[a-zA-Z0-9_]`, no leading digit). */
export function sanitizeName(s: string): string {
  const t = s.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[0-9]/.test(t) ? `_${t}` : t;
}

function genericMapping(metric: string): MetricMapping {
  let stem = sanitizeName(metric).toLowerCase();
  let suffix = "";
  let unit: string | undefined;
  let scale = 1;
  for (const [t, p, u, k] of UNIT_SUFFIXES) {
    if (stem.endsWith(t) && stem.length > t.length) {
      stem = stem.slice(0, -t.length);
      suffix = p;
      unit = u;
      scale = k;
      break;
    }
  }
  stem = stem.replace(/^mem_/, "memory_").replace(/^temp$/, "temperature");
  let family = `${PREFIX}${stem}${suffix}`;
  // a gauge named like a counter (or an OpenMetrics reserved suffix) confuses parsers and linters
  if (/_(total|created|info|count|sum|bucket)$/.test(family)) family += "_value";
  return {
    family,
    type: "gauge",
    unit,
    scale,
    help: `aimeter trace metric ${metric}${
      scale !== 1 ? ` (scaled by ${scale} to base units)` : ""
    }.`,
  };
}

/**
 * How the trace metric `metric` is exported. Clocks become one family with a
 * `clock` label; `throttle_reasons` is handled by the exporter (a bitmask
 * gauge plus one 0/1 series per known reason).
 */
export function mapMetric(metric: string): MetricMapping {
  const k = KNOWN[metric];
  if (k) return { ...k, scale: k.scale ?? 1 };
  const clock = /^([a-z0-9_]+)_clock_mhz$/.exec(metric);
  if (clock) {
    return {
      family: "aimeter_clock_hertz",
      type: "gauge",
      unit: "hertz",
      scale: 1e6,
      labels: [["clock", clock[1]]],
      help: 'Current clock frequency (clock="sm": streaming multiprocessors, "mem": memory).',
    };
  }
  return genericMapping(metric);
}

// ---------------------------------------------------------------- rendering

/** Label value escaping, both formats: backslash, double quote, newline. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP escaping: Prometheus text escapes backslash and newline; OpenMetrics also the double quote. */
export function escapeHelp(s: string, format: ExpositionFormat): string {
  const t = s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
  return format === "openmetrics" ? t.replace(/"/g, '\\"') : t;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function sampleName(f: Family): string {
  if (f.type === "counter") return `${f.name}_total`;
  if (f.type === "info") return `${f.name}_info`;
  return f.name;
}

function labelText(labels: Labels): string {
  if (labels.length === 0) return "";
  return `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

/**
 * Render families. `eof` (OpenMetrics only) appends the `# EOF` line; leave it
 * off to append more families later.
 */
export function render(
  families: readonly Family[],
  format: ExpositionFormat,
  opts: { eof?: boolean } = {},
): string {
  const out: string[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    const sname = sampleName(f);
    if (format === "openmetrics") {
      out.push(`# TYPE ${f.name} ${f.type}`);
      if (f.unit) out.push(`# UNIT ${f.name} ${f.unit}`);
      out.push(`# HELP ${f.name} ${escapeHelp(f.help, format)}`);
    } else {
      out.push(`# HELP ${sname} ${escapeHelp(f.help, format)}`);
      out.push(`# TYPE ${sname} ${f.type === "info" ? "gauge" : f.type}`);
    }
    for (const s of f.samples) out.push(`${sname}${labelText(s.labels)} ${formatValue(s.value)}`);
  }
  if (format === "openmetrics" && (opts.eof ?? true)) out.push("# EOF");
  return out.length ? out.join("\n") + "\n" : "";
}

// ---------------------------------------------------------------- content negotiation

/**
 * Pick the format for an `Accept` header: OpenMetrics when the client accepts
 * `application/openmetrics-text` at least as much as the text format (the
 * way Prometheus asks for it), else the Prometheus text format.
 */
export function negotiate(accept: string | null | undefined): ExpositionFormat {
  if (!accept) return "prometheus";
  let om = 0;
  let text = 0;
  for (const part of accept.split(",")) {
    const [type, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    let q = 1;
    let version: string | undefined;
    for (const p of params) {
      const [k, v] = p.split("=").map((s) => s.trim());
      if (k === "q") q = Number(v);
      if (k === "version") version = v;
    }
    if (!Number.isFinite(q) || q <= 0) continue;
    if (type === "application/openmetrics-text") {
      if (version === undefined || version === "1.0.0" || version === "0.0.1") om = Math.max(om, q);
    } else if (type === "text/plain" || type === "text/*" || type === "*/*") {
      text = Math.max(text, q);
    }
  }
  return om > 0 && om >= text ? "openmetrics" : "prometheus";
}
