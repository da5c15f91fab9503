/**
 * The NVML sensor against a C double of libnvidia-ml (tests/fixtures/nvml_double.c)
 * whose power is P(t) = b + a·sin(2πt/p) on absolute unix time, so energy over
 * any window has a closed form to compare with.
 */
import assert from "node:assert/strict";
import { fallbackErrorWords, Nvml, NvmlError } from "../ffi/nvml.ts";
import { nvmlFactory, type NvmlSensor, resolveGpuSelection } from "../src/sensors/nvml.ts";
import type { SensorOptions } from "../src/sensors/types.ts";
import { nvmlDoublePath, withDoubleEnv } from "./helpers/nvml_double.ts";

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function options(lib: string, extra: Partial<SensorOptions> = {}): SensorOptions {
  return { sysfsRoot: "/sys", procfsRoot: "/proc", nvmlLib: lib, intervalS: 0.025, ...extra };
}

/** The double's default power curve for device i (see nvml_double.c). */
function curve(i: number) {
  return { b: 100 + 50 * i, a: 40, p: 0.9 + 0.2 * i };
}

/** ∫ P dt over [t0, t1] (seconds), closed form. */
function trueEnergy(i: number, t0: number, t1: number): number {
  const { b, a, p } = curve(i);
  const w = 2 * Math.PI / p;
  return b * (t1 - t0) - (a / w) * (Math.cos(w * t1) - Math.cos(w * t0));
}

function powerAt(i: number, t: number): number {
  const { b, a, p } = curve(i);
  return b + a * Math.sin(2 * Math.PI * t / p);
}

function openSensor(opts: SensorOptions): NvmlSensor {
  const { sensor, notes } = nvmlFactory.open(opts);
  assert.ok(sensor, `sensor expected; notes: ${JSON.stringify(notes)}`);
  return sensor as NvmlSensor;
}

function slot(s: NvmlSensor, device: string, metric: string): number {
  return s.channels.findIndex((c) => c.device === device && c.metric === metric);
}

interface Run {
  times: number[];
  rows: Float64Array[];
  maxReadMs: number;
}

/** Read every `stepMs` for `durationMs` with real timestamps. */
async function sample(s: NvmlSensor, durationMs: number, stepMs: number): Promise<Run> {
  const run: Run = { times: [], rows: [], maxReadMs: 0 };
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    const v = new Float64Array(s.channels.length).fill(NaN);
    const t = nowUs();
    const a = performance.now();
    s.read(v, t);
    run.maxReadMs = Math.max(run.maxReadMs, performance.now() - a);
    run.times.push(t);
    run.rows.push(v);
    await sleep(stepMs);
  }
  return run;
}

async function done(s: NvmlSensor): Promise<void> {
  await s.settled();
  s.close();
  await s.settled();
}

Deno.test("counter energy matches the analytic integral within 0.5% over ~2 s", async () => {
  const lib = nvmlDoublePath();
  await withDoubleEnv({ NVML_DOUBLE_DEVICES: 2 }, async () => {
    const s = openSensor(options(lib));
    assert.deepEqual(s.devices.map((d) => d.energyMethod), ["counter", "counter"]);
    const run = await sample(s, 2000, 25);
    await done(s);
    const t0 = run.times[0] / 1e6, t1 = run.times.at(-1)! / 1e6;
    for (const i of [0, 1]) {
      const ie = slot(s, `gpu${i}`, "energy_j");
      const ip = slot(s, `gpu${i}`, "power_w");
      assert.equal(s.channels[ie].metric, "energy_j");
      assert.equal(run.rows[0][ie], 0, "energy starts at 0 on the first sample");
      for (let k = 1; k < run.rows.length; k++) {
        assert.ok(run.rows[k][ie] >= run.rows[k - 1][ie], "energy_j is monotonic");
      }
      const truth = trueEnergy(i, t0, t1);
      const got = run.rows.at(-1)![ie];
      assert.ok(
        Math.abs(got - truth) / truth < 0.005,
        `gpu${i}: energy ${got.toFixed(3)} J vs truth ${truth.toFixed(3)} J`,
      );
      // power_w follows P(t) at the tick's time (mW quantisation + µs of call delay)
      for (let k = 0; k < run.rows.length; k++) {
        const want = powerAt(i, run.times[k] / 1e6);
        assert.ok(Math.abs(run.rows[k][ip] - want) < 1, `power ${run.rows[k][ip]} vs ${want}`);
      }
    }
  });
});

