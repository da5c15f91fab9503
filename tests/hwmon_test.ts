import assert from "node:assert/strict";
import { classifyHwmonMeter, hwmonFactory } from "../src/sensors/hwmon.ts";
import type { Sensor, SensorOptions } from "../src/sensors/types.ts";
import { addHwmon, addRaplZone, FakeTree, graceSocket, setValue } from "./helpers/fake_sysfs.ts";

function opts(sysfsRoot: string): SensorOptions {
  return { sysfsRoot, procfsRoot: "/proc", nvmlLib: "", intervalS: 0.1 };
}

function open(root: string) {
  const { sensor, notes } = hwmonFactory.open(opts(root));
  assert.ok(sensor, `expected a sensor, notes: ${JSON.stringify(notes)}`);
  return { sensor, notes };
}

function readAt(sensor: Sensor, timeUs: number): Map<string, number> {
  const values = new Float64Array(sensor.channels.length);
  sensor.read(values, timeUs);
  const out = new Map<string, number>();
  sensor.channels.forEach((c, i) => out.set(`${c.device}/${c.metric}`, values[i]));
  return out;
}

Deno.test("hwmonFactory reads a two-socket Grace-like node: labels from power1_oem_info, totals by meter", () => {
  using fake = new FakeTree();
  graceSocket(fake, 0, 1, [620, 180, 120, 40]);
  graceSocket(fake, 1, 5, [600, 170, 115, 38]);
  const { sensor, notes } = open(fake.root);
  const totals = Object.fromEntries(sensor.devices.map((d) => [d.device, d.total]));
  assert.deepEqual(totals, {
    "power_meter/Module Power Socket 0": "host",
    "power_meter/Grace Power Socket 0": "cpu",
    "power_meter/CPU Power Socket 0": "none",
    "power_meter/SysIO Power Socket 0": "none",
    "power_meter/Module Power Socket 1": "host",
    "power_meter/Grace Power Socket 1": "cpu",
    "power_meter/CPU Power Socket 1": "none",
    "power_meter/SysIO Power Socket 1": "none",
  });
  for (const d of sensor.devices) {
    assert.equal(d.source, "hwmon");
    assert.equal(d.energyMethod, "power-integral");
    assert.equal(d.attributes?.average_interval_ms, 50);
  }
  assert.ok(notes.some((n) => /Module Power Socket 0/.test(n.message) && /GPU/.test(n.message)));
  // constant power for 2 s at 10 Hz integrates exactly
  let r = new Map<string, number>();
  for (let i = 0; i <= 20; i++) r = readAt(sensor, i * 1e5);
  assert.equal(r.get("power_meter/Module Power Socket 0/power_w"), 620);
  assert.ok(Math.abs(r.get("power_meter/Grace Power Socket 1/energy_j")! - 340) < 1e-9);
  // cpu total = Grace sockets only; CPU/SysIO rails are inside them
  const cpu = sensor.devices.filter((d) => d.total === "cpu")
    .reduce((s, d) => s + r.get(`${d.device}/energy_j`)!, 0);
  assert.ok(Math.abs(cpu - (180 + 170) * 2) < 1e-9);
  sensor.close();
});

Deno.test("hwmonFactory skips amdgpu and nvidia chips, which other sources read", () => {
  using fake = new FakeTree();
  addHwmon(fake, { hwmon: "hwmon0", name: "amdgpu", files: { power1_average: 150e6 } });
  addHwmon(fake, { hwmon: "hwmon1", name: "nvidia", files: { power1_input: 300e6 } });
  addHwmon(fake, { hwmon: "hwmon2", name: "coretemp", files: { temp1_input: 45000 } });
  const { sensor, notes } = hwmonFactory.open(opts(fake.root));
  assert.equal(sensor, null);
  assert.ok(notes.some((n) => /amdgpu/.test(n.message) && /amdgpu source/.test(n.message)));
  assert.ok(notes.some((n) => /nvml/.test(n.message)));
  assert.ok(notes.some((n) => n.status === "not-found"));
});

