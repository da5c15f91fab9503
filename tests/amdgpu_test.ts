import assert from "node:assert/strict";
import { amdgpuFactory, makeAmdgpuFactory, scanAmdgpuCards } from "../src/sensors/amdgpu.ts";
import type { RocmEnergySource } from "../src/sensors/rocm_smi.ts";
import type { Sensor, SensorOptions } from "../src/sensors/types.ts";
import { addDrmCard, FakeTree, setValue } from "./helpers/fake_sysfs.ts";

function opts(sysfsRoot: string): SensorOptions {
  return { sysfsRoot, procfsRoot: "/proc", nvmlLib: "", intervalS: 0.1 };
}

function readAt(sensor: Sensor, timeUs: number): Map<string, number> {
  const values = new Float64Array(sensor.channels.length);
  sensor.read(values, timeUs);
  const out = new Map<string, number>();
  sensor.channels.forEach((c, i) => out.set(`${c.device}/${c.metric}`, values[i]));
  return out;
}

function mi210(fake: FakeTree, card = "card1", pci = "0000:03:00.0", watts = 150) {
  return addDrmCard(fake, {
    card,
    pci,
    hwmonFiles: {
      power1_average: watts * 1e6,
      power1_cap: 300e6,
      temp1_input: 54000,
      temp1_label: "edge",
    },
    deviceFiles: {
      gpu_busy_percent: 87,
      mem_info_vram_used: 12 * 2 ** 30,
      mem_info_vram_total: 64 * 2 ** 30,
      product_name: "AMD Instinct MI210",
    },
    connectors: ["DP-1"],
  });
}

Deno.test("scanAmdgpuCards() finds amdgpu cards only, with their PCI address; connectors are skipped", () => {
  using fake = new FakeTree();
  mi210(fake, "card1", "0000:03:00.0");
  addDrmCard(fake, { card: "card0", pci: "0000:00:02.0", hwmonName: "i915" });
  const cards = scanAmdgpuCards(fake.root);
  assert.deepEqual(cards.map((c) => [c.card, c.pci]), [["card1", "0000:03:00.0"]]);
});

Deno.test("amdgpuFactory: a card at a constant 150 W integrates to within 2% over ~1 s of real time", async () => {
  using fake = new FakeTree();
  mi210(fake);
  const { sensor, notes } = amdgpuFactory.open(opts(fake.root));
  assert.ok(sensor, JSON.stringify(notes));
  assert.deepEqual(
    sensor.devices.map((d) => [d.device, d.source, d.total, d.energyMethod, d.name]),
    [
      ["card1", "amdgpu", "gpu", "power-integral", "AMD Instinct MI210"],
    ],
  );
  const nowUs = () => Math.round(performance.timeOrigin * 1000 + performance.now() * 1000);
  const t0 = nowUs();
  let r = readAt(sensor, t0);
  let t = t0;
  while (t - t0 < 1e6) {
    await new Promise((res) => setTimeout(res, 50));
    t = nowUs();
    r = readAt(sensor, t);
  }
  const expected = 150 * (t - t0) / 1e6;
  const got = r.get("card1/energy_j")!;
  assert.ok(Math.abs(got - expected) <= 0.02 * expected, `${got} J vs ${expected} J`);
  assert.equal(r.get("card1/power_w"), 150);
  assert.equal(r.get("card1/temp_c"), 54);
  assert.equal(r.get("card1/util_pct"), 87);
  assert.equal(r.get("card1/mem_used_bytes"), 12 * 2 ** 30);
  assert.equal(r.get("card1/mem_total_bytes"), 64 * 2 ** 30);
  assert.equal(r.get("card1/power_limit_w"), 300);
  assert.ok(!sensor.channels.some((c) => c.device !== "card1"));
  sensor.close();
  sensor.close();
});

Deno.test("amdgpuFactory: power1_input when there is no power1_average; power changes are integrated", () => {
  using fake = new FakeTree();
  const hw = addDrmCard(fake, { card: "card0", hwmonFiles: { power1_input: 100e6 } });
  const { sensor } = makeAmdgpuFactory({ rocm: "off" }).open(opts(fake.root));
  assert.ok(sensor);
  assert.equal(sensor.devices[0].attributes?.power_file, "power1_input");
  readAt(sensor, 0);
  setValue(`${hw}/power1_input`, 200e6);
  const r = readAt(sensor, 1e6);
  assert.equal(r.get("card0/energy_j"), 150); // trapezoid (100 + 200) / 2 × 1 s
  sensor.close();
});

class FakeRocm implements RocmEnergySource {
  byPci = new Map([["0000:03:00.0", 0]]);
  uj = 5e9;
  closed = 0;
  energyUj(_i: number): number {
    return this.uj;
  }
  close(): void {
    this.closed++;
  }
}

Deno.test("amdgpuFactory: a ROCm SMI energy counter, matched by PCI address, is preferred to the integral", () => {
  using fake = new FakeTree();
  mi210(fake, "card1", "0000:03:00.0", 150);
  mi210(fake, "card2", "0000:83:00.0", 100);
  const rocm = new FakeRocm();
  const factory = makeAmdgpuFactory({ rocm: () => ({ source: rocm, notes: [] }) });
  const { sensor } = factory.open(opts(fake.root));
  assert.ok(sensor);
  assert.deepEqual(sensor.devices.map((d) => [d.device, d.energyMethod]), [
    ["card1", "counter"],
    ["card2", "power-integral"],
  ]);
  readAt(sensor, 0);
  rocm.uj += 140e6; // the counter says 140 J where the 150 W average says 150 J
  const r = readAt(sensor, 1e6);
  assert.equal(r.get("card1/energy_j"), 140);
  assert.equal(r.get("card2/energy_j"), 100);
  sensor.close();
  assert.equal(rocm.closed, 1);
});

Deno.test("amdgpuFactory: a counter that stands still while the board draws power falls back to the integral", () => {
  using fake = new FakeTree();
  mi210(fake, "card1", "0000:03:00.0", 150);
  const rocm = new FakeRocm();
  const { sensor } = makeAmdgpuFactory({ rocm: () => ({ source: rocm, notes: [] }) })
    .open(opts(fake.root));
  assert.ok(sensor);
  readAt(sensor, 0);
  rocm.uj += 15e6;
  readAt(sensor, 1e5); // 15 J from the counter
  let r = new Map<string, number>();
  for (let i = 2; i <= 60; i++) r = readAt(sensor, i * 1e5); // stuck for 5.9 s
  assert.equal(sensor.devices[0].energyMethod, "power-integral");
  assert.ok(sensor.notes.some((n) => /stood still/.test(n.message)));
  const e = r.get("card1/energy_j")!;
  // 15 J, then 150 W from the switch (after ~3 s + 20 J) onwards: monotonic, no jump back
  assert.ok(e > 15 && e < 15 + 150 * 5.9, `${e}`);
  const e2 = readAt(sensor, 61e5).get("card1/energy_j")!;
  assert.ok(Math.abs(e2 - e - 15) < 1e-9, `${e2 - e}`);
  sensor.close();
});

Deno.test("amdgpuFactory: no amdgpu card → null sensor and a not-found note", () => {
  using fake = new FakeTree();
  const { sensor, notes } = amdgpuFactory.open(opts(fake.root));
  assert.equal(sensor, null);
  assert.equal(notes[0].status, "not-found");
});