Deno.test("without an energy counter, energy_j integrates power_w within 1%", async () => {
  const lib = nvmlDoublePath();
  await withDoubleEnv({ NVML_DOUBLE_DEVICES: 1, NVML_DOUBLE_NO_ENERGY: 1 }, async () => {
    const { sensor, notes } = nvmlFactory.open(options(lib));
    assert.ok(sensor);
    const s = sensor as NvmlSensor;
    assert.equal(s.devices[0].energyMethod, "power-integral");
    assert.ok(
      notes.some((n) => /no energy counter/.test(n.message) && /Not Supported/.test(n.message)),
    );
    const run = await sample(s, 2000, 20);
    await done(s);
    const truth = trueEnergy(0, run.times[0] / 1e6, run.times.at(-1)! / 1e6);
    const got = run.rows.at(-1)![slot(s, "gpu0", "energy_j")];
    assert.ok(Math.abs(got - truth) / truth < 0.01, `energy ${got} J vs truth ${truth} J`);
  });
});

Deno.test("init error: null sensor and a note naming the error in words", async () => {
  const lib = nvmlDoublePath();
  await withDoubleEnv({ NVML_DOUBLE_INIT_ERROR: 9 }, () => {
    const { sensor, notes } = nvmlFactory.open(options(lib));
    assert.equal(sensor, null);
    assert.equal(notes.length, 1);
    assert.match(notes[0].message, /Driver Not Loaded/);
    assert.match(notes[0].message, /NVML_ERROR_DRIVER_NOT_LOADED/);
    assert.equal(notes[0].status, "not-found");
    assert.ok(notes[0].fix);
  });
  // an old library without nvmlErrorString: words from the table
  await withDoubleEnv({ NVML_DOUBLE_INIT_ERROR: 9 }, () => {
    const { sensor, notes } = nvmlFactory.open(options(nvmlDoublePath("legacy")));
    assert.equal(sensor, null);
    assert.match(notes[0].message, /Driver Not Loaded/);
  });
  assert.equal(fallbackErrorWords(3), "Not Supported");
  assert.equal(fallbackErrorWords(15), "GPU Is Lost");
});

Deno.test("a missing library: null sensor and one clear line with the fix", () => {
  const bare = nvmlFactory.open(options("libnvidia-ml-absent.so.1"));
  assert.equal(bare.sensor, null);
  assert.equal(bare.notes.length, 1);
  assert.match(
    bare.notes[0].message,
    /NVML library libnvidia-ml-absent\.so\.1 not found: no NVIDIA driver/,
  );
  assert.match(bare.notes[0].fix!, /--nvml-lib PATH/);
  assert.equal(bare.notes[0].status, "not-found");

  const path = nvmlFactory.open(options("/nonexistent/dir/libnvidia-ml.so.1"));
  assert.equal(path.sensor, null);
  assert.match(
    path.notes[0].message,
    /\/nonexistent\/dir\/libnvidia-ml\.so\.1 could not be loaded/,
  );

  assert.throws(
    () => Nvml.load("/nonexistent/x.so"),
    (e) => e instanceof NvmlError && e.code === 12,
  );
});

