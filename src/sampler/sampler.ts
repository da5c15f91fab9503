/**
 * The sampler: one drift-free clock for all sensors.
 *
 * Tick k is due at start + k × interval (deadlines, not setInterval, which
 * drifts). Every sensor is read once per tick and every value of the tick
 * carries the same timestamp, taken from the clock when the tick really ran
 * (timers may fire early or late). A tick that overruns makes the next
 * deadlines that already passed be skipped (and counted), never bunched.
 * Rows go to the trace writer's memory; a segment is written right after a
 * tick, so it delays no reading.
 */
import type { Channel, Sensor } from "../sensors/types.ts";
import { nowUs } from "./clock.ts";
import { TickStats } from "./stats.ts";
import { seriesKey } from "../trace/schema.ts";

interface Bound {
  sensor: Sensor;
  /** Read errors seen, by message (noted once each, then counted). */
  errors: Map<string, { count: number; note: { message: string } }>;
  values: Float64Array;
  series: Int32Array;
  /** Last finite value per channel and the tick time it was read (0: never). */
  lastGood: Float64Array;
  lastGoodUs: Float64Array;
}

/** Where the rows of each tick go: the trace writer, or a sink that keeps nothing (`serve` without `--out`). */
export interface RowSink {
  seriesId(source: string, device: string, metric: string): number;
  append(timeUs: number, series: number, value: number): void;
  /** Write a segment when one is due; called right after a tick. */
  maybeFlush(): boolean;
}

/** A sink that drops rows (for exporters that only need the latest values). */
export class NullSink implements RowSink {
  #n = 0;
  seriesId(_source: string, _device: string, _metric: string): number {
    return this.#n++;
  }
  append(_timeUs: number, _series: number, _value: number): void {}
  maybeFlush(): boolean {
    return false;
  }
}

/** The latest value of every channel, for live status lines and exporters. */
export interface LatestValue {
  channel: Channel;
  value: number;
  timeUs: number;
}

/** A tick whose timer fires at most this early (µs) runs at once; its time is still the clock's. */
const EARLY_OK_US = 1000;

export class Sampler {
  readonly stats = new TickStats();
  readonly intervalUs: number;
  #bound: Bound[];
  #writer: RowSink;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #startUs = 0;
  #k = 0;
  #latest: Map<string, LatestValue> = new Map();
  #onTick?: (timeUs: number) => void;

  constructor(
    sensors: Sensor[],
    writer: RowSink,
    intervalMs: number,
    onTick?: (timeUs: number) => void,
  ) {
    this.intervalUs = intervalMs * 1000;
    this.#writer = writer;
    this.#onTick = onTick;
    this.#bound = sensors.map((sensor) => ({
      sensor,
      errors: new Map(),
      values: new Float64Array(sensor.channels.length),
      lastGood: new Float64Array(sensor.channels.length),
      lastGoodUs: new Float64Array(sensor.channels.length),
      series: Int32Array.from(
        sensor.channels,
        (c) => writer.seriesId(c.source, c.device, c.metric),
      ),
    }));
  }

  get sensors(): Sensor[] {
    return this.#bound.map((b) => b.sensor);
  }

  /** Start ticking; the first tick runs at once. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#startUs = nowUs();
    this.#k = 0;
    this.#tick();
  }

  /** Stop the clock and take one last sample so the run's end is in the trace. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.sampleOnce(nowUs());
  }

  /** Read every sensor once at `timeUs` and hand the rows to the writer. */
  sampleOnce(timeUs: number): void {
    const w = this.#writer;
    for (const b of this.#bound) {
      b.values.fill(NaN);
      try {
        b.sensor.read(b.values, timeUs);
      } catch (e) {
        this.#noteError(b, (e as Error).message);
        continue;
      }
      const { values, series, lastGood, lastGoodUs } = b;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (v === v) { // v === v: not NaN
          w.append(timeUs, series[i], v);
          lastGood[i] = v;
          lastGoodUs[i] = timeUs;
        }
      }
    }
  }

  #noteError(b: Bound, message: string): void {
    const seen = b.errors.get(message);
    if (seen) {
      seen.count++;
      seen.note.message = `read failed ${seen.count} times: ${message}`;
      return;
    }
    const note = {
      source: b.sensor.source,
      status: "error" as const,
      message: `read failed: ${message}`,
    };
    b.sensor.notes.push(note);
    b.errors.set(message, { count: 1, note });
  }

  /**
   * Latest finite value per channel (`source/device/metric` → value) with the
   * time it was read. Kept at every tick, so a channel whose latest read failed
   * still shows its previous value (its `timeUs` then tells how old it is).
   */
  latest(): Map<string, LatestValue> {
    for (const b of this.#bound) {
      b.sensor.channels.forEach((c, i) => {
        const t = b.lastGoodUs[i];
        if (t === 0) return;
        const key = seriesKey(c.source, c.device, c.metric);
        const lv = this.#latest.get(key);
        if (lv) {
          lv.value = b.lastGood[i];
          lv.timeUs = t;
        } else this.#latest.set(key, { channel: c, value: b.lastGood[i], timeUs: t });
      });
    }
    return this.#latest;
  }

  #tick = (): void => {
    if (!this.#running) return;
    const deadline = this.#startUs + this.#k * this.intervalUs;
    let t = nowUs();
    if (t < deadline - EARLY_OK_US) {
      // timer fired well before the deadline: wait for it rather than sample early
      this.#timer = setTimeout(this.#tick, (deadline - t) / 1000);
      return;
    }
    // Within EARLY_OK_US before the deadline the tick runs at once: a timer
    // re-armed for less than a millisecond fires a millisecond or more late
    // (measured: p50 lateness 1.2 ms at 100 ms), so waiting makes it worse.
    this.sampleOnce(t);
    const readUs = nowUs() - t;
    // jitter is the distance to the deadline, early or late
    this.stats.record(Math.abs(t - deadline), readUs);
    this.#writer.maybeFlush();
    this.#onTick?.(t);
    // next deadline in the future; deadlines that passed are skipped, not bunched
    this.#k++;
    t = nowUs();
    let next = this.#startUs + this.#k * this.intervalUs;
    if (next <= t) {
      const behind = Math.floor((t - next) / this.intervalUs) + 1;
      this.stats.skipped += behind;
      this.#k += behind;
      next = this.#startUs + this.#k * this.intervalUs;
    }
    this.#timer = setTimeout(this.#tick, Math.max(0, (next - t) / 1000));
  };
}
