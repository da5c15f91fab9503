import assert from "node:assert/strict";
import { buildRaplDomains, parseZoneDir, raplFactory, type RaplZone } from "../src/sensors/rapl.ts";
import type { Sensor, SensorOptions } from "../src/sensors/types.ts";
import {
  addRaplZone,
  ConcurrentCounterWriter,
  FakeTree,
  runUnprivileged,
  setValue,
  typicalIntel,
  unreadable,
} from "./helpers/fake_sysfs.ts";

function opts(sysfsRoot: string): SensorOptions {
  return { sysfsRoot, procfsRoot: "/proc", nvmlLib: "", intervalS: 0.1 };
}

function open(
  root: string,
): { sensor: Sensor; notes: ReturnType<typeof raplFactory.open>["notes"] } {
  const { sensor, notes } = raplFactory.open(opts(root));
  assert.ok(sensor, `expected a sensor, notes: ${JSON.stringify(notes)}`);
  return { sensor, notes };
}

/** Read once; returns a map "device/metric" → value. */
function readAt(sensor: Sensor, timeUs: number): Map<string, number> {
  const values = new Float64Array(sensor.channels.length);
  sensor.read(values, timeUs);
  const out = new Map<string, number>();
  sensor.channels.forEach((c, i) => out.set(`${c.device}/${c.metric}`, values[i]));
  return out;
}

function zone(dir: string, name: string): RaplZone {
  return { dir, ...parseZoneDir(dir)!, name, maxEnergyRangeUj: 262143328850 };
}

Deno.test("parseZoneDir() reads hex indices and control types", () => {
  assert.deepEqual(parseZoneDir("intel-rapl:a"), { controlType: "intel-rapl", index: 10 });
  assert.deepEqual(parseZoneDir("intel-rapl:1:1f"), {
    controlType: "intel-rapl",
    index: 1,
    subIndex: 31,
  });
  assert.deepEqual(parseZoneDir("intel-rapl-mmio:0"), {
    controlType: "intel-rapl-mmio",
    index: 0,
  });
  assert.equal(parseZoneDir("intel-rapl"), undefined);
  assert.equal(parseZoneDir("dtpm:0"), undefined);
});

Deno.test("buildRaplDomains() names subzones parent/name and assigns totals by name, not index", () => {
  const tree = buildRaplDomains([
    // dram at index 0, core at 2: the index says nothing about the domain
    zone("intel-rapl:0:0", "dram"),
    zone("intel-rapl:0:2", "core"),
    zone("intel-rapl:0:1", "uncore"),
    zone("intel-rapl:0", "package-0"),
    zone("intel-rapl:1", "psys"),
  ]);
  const got = Object.fromEntries(tree.domains.map((d) => [d.device, d.total]));
  assert.deepEqual(got, {
    "package-0": "cpu",
    "psys": "host",
    "package-0/dram": "dram",
    "package-0/uncore": "none",
    "package-0/core": "none",
  });
  assert.ok(tree.notes.some((n) => n.device === "psys" && /host/.test(n.message)));
});

Deno.test("buildRaplDomains() drops the MMIO mirror of an MSR package and its subzones", () => {
  const tree = buildRaplDomains([
    zone("intel-rapl-mmio:0", "package-0"),
    zone("intel-rapl-mmio:0:0", "core"),
    zone("intel-rapl:0", "package-0"),
    zone("intel-rapl:0:0", "dram"),
  ]);
  assert.deepEqual(tree.domains.map((d) => d.zone.dir), ["intel-rapl:0", "intel-rapl:0:0"]);
  assert.deepEqual(tree.dropped.map((d) => d.zone.dir).sort(), [
    "intel-rapl-mmio:0",
    "intel-rapl-mmio:0:0",
  ]);
  assert.ok(tree.notes.some((n) => /MMIO/.test(n.message) && /twice/.test(n.message)));
});

Deno.test("buildRaplDomains() keeps an MMIO zone when no MSR zone has its name", () => {
  const tree = buildRaplDomains([zone("intel-rapl-mmio:0", "package-0")]);
  assert.deepEqual(tree.domains.map((d) => [d.device, d.total]), [["package-0", "cpu"]]);
});

Deno.test("buildRaplDomains() counts two sockets and multi-die packages once each; top-level dram → dram", () => {
  const tree = buildRaplDomains([
    zone("intel-rapl:0", "package-0-die-0"),
    zone("intel-rapl:1", "package-0-die-1"),
    zone("intel-rapl:2", "package-1-die-0"),
    zone("intel-rapl:3", "package-1-die-1"),
    zone("intel-rapl:4", "dram"),
    zone("intel-rapl:5", "psys-0"),
    zone("intel-rapl:6", "psys-1"),
  ]);
  const cpu = tree.domains.filter((d) => d.total === "cpu").map((d) => d.device);
  assert.deepEqual(cpu, [
    "package-0-die-0",
    "package-0-die-1",
    "package-1-die-0",
    "package-1-die-1",
  ]);
  assert.deepEqual(tree.domains.filter((d) => d.total === "dram").map((d) => d.device), ["dram"]);
  assert.deepEqual(tree.domains.filter((d) => d.total === "host").length, 2);
});

