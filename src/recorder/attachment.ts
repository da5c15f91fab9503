/**
 * Things that ride along a recording besides the hardware sensors: the
 * workload's events file, stdout parsers, scrapers of the workload's own
 * metrics, an exporter. Each gets the trace writer and the session's
 * lifecycle; none may block a tick.
 */
import type { TraceWriter } from "../trace/writer.ts";
import type { Sampler } from "../sampler/sampler.ts";

export interface SessionContext {
  dir: string;
  writer: TraceWriter;
  sampler: Sampler;
  quiet: boolean;
  /** Free-form metadata an attachment wants kept in the trace (`meta.extra`). */
  extra: Record<string, unknown>;
}

export interface Attachment {
  name: string;
  /** Before the command starts (the sampler is already running): environment variables for it. */
  prepare?(
    ctx: SessionContext,
  ): Promise<Record<string, string> | void> | Record<string, string> | void;
  /** A line of the command's stdout (only when some attachment asks for `tee`). */
  onStdoutLine?(line: string, timeUs: number): void;
  /** Wants the command's stdout copied through aimeter (the user still sees it unchanged). */
  teeStdout?: boolean;
  /** After every tick (cheap work only). */
  onTick?(timeUs: number): void;
  /** After the command ended, before the trace is finalized. */
  finish?(ctx: SessionContext): Promise<void> | void;
}
