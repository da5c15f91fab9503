/**
 * The HTML report: chart snapshots, escaping, several nodes, odd summary
 * blocks, downsampling, templates, progress.
 *
 * Chart snapshots are golden SVG files in tests/fixtures/golden/ (one per
 * chart, drawn from fixed small fixture traces). A changed chart fails the
 * test; after checking the change is wanted, rewrite them with
 *
 *   UPDATE_GOLDEN=1 deno test -A tests/report_test.ts
 *
 * and review the diff of tests/fixtures/golden/ like any other change.
 */
import assert from "node:assert/strict";
import { buildSummary, type Summary } from "../src/analysis/summary.ts";
import type { Trace } from "../src/trace/reader.ts";
import { renderReport } from "../src/report/render.ts";
import { esc, fill } from "../src/report/html.ts";
import { lttb, minMaxBuckets } from "../src/report/downsample.ts";
import {
  correlationStops,
  fmtR,
  renderChart,
  renderHeatmap,
  timeAxis,
} from "../src/report/charts.ts";
import { shortKeys } from "../src/report/sections/correlations.ts";
import { perUnitJ } from "../src/report/sections/key_numbers.ts";
import { duration, grams, joules, kwh, pct, sig, trimZeros, watts } from "../src/report/format.ts";
import { summarize } from "../src/pipeline.ts";
import { fixtureJob, type FixtureOptions, fixtureTrace } from "./helpers/fixture_trace.ts";

const GOLDEN = new URL("./fixtures/golden/", import.meta.url);
const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";
const FIXED_NOW = new Date("2026-01-02T00:00:00Z");

async function tmp(): Promise<string> {
  await Deno.mkdir(new URL("./.tmp/", import.meta.url), { recursive: true });
  return await Deno.makeTempDir({
    dir: new URL("./.tmp/", import.meta.url).pathname,
    prefix: "report-",
  });
}

const SMALL: Omit<FixtureOptions, "dir"> = {
  gpus: 2,
  durationS: 120,
  intervalS: 1,
  phases: [{ name: "warmup", start: 0, end: 15 }, { name: "train", start: 15, end: 100 }, {
    name: "eval",
    start: 100,
    end: 120,
  }],
  marks: [{ time: 60, text: "checkpoint saved" }],
};

async function render(traces: Trace[], summary?: Summary): Promise<string> {
  return await renderReport({
    traces,
    summary: summary ?? buildSummary(traces),
    generatedAt: FIXED_NOW,
  });
}