Deno.test("raplFactory reads a typical Intel tree; subzones are never added on top of the package", () => {
  using fake = new FakeTree();
  const p = typicalIntel(fake);
  const { sensor, notes } = open(fake.root);
  assert.deepEqual(
    sensor.devices.map((d) => [d.device, d.total, d.energyMethod]),
    [
      ["package-0", "cpu", "counter"],
      ["psys", "host", "counter"],
      ["package-0/core", "none", "counter"],
      ["package-0/uncore", "none", "counter"],
      ["package-0/dram", "dram", "counter"],
    ],
  );
  assert.ok(notes.some((n) => n.device === "psys" && n.status === "found"));
  readAt(sensor, 0);
  // 1 s: package 50 J, of which core 30 J and uncore 10 J; dram 8 J; psys 80 J
  setValue(p.pkg, 50e6);
  setValue(p.core, 30e6);
  setValue(p.uncore, 10e6);
  setValue(p.dram, 8e6);
  setValue(p.psys, 80e6);
  const r = readAt(sensor, 1e6);
  const byTotal: Record<string, number> = {};
  for (const d of sensor.devices) {
    byTotal[d.total!] = (byTotal[d.total!] ?? 0) + r.get(`${d.device}/energy_j`)!;
  }
  assert.equal(byTotal.cpu, 50); // the package only, not 50 + 30 + 10
  assert.equal(byTotal.dram, 8);
  assert.equal(byTotal.host, 80);
  assert.equal(r.get("package-0/power_w"), 50);
  assert.equal(r.get("package-0/core/power_w"), 30);
  sensor.close();
  sensor.close(); // safe twice
});

Deno.test("raplFactory: energy across several wraps matches the known truth within 1%", () => {
  using fake = new FakeTree();
  const range = 262143328850; // Intel max_energy_range_uj
  const pkg = addRaplZone(fake, {
    dir: "intel-rapl:0",
    name: "package-0",
    energyUj: range - 5e9,
    maxEnergyRangeUj: range,
  });
  const { sensor } = open(fake.root);
  let truthUj = 0;
  let raw = range - 5e9;
  readAt(sensor, 0);
  // 40 ticks of 7e10 µJ (70 kJ each, as at 700 kW for 0.1 s): ~10 wraps
  let last = new Map<string, number>();
  for (let i = 1; i <= 40; i++) {
    const step = 7e10 + i * 1e6;
    truthUj += step;
    raw = (raw + step) % range;
    setValue(pkg, raw);
    last = readAt(sensor, i * 1e5);
    const e = last.get("package-0/energy_j")!;
    assert.ok(
      Math.abs(e - truthUj / 1e6) <= 0.01 * truthUj / 1e6,
      `tick ${i}: ${e} vs ${truthUj / 1e6}`,
    );
    const p = last.get("package-0/power_w")!;
    assert.ok(Math.abs(p - step / 1e6 / 0.1) < 1e-3 * p, `power ${p}`);
  }
  sensor.close();
});

Deno.test("raplFactory: a counter rewritten concurrently by another process, wrapping, loses and adds no energy", async () => {
  using fake = new FakeTree();
  const range = 1_000_000; // small range: wraps every 100 writes (~0.1–0.3 s)
  const pkg = addRaplZone(fake, {
    dir: "intel-rapl:0",
    name: "package-0",
    maxEnergyRangeUj: range,
  });
  const writer = new ConcurrentCounterWriter(pkg, { stepUj: 10_000, maxRangeUj: range });
  const { sensor } = open(fake.root);
  const values = new Float64Array(sensor.channels.length);
  sensor.read(values, 0); // first sample: the writer has not started
  writer.start();
  const t0 = performance.now();
  let reads = 0;
  while (performance.now() - t0 < 1500) {
    await new Promise((r) => setTimeout(r, 20));
    sensor.read(values, Math.round((performance.now() - t0) * 1000));
    reads++;
  }
  const truthUj = await writer.stop();
  sensor.read(values, Math.round((performance.now() - t0) * 1000) + 1);
  const got = values[0] * 1e6;
  assert.ok(truthUj > 2 * range, `the writer should have wrapped (${truthUj} µJ written)`);
  assert.ok(
    Math.abs(got - truthUj) <= 0.01 * truthUj,
    `energy ${got} µJ vs truth ${truthUj} µJ after ${reads} reads`,
  );
  sensor.close();
});

