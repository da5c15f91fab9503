/**
 * Part 2, NVML cost: the NVML sensor's `read()` against the NVML test double,
 * in this process. Time per device per tick (FFI calls plus aimeter's own
 * work around them), FFI calls per device per tick (counted by wrapping the
 * library's symbols in a second, separate pass), and from the time the number
 * of devices one core could sample at 100 ms.
 *
 * The double answers each call in well under a microsecond; a real driver
 * takes longer per call (it talks to the kernel module), so the devices-per-
 * core figure is aimeter's ceiling, not the driver's. The table also gives the
 * calls per tick, so the figure for a real driver is 0.1 s / (calls × its cost
 * per call + aimeter's overhead).
 */
import { nvmlDoublePath, withDoubleEnv } from "../../tests/helpers/nvml_double.ts";
import { nvmlFactory } from "../../src/sensors/nvml.ts";
import type { Sensor } from "../../src/sensors/types.ts";
import { nowUs } from "../../src/sampler/clock.ts";
import { type BenchContext, fmt, type PartResult, type Row, sleep } from "./common.ts";

function openDouble(lib: string): Sensor {
  const { sensor, notes } = nvmlFactory.open({
    sysfsRoot: "/nonexistent",
    procfsRoot: "/proc",
    nvmlLib: lib,
    intervalS: 0.1,
  });
  if (!sensor) throw new Error(`NVML double did not open: ${JSON.stringify(notes)}`);
  return sensor;
}

/** Time `ticks` reads; returns µs per tick. */
async function timeReads(sensor: Sensor, ticks: number): Promise<number> {
  const values = new Float64Array(sensor.channels.length);
  for (let i = 0; i < 200; i++) sensor.read(values, nowUs()); // warm up the JIT
  await sleep(0); // let the slow (nonblocking) queries the warm-up started settle
  let best = Infinity;
  // best of 5 batches: the least disturbed by the rest of the machine
  for (let rep = 0; rep < 5; rep++) {
    const t0 = performance.now();
    for (let i = 0; i < ticks; i++) sensor.read(values, nowUs());
    best = Math.min(best, ((performance.now() - t0) * 1000) / ticks);
    await sleep(0);
  }
  return best;
}

/** FFI calls made by `ticks` reads, by symbol, counted through wrapped symbols. */
async function countCalls(lib: string, ticks: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const orig = Deno.dlopen;
  // deno-lint-ignore no-explicit-any
  (Deno as any).dlopen = (path: string, symbols: any) => {
    const real = orig(path, symbols);
    const wrapped: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(real.symbols)) {
      if (typeof fn !== "function") {
        wrapped[name] = fn;
        continue;
      }
      wrapped[name] = (...args: unknown[]) => {
        counts[name] = (counts[name] ?? 0) + 1;
        return (fn as (...a: unknown[]) => unknown)(...args);
      };
    }
    return { symbols: wrapped, close: () => real.close() };
  };
  let sensor: Sensor;
  try {
    sensor = openDouble(lib);
  } finally {
    // deno-lint-ignore no-explicit-any
    (Deno as any).dlopen = orig;
  }
  const values = new Float64Array(sensor.channels.length);
  sensor.read(values, nowUs()); // the first tick starts the slow queries; count steady ticks
  await (sensor as { settled?: () => Promise<void> }).settled?.();
  for (const k of Object.keys(counts)) delete counts[k];
  for (let i = 0; i < ticks; i++) sensor.read(values, nowUs());
  await (sensor as { settled?: () => Promise<void> }).settled?.();
  sensor.close();
  return counts;
}

export async function benchNvml(ctx: BenchContext): Promise<PartResult> {
  const lib = nvmlDoublePath();
  const ticks = ctx.quick ? 500 : 3000;
  const perDevices: Record<string, unknown>[] = [];
  let at8: { usPerDevice: number; callsPerDevice: number; channels: number } | undefined;
  for (const devices of [1, 8]) {
    ctx.log(`nvml: ${devices} double GPU(s), ${ticks} ticks × 5`);
    const r = await withDoubleEnv({ NVML_DOUBLE_DEVICES: devices }, async () => {
      const sensor = openDouble(lib);
      const usPerTick = await timeReads(sensor, ticks);
      const channels = sensor.channels.length;
      sensor.close();
      await (sensor as { settled?: () => Promise<void> }).settled?.();
      const counts = await countCalls(lib, 100);
      const calls = Object.values(counts).reduce((a, b) => a + b, 0) / 100;
      return { usPerTick, channels, counts, calls };
    });
    const usPerDevice = r.usPerTick / devices;
    const callsPerDevice = r.calls / devices;
    perDevices.push({
      devices,
      channels: r.channels,
      us_per_tick: r.usPerTick,
      us_per_device_tick: usPerDevice,
      ffi_calls_per_device_tick: callsPerDevice,
      us_per_call: r.usPerTick / r.calls,
      calls_by_symbol_per_tick: Object.fromEntries(
        Object.entries(r.counts).map(([k, v]) => [k, v / 100]),
      ),
    });
    if (devices === 8) at8 = { usPerDevice, callsPerDevice, channels: r.channels / devices };
  }
  const devicesPerCore = at8 ? 100_000 / at8.usPerDevice : NaN;
  const rows: Row[] = at8
    ? [
      {
        part: "nvml",
        measure: "read per device per tick (8 GPUs, NVML double)",
        value: `${fmt(at8.usPerDevice)} µs, ${fmt(at8.callsPerDevice, 1)} FFI calls, ${
          fmt(at8.channels, 0)
        } channels`,
      },
      {
        part: "nvml",
        measure: "devices one core could sample at 100 ms",
        value: `${
          fmt(devicesPerCore, 0)
        } (aimeter's side; a real driver adds its own cost per call)`,
      },
    ]
    : [];
  return { data: { ticks, runs: perDevices, devices_per_core_at_100ms: devicesPerCore }, rows };
}
