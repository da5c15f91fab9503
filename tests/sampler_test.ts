import assert from "node:assert/strict";
import { NullSink, Sampler } from "../src/sampler/sampler.ts";
import type { Sensor } from "../src/sensors/types.ts";

/** A sensor that records when it was read and can be made slow. */
function probe(slowMsAt: (n: number) => number = () => 0) {
  const reads: number[] = [];
  const sensor: Sensor = {
    source: "probe",
    channels: [{ source: "probe", device: "d", metric: "x" }, {
      source: "probe",
      device: "d",
      metric: "y",
    }],
    devices: [],
    notes: [],
    read(values, timeUs) {
      reads.push(timeUs);
      const slow = slowMsAt(reads.length);
      if (slow) {
        const end = performance.now() + slow;
        while (performance.now() < end) { /* busy */ }
      }
      values[0] = reads.length;
      values[1] = NaN; // no value this tick: no row
    },
    close() {},
  };
  return { sensor, reads };
}

class CountingSink extends NullSink {
  rows: [number, number, number][] = [];
  override append(t: number, s: number, v: number) {
    this.rows.push([t, s, v]);
  }
}

Deno.test("the sampler keeps to its deadlines without drift", async () => {
  const { sensor, reads } = probe();
  const sink = new CountingSink();
  const s = new Sampler([sensor], sink, 20);
  s.start();
  await new Promise((r) => setTimeout(r, 1010));
  s.stop();
  const ticks = reads.slice(0, -1); // the last read is the one taken at stop()
  // 0..1000 ms at 20 ms: 51 deadlines; a loaded machine may skip a few, never add
  assert.ok(ticks.length >= 35 && ticks.length <= 52, `${ticks.length} reads`);
  // every read sits just after a grid point start + k × 20 ms: lateness does not
  // accumulate (setInterval would drift by several ms per second here)
  const lateMs = ticks.map((t) => {
    const ms = (t - ticks[0]) / 1000;
    return ms - Math.floor((ms + 1) / 20) * 20;
  });
  const sorted = [...lateMs.slice(-15)].sort((a, b) => a - b);
  assert.ok(sorted[7] < 5, `median lateness of the last reads ${sorted[7]} ms`);
  assert.ok(s.stats.jitterMs(0.5) < 5, `p50 jitter ${s.stats.jitterMs(0.5)}`);
  // NaN values write no row; every row of a tick carries the tick's timestamp
  assert.equal(sink.rows.length, reads.length);
  assert.deepEqual(sink.rows.map((r) => r[0]), reads);
});

Deno.test("a slow tick skips the deadlines it missed instead of bunching reads", async () => {
  const { sensor, reads } = probe((n) => (n === 5 ? 95 : 0));
  const s = new Sampler([sensor], new NullSink(), 20);
  s.start();
  await new Promise((r) => setTimeout(r, 400));
  s.stop();
  assert.ok(s.stats.skipped >= 3, `skipped ${s.stats.skipped}`);
  const gaps = reads.slice(1).map((t, i) => (t - reads[i]) / 1000);
  // missed deadlines are not made up for by reads back to back (a late timer on a
  // loaded machine may still bring two grid points a few ms closer)
  assert.ok(gaps.slice(0, -1).every((g) => g > 1), `gaps ${gaps.map((g) => g.toFixed(1))}`);
});

Deno.test("a sensor that throws is noted and the others go on", async () => {
  const { sensor, reads } = probe();
  const bad: Sensor = {
    source: "bad",
    channels: [{ source: "bad", device: "x", metric: "y" }],
    devices: [],
    notes: [],
    read() {
      throw new Error("device fell off the bus");
    },
    close() {},
  };
  const s = new Sampler([bad, sensor], new NullSink(), 20);
  s.start();
  await new Promise((r) => setTimeout(r, 100));
  s.stop();
  assert.ok(reads.length >= 4);
  assert.equal(bad.notes.length, 1, "noted once, then counted");
  assert.match(bad.notes[0].message, /read failed \d+ times: device fell off the bus/);
});

Deno.test("latest() keeps each channel's last good value through a failed read", () => {
  let n = 0;
  const sensor: Sensor = {
    source: "probe",
    channels: [{ source: "probe", device: "d", metric: "energy_j" }],
    devices: [],
    notes: [],
    read(values) {
      n++;
      values[0] = n === 2 || n === 3 ? NaN : n * 10; // reads 2 and 3 fail (e.g. an empty read)
    },
    close() {},
  };
  const s = new Sampler([sensor], new NullSink(), 100);
  assert.equal(s.latest().size, 0, "nothing read yet: nothing to show");
  s.sampleOnce(1_000_000);
  s.sampleOnce(1_100_000);
  // the first look comes after a failed read: the value of read 1 is still there
  let lv = s.latest().get("probe/d/energy_j");
  assert.deepEqual([lv?.value, lv?.timeUs], [10, 1_000_000]);
  s.sampleOnce(1_200_000);
  s.sampleOnce(1_300_000);
  lv = s.latest().get("probe/d/energy_j");
  assert.deepEqual([lv?.value, lv?.timeUs], [40, 1_300_000]);
});