Deno.test("three GPUs: distinct names and UUIDs, devices gpu0..gpu2, full channel set", async () => {
  const lib = nvmlDoublePath();
  await withDoubleEnv({ NVML_DOUBLE_DEVICES: 3 }, async () => {
    const s = openSensor(options(lib));
    assert.deepEqual(s.devices.map((d) => d.device), ["gpu0", "gpu1", "gpu2"]);
    assert.equal(new Set(s.devices.map((d) => d.name)).size, 3);
    assert.equal(new Set(s.devices.map((d) => d.uuid)).size, 3);
    for (const d of s.devices) {
      assert.equal(d.source, "nvml");
      assert.equal(d.total, "gpu");
      assert.match(d.uuid!, /^GPU-[0-9a-f]{8}-/);
      assert.equal(d.attributes?.driver_version, "999.99.01-double");
      assert.equal(d.attributes?.nvml_version, "13.999.99");
      assert.equal(d.attributes?.architecture, "Hopper");
      assert.match(String(d.attributes?.pci_bus_id), /^00000000:1[0-2]:00\.0$/);
    }
    assert.equal(s.devices[1].attributes?.power_limit_w, 699);
    const metrics = s.channels.filter((c) => c.device === "gpu1").map((c) => c.metric);
    assert.equal(metrics[0], "energy_j", "energy is the first channel");
    for (
      const m of [
        "power_w",
        "power_instant_w",
        "util_pct",
        "mem_util_pct",
        "mem_used_bytes",
        "mem_total_bytes",
        "temp_c",
        "sm_clock_mhz",
        "mem_clock_mhz",
        "power_limit_w",
        "throttle_reasons",
        "pcie_tx_bytes_per_s",
        "pcie_rx_bytes_per_s",
        "process_count",
        "process_mem_used_bytes",
        "other_process_count",
      ]
    ) assert.ok(metrics.includes(m), `gpu1 lacks ${m}`);
    assert.ok(!metrics.includes("sm_active_pct"), "no GPM unless supported");

    // legacy PCIe throughput arrives asynchronously (KB/s → bytes/s)
    const run = await sample(s, 300, 20);
    const v = run.rows.at(-1)!;
    assert.equal(v[slot(s, "gpu1", "util_pct")], 51);
    assert.equal(v[slot(s, "gpu1", "mem_used_bytes")], 2 * 2 ** 30);
    assert.equal(v[slot(s, "gpu1", "mem_total_bytes")], 80 * 2 ** 30);
    assert.equal(v[slot(s, "gpu2", "temp_c")], 42);
    assert.equal(v[slot(s, "gpu2", "sm_clock_mhz")], 1520);
    assert.equal(v[slot(s, "gpu0", "power_limit_w")], 700);
    assert.equal(
      v[slot(s, "gpu0", "throttle_reasons")],
      1,
      "clocks event reasons, not the deprecated call",
    );
    const tx = run.rows.map((r) => r[slot(s, "gpu1", "pcie_tx_bytes_per_s")]).filter((x) =>
      x === x
    );
    const rx = run.rows.map((r) => r[slot(s, "gpu1", "pcie_rx_bytes_per_s")]).filter((x) =>
      x === x
    );
    assert.deepEqual(tx, [2000 * 1024], "one PCIe value per query");
    assert.deepEqual(rx, [4000 * 1024]);
    assert.ok(run.maxReadMs < 15, `read() stalled ${run.maxReadMs} ms`);
    await done(s);
  });
});

Deno.test("--gpus keeps GPUs by index and by UUID prefix; unknown entries are notes", async () => {
  const lib = nvmlDoublePath();
  await withDoubleEnv({ NVML_DOUBLE_DEVICES: 3 }, async () => {
    const all = openSensor(options(lib));
    const uuid0 = all.devices[0].uuid!;
    await done(all);

    const { sensor, notes } = nvmlFactory.open(
      options(lib, { gpus: ["2", uuid0.slice(0, 12), "7"] }),
    );
    assert.ok(sensor);
    assert.deepEqual(sensor.devices.map((d) => d.device), ["gpu0", "gpu2"]);
    assert.ok(sensor.channels.every((c) => c.device !== "gpu1"));
    const nf = notes.filter((n) => n.status === "not-found");
    assert.equal(nf.length, 1);
    assert.match(nf[0].message, /"7" matches no NVIDIA GPU/);
    await done(sensor as NvmlSensor);

    const full = openSensor(options(lib, { gpus: [uuid0.toUpperCase().replace("GPU-", "GPU-")] }));
    assert.deepEqual(full.devices.map((d) => d.device), ["gpu0"]);
    await done(full);

    const none = nvmlFactory.open(options(lib, { gpus: ["9"] }));
    assert.equal(none.sensor, null);
    assert.ok(none.notes.some((n) => /no NVIDIA GPU left/.test(n.message)));
  });
});

