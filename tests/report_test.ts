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
import { renderChart, timeAxis } from "../src/report/charts.ts";
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
    /<figure class="chart" id="([^"]+)">[\s\S]*?<div class="plot">([\s\S]*?)<\/div>\s*<\/figure>/g;
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
