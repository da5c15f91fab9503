/**
 * `aimeter serve`: metric names and units, escaping, content negotiation,
 * `--listen` rules, `promtool check metrics` on the output (synthetic GPUs and
 * a live `aimeter serve` on a fake powercap tree), the textfile, the trace
 * with `--out`, and a clean stop on SIGTERM.
 */
import assert from "node:assert/strict";
import {
  escapeLabelValue,
  mapMetric,
  negotiate,
  render,
  THROTTLE_REASONS,
} from "../src/serve/exposition.ts";
import { Exporter, type SampleSource } from "../src/serve/exporter.ts";
import { handler, isLoopback, parseListen } from "../src/serve/http.ts";
import { checkTextfilePath, TextfileWriter } from "../src/serve/textfile.ts";
import { TickStats } from "../src/sampler/stats.ts";
import type { LatestValue } from "../src/sampler/sampler.ts";
import type { DeviceInfo } from "../src/sensors/types.ts";
import { addRaplZone, FakeTree, setValue } from "./helpers/fake_sysfs.ts";
import dashboard from "../grafana/aimeter-dashboard.json" with { type: "json" };

const ROOT = new URL("..", import.meta.url).pathname;
const PROMTOOL = "/usr/bin/promtool";
const hasPromtool = (() => {
  try {
    return Deno.statSync(PROMTOOL).isFile;
  } catch {
    return false;
  }
})();

async function promtoolCheck(body: string): Promise<{ ok: boolean; output: string }> {
  const p = new Deno.Command(PROMTOOL, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(body));
  await w.close();
  const out = await p.output();
  const dec = new TextDecoder();
  return { ok: out.success, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

// ---------------------------------------------------------------- a synthetic node

const NVML_METRICS: [string, number][] = [
  ["energy_j", 1234.5],
  ["power_w", 312.25],
  ["power_instant_w", 330],
  ["util_pct", 87],
  ["mem_util_pct", 41],
  ["mem_used_bytes", 42e9],
  ["mem_total_bytes", 80e9],
  ["temp_c", 64],
  ["sm_clock_mhz", 1980],
  ["mem_clock_mhz", 2619],
  ["power_limit_w", 700],
  ["throttle_reasons", 0x44],
  ["sm_active_pct", 75],
  ["sm_occupancy_pct", 30],
  ["tensor_active_pct", 50],
  ["dram_bw_util_pct", 20],
  ["pcie_tx_bytes_per_s", 1e9],
  ["pcie_rx_bytes_per_s", 2e9],
  ["nvlink_tx_bytes_per_s", 3e9],
  ["nvlink_rx_bytes_per_s", 4e9],
  ["process_count", 2],
];

const DEVICES: DeviceInfo[] = [
  {
    source: "nvml",
    device: "gpu0",
    name: "NVIDIA H100 80GB HBM3",
    uuid: "GPU-11111111-2222-3333-4444-555555555555",
    energyMethod: "counter",
    total: "gpu",
  },
  {
    source: "nvml",
    device: "gpu1",
    name: 'Weird "GPU"\\ with\nnewline',
    uuid: "GPU-aaaa",
    energyMethod: "power-integral",
    total: "gpu",
  },
  { source: "rapl", device: "package-0", energyMethod: "counter", total: "cpu" },
];

class FakeSource implements SampleSource {
  readonly stats = new TickStats();
  readonly map = new Map<string, LatestValue>();
  set(source: string, device: string, metric: string, value: number, timeUs: number) {
    this.map.set(`${source}/${device}/${metric}`, {
      channel: { source, device, metric },
      value,
      timeUs,
    });
  }
  latest() {
    return this.map;
  }
}

const NOW_US = 1_767_225_600_000_000;

function syntheticExporter(): { exporter: Exporter; source: FakeSource } {
  const source = new FakeSource();
  for (let i = 0; i < 100; i++) source.stats.record(300 + i * 10, 50);
  for (const gpu of ["gpu0", "gpu1"]) {
    for (const [m, v] of NVML_METRICS) source.set("nvml", gpu, m, v, NOW_US - 100_000);
  }
  source.set("rapl", "package-0", "energy_j", 99.5, NOW_US);
  source.set("rapl", "package-0", "power_w", 55, NOW_US);
  source.set("rapl", "package-0/dram", "energy_j", 9.5, NOW_US);
  source.set("proc", "cpu", "util_pct", 12.5, NOW_US);
  source.set("proc", "mem", "used_bytes", 8e9, NOW_US);
  source.set("proc", "mem", "total_bytes", 16e9, NOW_US);
  source.set("proc", "process", "cpu_pct", 250, NOW_US);
  source.set("proc", "process", "rss_bytes", 1e9, NOW_US);
  source.set("workload", "main", "samples_per_s", 812.5, NOW_US);
  source.set("workload", "main", "loss", 2.31, NOW_US);
  source.set("workload", "main", "tokens_total", 5, NOW_US);
  // far older than the staleness limit: must not be exported
  source.set("nvml", "gpu9", "power_w", 1, NOW_US - 3600e6);
  const exporter = new Exporter({
    host: "node17",
    version: "9.9.9",
    devices: DEVICES,
    intervalS: 0.1,
    startTimeS: NOW_US / 1e6 - 60,
    nowUs: () => NOW_US,
  });
  exporter.attach(source);
  return { exporter, source };
}

/** `name{labels} value` lines → [name, labels text, value]. */
function samples(body: string): { name: string; labels: string; value: number }[] {
  return body.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(l);
    assert.ok(m, `bad sample line: ${l}`);
    return { name: m[1], labels: m[2] ?? "", value: Number(m[3]) };
  });
}

