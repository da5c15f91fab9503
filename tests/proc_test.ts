import assert from "node:assert/strict";
import {
  isProcSensor,
  parseCpuLine,
  parseMeminfo,
  parsePidStat,
  PID_STAT,
  procFactory,
  type ProcSensor,
} from "../src/sensors/proc.ts";
import type { SensorOptions } from "../src/sensors/types.ts";
import {
  FakeTree,
  procStatLine,
  removeProc,
  writeMeminfo,
  writeProc,
  writeProcStat,
  writeUptime,
} from "./helpers/fake_sysfs.ts";

const enc = new TextEncoder();

function opts(procfsRoot: string, rootPid?: () => number | undefined): SensorOptions {
  return {
    sysfsRoot: "/sys",
    procfsRoot,
    nvmlLib: "",
    intervalS: 0.1,
    ...(rootPid ? { rootPid } : {}),
  };
}

function open(o: SensorOptions): ProcSensor {
  const { sensor, notes } = procFactory.open(o);
  assert.ok(isProcSensor(sensor), JSON.stringify(notes));
  return sensor;
}

function readAt(sensor: ProcSensor, timeUs: number): Map<string, number> {
  const values = new Float64Array(sensor.channels.length);
  sensor.read(values, timeUs);
  const out = new Map<string, number>();
  sensor.channels.forEach((c, i) => out.set(`${c.device}/${c.metric}`, values[i]));
  return out;
}

Deno.test("parsePidStat() reads fields after a comm holding spaces and parens", () => {
  const line = procStatLine({
    pid: 42,
    ppid: 7,
    comm: "a (weird) name",
    utime: 11,
    stime: 22,
    cutime: 33,
    cstime: 44,
    threads: 5,
    starttime: 123456,
    rssPages: 789,
  });
  const buf = enc.encode(line);
  const out = new Float64Array(8);
  assert.ok(parsePidStat(buf, buf.length, out));
  assert.deepEqual([...out], [7, 11, 22, 33, 44, 5, 123456, 789]);
  assert.equal(out[PID_STAT.threads], 5);
});

Deno.test("parseCpuLine() and parseMeminfo() read real-looking files", () => {
  const stat = enc.encode("cpu  10 2 30 400 5 6 7 8 9 1\ncpu0 1 1 1 1 1 1 1 1 1 1\n");
  const f = new Float64Array(10);
  assert.ok(parseCpuLine(stat, stat.length, f));
  assert.deepEqual([...f], [10, 2, 30, 400, 5, 6, 7, 8, 9, 1]);
  const mi = enc.encode(
    "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    600 kB\n",
  );
  const m = new Float64Array(2);
  parseMeminfo(mi, mi.length, m);
  assert.deepEqual([...m], [1000, 600]);
});

Deno.test("procFactory: host util_pct from /proc/stat deltas; memory used = MemTotal − MemAvailable", () => {
  using fake = new FakeTree();
  writeProcStat(fake, { user: 100, system: 50, idle: 850 });
  writeMeminfo(fake, 16_000_000, 12_000_000);
  const sensor = open(opts(fake.root));
  assert.deepEqual(sensor.channels.map((c) => `${c.device}/${c.metric}`), [
    "cpu/util_pct",
    "mem/used_bytes",
    "mem/total_bytes",
  ]);
  writeProcStat(fake, { user: 200, system: 100, idle: 1650, steal: 50 });
  const r = readAt(sensor, 1e6);
  assert.equal(r.get("cpu/util_pct"), 15); // busy 150 of 1000 jiffies
  assert.equal(r.get("mem/used_bytes"), 4_000_000 * 1024);
  assert.equal(r.get("mem/total_bytes"), 16_000_000 * 1024);
  assert.equal(sensor.cpuTimeShare().hostBusyCpuS, 1.5);
  sensor.close();
});

Deno.test("procFactory: the process tree's CPU never jumps back as children come and go", () => {
  using fake = new FakeTree();
  writeProcStat(fake, { user: 0, system: 0, idle: 0 });
  writeMeminfo(fake, 1000, 500);
  writeUptime(fake, 1000); // opened at boot tick 100000
  writeProc(fake, { pid: 1, ppid: 0, utime: 5000, starttime: 1 }); // init, not in the tree
  writeProc(fake, { pid: 100, ppid: 1, utime: 5, starttime: 100010, rssPages: 100, threads: 2 });
  let root: number | undefined = undefined;
  const sensor = open(opts(fake.root, () => root));
  assert.ok(Number.isNaN(readAt(sensor, 0).get("process/cpu_pct")!)); // no command yet
  root = 100;
  let r = readAt(sensor, 1e6);
  assert.ok(Number.isNaN(r.get("process/cpu_pct")!)); // first sample of the tree
  assert.equal(r.get("process/rss_bytes"), 100 * 4096);
  assert.equal(r.get("process/threads"), 2);
  assert.equal(sensor.cpuTimeShare().treeCpuS, 0.05); // born after open: counted from birth

  // +1 s: root used 50 ticks; child 101 was born and used 30
  writeProc(fake, { pid: 100, ppid: 1, utime: 55, starttime: 100010, rssPages: 100, threads: 2 });
  writeProc(fake, { pid: 101, ppid: 100, utime: 30, starttime: 100150, rssPages: 50 });
  r = readAt(sensor, 2e6);
  assert.equal(r.get("process/cpu_pct"), 80);
  assert.equal(r.get("process/rss_bytes"), 150 * 4096);
  assert.equal(r.get("process/threads"), 3);

  // +1 s: the child used 20 more, exited and was reaped: root's cutime += 50
  removeProc(fake, 101);
  writeProc(fake, { pid: 100, ppid: 1, utime: 105, cutime: 50, starttime: 100010, rssPages: 100 });
  r = readAt(sensor, 3e6);
  assert.equal(r.get("process/cpu_pct"), 70); // 50 (root) + 20 (child's unseen tail), not 100

  // +1 s: a short-lived grandchild came and went between samples (only visible through cutime)
  writeProc(fake, { pid: 100, ppid: 1, utime: 105, cutime: 90, starttime: 100010, rssPages: 100 });
  r = readAt(sensor, 4e6);
  assert.equal(r.get("process/cpu_pct"), 40);
  assert.equal(sensor.cpuTimeShare().treeCpuS, (5 + 80 + 70 + 40) / 100);

  // the root exits: no values, no negative jump
  removeProc(fake, 100);
  r = readAt(sensor, 5e6);
  assert.ok(Number.isNaN(r.get("process/cpu_pct")!));
  assert.equal(sensor.cpuTimeShare().treeCpuS, 1.95);
  sensor.close();
});