Deno.test("resolveGpuSelection: explicit lists, all, and auto from the environment", () => {
  assert.deepEqual(resolveGpuSelection("0,2", {}), ["0", "2"]);
  assert.deepEqual(resolveGpuSelection(" GPU-abc , 1 ", {}), ["GPU-abc", "1"]);
  assert.equal(resolveGpuSelection("all", { CUDA_VISIBLE_DEVICES: "1" }), undefined);
  assert.equal(resolveGpuSelection("", {}), undefined);
  assert.equal(resolveGpuSelection("auto", {}), undefined);
  assert.deepEqual(
    resolveGpuSelection("auto", { CUDA_VISIBLE_DEVICES: "1,3", SLURM_JOB_GPUS: "5" }),
    ["1", "3"],
  );
  assert.deepEqual(resolveGpuSelection("auto", { CUDA_VISIBLE_DEVICES: "2,-1,3" }), ["2"]);
  assert.deepEqual(
    resolveGpuSelection("auto", {
      CUDA_VISIBLE_DEVICES: "",
      NVIDIA_VISIBLE_DEVICES: "GPU-aa,GPU-bb",
    }),
    ["GPU-aa", "GPU-bb"],
  );
  for (const v of ["all", "none", "void"]) {
    assert.deepEqual(
      resolveGpuSelection("auto", { NVIDIA_VISIBLE_DEVICES: v, SLURM_JOB_GPUS: "0,1" }),
      ["0", "1"],
    );
  }
  assert.deepEqual(resolveGpuSelection("auto", { ROCR_VISIBLE_DEVICES: "4" }), ["4"]);
  assert.equal(resolveGpuSelection("auto", { NVIDIA_VISIBLE_DEVICES: "all" }), undefined);
});

Deno.test("process attribution: the command's pids vs others, without stalling read()", async () => {
  const lib = nvmlDoublePath();
  const me = Deno.pid;
  const stranger = 4_000_001; // above any default pid_max: never in our tree
  await withDoubleEnv({
    NVML_DOUBLE_DEVICES: 2,
    NVML_DOUBLE_PIDS: `0:${me}:1048576,0:${stranger}:2048,1:${me}:4096`,
    NVML_DOUBLE_PROC_DELAY_MS: 150,
  }, async () => {
    const s = openSensor(options(lib, { rootPid: () => me }));
    const run = await sample(s, 400, 20);
    assert.ok(
      run.maxReadMs < 15,
      `read() stalled ${run.maxReadMs} ms behind a 150 ms process query`,
    );
    const last = (dev: string, m: string) => {
      const vals = run.rows.map((r) => r[slot(s, dev, m)]).filter((x) => x === x);
      assert.equal(vals.length, 1, `${dev} ${m}: one value per query`);
      return vals[0];
    };
    assert.equal(last("gpu0", "process_count"), 1);
    assert.equal(last("gpu0", "process_mem_used_bytes"), 1048576);
    assert.equal(last("gpu0", "other_process_count"), 1);
    assert.equal(last("gpu1", "process_count"), 1);
    assert.equal(last("gpu1", "process_mem_used_bytes"), 4096);
    assert.equal(last("gpu1", "other_process_count"), 0);
    const use = s.gpuUse();
    assert.deepEqual(use[0], {
      device: "gpu0",
      uuid: s.devices[0].uuid,
      usedByCommand: true,
      maxCommandMemBytes: 1048576,
      otherPids: [stranger],
    });
    assert.equal(use[1].usedByCommand, true);
    assert.deepEqual(use[1].otherPids, []);
    await done(s);
  });
});