function find(body: string, name: string, ...labelParts: string[]) {
  return samples(body).filter((s) =>
    s.name === name && labelParts.every((p) => s.labels.includes(p))
  );
}

// ---------------------------------------------------------------- names, units, escaping

Deno.test("mapMetric: trace metrics map to Prometheus names in base units", () => {
  assert.deepEqual(
    [mapMetric("power_w").family, mapMetric("power_w").type, mapMetric("power_w").scale],
    ["aimeter_power_watts", "gauge", 1],
  );
  assert.equal(mapMetric("energy_j").family, "aimeter_energy_joules");
  assert.equal(mapMetric("energy_j").type, "counter");
  assert.equal(mapMetric("util_pct").family, "aimeter_utilization_ratio");
  assert.equal(mapMetric("util_pct").scale, 0.01);
  assert.equal(mapMetric("mem_used_bytes").family, "aimeter_memory_used_bytes");
  assert.equal(mapMetric("temp_c").family, "aimeter_temperature_celsius");
  const sm = mapMetric("sm_clock_mhz");
  assert.deepEqual([sm.family, sm.scale, sm.labels], ["aimeter_clock_hertz", 1e6, [[
    "clock",
    "sm",
  ]]]);
  assert.deepEqual(mapMetric("mem_clock_mhz").labels, [["clock", "mem"]]);
  // generic: unit suffixes become base units, anything else keeps its name
  assert.equal(mapMetric("pcie_tx_bytes_per_s").family, "aimeter_pcie_tx_bytes_per_second");
  assert.equal(mapMetric("samples_per_s").family, "aimeter_samples_per_second");
  assert.equal(mapMetric("sm_active_pct").family, "aimeter_sm_active_ratio");
  assert.equal(mapMetric("step_time_ms").family, "aimeter_step_time_seconds");
  assert.equal(mapMetric("step_time_ms").scale, 1e-3);
  assert.equal(mapMetric("loss").family, "aimeter_loss");
  assert.equal(mapMetric("tokens_total").family, "aimeter_tokens_total_value");
  assert.equal(mapMetric("eval/acc-1").family, "aimeter_eval_acc_1");
});

Deno.test("label values and HELP are escaped per the exposition format", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const body = render([{
    name: "aimeter_x",
    type: "gauge",
    help: 'say "hi"\\\nbye',
    samples: [{ labels: [["device", 'q"\\\n']], value: NaN }],
  }], "prometheus");
  assert.equal(
    body,
    '# HELP aimeter_x say "hi"\\\\\\nbye\n# TYPE aimeter_x gauge\naimeter_x{device="q\\"\\\\\\n"} NaN\n',
  );
  const om = render([{
    name: "aimeter_x",
    type: "gauge",
    help: 'say "hi"',
    samples: [{ labels: [], value: Infinity }],
  }], "openmetrics");
  assert.equal(
    om,
    '# TYPE aimeter_x gauge\n# HELP aimeter_x say \\"hi\\"\naimeter_x +Inf\n# EOF\n',
  );
});

