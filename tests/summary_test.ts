import assert from "node:assert/strict";
import { deviceEnergies, energyTotals } from "../src/analysis/energy.ts";
import type { Series } from "../src/trace/reader.ts";
import type { DeviceInfo } from "../src/sensors/types.ts";

function series(source: string, device: string, metric: string, vals: number[], dtS = 1): Series {
  return {
    host: "n1",
    source,
    device,
    metric,
    key: `${source}/${device}/${metric}`,
    times: Float64Array.from(vals, (_, i) => i * dtS * 1e6),
    values: Float64Array.from(vals),
  };
}

Deno.test("totals add packages, dram and GPUs once; subzones and platform meters stay out", () => {
  const s = [
    series("rapl", "package-0", "energy_j", [0, 50, 100]),
    series("rapl", "package-0/core", "energy_j", [0, 30, 60]),
    series("rapl", "package-0/dram", "energy_j", [0, 5, 10]),
    series("rapl", "psys", "energy_j", [0, 70, 140]),
    series("nvml", "gpu0", "energy_j", [0, 300, 600]),
    series("nvml", "gpu0", "power_w", [300, 300, 300]),
  ];
  const infos: DeviceInfo[] = [
    { source: "rapl", device: "package-0", total: "cpu", energyMethod: "counter" },
    { source: "rapl", device: "package-0/core", total: "none", energyMethod: "counter" },
    { source: "rapl", device: "package-0/dram", total: "dram", energyMethod: "counter" },
    { source: "rapl", device: "psys", total: "host", energyMethod: "counter" },
    { source: "nvml", device: "gpu0", total: "gpu", energyMethod: "counter", name: "H100" },
  ];
  const d = deviceEnergies(s, infos);
  const t = energyTotals(d);
  assert.equal(t.cpu, 100);
  assert.equal(t.dram, 10);
  assert.equal(t.gpu, 600);
  assert.equal(t.host, 140);
  assert.equal(t.total, 710);
  assert.equal(t.measured, 710);
  const gpu = d.find((x) => x.device === "gpu0")!;
  assert.equal(gpu.avg_power_w, 300);
  assert.equal(gpu.peak_power_w, 300);
  assert.equal(gpu.name, "H100");
});

Deno.test("a device with power only is integrated and says so; estimates are counted apart", () => {
  const d = deviceEnergies([
    series("amdgpu", "card1", "power_w", [100, 200, 100]),
    series("estimate", "cpu-estimate", "energy_j", [0, 40]),
  ], [{ source: "estimate", device: "cpu-estimate", total: "cpu", energyMethod: "estimate" }]);
  const card = d.find((x) => x.device === "card1")!;
  assert.equal(card.energy_method, "power-integral");
  assert.equal(card.energy_j, 300);
  assert.equal(card.total, "gpu");
  const t = energyTotals(d);
  assert.equal(t.estimated, 40);
  assert.equal(t.measured, 300);
});

Deno.test("a device with a single sample has no energy and says why, never a silent zero", () => {
  const d = deviceEnergies([series("amdgpu", "card0", "power_w", [120])]);
  assert.equal(d[0].energy_j, null);
  assert.match(d[0].note!, /too few samples/);
  assert.equal(energyTotals(d).total, 0);
});

Deno.test("peak power is the highest total at one instant, not the sum of device peaks", async () => {
  const { buildSummary } = await import("../src/analysis/summary.ts");
  const s = [
    series("nvml", "gpu0", "power_w", [100, 300, 100]),
    series("nvml", "gpu1", "power_w", [300, 100, 100]),
  ];
  const summary = buildSummary([{
    meta: undefined,
    series: s,
    rows: 6,
    location: { files: [], format: "parquet", complete: true },
  }]);
  assert.equal(summary.power_w.peak, 400);
  assert.equal(summary.power_w.peak_method, "coincident");
});

Deno.test("the quality stage copes with series of millions of samples", async () => {
  const { deviceQuality } = await import("../src/analysis/quality.ts");
  const n = 1_000_000;
  const q = deviceQuality([
    series("nvml", "gpu0", "power_w", Array.from({ length: n }, () => 300), 0.1),
    series("nvml", "gpu0", "power_limit_w", Array.from({ length: n }, () => 700), 0.1),
    series("nvml", "gpu0", "energy_j", Array.from({ length: n }, (_, i) => i * 30), 0.1),
  ], 0.1);
  assert.equal(q.length, 1);
  assert.deepEqual(q[0].problems, []);
  assert.ok(Math.abs(q[0].counter_vs_integral!.rel_diff) < 1e-6);
});
