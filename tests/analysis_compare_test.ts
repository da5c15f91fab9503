import assert from "node:assert/strict";
import {
  bootstrapDiff,
  bootstrapMean,
  compareRuns,
  formatComparison,
  type RunPoint,
} from "../src/analysis/compare.ts";
import { aimeter, tempDir } from "./helpers/cli.ts";
import { TraceWriter } from "../src/trace/writer.ts";
import { rng } from "./helpers/workload_series.ts";

function run(label: string, command: string, v: Record<string, number>): RunPoint {
  return { label, dir: `/runs/${label}`, command: command.split(" "), exit_code: 0, values: v };
}

Deno.test("bootstrap intervals cover the mean and shrink with agreement", () => {
  const [lo, hi] = bootstrapMean([10, 11, 9, 10, 10.5]);
  assert.ok(lo < 10.1 && hi > 10.1 && hi - lo < 2);
  const [dlo, dhi] = bootstrapDiff([10, 11, 9], [20, 21, 19]);
  assert.ok(dlo > 8 && dhi < 12);
});

Deno.test("compareRuns(): repeats form groups; a real difference and one within noise", () => {
  const r = rng(11);
  const runs: RunPoint[] = [];
  for (let i = 0; i < 4; i++) {
    runs.push(run(`base-${i}`, "python train.py --bs 32", {
      duration_s: 100 + 2 * r.normal(),
      energy_j: 30000 + 300 * r.normal(),
      avg_power_w: 300 + 3 * r.normal(),
      energy_per_sample_j: 0.5 + 0.005 * r.normal(),
    }));
    runs.push(run(`bs64-${i}`, "python train.py --bs 64", {
      duration_s: 80 + 2 * r.normal(),
      energy_j: 26000 + 300 * r.normal(),
      avg_power_w: 300 + 3 * r.normal(),
      energy_per_sample_j: 0.43 + 0.005 * r.normal(),
    }));
  }
  const c = compareRuns(runs);
  assert.deepEqual(c.groups.map((g) => [g.label, g.n]), [["base-0 (×4)", 4], ["bs64-0 (×4)", 4]]);
  assert.equal(c.reference, "base-0 (×4)");
  const d = (m: string) => c.differences.find((x) => x.metric === m)!;
  assert.equal(d("energy_j").real, true);
  assert.ok(d("energy_j").diff < -3000 && d("energy_j").ci95![1] < 0);
  assert.ok(Math.abs(d("energy_j").rel! + 0.133) < 0.03);
  assert.equal(d("duration_s").real, true);
  assert.equal(d("avg_power_w").real, false); // same power: within noise
  assert.equal(d("energy_per_sample_j").real, true);
  assert.ok(c.groups[0].stats.energy_j.ci95);
  // Pareto: bs64 is faster and more frugal
  assert.deepEqual(c.pareto.map((p) => [p.label, p.pareto]), [["base-0 (×4)", false], [
    "bs64-0 (×4)",
    true,
  ]]);
  const text = formatComparison(c);
  assert.match(text, /energy per sample/);
  assert.match(text, /real/);
  assert.match(text, /within noise/);
  assert.match(text, /★ bs64-0 \(×4\)/);
});

Deno.test("compareRuns(): single runs give differences without intervals; a trade-off is a two-point front", () => {
  const c = compareRuns([
    run("fast", "a", { duration_s: 50, energy_j: 40000 }),
    run("frugal", "b", { duration_s: 90, energy_j: 25000 }),
    run("worse", "c", { duration_s: 95, energy_j: 41000 }),
  ]);
  assert.equal(c.groups.length, 3);
  assert.ok(c.differences.every((d) => d.ci95 === undefined && d.real === undefined));
  assert.deepEqual(c.pareto.filter((p) => p.pareto).map((p) => p.label), ["fast", "frugal"]);
  assert.match(formatComparison(c), /single runs: no spread/);
  // --no-group: the same command, two separate columns
  const same = compareRuns([run("x", "a", { energy_j: 1 }), run("y", "a", { energy_j: 2 })], {
    group: false,
  });
  assert.equal(same.groups.length, 2);
});

function summaryJson(command: string[], duration: number, energy: number, perSample: number) {
  return {
    schema: "aimeter/summary@1",
    run: { command, exit_code: 0, duration_s: duration },
    energy_j: { total: energy },
    power_w: { avg: energy / duration },
    carbon: { emissions_g: energy / 3.6e6 * 50 },
    workload: { per_unit: { energy_per_sample_j: perSample } },
  };
}

Deno.test("aimeter compare: two runs side by side, text + JSON + HTML; a run with only a trace", async () => {
  const root = await tempDir();
  const a = `${root}/run-a`, b = `${root}/run-b`, c = `${root}/run-c`;
  Deno.mkdirSync(a);
  Deno.mkdirSync(b);
  Deno.writeTextFileSync(
    `${a}/summary.json`,
    JSON.stringify(summaryJson(["python", "a.py"], 100, 36000, 0.36)),
  );
  Deno.writeTextFileSync(
    `${b}/summary.json`,
    JSON.stringify(summaryJson(["python", "b.py"], 80, 28800, 0.288)),
  );
  // run-c: only a trace (no summary.json): compare summarizes it
  const t0 = Date.UTC(2026, 10, 1) * 1000;
  const w = new TraceWriter({
    dir: c,
    format: "parquet",
    meta: {
      schema: "aimeter/trace@1",
      aimeter_version: "test",
      host: "n1",
      command: ["python", "c.py"],
      start: new Date(t0 / 1000).toISOString(),
      interval_s: 1,
      mode: "run",
    },
  });
  const id = w.seriesId("nvml", "gpu0", "power_w");
  for (let i = 0; i <= 60; i++) w.append(t0 + i * 1e6, id, 250);
  await w.finalize({ end: new Date(t0 / 1000 + 60_000).toISOString(), exit_code: 0 });

  const r = await aimeter([
    "compare",
    a,
    b,
    c,
    "--json",
    `${root}/cmp.json`,
    "--html",
    `${root}/cmp.html`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /run-a\s+run-b\s+run-c/);
  assert.match(r.stdout, /energy\s+36\.00 kJ\s+28\.80 kJ\s+15\.00 kJ/);
  assert.match(r.stdout, /−7\.200 kJ \(−20\.0 %\)/);
  assert.match(r.stdout, /★ run-c/);
  const j = JSON.parse(Deno.readTextFileSync(`${root}/cmp.json`));
  assert.equal(j.schema, "aimeter/compare@1");
  assert.equal(j.groups.length, 3);
  const diff = j.differences.find((d: { metric: string; group: string }) =>
    d.metric === "energy_per_sample_j" && d.group === "run-b"
  );
  assert.ok(Math.abs(diff.diff + 0.072) < 1e-9);
  const html = Deno.readTextFileSync(`${root}/cmp.html`);
  assert.match(html, /<svg/);
  assert.match(html, /run-b/);
  assert.equal((await aimeter(["compare", `${root}/nope`])).code, 2);
});