Deno.test("raplFactory: root-only energy_uj gives a not-permitted note with the fix, not a failure", async () => {
  using fake = new FakeTree();
  const p = typicalIntel(fake);
  // as the kernel does since 5.10: mode 0400 root (EACCES for everyone else)
  for (const f of Object.values(p)) Deno.chmodSync(f, 0o400);
  const mod = new URL("../src/sensors/rapl.ts", import.meta.url).href;
  const out = await runUnprivileged(`
    const { raplFactory } = await import(${JSON.stringify(mod)});
    const r = raplFactory.open({ sysfsRoot: ${
    JSON.stringify(fake.root)
  }, procfsRoot: "/proc", nvmlLib: "", intervalS: 0.1 });
    console.log(JSON.stringify({ sensor: r.sensor !== null, notes: r.notes }));
  `);
  if (out === undefined) {
    console.warn("skipped: cannot drop privileges here (no setpriv)");
    return;
  }
  const { sensor, notes } = JSON.parse(out);
  assert.equal(sensor, false);
  const denied = notes.find((n: { status: string }) => n.status === "not-permitted");
  assert.ok(denied, JSON.stringify(notes));
  assert.match(denied.message, /package-0/);
  assert.match(denied.fix, /sudo chmod o\+r .*\/class\/powercap\/intel-rapl:\*\/energy_uj/);
  assert.match(
    denied.fix,
    /SUBSYSTEM=="powercap", ACTION=="add", RUN\+="\/bin\/chmod o\+r \/sys%p\/energy_uj"/,
  );
  assert.match(denied.fix, /root/);
});

Deno.test("raplFactory: one broken zone is noted; the others are still measured", () => {
  using fake = new FakeTree();
  const p = typicalIntel(fake);
  unreadable(p.dram, "directory"); // EISDIR even for root
  unreadable(p.core, "dangling"); // ENOENT even for root
  const { sensor, notes } = open(fake.root);
  assert.deepEqual(sensor.devices.map((d) => d.device), ["package-0", "psys", "package-0/uncore"]);
  const dram = notes.find((n) => n.device === "package-0/dram");
  assert.equal(dram?.status, "error");
  assert.match(dram!.message, /EISDIR/);
  assert.equal(notes.find((n) => n.device === "package-0/core")?.status, "not-found");
  sensor.close();
});

Deno.test("raplFactory: a read that fails mid-run gives NaN and one note, then recovers", () => {
  using fake = new FakeTree();
  const pkg = addRaplZone(fake, { dir: "intel-rapl:0", name: "package-0", energyUj: 0 });
  const { sensor } = open(fake.root);
  readAt(sensor, 0);
  setValue(pkg, ""); // an empty read, as when a file is caught being rewritten
  assert.ok(Number.isNaN(readAt(sensor, 1e5).get("package-0/energy_j")));
  setValue(pkg, 2e6);
  const r = readAt(sensor, 2e5);
  assert.equal(r.get("package-0/energy_j"), 2);
  assert.equal(r.get("package-0/power_w"), 10); // 2 J over the 0.2 s since the last good read
  sensor.close();
});

Deno.test("raplFactory: no powercap → null sensor and a not-found note with a fix", () => {
  using fake = new FakeTree();
  const { sensor, notes } = raplFactory.open(opts(fake.root));
  assert.equal(sensor, null);
  assert.equal(notes[0].status, "not-found");
  assert.match(notes[0].fix!, /modprobe intel_rapl_msr/);
});

Deno.test("raplFactory: a real two-socket tree with an MMIO mirror on disk", () => {
  using fake = new FakeTree();
  const a = addRaplZone(fake, { dir: "intel-rapl:0", name: "package-0" });
  addRaplZone(fake, { dir: "intel-rapl:0:0", name: "dram" });
  const b = addRaplZone(fake, { dir: "intel-rapl:1", name: "package-1" });
  addRaplZone(fake, { dir: "intel-rapl:1:0", name: "dram" });
  const m = addRaplZone(fake, { dir: "intel-rapl-mmio:0", name: "package-0" });
  const { sensor, notes } = open(fake.root);
  assert.deepEqual(sensor.devices.map((d) => `${d.device}:${d.total}`), [
    "package-0:cpu",
    "package-1:cpu",
    "package-0/dram:dram",
    "package-1/dram:dram",
  ]);
  assert.ok(notes.some((n) => /intel-rapl-mmio:0/.test(n.message)));
  readAt(sensor, 0);
  setValue(a, 100e6);
  setValue(b, 120e6);
  setValue(m, 100e6);
  const r = readAt(sensor, 1e6);
  assert.equal(r.get("package-0/energy_j")! + r.get("package-1/energy_j")!, 220);
  sensor.close();
});