Deno.test("procFactory: a process that existed before the sensor opened counts from first sight", () => {
  using fake = new FakeTree();
  writeProcStat(fake, { user: 0, system: 0, idle: 0 });
  writeMeminfo(fake, 1000, 500);
  writeUptime(fake, 1000);
  writeProc(fake, { pid: 200, ppid: 1, utime: 9000, stime: 1000, starttime: 500 });
  const sensor = open(opts(fake.root, () => 200));
  readAt(sensor, 0);
  writeProc(fake, { pid: 200, ppid: 1, utime: 9025, stime: 1025, starttime: 500 });
  assert.equal(readAt(sensor, 5e5).get("process/cpu_pct"), 100);
  assert.equal(sensor.cpuTimeShare().treeCpuS, 0.5);
  sensor.close();
});

/** Nanoseconds the task has run on a CPU (`/proc/<pid>/schedstat`, scheduler accounting, not ticks). */
function schedRunNs(pid: number): number {
  return Number(Deno.readTextFileSync(`/proc/${pid}/schedstat`).split(" ")[0]);
}

Deno.test("procFactory: a real CPU-burning child shows about 100% cpu_pct with the real /proc", async () => {
  const child = new Deno.Command("sh", {
    args: ["-c", "while :; do :; done"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const sensor = open(opts("/proc", () => child.pid));
    const now = () => Math.round(performance.now() * 1000);
    const t0 = now();
    readAt(sensor, t0);
    const ran0 = schedRunNs(child.pid);
    const samples: number[] = [];
    let rss = 0;
    let threads = 0;
    while (now() - t0 < 1.5e6) {
      await new Promise((res) => setTimeout(res, 100));
      const r = readAt(sensor, now());
      samples.push(r.get("process/cpu_pct")!);
      rss = r.get("process/rss_bytes")!;
      threads = r.get("process/threads")!;
      assert.ok(r.get("cpu/util_pct")! >= 0 && r.get("cpu/util_pct")! <= 100);
    }
    const ranS = (schedRunNs(child.pid) - ran0) / 1e9;
    const elapsedS = (now() - t0) / 1e6;
    const share = sensor.cpuTimeShare();
    const avg = 100 * share.treeCpuS / elapsedS;
    const detail = `average cpu_pct ${avg.toFixed(1)}, scheduler says ${
      (100 * ranS / elapsedS).toFixed(1)
    }% (samples ${samples.map((x) => x.toFixed(0))})`;
    // against the scheduler's own run time (an independent kernel counter)
    assert.ok(Math.abs(share.treeCpuS - ranS) <= Math.max(0.15 * ranS, 0.05), detail);
    if (ranS / elapsedS >= 0.9) {
      // the child had a core to itself: about 100%
      assert.ok(avg >= 70 && avg <= 130, detail);
    } else {
      console.warn(`busy machine, the child got less than a core: ${detail}`);
    }
    assert.ok(rss > 100_000, `rss ${rss}`);
    assert.equal(threads, 1);
    assert.ok(share.hostBusyCpuS >= share.treeCpuS * 0.9, JSON.stringify(share));
    assert.ok(share.share > 0 && share.share <= 1);
    sensor.close();
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});

Deno.test("procFactory without a rootPid option lists no process channels; a missing procfs is a note", () => {
  const sensor = open(opts("/proc"));
  assert.ok(!sensor.channels.some((c) => c.device === "process"));
  sensor.close();
  using fake = new FakeTree();
  const { sensor: none, notes } = procFactory.open(opts(fake.root));
  assert.equal(none, null);
  assert.equal(notes[0].status, "not-found");
});

Deno.test("a set of pids (a job's cgroup) is measured like a process tree", async () => {
  const { procFactory } = await import("../src/sensors/proc.ts");
  const busy = new Deno.Command("sh", { args: ["-c", "timeout 1.2 sh -c 'while :; do :; done'"] })
    .spawn();
  await new Promise((r) => setTimeout(r, 100));
  const { processTree } = await import("../src/sensors/proctree.ts");
  const pids = processTree("/proc", busy.pid);
  const { sensor } = procFactory.open({
    sysfsRoot: "/sys",
    procfsRoot: "/proc",
    nvmlLib: "x",
    intervalS: 0.1,
    processPids: () => pids,
  });
  const v = new Float64Array(sensor!.channels.length);
  const i = sensor!.channels.findIndex((c) => c.device === "process" && c.metric === "cpu_pct");
  assert.ok(i >= 0, "process channels exist without a root pid");
  sensor!.read(v, Date.now() * 1000);
  await new Promise((r) => setTimeout(r, 600));
  sensor!.read(v, Date.now() * 1000);
  assert.ok(v[i] > 20, `cpu_pct ${v[i]}`);
  sensor!.close();
  await busy.status;
});