Deno.test("GPM metrics (Hopper+) when nvmlGpmQueryDeviceSupport says so", async () => {
  const lib = nvmlDoublePath();
  await withDoubleEnv({ NVML_DOUBLE_DEVICES: 2, NVML_DOUBLE_GPM: 1 }, async () => {
    const s = openSensor(options(lib));
    assert.equal(s.devices[1].attributes?.gpm, true);
    const run = await sample(s, 450, 30);
    await done(s);
    const seen = (m: string) => run.rows.map((r) => r[slot(s, "gpu1", m)]).filter((x) => x === x);
    assert.ok(seen("sm_active_pct").length >= 2, "GPM values on ticks ≥ 100 ms apart");
    assert.ok(seen("sm_active_pct").length < run.rows.length, "not on every 30 ms tick");
    assert.equal(seen("sm_active_pct")[0], 61);
    assert.equal(seen("sm_occupancy_pct")[0], 31);
    assert.equal(seen("tensor_active_pct")[0], 26);
    assert.equal(seen("dram_bw_util_pct")[0], 46);
    assert.equal(seen("pcie_tx_bytes_per_s")[0], 200 * 1024 * 1024);
    assert.equal(seen("pcie_rx_bytes_per_s")[0], 400 * 1024 * 1024);
    assert.equal(seen("nvlink_tx_bytes_per_s")[0], 800 * 1024 * 1024);
    assert.equal(seen("nvlink_rx_bytes_per_s")[0], 600 * 1024 * 1024);
    assert.equal(s.channels.filter((c) => c.metric === "pcie_tx_bytes_per_s").length, 2);
    assert.ok(!s.notes.some((n) => n.status === "error"), JSON.stringify(s.notes));
  });
});

Deno.test("an old library: optional symbols absent, fallbacks used, channels skipped with a note", async () => {
  const lib = nvmlDoublePath("legacy");
  await withDoubleEnv({ NVML_DOUBLE_DEVICES: 2 }, async () => {
    const { sensor, notes } = nvmlFactory.open(options(lib));
    assert.ok(sensor);
    const s = sensor as NvmlSensor;
    assert.deepEqual(s.devices.map((d) => d.energyMethod), ["power-integral", "power-integral"]);
    const metrics = s.channels.map((c) => c.metric);
    for (const m of ["power_instant_w", "process_count", "sm_active_pct"]) {
      assert.ok(!metrics.includes(m));
    }
    const inst = notes.filter((n) => n.message.startsWith("power_instant_w"));
    assert.equal(inst.length, 1, "one note per unsupported metric");
    assert.match(inst[0].message, /gpu0, gpu1/);
    const run = await sample(s, 200, 20);
    await done(s);
    assert.equal(
      run.rows.at(-1)![slot(s, "gpu0", "throttle_reasons")],
      5,
      "deprecated ThrottleReasons fallback",
    );
    assert.ok(run.rows.at(-1)![slot(s, "gpu0", "energy_j")] > 0);
  });
});

Deno.test("effective update period of power and energy readings", async () => {
  const lib = nvmlDoublePath();
  await withDoubleEnv({ NVML_DOUBLE_DEVICES: 1, NVML_DOUBLE_QUANTUM_MS: 100 }, async () => {
    const s = openSensor(options(lib));
    await sample(s, 1300, 10);
    await done(s);
    const p = s.updatePeriods().gpu0;
    for (const m of ["power_w", "power_instant_w", "energy_j"]) {
      assert.ok(p[m] !== null && Math.abs(p[m]! - 0.1) < 0.015, `${m}: ${p[m]}`);
    }
  });
  await withDoubleEnv({ NVML_DOUBLE_DEVICES: 1 }, async () => {
    const s = openSensor(options(lib));
    await sample(s, 300, 20);
    await done(s);
    const p = s.updatePeriods().gpu0.power_w;
    assert.ok(p !== null && p < 0.05, `continuous power changes every tick: ${p}`);
  });
});

Deno.test("a failing read is NaN that tick and one counted note, not one note per tick", async () => {
  const lib = nvmlDoublePath();
  await withDoubleEnv({ NVML_DOUBLE_DEVICES: 1, NVML_DOUBLE_TEMP_ERROR: 15 }, async () => {
    const s = openSensor(options(lib));
    const it = slot(s, "gpu0", "temp_c");
    assert.ok(it >= 0, "an error other than NOT_SUPPORTED keeps the channel");
    const run = await sample(s, 150, 10);
    await done(s);
    assert.ok(run.rows.every((r) => Number.isNaN(r[it])));
    assert.ok(
      run.rows.every((r) => r[slot(s, "gpu0", "power_w")] > 0),
      "other channels unaffected",
    );
    const errs = s.notes.filter((n) => n.status === "error");
    assert.equal(errs.length, 1);
    assert.match(errs[0].message, /gpu0 temp_c: .*GPU is lost.*NVML_ERROR_GPU_IS_LOST/);
    assert.match(errs[0].message, new RegExp(`\\(${run.rows.length} times\\)`));
  });
});
