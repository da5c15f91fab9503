/**
 * The workload events protocol (DESIGN.md): one JSON object per line,
 *
 *   {"time": 1767225600.25, "step": 120, "loss": 2.31, "samples_per_s": 812.5}
 *   {"phase": "eval"}            starts a phase ({"phase": null} ends the current one)
 *   {"mark": "checkpoint saved"} an annotation
 *
 * `time` is unix seconds (optional: default is when aimeter reads the line);
 * every other key with a finite number is a metric; a nested object one level
 * deep is flattened (`{"eval": {"loss": 1}}` → `eval_loss`). Strings, booleans
 * and nulls of other keys are ignored. A line that is not a JSON object, is
 * too long, or holds a non-finite number (Python's json writes `NaN`) is a
 * bad line: counted and reported, never fatal; the finite numbers of a line
 * with a NaN are still kept.
 */
import { sanitizeMetricName } from "./names.ts";

/** Longest line accepted (bytes of UTF-16, close enough). */
export const MAX_LINE = 64 * 1024;
/** Most metrics taken from one line. */
export const MAX_METRICS_PER_LINE = 256;
/** Longest phase name / mark text kept. */
export const MAX_TEXT = 500;

export interface ParsedEvent {
  /** Unix µs. */
  timeUs: number;
  metrics: [name: string, value: number][];
  /** A phase starts (string) or the current phase ends (null); undefined: no phase key. */
  phase?: string | null;
  mark?: string;
  /** Set when the line was partly or wholly unusable. */
  bad?: string;
}

/** Replace bare NaN / Infinity tokens (outside strings) by null, so the rest of the line is kept. */
function nullNonFinite(text: string): string | undefined {
  let out = "";
  let inStr = false;
  let changed = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') {
      inStr = true;
      out += c;
      continue;
    }
    const rest = text.slice(i, i + 9);
    const m = /^-?(NaN|Infinity)/.exec(rest);
    if (m) {
      out += "null";
      i += m[0].length - 1;
      changed = true;
      continue;
    }
    out += c;
  }
  return changed ? out : undefined;
}

/** Plausible unix seconds → µs; otherwise undefined (the read time is used). */
function eventTime(v: unknown, nowUs: number): number | undefined {
  if (typeof v !== "number" || !Number.isFinite(v)) return undefined;
  let us = v * 1e6;
  if (v > 1e11) us = v * 1e3; // milliseconds, a common slip
  // more than a day away from now is a wrong clock or a unit slip: ignore it
  if (Math.abs(us - nowUs) > 86400e6) return undefined;
  return us;
}

function textOf(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) + "…" : s;
}

/** Parse one line of the events file. Empty lines give `undefined`. */
export function parseEventLine(line: string, nowUs: number): ParsedEvent | undefined {
  const text = line.trim();
  if (!text) return undefined;
  const ev: ParsedEvent = { timeUs: nowUs, metrics: [] };
  if (text.length > MAX_LINE) {
    ev.bad = `line too long (${text.length} characters, limit ${MAX_LINE})`;
    return ev;
  }
  let obj: unknown;
  const nonFinite: string[] = [];
  try {
    obj = JSON.parse(text);
  } catch {
    const fixed = nullNonFinite(text);
    if (fixed !== undefined) {
      try {
        obj = JSON.parse(fixed);
        nonFinite.push("NaN/Infinity");
      } catch {
        // still not JSON
      }
    }
    if (obj === undefined) {
      ev.bad = "not JSON";
      return ev;
    }
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    ev.bad = "not a JSON object";
    return ev;
  }
  const o = obj as Record<string, unknown>;
  const t = eventTime(o.time ?? o.timestamp, nowUs);
  if (t !== undefined) ev.timeUs = t;
  let tooMany = false;
  const add = (key: string, v: unknown) => {
    if (typeof v === "number") {
      if (!Number.isFinite(v)) {
        nonFinite.push(key);
        return;
      }
      const name = sanitizeMetricName(key);
      if (!name) return;
      if (ev.metrics.length >= MAX_METRICS_PER_LINE) {
        tooMany = true;
        return;
      }
      ev.metrics.push([name, v]);
    }
  };
  for (const [k, v] of Object.entries(o)) {
    if (k === "time" || k === "timestamp") continue;
    if (k === "phase") {
      ev.phase = v === null || v === "" || v === false ? null : textOf(v);
      continue;
    }
    if (k === "mark") {
      if (v !== null && v !== undefined && v !== "") ev.mark = textOf(v);
      continue;
    }
    if (v && typeof v === "object" && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) add(`${k}_${k2}`, v2);
    } else add(k, v);
  }
  if (nonFinite.length) {
    const which = nonFinite.filter((k) => k !== "NaN/Infinity");
    ev.bad = `non-finite number${which.length ? ` for ${which.join(", ")}` : " (NaN/Infinity)"}` +
      " (dropped)";
  } else if (tooMany) {
    ev.bad = `more than ${MAX_METRICS_PER_LINE} metrics on one line (rest dropped)`;
  }
  return ev;
}