/** The SVG of every chart figure of a report, by figure id. */
function chartsOf(html: string): Map<string, string> {
  const out = new Map<string, string>();
  const re =
    /<figure class="chart[^"]*" id="([^"]+)">[\s\S]*?<div class="plot">([\s\S]*?)<\/div>\s*<\/figure>/g;
  for (const m of html.matchAll(re)) out.set(m[1], m[2]);
  return out;
}

async function golden(name: string, actual: string): Promise<void> {
  const url = new URL(name, GOLDEN);
  if (UPDATE) {
    await Deno.mkdir(GOLDEN, { recursive: true });
    await Deno.writeTextFile(url, actual);
    return;
  }
  let expected: string;
  try {
    expected = await Deno.readTextFile(url);
  } catch {
    throw new Error(
      `no golden file ${name}: run UPDATE_GOLDEN=1 deno test -A tests/report_test.ts`,
    );
  }
  assert.equal(actual, expected, `chart ${name} changed (UPDATE_GOLDEN=1 rewrites it if intended)`);
}

Deno.test("charts match their golden SVGs (one node)", async () => {
  const dir = await tmp();
  const tr = await fixtureTrace({ ...SMALL, dir: `${dir}/run` });
  const charts = chartsOf(await render([tr]));
  for (
    const id of [
      "chart-power-node1",
      "chart-energy-node1",
      "chart-gpu-util-node1",
      "chart-gpu-mem-node1",
      "chart-temp-node1",
      "chart-clock-node1",
      "chart-cpu-node1",
      "chart-mem-node1",
      "chart-wl-loss",
    ]
  ) {
    assert.ok(charts.has(id), `chart ${id} missing (have ${[...charts.keys()].join(", ")})`);
    const svg = charts.get(id)!;
    assert.match(svg, /^<svg[^>]*class="plot-[0-9a-f]+"/);
    await golden(`${id}.svg`, svg);
  }
  // rendering twice gives the same bytes (no random ids, no clock)
  const again = chartsOf(await render([tr]));
  assert.equal(again.get("chart-power-node1"), charts.get("chart-power-node1"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("charts match their golden SVGs (two nodes)", async () => {
  const dir = await tmp();
  const job = await fixtureJob({ ...SMALL, dir, hosts: ["node1", "node2"] });
  const charts = chartsOf(await render(job));
  for (const id of ["chart-node-power", "chart-node-energy"]) {
    assert.ok(charts.has(id), `chart ${id} missing`);
    await golden(`${id}.svg`, charts.get(id)!);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("report: one self-contained file with the key numbers and every section", async () => {
  const dir = await tmp();
  const tr = await fixtureTrace({ ...SMALL, dir: `${dir}/run`, cpuEstimate: true });
  const summary = buildSummary([tr]);
  const html = await render([tr], summary);
  // no scripts, no external resources
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /\b(src|href)="(https?:)?\/\//i);
  assert.doesNotMatch(html, /@import|url\(/i);
  assert.doesNotMatch(html, /<link /i);
  for (const id of ["key-numbers", "run", "power", "devices", "workload", "hardware", "sensors"]) {
    assert.match(html, new RegExp(`<section id="${id}"`), `section ${id}`);
  }
  // the total in kWh and J, the estimate marked as such
  const kwh = summary.energy_j.total / 3.6e6;
  assert.ok(html.includes(kwh >= 0.1 ? kwh.toFixed(4).replace(/0+$/, "") : ""), "kWh figure");
  assert.match(html, /class="method m-estimate"/);
  assert.match(html, /of which [0-9.,]+\u00a0(k?J) estimated/);
  assert.match(html, /checkpoint saved/);
  assert.match(html, /warmup/);
  assert.ok(html.length < 400_000, `report is ${html.length} bytes`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("escaping: strings from the trace and the command line show as text", async () => {
  const dir = await tmp();
  const evil = `<script>alert("x")</script>`;
  const tr = await fixtureTrace({
    ...SMALL,
    dir: `${dir}/run`,
    host: `node<script>alert(1)</script>`,
    command: ["python", evil, "--name='&amp;'"],
    gpuModel: `<img src=x onerror=alert(2)>`,
    workloadMetrics: [`loss<b>`, "samples_per_s"],
    phases: [{ name: `<i>phase</i>`, start: 0, end: 60 }],
    marks: [{ time: 30, text: `<script>mark()</script>` }],
    notes: [{
      source: "rapl",
      status: "not-permitted",
      message: `denied <script>`,
      fix: `sudo chmod <b>`,
    }],
    meta: { slurm: { SLURM_JOB_ID: `42<script>` }, cpu_model: `"onmouseover="x` },
  });
  const summary = buildSummary([tr]);
  summary.findings = [{
    id: "f",
    title: evil,
    severity: `high"><script>`,
    evidence: evil,
    suggestion: evil,
  }];
  summary.correlations = [{ a: evil, b: "x", pearson: 0.5, spearman: 0.4, n: 10, p_value: 0.01 }];
  summary.carbon = {
    region: evil,
    intensity_g_per_kwh: 50,
    intensity_source: evil,
    pue: 1.2,
    emissions_g: 3,
  };
  summary.quality = { [evil]: evil };
  const html = await render([tr], summary);
  assert.doesNotMatch(html, /<script/i, "a raw <script> got through");
  assert.doesNotMatch(html, /<img /i);
  assert.doesNotMatch(html, /<i>phase/);
  assert.doesNotMatch(html, /loss<b>|chmod <b>/);
  assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
  assert.match(html, /node&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.doesNotMatch(html, /"onmouseover="/);
  assert.equal(esc(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  assert.equal(fill("{{a}}|{{{b}}}|{{ missing }}", { a: "<x>", b: "<y>" }), "&lt;x&gt;|<y>|");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("several nodes: per-node breakdown and job totals", async () => {
  const dir = await tmp();
  const job = await fixtureJob({ ...SMALL, dir, hosts: ["alpha", "beta", "gamma"] });
  const summary = buildSummary(job);
  const html = await render(job, summary);
  assert.match(html, /<section id="nodes"/);
  assert.match(html, /3 nodes \(alpha, beta, gamma\)/);
  assert.match(html, /Job \(3 nodes\)/);
  const nodes = html.slice(
    html.indexOf('<section id="nodes"'),
    html.indexOf("</section>", html.indexOf('<section id="nodes"')),
  );
  for (const h of ["alpha", "beta", "gamma"]) assert.match(nodes, new RegExp(`<code>${h}</code>`));
  // per-node totals add up to the job's
  const sum = summary.hosts.reduce((a, h) => a + h.energy_j.total, 0);
  assert.ok(Math.abs(sum - summary.energy_j.total) < 1e-6 * summary.energy_j.total);
  // every node has its own power chart; the same device has the same colour on every node
  const charts = chartsOf(html);
  for (const h of ["alpha", "beta", "gamma"]) assert.ok(charts.has(`chart-power-${h}`), h);
  const colour = (id: string) => /stroke="(#[0-9a-f]+)"/.exec(charts.get(id)!)?.[1];
  assert.equal(colour("chart-power-alpha"), colour("chart-power-gamma"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("summary blocks of unexpected shape never break the report", async () => {
  const dir = await tmp();
  const tr = await fixtureTrace({ ...SMALL, dir: `${dir}/run`, gpus: 1 });
  const shapes: Partial<Summary>[] = [
    {
      carbon: "FR",
      workload: 3,
      correlations: [null, 1, "x"],
      findings: [null, "x", {}],
      quality: [1, [2]],
    },
    {
      carbon: {
        per_device: "x",
        per_phase: [null],
        comparisons: [{}],
        cost: 5,
        embodied: { g: 1 },
      },
    },
    {
      workload: {
        metrics: { loss: 1, acc: { last: "a", mean: null, hist: [1, 2] } },
        phases: [{ name: "p", start: "not a time" }, null, { start: 1767225600 }],
        marks: [{ time: "garbage" }, { time: 1767225630000, text: 5 }],
        per_unit: { j_per_sample: 1.5, tokens: { value: 2, unit: "J", per: "token" }, bad: [1] },
      },
    },
    {
      findings: [{ id: "x", title: "t", severity: "weird", evidence: { a: [1, 2] }, energy_j: 10 }],
    },
    {
      devices: [],
      hosts: [],
      sensors: [{ source: "nvml", status: "not-found", message: "no driver" }],
    },
    // the analysis blocks, damaged
    {
      correlation: { keys: ["a", "b", 3], pearson_matrix: [[1, "x"], null, [2]], method: 5 },
      correlations: [{ a: 1, b: null, pearson: "x", n_eff: null, q_value: "q" }],
      quality: {
        devices: [null, { counter_vs_integral: 1, problems: "x" }, { coverage: "all" }],
        recorder: [null, { host: 1, cpu_s: "x" }, {}],
        update_periods_s: [null, { nvml: 1 }, { nvml: { gpu0: null, gpu1: { power_w: null } } }],
        counters: [1, { x: 2 }],
        problems: [{ a: 1 }, null],
      },
      attribution: { hosts: [null, { host: "h", cpu: { share: "x" }, gpus: [null, {}] }] },
      workload: {
        baseline: { gross_energy_j: 1, net_energy_j: null, window: 3, command: null },
        per_unit: { energy_per_sample_j: "x", samples: 5, methods: null },
        bad_lines: { count: 2, examples: ["<x>", 1] },
      },
    },
    { correlation: { keys: Array.from({ length: 40 }, (_, i) => `k${i}`), pearson_matrix: [] } },
    { attribution: { hosts: "x" }, quality: "bad", workload: { baseline: 1, per_unit: 2 } },
  ];
  for (const extra of shapes) {
    const summary = { ...buildSummary([tr]), ...extra } as Summary;
    const html = await render([tr], summary);
    assert.match(html, /<\/html>\s*$/);
    assert.doesNotMatch(html, /could not be drawn/, JSON.stringify(extra));
  }
  // a trace with no series at all still gives a page
  const empty: Trace = { ...tr, series: [] };
  const html = await render([empty], { ...buildSummary([tr]), devices: [] });
  assert.match(html, /<\/html>\s*$/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("downsampling keeps every peak and bounds the points", () => {
  const n = 86_400;
  const x = new Float64Array(n), y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = 1e15 + i * 1e6;
    y[i] = 300 + 50 * Math.sin(i / 500);
  }
  y[12_345] = 999; // a one-sample spike
  y[54_321] = -5; // and a dip
  const d = minMaxBuckets(x, y, 200);
  assert.ok(d.x.length <= 800, `${d.x.length} points`);
  assert.ok(d.y.includes(999) && d.y.includes(-5));
  for (let i = 1; i < d.x.length; i++) assert.ok(d.x[i] > d.x[i - 1]);
  const l = lttb(x, y, 500);
  assert.equal(l.x.length, 500);
  assert.ok(l.y.includes(999));
  // a gap in the data breaks the line (NaN marker)
  const gx = Float64Array.from([0, 1, 2, 3, 20, 21, 22].map((s) => s * 1e6));
  const gy = Float64Array.from([1, 2, 3, 4, 5, 6, 7]);
  assert.equal(minMaxBuckets(gx, gy, 100).y.filter(Number.isNaN).length, 1);
});

Deno.test("renderChart is deterministic and labels axes with units", () => {
  const t0 = 1767225600e6;
  const spec = {
    title: "t",
    yLabel: "Power (W)",
    time: timeAxis(t0, 60e6),
    lines: [{ label: "gpu0", color: "#4269d0", x: [t0, t0 + 30e6, t0 + 60e6], y: [100, 300, 200] }],
  };
  const a = renderChart(spec), b = renderChart(spec);
  assert.equal(a, b);
  assert.match(a, /Power \(W\)/);
  assert.match(a, /Elapsed time \(s\)/);
  for (const m of a.matchAll(/ d="([^"]*)"/g)) {
    assert.doesNotMatch(m[1], /\d\.\d\d/, "coordinates rounded");
  }
});

Deno.test("progress is reported for each chart", async () => {
  const dir = await tmp();
  const tr = await fixtureTrace({ ...SMALL, dir: `${dir}/run`, gpus: 1 });
  const seen: [number, number, string][] = [];
  await renderReport({
    traces: [tr],
    summary: buildSummary([tr]),
    onProgress: (d, t, w) => seen.push([d, t, w]),
  });
  assert.ok(seen.length >= 5);
  for (const [d, t] of seen) assert.ok(d <= t);
  assert.equal(seen.at(-1)![0], seen.at(-1)![1]);
  await Deno.remove(dir, { recursive: true });
});

// ---------- the analysis stages' blocks: correlations, quality, attribution, baseline, per unit ----------

/** A run with everything the analysis reads: recorder extras, an idle baseline, counters, phases. */
const FULL: Omit<FixtureOptions, "dir"> = {
  gpus: 3,
  durationS: 120,
  intervalS: 1,
  recorderExtras: true,
  baselineS: 10,
  workloadCounters: true,
  phases: [{ name: "warmup", start: 10, end: 25 }, { name: "train", start: 25, end: 100 }, {
    name: "eval",
    start: 100,
    end: 120,
  }],
  marks: [{ time: 60, text: "checkpoint saved" }],
};
/** Carbon without looking anything up (no region guess from this machine). */
const CARBON = { carbon_intensity: 56, pue: 1.2 };

/** The HTML of one section (from its tag to its end). */
function sectionOf(html: string, id: string): string {
  const i = html.indexOf(`<section id="${id}"`);
  if (i < 0) return "";
  return html.slice(i, html.indexOf("</section>", i) + "</section>".length);
}

/** Text without tags, runs of white space as one (no-break spaces kept: the figures use them). */
function text(html: string): string {
  return html.replace(/<[^>]*>/g, "").replace(/[ \t\r\n]+/g, " ");
}

Deno.test("analysis sections: from the real stages, with their numbers", async () => {
  const dir = await tmp();
  const tr = await fixtureTrace({ ...FULL, dir: `${dir}/run` });
  const summary = await summarize([tr], CARBON);
  assert.deepEqual(summary.sensors, [], "every stage ran");
  const html = await render([tr], summary);
  assert.doesNotMatch(html, /could not be drawn/);

  // page order: attribution right after devices; correlations and quality further down
  const order = [...html.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(order[order.indexOf("devices") + 1], "attribution", order.join(", "));
  for (const id of ["correlations", "quality"]) assert.ok(order.includes(id), id);
  assert.match(html, /<a href="#attribution">Attribution<\/a>/);

  // correlations: the method in the lead, n_eff and q columns, (rate) series, the heatmap
  const corr = sectionOf(html, "correlations");
  const c = summary.correlation;
  const lead = /<p class="lead">([\s\S]*?)<\/p>/.exec(corr)![1];
  assert.ok(text(lead).includes(text(esc(c.method))), "method in the lead");
  assert.ok(text(lead).includes(`${c.pairs_significant} of ${c.pairs_tested} pairs significant`));
  assert.match(corr, /<th class="num"[^>]*>n eff<\/th>/);
  assert.match(corr, /<th class="num"[^>]*>q<\/th>/);
  const rated = summary.correlations!.find((p) => p.a_transform === "rate");
  assert.ok(rated, "the fixture's step counter is correlated as a rate");
  assert.ok(
    corr.includes(`<code>${rated.a.replace(/\//g, "/<wbr>")}</code> <span class="muted"`),
    "(rate) marked",
  );
  assert.match(corr, /\(rate\)<\/span>/);
  const first = summary.correlations![0];
  assert.ok(corr.includes(`>${String(Math.round(first.n_eff * 10) / 10)}<`), "n_eff shown");
  const heat = chartsOf(html).get("chart-correlation-heatmap");
  assert.ok(heat, "heatmap drawn");
  assert.match(corr, /<figure class="chart heatmap" id="chart-correlation-heatmap">/);
  // a cell per pair of series, axes labelled with short names (more than 12: no values printed)
  const n = c.keys.length;
  assert.ok(n > 12, `${n} keys`);
  assert.equal((heat.match(/<rect /g) ?? []).length, n * n);
  for (const label of ["gpu0 power", "loss", "cmd CPU", "step (rate)"]) {
    assert.ok(heat.includes(`>${label}<`), `axis label ${label}`);
  }
  assert.doesNotMatch(heat, /<text[^>]*>nvml\/gpu0\/power_w</, "tick labels are the short names");
  assert.ok(heat.includes("nvml/gpu0/power_w × nvml/gpu0/util_pct"), "full names in tooltips");
  await golden("chart-correlation-heatmap.svg", heat);

  // data quality: per-device counter vs integral, coverage, the recorder, update periods
  const q = sectionOf(html, "quality");
  assert.doesNotMatch(q, /class="facts generic"/, "no generic dump");
  const g0 = summary.quality.devices.find((d: { device: string }) => d.device === "gpu0");
  assert.ok(text(q).includes(joules(g0.counter_vs_integral.counter_j)));
  assert.ok(text(q).includes(pct(0, 2)), "difference in %");
  assert.ok(text(q).includes(pct(100, 0)), "coverage");
  assert.match(q, /not compared/, "RAPL zones have no power to compare with");
  const rec = summary.quality.recorder[0];
  assert.equal(rec.ticks, 121);
  assert.ok(
    text(q).includes(`${duration(rec.cpu_s)} (${pct(rec.cpu_s / 120 * 100, 2)} of one core)`),
  );
  assert.ok(text(q).includes("0.15\u00a0ms / 1.8\u00a0ms"), "jitter p50 / p99");
  assert.ok(text(q).includes("96.0\u00a0MiB"), "RSS");
  assert.ok(
    text(q).includes("NVML power_w changes every ~1.0\u00a0s: a 1-s average"),
    "update period",
  );
  assert.ok(text(q).includes("(gpu0, gpu1, gpu2)"));
  assert.match(q, /No problems found/);

  // attribution: the CPU share labelled as attribution, GPUs used / idle / shared
  const a = sectionOf(html, "attribution");
  const cpu = summary.attribution.hosts[0].cpu;
  assert.ok(text(a).includes(joules(cpu.command_cpu_energy_j)));
  assert.match(a, /class="method m-attribution"[^>]*>attribution</);
  assert.ok(
    text(a).includes(esc(cpu.method).replace(/&#39;/g, "'").slice(0, 30)) ||
      a.includes(esc(cpu.method)),
  );
  assert.ok(text(a).includes(`${pct(62.5, 1)} of the host's busy CPU time`));
  assert.match(a, /class="callout warn">GPU <b>gpu2<\/b> stayed idle/);
  assert.ok(text(a).includes("PID 4242"));
  assert.ok(text(a).includes("60.0\u00a0GiB"), "command memory");
  assert.match(a, /status-pill idle/);

  // baseline: gross vs net in the key numbers and the workload section
  const b = summary.workload.baseline;
  const keyNums = sectionOf(html, "key-numbers");
  assert.ok(text(keyNums).includes(`Energy above idle ${kwh(b.net_energy_j)}`));
  assert.ok(
    text(keyNums).includes(`gross ${joules(b.gross_energy_j)} − idle ${joules(b.idle_energy_j)}`),
  );
  const wl = sectionOf(html, "workload");
  assert.match(wl, /<h3>Idle baseline: gross and net energy<\/h3>/);
  assert.ok(text(wl).includes(`${kwh(b.gross_energy_j)} → ${kwh(b.net_energy_j)}`));
  assert.ok(wl.includes(`<b>${esc(joules(b.net_energy_j))}</b>`), "net total");
  assert.ok(text(wl).includes(text(esc(b.method))), "the method");

  // per unit: energy per sample and throughput per watt in the key numbers, and a table
  const pu = summary.workload.per_unit;
  assert.ok(text(keyNums).includes(`Energy per sample ${perUnitJ(pu.energy_per_sample_j)}`));
  assert.ok(text(keyNums).includes(`net ${perUnitJ(pu.net_energy_per_sample_j)} above idle`));
  assert.match(keyNums, /Throughput per watt/);
  assert.ok(text(keyNums).includes(`${trimZeros(sig(pu.samples_per_s_per_w))} samples/J`));
  assert.match(wl, /<h3>Energy per unit of work<\/h3>/);
  assert.ok(text(wl).includes(perUnitJ(pu.energy_per_step_j)));

  // per-phase emissions in the phases table
  const phases = wl.slice(wl.indexOf("<h3>Phases</h3>"), wl.indexOf("<h3>Marks</h3>"));
  assert.match(phases, /<th class="num">Emissions<\/th>/);
  assert.match(phases, /<th class="num"[^>]*>Net energy<\/th>/);
  for (const p of summary.carbon.per_phase) {
    assert.ok(text(phases).includes(grams(p.emissions_g)), `${p.name} emissions`);
  }
  const train = summary.workload.phases.find((p: { name: string }) => p.name === "train");
  assert.ok(text(phases).includes(joules(train.net_energy_j)));
  assert.ok(text(phases).includes(watts(train.energy_j / train.duration_s)));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("analysis sections are absent when their blocks are", async () => {
  const dir = await tmp();
  const tr = await fixtureTrace({ ...FULL, dir: `${dir}/run` });
  // buildSummary alone: no stage ran
  const html = await render([tr], buildSummary([tr]));
  for (const id of ["correlations", "quality", "attribution"]) {
    assert.doesNotMatch(html, new RegExp(`<section id="${id}"`), id);
    assert.doesNotMatch(html, new RegExp(`href="#${id}"`), id);
  }
  assert.doesNotMatch(html, /Energy above idle|Energy per sample|Throughput per watt/);
  assert.doesNotMatch(html, /Idle baseline|Energy per unit of work|>Emissions<|>Net energy</);
  // the real stages without recorder extras or a baseline: no per-GPU process columns, no net
  const plain = await fixtureTrace({ ...SMALL, dir: `${dir}/plain` });
  const s2 = await summarize([plain], CARBON);
  assert.equal(s2.workload?.baseline, undefined);
  const h2 = await render([plain], s2);
  const a = sectionOf(h2, "attribution");
  assert.doesNotMatch(a, /Used by the command|m-attribution/);
  assert.match(a, /process lists were not recorded/);
  assert.doesNotMatch(h2, /Energy above idle|Idle baseline|>Net energy</);
  assert.doesNotMatch(sectionOf(h2, "quality"), /How often the sensors update|<h3>Recorder/);
  // many series: the heatmap keeps the workload's and the most strongly correlated 30
  const keys = [
    "workload/main/loss",
    ...Array.from({ length: 39 }, (_, i) => `nvml/gpu${i}/power_w`),
  ];
  const big = await render([plain], {
    ...s2,
    correlation: {
      keys,
      pearson_matrix: keys.map((_, i) =>
        keys.map((_, j) => (i === j ? 1 : i < 30 && j < 30 ? 0.9 : 0.1))
      ),
    },
  });
  const bigSvg = chartsOf(big).get("chart-correlation-heatmap")!;
  assert.match(sectionOf(big, "correlations"), /30 of 40 series/);
  assert.equal((bigSvg.match(/<rect /g) ?? []).length, 30 * 30);
  assert.match(bigSvg, />loss</);
  assert.doesNotMatch(bigSvg, />gpu35 power</);
  // correlations without a matrix: the table alone
  const s3 = { ...s2, correlation: undefined };
  const h3 = await render([plain], s3);
  if (s2.correlations?.length) {
    assert.match(sectionOf(h3, "correlations"), /Significant pairs/);
    assert.ok(!chartsOf(h3).has("chart-correlation-heatmap"));
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("escaping: the analysis blocks show their strings as text", async () => {
  const dir = await tmp();
  const evil = `<script>alert("x")</script>`;
  const tr = await fixtureTrace({ ...FULL, dir: `${dir}/run` });
  const summary = await summarize([tr], CARBON);
  const k = summary.correlation.keys as string[];
  k[0] = `workload/main/${evil}`;
  summary.correlations![0].a = evil;
  summary.correlations![0].a_transform = "rate";
  summary.correlation.method = evil;
  summary.quality.devices[0].problems.push(evil);
  summary.quality.problems.push(evil);
  summary.quality.recorder[0].host = evil;
  summary.quality.update_periods_s = [{ [evil]: { [evil]: { [evil]: 1 } } }];
  summary.quality.counters = [{ [`${evil}_wraps`]: { [evil]: 2 } }];
  summary.quality[evil] = evil;
  const h = summary.attribution.hosts[0];
  h.cpu.method = evil;
  h.gpus[0].uuid = `"><script>x</script>`;
  h.gpus[0].device = evil;
  h.gpus[0].other_pids = [evil];
  summary.attribution.idle_gpus.push(evil);
  summary.workload.baseline.method = evil;
  summary.workload.per_unit.basis = evil;
  summary.workload.per_unit.methods.samples = evil;
  summary.carbon.per_phase[0].name = evil;
  const html = await render([tr], summary);
  assert.doesNotMatch(html, /<script/i, "a raw <script> got through");
  assert.doesNotMatch(html, /could not be drawn/);
  assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("heatmap: fixed −1..1 colour scale, values in cells up to 12 series, deterministic", async () => {
  const keys = [
    "workload/main/loss",
    "nvml/gpu0/power_w",
    "nvml/gpu0/util_pct",
    "proc/process/cpu_pct",
  ];
  const labels = shortKeys(keys, new Set(["workload/main/loss"]));
  assert.deepEqual(labels, ["loss (rate)", "gpu0 power", "gpu0 util", "cmd CPU"]);
  // several nodes: the host in front; clashes fall back to a longer form
  assert.deepEqual(shortKeys(["a:nvml/gpu0/power_w", "b:nvml/gpu0/power_w"]), [
    "a gpu0 power",
    "b gpu0 power",
  ]);
  assert.deepEqual(
    shortKeys(
      ["gpu-node-01.x.org:workload/main/step", "gpu-node-02.x.org:nvml/gpu0/util_pct"],
      new Set(["gpu-node-01.x.org:workload/main/step"]),
    ),
    ["01 step (rate)", "02 gpu0 util"],
  );
  assert.equal(new Set(shortKeys(["x/a/power_w", "y/a/power_w"])).size, 2);
  const matrix = [
    [1, -0.42, null, 0.05],
    [-0.42, 1, 0.97, 0.3],
    [null, 0.97, 1, -1],
    [0.05, 0.3, -1, 1],
  ];
  const spec = { title: "t", labels, names: keys, matrix };
  const svg = renderHeatmap(spec);
  assert.equal(svg, renderHeatmap(spec), "deterministic");
  await golden("heatmap-small.svg", svg);
  // the scale's ends are fixed: r = 1 is the darkest blue, −1 the darkest red, whatever the data
  const [lo, , mid, , hi] = correlationStops();
  assert.equal(hi, "rgb(5, 48, 97)");
  assert.equal(lo, "rgb(103, 0, 31)");
  assert.ok(svg.includes(`fill="${hi}"`) && svg.includes(`fill="${lo}"`));
  const weak = renderHeatmap({ ...spec, matrix: [[0.5, 0.1], [0.1, 0.5]], labels: ["a", "b"] });
  assert.ok(!weak.includes(`fill="${hi}"`), "0.5 is not drawn as the end of the scale");
  assert.ok(mid.startsWith("rgb("));
  // values printed (≤ 12 series), untested pairs crossed out
  for (const v of ["−.42", ".97", ".05", "−1", "1"]) assert.ok(svg.includes(`>${v}<`), v);
  assert.equal((svg.match(/>×</g) ?? []).length, 2);
  assert.equal(fmtR(-0.004), ".00");
  const many = Array.from({ length: 13 }, (_, i) => `nvml/gpu${i}/power_w`);
  const big = renderHeatmap({
    title: "t",
    labels: shortKeys(many),
    matrix: many.map((_, i) => many.map((_, j) => (i === j ? 1 : 0.5))),
  });
  assert.doesNotMatch(big, />\.50</, "no values beyond 12 series");
  assert.match(big, />gpu12 power</);
});