Deno.test("content negotiation: OpenMetrics only when Accept asks for it", () => {
  // what Prometheus 2.x sends
  assert.equal(
    negotiate(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75," +
        "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    ),
    "openmetrics",
  );
  assert.equal(negotiate("application/openmetrics-text"), "openmetrics");
  assert.equal(negotiate(null), "prometheus");
  assert.equal(negotiate("*/*"), "prometheus");
  assert.equal(negotiate("text/plain;version=0.0.4"), "prometheus");
  assert.equal(negotiate("text/plain, application/openmetrics-text;q=0.5"), "prometheus");
  assert.equal(negotiate("application/openmetrics-text;q=0"), "prometheus");
  assert.equal(negotiate("application/openmetrics-text;version=2.0.0"), "prometheus");
});

Deno.test("--listen: HOST:PORT, [v6]:PORT, bare port on loopback; bad values are usage errors", () => {
  assert.deepEqual(parseListen("127.0.0.1:9400"), { hostname: "127.0.0.1", port: 9400 });
  assert.deepEqual(parseListen("0.0.0.0:0"), { hostname: "0.0.0.0", port: 0 });
  assert.deepEqual(parseListen("[::1]:9400"), { hostname: "::1", port: 9400 });
  assert.deepEqual(parseListen(":9400"), { hostname: "127.0.0.1", port: 9400 });
  assert.deepEqual(parseListen("9400"), { hostname: "127.0.0.1", port: 9400 });
  assert.deepEqual(parseListen("localhost:1"), { hostname: "localhost", port: 1 });
  for (const bad of ["", "host", "host:", "host:99999", "::1:9400", "a:b"]) {
    assert.throws(() => parseListen(bad), (e: Error & { exitCode?: number }) => e.exitCode === 2);
  }
  assert.ok(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("localhost"));
  assert.ok(!isLoopback("0.0.0.0") && !isLoopback("::") && !isLoopback("10.0.0.5"));
});

// ---------------------------------------------------------------- the exporter

Deno.test("exporter: every family of a synthetic 2-GPU node, labels, throttle bits", () => {
  const { exporter } = syntheticExporter();
  const body = exporter.scrape("prometheus");
  const gpu0 = ['device="gpu0"', 'source="nvml"', 'host="node17"'];
  assert.equal(find(body, "aimeter_power_watts", ...gpu0)[0].value, 312.25);
  assert.ok(
    find(body, "aimeter_power_watts", ...gpu0)[0].labels.includes(
      'model="NVIDIA H100 80GB HBM3",uuid="GPU-11111111-2222-3333-4444-555555555555"',
    ),
  );
  assert.equal(find(body, "aimeter_energy_joules_total", ...gpu0)[0].value, 1234.5);
  assert.equal(find(body, "aimeter_utilization_ratio", ...gpu0)[0].value, 0.87);
  assert.equal(find(body, "aimeter_memory_used_bytes", ...gpu0)[0].value, 42e9);
  assert.equal(find(body, "aimeter_temperature_celsius", ...gpu0)[0].value, 64);
  assert.equal(find(body, "aimeter_clock_hertz", ...gpu0, 'clock="sm"')[0].value, 1980e6);
  assert.equal(find(body, "aimeter_clock_hertz", ...gpu0, 'clock="mem"')[0].value, 2619e6);
  assert.equal(find(body, "aimeter_gpu_throttle_reasons", ...gpu0)[0].value, 0x44);
  const active = find(body, "aimeter_gpu_throttle_active", ...gpu0);
  assert.equal(active.length, THROTTLE_REASONS.length);
  const on = active.filter((s) => s.value === 1).map((s) => /reason="(\w+)"/.exec(s.labels)![1]);
  assert.deepEqual(on.sort(), ["hw_thermal_slowdown", "sw_power_cap"]);
  // proc and rapl
  assert.equal(find(body, "aimeter_utilization_ratio", 'device="cpu"')[0].value, 0.125);
  assert.equal(find(body, "aimeter_memory_used_bytes", 'device="mem"')[0].value, 8e9);
  assert.equal(find(body, "aimeter_memory_total_bytes", 'device="mem"')[0].value, 16e9);
  assert.equal(find(body, "aimeter_cpu_cores", 'device="process"')[0].value, 2.5);
  assert.equal(find(body, "aimeter_energy_joules_total", 'device="package-0"')[0].value, 99.5);
  assert.equal(find(body, "aimeter_energy_joules_total", 'device="package-0/dram"').length, 1);
  // self-metrics
  assert.equal(find(body, "aimeter_build_info", 'version="9.9.9"')[0].value, 1);
  assert.equal(find(body, "aimeter_sampler_ticks_total")[0].value, 100);
  assert.ok(find(body, "aimeter_sampler_jitter_seconds")[0].value > 0.0012);
  assert.equal(find(body, "aimeter_scrape_duration_seconds").length, 1);
  assert.equal(
    find(body, "aimeter_device_info", 'device="gpu1"', 'energy_method="power-integral"')
      .length,
    1,
  );
  // escaped GPU name survives as one line
  assert.ok(body.includes('model="Weird \\"GPU\\"\\\\ with\\nnewline"'));
  // stale values are left out
  assert.equal(find(body, "aimeter_power_watts", 'device="gpu9"').length, 0);
  // types
  assert.match(body, /^# TYPE aimeter_energy_joules_total counter$/m);
  assert.match(body, /^# TYPE aimeter_build_info gauge$/m);
  assert.match(body, /^# TYPE aimeter_power_watts gauge$/m);
  assert.ok(!body.includes("# EOF"));
});

Deno.test("exporter: the energy counter never goes down while serving", () => {
  const { exporter, source } = syntheticExporter();
  const e = () =>
    find(exporter.scrape("prometheus"), "aimeter_energy_joules_total", 'device="package-0"')[0]
      .value;
  assert.equal(e(), 99.5);
  source.set("rapl", "package-0", "energy_j", 98, NOW_US);
  assert.equal(e(), 99.5);
  source.set("rapl", "package-0", "energy_j", 120, NOW_US);
  assert.equal(e(), 120);
});

Deno.test("exporter: OpenMetrics names families without _total/_info, has UNIT and # EOF", () => {
  const { exporter } = syntheticExporter();
  const om = exporter.scrape("openmetrics");
  assert.match(om, /^# TYPE aimeter_energy_joules counter$/m);
  assert.match(om, /^# UNIT aimeter_energy_joules joules$/m);
  assert.match(om, /^aimeter_energy_joules_total\{/m);
  assert.match(om, /^# TYPE aimeter_build info$/m);
  assert.match(om, /^# UNIT aimeter_power_watts watts$/m);
  assert.ok(om.endsWith("\n# EOF\n"));
  assert.equal(om.match(/# EOF/g)!.length, 1);
  // every UNIT is the suffix of its family name
  for (const [, fam, unit] of om.matchAll(/^# UNIT (\S+) (\S+)$/gm)) {
    assert.ok(fam.endsWith(`_${unit}`), `${fam} / ${unit}`);
  }
});

Deno.test({
  name: "promtool check metrics accepts the output for a synthetic 2-GPU node",
  ignore: !hasPromtool,
  fn: async () => {
    const { exporter } = syntheticExporter();
    const r = await promtoolCheck(exporter.scrape("prometheus"));
    assert.ok(r.ok, r.output);
    assert.equal(r.output.trim(), "");
  },
});

Deno.test("HTTP handler: /metrics negotiates, / is an index, others 404/405", async () => {
  const { exporter } = syntheticExporter();
  const h = handler(exporter);
  const plain = h(new Request("http://x/metrics"));
  assert.equal(plain.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.match(await plain.text(), /aimeter_power_watts/);
  const om = h(
    new Request("http://x/metrics", {
      headers: { accept: "application/openmetrics-text; version=1.0.0" },
    }),
  );
  assert.equal(
    om.headers.get("content-type"),
    "application/openmetrics-text; version=1.0.0; charset=utf-8",
  );
  assert.ok((await om.text()).endsWith("# EOF\n"));
  const index = h(new Request("http://x/"));
  assert.match(await index.text(), /\/metrics/);
  const nf = h(new Request("http://x/nope"));
  assert.equal(nf.status, 404);
  await nf.body?.cancel();
  const post = h(new Request("http://x/metrics", { method: "POST" }));
  assert.equal(post.status, 405);
  await post.body?.cancel();
});

Deno.test("textfile: written atomically, no temporary file left, removed on stop", () => {
  const dir = Deno.makeTempDirSync({ prefix: "aimeter-textfile-" });
  try {
    const { exporter } = syntheticExporter();
    const path = `${dir}/aimeter.prom`;
    const tf = new TextfileWriter(path, exporter);
    assert.ok(tf.write());
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["aimeter.prom"]);
    assert.match(Deno.readTextFileSync(path), /^aimeter_energy_joules_total\{/m);
    assert.ok(!Deno.readTextFileSync(path).includes("# EOF"));
    tf.remove();
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    assert.ok(checkTextfilePath(`${dir}/x.prom`).error === undefined);
    assert.match(checkTextfilePath(`${dir}/x.txt`).warning!, /\.prom/);
    assert.match(checkTextfilePath(`${dir}/nope/x.prom`).error!, /does not exist/);
    const errors: string[] = [];
    const bad = new TextfileWriter(`${dir}/nope/x.prom`, exporter, {
      onError: (m) => errors.push(m),
    });
    assert.ok(!bad.write() && !bad.write());
    assert.equal(errors.length, 1, "a failing write is said once");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("grafana dashboard: valid JSON whose queries use only exported metric names", () => {
  const { exporter } = syntheticExporter();
  const names = new Set(samples(exporter.scrape("prometheus")).map((s) => s.name));
  const exprs: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if ((k === "expr" || k === "query" || k === "definition") && typeof x === "string") {
          exprs.push(x);
        } else walk(x);
      }
    }
  };
  walk(dashboard);
  assert.ok(exprs.length >= 6, `only ${exprs.length} queries`);
  const used = new Set<string>();
  for (const e of exprs) for (const [m] of e.matchAll(/\baimeter_[a-z0-9_]+/g)) used.add(m);
  for (const m of used) assert.ok(names.has(m), `dashboard uses ${m}, which is not exported`);
  for (
    const m of [
      "aimeter_power_watts",
      "aimeter_energy_joules_total",
      "aimeter_utilization_ratio",
    ]
  ) {
    assert.ok(used.has(m), `dashboard lacks ${m}`);
  }
  const d = dashboard as { title: string; uid: string; panels: unknown[] };
  assert.ok(d.title && d.uid && d.panels.length >= 4);
});

// ---------------------------------------------------------------- aimeter serve, as a process

interface ServeProcess {
  child: Deno.ChildProcess;
  url: string;
  stderr: () => string;
  /** Send a signal and wait for the exit; returns the code and all of stderr. */
  stop(signal?: Deno.Signal): Promise<{ code: number; stderr: string }>;
}

/** Start `deno run -A main.ts serve ARGS`; resolves once it printed where it listens. */
async function startServe(args: string[], timeoutMs = 60_000): Promise<ServeProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, "serve", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let text = "";
  let wake = () => {};
  const drain = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      wake();
    }
  })();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(new WritableStream());
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    wake();
    return s;
  });
  while (true) {
    const m = /serving metrics on (http:\/\/\S+\/metrics)/.exec(text);
    if (m) {
      return {
        child,
        url: m[1],
        stderr: () => text,
        async stop(signal: Deno.Signal = "SIGTERM") {
          if (!exited) child.kill(signal);
          const s = await status;
          await drain;
          await stdout;
          return { code: s.code, stderr: text };
        },
      };
    }
    if (exited || Date.now() > deadline) {
      if (!exited) child.kill("SIGKILL");
      await status;
      await drain;
      await stdout;
      throw new Error(`aimeter serve did not start:\n${text}`);
    }
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, 100);
    });
  }
}

/** A powercap tree with package-0 (+dram) whose counters grow ~100 W while `grow` runs. */
function fakeRapl(): { tree: FakeTree; stop: () => void } {
  const tree = new FakeTree();
  const pkg = addRaplZone(tree, { dir: "intel-rapl:0", name: "package-0", energyUj: 1_000_000 });
  const dram = addRaplZone(tree, { dir: "intel-rapl:0:2", name: "dram", energyUj: 0 });
  let uj = 1_000_000;
  const timer = setInterval(() => {
    uj += 2_000_000; // 2 J every 20 ms = 100 W
    setValue(pkg, uj);
    setValue(dram, Math.floor(uj / 10));
  }, 20);
  return {
    tree,
    stop: () => {
      clearInterval(timer);
      tree.remove();
    },
  };
}

async function scrape(url: string, accept?: string) {
  const r = await fetch(url, { headers: accept ? { accept } : {} });
  return { type: r.headers.get("content-type"), body: await r.text(), status: r.status };
}

Deno.test("aimeter serve: live scrape, promtool, textfile, --out trace, clean stop on SIGTERM", async () => {
  const rapl = fakeRapl();
  const work = Deno.makeTempDirSync({ prefix: "aimeter-serve-" });
  try {
    const srv = await startServe([
      "--listen",
      "127.0.0.1:0",
      "--interval",
      "50ms",
      "--sysfs-root",
      rapl.tree.root,
      "--sources",
      "rapl,proc",
      "--textfile",
      `${work}/aimeter.prom`,
      "--out",
      `${work}/run`,
      "--format",
      "csv",
      "--no-report",
    ]);
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.match(srv.stderr(), /loopback only/);
    await new Promise((r) => setTimeout(r, 600));
    const a = await scrape(srv.url);
    assert.equal(a.status, 200);
    assert.equal(a.type, "text/plain; version=0.0.4; charset=utf-8");
    const e1 = find(a.body, "aimeter_energy_joules_total", 'device="package-0"', 'source="rapl"');
    assert.equal(e1.length, 1, a.body);
    assert.ok(e1[0].labels.includes(`host="${Deno.hostname()}"`));
    assert.ok(find(a.body, "aimeter_power_watts", 'device="package-0"')[0].value > 0);
    assert.ok(find(a.body, "aimeter_utilization_ratio", 'source="proc"', 'device="cpu"').length);
    assert.ok(find(a.body, "aimeter_sampler_ticks_total")[0].value >= 5);
    if (hasPromtool) {
      const r = await promtoolCheck(a.body);
      assert.ok(r.ok, r.output + a.body);
    }
    await new Promise((r) => setTimeout(r, 300));
    const b = await scrape(srv.url, "application/openmetrics-text;version=1.0.0");
    assert.equal(b.type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert.ok(b.body.endsWith("# EOF\n"));
    const e2 = find(b.body, "aimeter_energy_joules_total", 'device="package-0"')[0].value;
    assert.ok(e2 > e1[0].value, `energy grows: ${e1[0].value} → ${e2}`);
    // the textfile is there, complete, and valid
    const tf = Deno.readTextFileSync(`${work}/aimeter.prom`);
    assert.match(tf, /^aimeter_energy_joules_total\{/m);
    if (hasPromtool) {
      const r = await promtoolCheck(tf);
      assert.ok(r.ok, r.output);
    }
    const { code, stderr } = await srv.stop("SIGTERM");
    assert.equal(code, 0, stderr);
    assert.match(stderr, /SIGTERM: stopping/);
    // textfile removed, trace finalized
    assert.deepEqual([...Deno.readDirSync(work)].map((e) => e.name).sort(), ["run"]);
    const meta = JSON.parse(Deno.readTextFileSync(`${work}/run/meta.json`));
    assert.equal(meta.mode, "serve");
    assert.ok(meta.end, "meta.json has the end time");
    const csv = Deno.readTextFileSync(`${work}/run/trace.csv`);
    assert.match(csv, /,rapl,package-0,energy_j,/);
    assert.ok(Deno.statSync(`${work}/run/summary.json`).isFile);
  } finally {
    rapl.stop();
    Deno.removeSync(work, { recursive: true });
  }
});

Deno.test("aimeter serve: --listen 0.0.0.0 warns that the metrics are exposed", async () => {
  const rapl = fakeRapl();
  try {
    const srv = await startServe([
      "--listen",
      "0.0.0.0:0",
      "--quiet",
      "--sysfs-root",
      rapl.tree.root,
      "--sources",
      "rapl",
      "--duration",
      "30s",
    ]);
    assert.match(
      srv.stderr(),
      /warning: serving metrics on http:\/\/0\.0\.0\.0:\d+\/metrics to the network/,
    );
    const port = new URL(srv.url).port;
    const r = await scrape(`http://127.0.0.1:${port}/metrics`);
    assert.equal(r.status, 200);
    const { code } = await srv.stop("SIGINT");
    assert.equal(code, 0);
  } finally {
    rapl.stop();
  }
});

Deno.test("aimeter serve: a bad --listen is a usage error (2), a busy port an error (1)", async () => {
  const run = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}main.ts`, "serve", "--sources", "proc", ...args],
      stdin: "null",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  const bad = await run(["--listen", "nowhere"]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--listen/);
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const r = await run(["--listen", `127.0.0.1:${busy.addr.port}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot listen on .*in use/);
  } finally {
    busy.close();
  }
  const none = await run(["--no-listen"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /--textfile/);
});
