import assert from "node:assert/strict";
import {
  cpuEstimateFactory,
  describeCpu,
  IDLE_FRACTION,
  lookupTdp,
  normaliseModel,
} from "../src/sensors/cpu_estimate.ts";
import type { Sensor, SensorOptions } from "../src/sensors/types.ts";
import {
  addRaplZone,
  FakeTree,
  graceSocket,
  unreadable,
  writeCpuinfo,
  writeProcStat,
} from "./helpers/fake_sysfs.ts";

function opts(root: string, cpuTdpW?: number): SensorOptions {
  return {
    sysfsRoot: `${root}/sys`,
    procfsRoot: `${root}/proc`,
    nvmlLib: "",
    intervalS: 0.1,
    ...(cpuTdpW !== undefined ? { cpuTdpW } : {}),
  };
}

function readAt(sensor: Sensor, timeUs: number): [number, number] {
  const v = new Float64Array(sensor.channels.length);
  sensor.read(v, timeUs);
  return [v[0], v[1]];
}

/** A fake machine: procfs under proc/, sysfs under sys/. */
function machine(model: string, sockets: number): FakeTree {
  const fake = new FakeTree();
  writeCpuinfo(fake.sub("proc"), model, sockets);
  writeProcStat(fake.sub("proc"), { user: 0, system: 0, idle: 0 });
  fake.sub("sys");
  return fake;
}

function setStat(fake: FakeTree, busy: number, idle: number) {
  writeProcStat(fake.sub("proc"), { user: busy, system: 0, idle });
}

Deno.test("normaliseModel() and lookupTdp() match whole model names only", () => {
  assert.equal(
    normaliseModel("Intel(R) Xeon(R) CPU E5-2698 v4 @ 2.20GHz"),
    "Intel Xeon E5-2698 v4",
  );
  assert.equal(lookupTdp("Intel(R) Xeon(R) Platinum 8480+")?.tdpW, 350);
  assert.equal(lookupTdp("AMD EPYC 7763 64-Core Processor")?.tdpW, 280);
  assert.equal(lookupTdp("Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz")?.tdpW, 205);
  assert.equal(lookupTdp("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz")?.tdpW, 150);
  assert.equal(lookupTdp("Intel(R) Xeon(R) Platinum 8480"), undefined); // not the "+" part
  assert.equal(lookupTdp("AMD Ryzen 9 7950X 16-Core Processor"), undefined);
});

Deno.test("describeCpu() counts sockets by physical id; recognises Grace on arm64", () => {
  const intel = describeCpu(
    "processor\t: 0\nmodel name\t: X\nphysical id\t: 0\n\nprocessor\t: 1\nmodel name\t: X\nphysical id\t: 1\n",
  );
  assert.deepEqual(intel, { model: "X", sockets: 2, cpus: 2 });
  const grace = Array.from(
    { length: 72 },
    (_, i) => `processor\t: ${i}\nCPU implementer\t: 0x41\nCPU part\t: 0xd4f\n`,
  ).join("\n");
  assert.equal(describeCpu(grace).model, "NVIDIA Grace");
  assert.equal(lookupTdp("NVIDIA Grace")?.tdpW, 250);
});

Deno.test("cpuEstimateFactory with --cpu-tdp: power follows utilisation, energy integrates, marked as an estimate", () => {
  using fake = machine("Some Unknown CPU", 2);
  const { sensor, notes } = cpuEstimateFactory.open(opts(fake.root, 200));
  assert.ok(sensor, JSON.stringify(notes));
  assert.deepEqual(sensor.devices.map((d) => [d.device, d.source, d.energyMethod, d.total]), [
    ["cpu-estimate", "estimate", "estimate", "cpu"],
  ]);
  const est = notes.find((n) => n.status === "estimated");
  assert.ok(est);
  assert.match(est.message, /ESTIMATE/);
  assert.match(est.message, /200 W per socket/);
  assert.match(est.fix!, /modprobe intel_rapl_msr/);
  assert.ok(Number.isNaN(readAt(sensor, 0)[0])); // no utilisation yet
  setStat(fake, 50, 50); // 50% busy over 1 s
  let [w, j] = readAt(sensor, 1e6);
  const idle = 2 * 200 * IDLE_FRACTION;
  assert.equal(w, idle + 0.5 * (400 - idle));
  assert.equal(j, w);
  setStat(fake, 150, 50); // 100% busy over the next 2 s
  [w, j] = readAt(sensor, 3e6);
  assert.equal(w, 400);
  assert.equal(j, idle + 0.5 * (400 - idle) + 800);
  sensor.close();
});

Deno.test("cpuEstimateFactory uses the built-in TDP table by model name and socket count", () => {
  using fake = machine("AMD EPYC 7763 64-Core Processor", 2);
  const { sensor, notes } = cpuEstimateFactory.open(opts(fake.root));
  assert.ok(sensor, JSON.stringify(notes));
  assert.equal(sensor.devices[0].attributes?.tdp_w_per_socket, 280);
  assert.equal(sensor.devices[0].attributes?.sockets, 2);
  assert.match(notes[0].message, /EPYC 7763/);
  sensor.close();
});

Deno.test("cpuEstimateFactory: unknown model and no --cpu-tdp → null sensor and the fix", () => {
  using fake = machine("Mystery CPU 9000", 1);
  const { sensor, notes } = cpuEstimateFactory.open(opts(fake.root));
  assert.equal(sensor, null);
  assert.match(notes[0].message, /Mystery CPU 9000/);
  assert.match(notes[0].fix!, /--cpu-tdp W/);
});

Deno.test("cpuEstimateFactory stays off when a RAPL package is readable, and says how to enable RAPL when it is not", () => {
  using fake = machine("Intel(R) Xeon(R) Platinum 8480+", 1);
  const pkg = addRaplZone(fake.sub("sys"), { dir: "intel-rapl:0", name: "package-0" });
  assert.equal(cpuEstimateFactory.open(opts(fake.root)).sensor, null);
  unreadable(pkg, "directory"); // RAPL present but unreadable
  const { sensor, notes } = cpuEstimateFactory.open(opts(fake.root));
  assert.ok(sensor);
  assert.match(notes.find((n) => n.status === "estimated")!.fix!, /chmod o\+r/);
  sensor.close();
});

Deno.test("cpuEstimateFactory stays off on a Grace node whose socket meters count into cpu", () => {
  using fake = machine("", 1);
  graceSocket(fake.sub("sys"), 0, 0, [600, 200, 150, 50]);
  assert.equal(cpuEstimateFactory.open(opts(fake.root, 250)).sensor, null);
});
