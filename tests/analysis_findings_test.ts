import assert from "node:assert/strict";
import { CLOCK_EVENT, findFindings, type Finding } from "../src/analysis/findings.ts";
import { energyFrom, rng, sampled, trace } from "./helpers/workload_series.ts";
import type { Series } from "../src/trace/reader.ts";

const N = 1000; // 100 s at 0.1 s
const DT = 0.1;
const GiB = 2 ** 30;

interface GpuSpec {
  util?: (t: number) => number;
  power?: (t: number) => number;
  limit?: number;
  throttle?: (t: number) => number;
  memUsed?: (t: number) => number;
  memTotal?: number;
  temp?: (t: number) => number;
}

/** A node with GPUs and a CPU; every part healthy unless told otherwise. */
function node(
  gpus: GpuSpec[],
  cpu: { process?: (t: number) => number; node?: (t: number) => number; memUsed?: number } = {},
): Series[] {
  const r = rng(5);
  const out: Series[] = [];
  gpus.forEach((g, i) => {
    const dev = `nvml/gpu${i}`;
    const util = g.util ?? (() => 95);
    const power = sampled(
      `${dev}/power_w`,
      N,
      DT,
      (_k, t) => (g.power ? g.power(t) : 80 + 2.5 * util(t)) + r.normal(),
    );
    out.push(
      sampled(
        `${dev}/util_pct`,
        N,
        DT,
        (_k, t) => Math.max(0, Math.min(100, util(t) + r.normal())),
      ),
      power,
      energyFrom(power),
      sampled(`${dev}/power_limit_w`, N, DT, () => g.limit ?? 700),
      sampled(`${dev}/throttle_reasons`, N, DT, (_k, t) => g.throttle?.(t) ?? 0),
      sampled(`${dev}/mem_used_bytes`, N, DT, (_k, t) => g.memUsed?.(t) ?? 40 * GiB),
      sampled(`${dev}/mem_total_bytes`, N, DT, () => g.memTotal ?? 80 * GiB),
      sampled(`${dev}/temp_c`, N, DT, (_k, t) => g.temp?.(t) ?? 65),
      sampled(`${dev}/sm_clock_mhz`, N, DT, () => 1980),
    );
  });
  out.push(
    sampled("proc/process/cpu_pct", N, DT, (_k, t) => cpu.process?.(t) ?? 60),
    sampled("proc/cpu/util_pct", N, DT, (_k, t) => cpu.node?.(t) ?? 20),
    sampled("proc/mem/used_bytes", N, DT, () => cpu.memUsed ?? 100 * GiB),
    sampled("proc/mem/total_bytes", N, DT, () => 512 * GiB),
  );
  return out;
}

const ids = (f: Finding[]) => f.map((x) => x.id).sort();
const get = (f: Finding[], id: string) => f.find((x) => x.id === id)!;

Deno.test("findings: a healthy run has none", () => {
  assert.deepEqual(findFindings([trace(node([{}, {}]))]), []);
});

Deno.test("findings: a GPU allocated but idle (critical when the others work), with its energy", () => {
  const f = findFindings([trace(node([{}, { util: () => 0, power: () => 60 }]))]);
  assert.deepEqual(ids(f), ["gpu_idle"]);
  const g = get(f, "gpu_idle");
  assert.equal(g.severity, "critical");
  assert.deepEqual(g.devices, ["nvml/gpu1"]);
  assert.ok(Math.abs(g.energy_j! - 60 * 99.9) < 100, String(g.energy_j));
  assert.match(g.evidence, /gpu1: mean utilization 0\.\d %/);
  assert.match(g.suggestion, /--gres=gpu/);
  // no GPU used at all: a warning that the code did not use it
  const all = findFindings([trace(node([{ util: () => 0, power: () => 60 }]))]);
  assert.equal(get(all, "gpu_idle").severity, "warning");
});

Deno.test("findings: low GPU use with a busy CPU is the input pipeline; with an idle CPU, under-use", () => {
  const lowUtil = (t: number) => (Math.floor(t) % 2 ? 70 : 5); // bursts: waits for data half the time
  const f = findFindings([trace(node([{ util: lowUtil }], { process: () => 100 }))]);
  assert.deepEqual(ids(f), ["input_pipeline"]);
  assert.match(get(f, "input_pipeline").evidence, /mean utilization 3\d %.*100 % CPU/);
  assert.match(get(f, "input_pipeline").suggestion, /num_workers/);
  const g = findFindings([trace(node([{ util: lowUtil }], { process: () => 30 }))]);
  assert.deepEqual(ids(g), ["gpu_underused"]);
  assert.equal(get(g, "gpu_underused").severity, "info");
});

Deno.test("findings: power cap, thermal and hardware slowdown from the clock-event bits", () => {
  const half = (bits: number) => (t: number) => (t % 10 < 6 ? bits : 0);
  const f = findFindings([trace(node([
    { throttle: half(CLOCK_EVENT.SwPowerCap), power: () => 398, limit: 400 },
    { throttle: half(CLOCK_EVENT.SwThermalSlowdown), temp: () => 91 },
    { throttle: (t) => (t % 10 < 2 ? CLOCK_EVENT.HwSlowdown : 0) },
  ]))]);
  assert.deepEqual(ids(f), ["hw_slowdown", "power_cap", "thermal_throttle"]);
  const p = get(f, "power_cap");
  assert.deepEqual(p.devices, ["gpu0"]);
  assert.match(p.evidence, /SwPowerCap\) 6\d %/);
  assert.match(p.evidence, /of the 400 W limit/);
  assert.equal(p.severity, "warning");
  const t = get(f, "thermal_throttle");
  assert.equal(t.severity, "critical");
  assert.match(t.evidence, /up to 9\d °C/);
  assert.equal(get(f, "hw_slowdown").severity, "critical");
  // the GpuIdle bit alone is no throttling
  assert.deepEqual(findFindings([trace(node([{ throttle: () => CLOCK_EVENT.GpuIdle }]))]), []);
});

Deno.test("findings: GPU and host memory near full", () => {
  const f = findFindings([
    trace(node([{ memUsed: (t) => (t > 50 ? 79.5 * GiB : 60 * GiB) }], { memUsed: 500 * GiB })),
  ]);
  assert.deepEqual(ids(f), ["gpu_memory_full", "host_memory_full"]);
  assert.match(get(f, "gpu_memory_full").evidence, /peak 99\.4 % of 80 GiB/);
});

Deno.test("findings: long idle head and tail, with the energy they cost", () => {
  const util = (t: number) => (t < 30 || t > 85 ? 0 : 95);
  const power = (t: number) => (t < 30 || t > 85 ? 70 : 320);
  const f = findFindings([trace(node([{ util, power }]))]);
  assert.deepEqual(ids(f), ["idle_head", "idle_tail"]);
  const h = get(f, "idle_head");
  assert.equal(h.severity, "warning");
  assert.ok(Math.abs(h.energy_j! - 70 * 30) < 60, String(h.energy_j));
  assert.match(h.evidence, /30\.0 s \(30 %/);
  const tl = get(f, "idle_tail");
  assert.equal(tl.severity, "info");
  assert.ok(Math.abs(tl.energy_j! - 70 * 14.9) < 60, String(tl.energy_j));
  // the idle baseline window before the command is not an idle head
  const baselineEnd = sampled("x/y/z", 1, 1, () => 0, 29).times[0];
  const base = findFindings([trace(node([{ util, power }]), {
    extra: { baseline: { start_us: baselineEnd - 29e6, end_us: baselineEnd, duration_s: 29 } },
  })]);
  assert.deepEqual(ids(base), ["idle_tail"]);
});
