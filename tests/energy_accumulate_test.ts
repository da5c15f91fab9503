import assert from "node:assert/strict";
import { CounterAccumulator, PowerIntegrator } from "../src/sensors/energy.ts";
import { integrate } from "../src/analysis/energy.ts";

Deno.test("a counter that wraps between two samples loses and adds nothing", () => {
  const max = 262143328850; // µJ, a typical Intel max_energy_range_uj
  const acc = new CounterAccumulator(1e-6, max);
  acc.add(max - 1_000_000); // 1 J before the wrap
  const j = acc.add(2_000_000); // 2 J after it
  assert.equal(acc.wraps, 1);
  assert.ok(Math.abs(j - 3) < 1e-9, `got ${j}`);
});

Deno.test("a counter that drops without a known range is a reset, not negative energy", () => {
  const acc = new CounterAccumulator(1e-3);
  acc.add(10_000);
  acc.add(12_000);
  const j = acc.add(500); // driver reload
  assert.equal(acc.resets, 1);
  assert.equal(j, 2);
  assert.equal(acc.add(1500), 3);
});

Deno.test("an impossible jump is rejected", () => {
  const acc = new CounterAccumulator(1e-6, undefined, 1e9);
  acc.add(0);
  acc.add(5e8);
  acc.add(5e8 + 1e12);
  assert.equal(acc.resets, 1);
  assert.equal(acc.joules, 500);
});

Deno.test("trapezoid integration of a ramp is exact", () => {
  const p = new PowerIntegrator();
  // 0 W → 100 W over 10 s: 500 J
  for (let i = 0; i <= 100; i++) p.add(i * 100_000, i);
  assert.ok(Math.abs(p.joules - 500) < 1e-9);
  const times = Array.from({ length: 101 }, (_, i) => i * 100_000);
  const watts = Array.from({ length: 101 }, (_, i) => i);
  assert.ok(Math.abs(integrate(times, watts) - 500) < 1e-9);
});