Deno.test("hwmonFactory: Intel i915 energy1_input is a gpu counter; a GT meter is inside it", () => {
  using fake = new FakeTree();
  const dir = addHwmon(fake, {
    hwmon: "hwmon3",
    name: "i915",
    files: { energy1_input: 1_000_000, power1_max: 200e6 },
  });
  const gt = addHwmon(fake, { hwmon: "hwmon4", name: "i915_gt0", files: { energy1_input: 0 } });
  const { sensor } = open(fake.root);
  assert.deepEqual(sensor.devices.map((d) => [d.device, d.total, d.energyMethod]), [
    ["i915/energy1", "gpu", "counter"],
    ["i915_gt0/energy1", "none", "counter"],
  ]);
  readAt(sensor, 0);
  setValue(`${dir}/energy1_input`, 1_000_000 + 25e6);
  setValue(`${gt}/energy1_input`, 20e6);
  const r = readAt(sensor, 5e5);
  assert.equal(r.get("i915/energy1/energy_j"), 25);
  assert.equal(r.get("i915/energy1/power_w"), 50); // from the energy delta
  sensor.close();
});

Deno.test("hwmonFactory: xe card + pkg: only the card counts", () => {
  using fake = new FakeTree();
  addHwmon(fake, {
    hwmon: "hwmon5",
    name: "xe",
    files: { energy1_input: 0, energy1_label: "card", energy2_input: 0, energy2_label: "pkg" },
  });
  const { sensor } = open(fake.root);
  assert.deepEqual(sensor.devices.map((d) => [d.device, d.total]), [
    ["xe/card", "gpu"],
    ["xe/pkg", "none"],
  ]);
  sensor.close();
});

Deno.test("hwmonFactory: amd_energy sockets count into cpu only when RAPL cannot be read", () => {
  using fake = new FakeTree();
  addHwmon(fake, {
    hwmon: "hwmon6",
    name: "amd_energy",
    files: {
      energy1_input: 0,
      energy1_label: "Ecore000",
      energy2_input: 0,
      energy2_label: "Esocket0",
    },
  });
  let { sensor } = open(fake.root);
  assert.deepEqual(sensor.devices.map((d) => [d.device, d.total]), [
    ["amd_energy/Ecore000", "none"],
    ["amd_energy/Esocket0", "cpu"],
  ]);
  sensor.close();
  addRaplZone(fake, { dir: "intel-rapl:0", name: "package-0" });
  ({ sensor } = open(fake.root));
  assert.equal(sensor.devices.find((d) => d.device === "amd_energy/Esocket0")?.total, "none");
  sensor.close();
});

Deno.test("classifyHwmonMeter(): unknown meters are recorded but counted nowhere, with a reason", () => {
  const c = classifyHwmonMeter({ chip: "ina3221", label: "VDD_IN" }, {
    siblings: [],
    raplPackages: 0,
  });
  assert.equal(c.total, "none");
  assert.match(c.why!, /not counted/);
  assert.equal(
    classifyHwmonMeter({ chip: "power_meter" }, { siblings: [], raplPackages: 0 }).total,
    "host",
  );
});

Deno.test("hwmonFactory: power and energy with the same index form one meter; power1_average preferred", () => {
  using fake = new FakeTree();
  addHwmon(fake, {
    hwmon: "hwmon7",
    name: "acme",
    files: {
      power1_input: 99e6,
      power1_average: 40e6,
      power1_label: "board",
      energy1_input: 0,
    },
  });
  const { sensor } = open(fake.root);
  assert.equal(sensor.devices.length, 1);
  assert.equal(sensor.devices[0].device, "acme/board");
  assert.equal(sensor.devices[0].energyMethod, "counter");
  assert.equal(readAt(sensor, 0).get("acme/board/power_w"), 40);
  sensor.close();
});
