import assert from "node:assert/strict";
import {
  benjaminiHochberg,
  correlate,
  correlationP,
  pearson,
  spearman,
} from "../src/analysis/correlation.ts";
import { rng, sampled } from "./helpers/workload_series.ts";

Deno.test("correlationP() matches Student's t tables", () => {
  // r = 0.5, n = 20: t = 2.449, df = 18 → p = 0.0247
  assert.ok(Math.abs(correlationP(0.5, 20) - 0.0247) < 5e-4, String(correlationP(0.5, 20)));
  // r = 0.3, n = 30: p = 0.107
  assert.ok(Math.abs(correlationP(0.3, 30) - 0.107) < 2e-3);
  assert.equal(correlationP(0, 100), 1);
});

Deno.test("spearman() sees a monotone relation that Pearson underrates", () => {
  const x = Array.from({ length: 50 }, (_, i) => i);
  const y = x.map((v) => Math.exp(v / 5));
  assert.ok(Math.abs(spearman(x, y) - 1) < 1e-12);
  assert.ok(pearson(x, y) < 0.8);
});

Deno.test("benjaminiHochberg() adjusts and keeps order", () => {
  const q = benjaminiHochberg([0.01, 0.04, 0.03, 0.5]);
  assert.deepEqual(q.map((v) => Number(v.toFixed(4))), [0.04, 0.0533, 0.0533, 0.5]);
});

Deno.test("correlate() finds a planted relation between throughput and GPU power", () => {
  const r = rng(7);
  // throughput: an autocorrelated (AR(1)) process; power follows it plus noise
  let x = 0;
  const thr: number[] = [];
  for (let i = 0; i < 300; i++) {
    x = 0.8 * x + r.normal();
    thr.push(800 + 60 * x);
  }
  const workload = sampled("workload/main/samples_per_s", 300, 1, (i) => thr[i]);
  // power sampled 10× faster, following the throughput of its second
  const power = sampled("nvml/gpu0/power_w", 3000, 0.1, (i) => {
    const sec = Math.min(299, Math.ceil(i / 10));
    return 150 + 0.2 * (thr[sec] - 800) + 4 * r.normal();
  });
  const temp = sampled("nvml/gpu0/temp_c", 3000, 0.1, () => 60 + r.normal());
  const res = correlate([workload, power, temp], { intervalS: 0.1 });
  const p = res.pairs.find((p) =>
    (p.a === "workload/main/samples_per_s" && p.b === "nvml/gpu0/power_w") ||
    (p.b === "workload/main/samples_per_s" && p.a === "nvml/gpu0/power_w")
  );
  assert.ok(p, JSON.stringify(res.pairs));
  assert.ok(p.pearson > 0.8, `pearson ${p.pearson}`);
  assert.ok(p.spearman > 0.7);
  assert.ok(p.significant && p.p_value < 1e-6, JSON.stringify(p));
  assert.ok(p.n_eff < p.n, "autocorrelation lowers the effective n");
  // temperature noise is not related to anything
  assert.ok(
    res.pairs.filter((q) => q.a.endsWith("temp_c") || q.b.endsWith("temp_c")).every((q) =>
      !q.significant
    ),
  );
});

Deno.test("correlate() does not invent relations from independent random walks", () => {
  // trending, strongly autocorrelated series correlate by accident; n_eff must stop that
  let falsePositives = 0, naive = 0, tested = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const r = rng(seed * 101);
    const walk = () => {
      let v = 0;
      return () => (v += r.normal());
    };
    const a = walk(), b = walk(), c = walk(), d = walk();
    const s = [
      sampled("nvml/gpu0/temp_c", 600, 0.5, () => a()),
      sampled("workload/main/loss", 600, 0.5, () => b()),
      sampled("rapl/package-0/power_w", 600, 0.5, () => c()),
      sampled("proc/cpu/util_pct", 600, 0.5, () => d()),
    ];
    const res = correlate(s, { intervalS: 0.5 });
    for (const p of res.pairs) {
      tested++;
      if (p.significant) falsePositives++;
      if (correlationP(p.pearson, p.n) < 0.05) naive++;
    }
  }
  // a naive test (n = 600) calls most of these significant; ours almost none
  assert.ok(naive > tested / 2, `naive ${naive}/${tested}`);
  assert.ok(
    falsePositives <= Math.ceil(tested * 0.05),
    `false positives ${falsePositives}/${tested}`,
  );
});

Deno.test("correlate() reports nothing among many white-noise series", () => {
  const r = rng(99);
  const s = Array.from(
    { length: 12 },
    (_, k) => sampled(`nvml/gpu${k}/util_pct`, 400, 0.1, () => 50 + 10 * r.normal()),
  );
  const res = correlate(s, { intervalS: 0.1 });
  assert.equal(res.tested, 66);
  assert.equal(res.pairs.filter((p) => p.significant).length, 0);
});

Deno.test("correlate() turns cumulative counters into rates and skips energy and constants", () => {
  const r = rng(3);
  let tokens = 0;
  const rate: number[] = [];
  for (let i = 0; i < 200; i++) rate.push(100 + 50 * Math.sin(i / 7) + 5 * r.normal());
  const counter = sampled("workload/main/tokens", 200, 1, (i) => (tokens += rate[i]));
  const power = sampled("nvml/gpu0/power_w", 200, 1, (i) => 100 + rate[i] + 3 * r.normal());
  const energy = sampled("nvml/gpu0/energy_j", 200, 1, (i) => i * 100);
  const limit = sampled("nvml/gpu0/power_limit_w", 200, 1, () => 300);
  const res = correlate([counter, power, energy, limit], { intervalS: 1 });
  assert.deepEqual(res.keys.sort(), ["nvml/gpu0/power_w", "workload/main/tokens"]);
  const p = res.pairs[0];
  assert.equal(p.a_transform ?? p.b_transform, "rate");
  assert.ok(p.pearson > 0.9 && p.significant);
});
