/**
 * What one run learns about its workload, whichever way it arrives (events
 * file, stdout, scraper): metric rows go straight to the trace writer
 * (`source=workload`, `device=main`); phases, marks and bad lines are kept
 * here and end in the trace metadata (`meta.extra.workload`), so a report
 * made later from the trace alone has them.
 */
import type { SessionContext } from "../recorder/attachment.ts";
import type { ParsedEvent } from "./events.ts";

export const SOURCE = "workload";
export const DEVICE = "main";
/** Most distinct metric names per run (a runaway workload must not grow the trace without bound). */
export const MAX_METRIC_NAMES = 500;
export const MAX_MARKS = 10_000;
export const MAX_PHASES = 10_000;
export const MAX_BAD_EXAMPLES = 5;

export interface PhaseRecord {
  name: string;
  start_us: number;
  /** null while the phase is open. */
  end_us: number | null;
}

export interface MarkRecord {
  time_us: number;
  text: string;
}

export interface BadLine {
  source: string;
  reason: string;
  text: string;
}

/** `meta.extra.workload` (see the README (workload section)). */
export interface WorkloadExtra {
  phases: { name: string; start_us: number; end_us: number }[];
  marks: MarkRecord[];
  bad_lines: { count: number; examples: BadLine[] };
  /** Where metrics came from: events file, stdout, scrape URL. */
  inputs: string[];
  /** Metric name → counts of rows kept. */
  metric_rows: Record<string, number>;
  /** Scraped counters and what they count (tokens, requests ...). */
  counters?: Record<string, string>;
  scrape?: { url: string; ok: number; failed: number; last_error?: string };
  events_file?: string;
  dropped_marks?: number;
}

export interface RowSinkLike {
  seriesId(source: string, device: string, metric: string): number;
  append(timeUs: number, series: number, value: number): void;
}

export class WorkloadRecorder {
  readonly phases: PhaseRecord[] = [];
  readonly marks: MarkRecord[] = [];
  readonly bad: { count: number; examples: BadLine[] } = { count: 0, examples: [] };
  readonly inputs: string[] = [];
  readonly counters: Record<string, string> = {};
  scrape?: WorkloadExtra["scrape"];
  eventsFile?: string;
  #ids = new Map<string, number>();
  #rows = new Map<string, number>();
  #droppedMarks = 0;
  #tooManyNames = false;

  constructor(private sink: RowSinkLike) {}

  metric(name: string, timeUs: number, value: number): void {
    let id = this.#ids.get(name);
    if (id === undefined) {
      if (this.#ids.size >= MAX_METRIC_NAMES) {
        if (!this.#tooManyNames) {
          this.#tooManyNames = true;
          this.badLine(
            "aimeter",
            `more than ${MAX_METRIC_NAMES} metric names; '${name}' and later new names dropped`,
            "",
          );
        }
        return;
      }
      id = this.sink.seriesId(SOURCE, DEVICE, name);
      this.#ids.set(name, id);
    }
    this.sink.append(Math.round(timeUs), id, value);
    this.#rows.set(name, (this.#rows.get(name) ?? 0) + 1);
  }

  /** Start a phase (ends the open one); `null` only ends the open one. */
  phase(name: string | null, timeUs: number): void {
    const open = this.phases.at(-1);
    if (open && open.end_us === null) open.end_us = Math.max(open.start_us, timeUs);
    if (name === null) return;
    if (this.phases.length >= MAX_PHASES) return;
    this.phases.push({ name, start_us: Math.round(timeUs), end_us: null });
  }

  mark(text: string, timeUs: number): void {
    if (this.marks.length >= MAX_MARKS) {
      this.#droppedMarks++;
      return;
    }
    this.marks.push({ time_us: Math.round(timeUs), text });
  }

  badLine(source: string, reason: string, text: string): void {
    this.bad.count++;
    if (this.bad.examples.length < MAX_BAD_EXAMPLES) {
      this.bad.examples.push({
        source,
        reason,
        text: text.length > 200 ? text.slice(0, 200) + "…" : text,
      });
    }
  }

  /** Apply one parsed line (events protocol or stdout). */
  apply(ev: ParsedEvent, source: string, line: string): void {
    if (ev.bad) this.badLine(source, ev.bad, line);
    for (const [name, v] of ev.metrics) this.metric(name, ev.timeUs, v);
    if (ev.phase !== undefined) this.phase(ev.phase, ev.timeUs);
    if (ev.mark !== undefined) this.mark(ev.mark, ev.timeUs);
  }

  /** The block kept in the trace metadata; open phases end at `endUs`. */
  toExtra(endUs: number): WorkloadExtra {
    const phases = [...this.phases]
      .sort((a, b) => a.start_us - b.start_us)
      .map((p) => ({
        name: p.name,
        start_us: p.start_us,
        end_us: Math.round(p.end_us ?? Math.max(p.start_us, endUs)),
      }));
    return {
      phases,
      marks: [...this.marks].sort((a, b) => a.time_us - b.time_us),
      bad_lines: { count: this.bad.count, examples: this.bad.examples },
      inputs: this.inputs,
      metric_rows: Object.fromEntries(this.#rows),
      ...(Object.keys(this.counters).length ? { counters: this.counters } : {}),
      ...(this.scrape ? { scrape: this.scrape } : {}),
      ...(this.eventsFile ? { events_file: this.eventsFile } : {}),
      ...(this.#droppedMarks ? { dropped_marks: this.#droppedMarks } : {}),
    };
  }

  /** Put the block in the session's metadata (each attachment's finish calls this; the last wins). */
  save(ctx: SessionContext, endUs: number): void {
    ctx.extra.workload = this.toExtra(endUs);
  }
}
