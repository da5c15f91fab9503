/**
 * The events file: created in the run folder, its path given to the command
 * as AIMETER_EVENTS, tailed by offset during the run (at most every 200 ms,
 * a bounded number of bytes per tick) and read to the end when the command
 * has ended.
 */
import type { Attachment, SessionContext } from "../recorder/attachment.ts";
import { nowUs } from "../sampler/clock.ts";
import { MAX_LINE, parseEventLine } from "./events.ts";
import type { RowSinkLike, WorkloadRecorder } from "./recorder.ts";

/** Least time between two reads during the run. */
export const READ_EVERY_US = 200_000;
/** Most bytes read in one tick (the rest waits for the next). */
export const READ_PER_TICK = 1 << 20;

function absolute(path: string): string {
  if (path.startsWith("/")) return path;
  return `${Deno.cwd()}/${path}`.replace(/\/\.\//g, "/");
}

/** Reads a growing file of lines by offset; hands complete lines to `onLine`. */
export class LineTail {
  #file: Deno.FsFile;
  #offset = 0;
  #rest = "";
  #skipping = false;
  #decoder = new TextDecoder();
  #buf = new Uint8Array(64 * 1024);

  constructor(
    readonly path: string,
    private onLine: (line: string, timeUs: number) => void,
    private onOverlong: (length: number) => void,
  ) {
    this.#file = Deno.openSync(path, { read: true });
  }

  /** Read up to `maxBytes` new bytes; returns whether more is waiting. */
  read(timeUs: number, maxBytes = Infinity): boolean {
    const size = this.#file.statSync().size;
    if (size < this.#offset) {
      // truncated by the workload: start again
      this.#offset = 0;
      this.#rest = "";
    }
    let budget = maxBytes;
    while (this.#offset < size && budget > 0) {
      const want = Math.min(this.#buf.length, size - this.#offset, budget);
      this.#file.seekSync(this.#offset, Deno.SeekMode.Start);
      const n = this.#file.readSync(this.#buf.subarray(0, want));
      if (!n) break;
      this.#offset += n;
      budget -= n;
      this.#take(this.#decoder.decode(this.#buf.subarray(0, n), { stream: true }), timeUs);
    }
    return this.#offset < size;
  }

  #take(text: string, timeUs: number): void {
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf("\n", start)) >= 0) {
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.#skipping) {
        this.#skipping = false;
        this.#rest = "";
        continue;
      }
      const line = this.#rest + piece;
      this.#rest = "";
      this.onLine(line, timeUs);
    }
    if (this.#skipping) return;
    this.#rest += text.slice(start);
    if (this.#rest.length > MAX_LINE) {
      this.onOverlong(this.#rest.length);
      this.#rest = "";
      this.#skipping = true;
    }
  }

  /** Hand over a last line that has no newline. */
  end(timeUs: number): void {
    const tail = this.#rest + this.#decoder.decode();
    this.#rest = "";
    if (tail.trim() && !this.#skipping) this.onLine(tail, timeUs);
  }

  close(): void {
    try {
      this.#file.close();
    } catch { /* closed */ }
  }
}

export class EventsFileAttachment implements Attachment {
  name = "events";
  #tail?: LineTail;
  #lastReadUs = 0;
  #recorder?: WorkloadRecorder;

  constructor(
    private getRecorder: (w: RowSinkLike) => WorkloadRecorder,
    private path?: string,
  ) {}

  prepare(ctx: SessionContext): Record<string, string> {
    const rec = this.#recorder = this.getRecorder(ctx.writer);
    const path = absolute(this.path ?? `${ctx.dir}/events.jsonl`);
    Deno.writeTextFileSync(path, "");
    rec.eventsFile = path;
    rec.inputs.push("events");
    this.#tail = new LineTail(
      path,
      (line, t) => {
        const ev = parseEventLine(line, t);
        if (ev) rec.apply(ev, "events", line);
      },
      (len) =>
        rec.badLine("events", `line too long (over ${len} characters, limit ${MAX_LINE})`, ""),
    );
    return { AIMETER_EVENTS: path };
  }

  onTick(timeUs: number): void {
    if (!this.#tail || timeUs - this.#lastReadUs < READ_EVERY_US) return;
    this.#lastReadUs = timeUs;
    try {
      this.#tail.read(timeUs, READ_PER_TICK);
    } catch {
      // the file went away or is unreadable: finish() says so
    }
  }

  finish(ctx: SessionContext): void {
    const t = nowUs();
    if (this.#tail) {
      try {
        this.#tail.read(t);
        this.#tail.end(t);
      } catch (e) {
        this.#recorder?.badLine(
          "events",
          `cannot read the events file: ${(e as Error).message}`,
          "",
        );
      }
      this.#tail.close();
    }
    this.#recorder?.save(ctx, t);
  }
}
