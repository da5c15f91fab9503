import assert from "node:assert/strict";
import { buildSummary } from "../src/analysis/summary.ts";
import { workloadStage } from "../src/analysis/workload_stage.ts";
import { energyInWindow, integrateWindow, valueAt } from "../src/analysis/phases.ts";
import { energyFrom, sampled, T0, trace } from "./helpers/workload_series.ts";
import type { Trace } from "../src/trace/reader.ts";

const us = (s: number) => T0 + s * 1e6;

function enrich(tr: Trace) {
  const summary = buildSummary([tr]);
  workloadStage({ traces: [tr], summary, options: {} });
  return summary;
}

Deno.test("valueAt() and integrateWindow() interpolate at the bounds", () => {
  const t = [0, 10, 20], v = [0, 100, 100];
  assert.equal(valueAt(t, v, 5), 50);
  assert.equal(valueAt(t, v, -5), 0);
  assert.equal(valueAt(t, v, 25), 100);
  // power 100 W flat from 10 to 20 µs... in µs units: 100 W × 5e-6 s
  assert.ok(Math.abs(integrateWindow([0, 1e6, 2e6], [100, 100, 100], 0.5e6, 1.5e6) - 100) < 1e-9);
  assert.ok(Math.abs(integrateWindow([0, 1e6], [0, 100], 0, 0.5e6) - 12.5) < 1e-9);
});

Deno.test("workload: phases get their energy, units and energy per unit", () => {
  // GPU at 100 W for 10 s, then 300 W for 20 s (train), then 150 W for 10 s (eval)
  const power = sampled(
    "nvml/gpu0/power_w",
    401,
    0.1,
    (_i, t) => (t < 10 ? 100 : t < 30 ? 300 : 150),
  );
  const energy = energyFrom(power);
  // train: 1 step/s, 64 samples/step, reported every second from t = 11 to 30
  const step = sampled("workload/main/step", 20, 1, (i) => i + 1, 11);
  const sps = sampled("workload/main/samples_per_s", 20, 1, () => 64, 11);
  const loss = sampled("workload/main/loss", 20, 1, (i) => 2 / (i + 1), 11);
  const tr = trace([power, energy, step, sps, loss], {
    extra: {
      workload: {
        phases: [
          { name: "setup", start_us: us(0), end_us: us(10) },
          { name: "train", start_us: us(10), end_us: us(30) },
          { name: "eval", start_us: us(30), end_us: us(40) },
        ],
        marks: [{ time_us: us(20), text: "checkpoint" }],
        bad_lines: { count: 1, examples: [{ source: "events", reason: "not JSON", text: "x" }] },
      },
    },
  });
  const s = enrich(tr);
  const w = s.workload;
  assert.deepEqual(w.phases.map((p: { name: string }) => p.name), ["setup", "train", "eval"]);
  const [setup, train, ev] = w.phases;
  // step changes at t=10 and t=30 are ramps over one 0.1 s sample in the trapezoid
  assert.ok(Math.abs(setup.energy_j - 1010) < 15, String(setup.energy_j));
  assert.ok(Math.abs(train.energy_j - 6000) < 30, String(train.energy_j));
  assert.ok(Math.abs(ev.energy_j - 1500) < 15, String(ev.energy_j));
  assert.ok(Math.abs(train.avg_power_w - 300) < 2);
  assert.equal(train.energy_by.gpu, train.energy_j);
  assert.equal(train.units.steps, 20);
  assert.ok(Math.abs(train.units.samples - 64 * 20) < 1e-6);
  assert.ok(Math.abs(train.energy_per_step_j - 300) < 2);
  // whole run: the energy of all 40 s over 20 steps
  const pu = w.per_unit;
  assert.equal(pu.steps, 20);
  assert.ok(Math.abs(pu.energy_per_step_j - s.energy_j.total / 20) < 1e-3);
  assert.ok(Math.abs(pu.samples - 1280) < 1e-6);
  assert.equal(pu.methods.samples, "integrated samples_per_s");
  assert.ok(Math.abs(pu.samples_per_s_per_w - 1280 / s.energy_j.total) < 1e-6);
  assert.deepEqual(w.metrics.loss, {
    last: 0.1,
    mean: w.metrics.loss.mean,
    min: 0.1,
    max: 2,
    n: 20,
  });
  assert.equal(w.marks[0].text, "checkpoint");
  assert.equal(w.marks[0].offset_s, 20);
  assert.equal(w.bad_lines.count, 1);
});

Deno.test("workload: Hugging Face end-of-training numbers give samples; scraped counters give tokens", () => {
  const power = sampled("nvml/gpu0/power_w", 101, 0.1, () => 200);
  const rt = sampled("workload/main/train_runtime", 1, 1, () => 9, 10);
  const tsps = sampled("workload/main/train_samples_per_second", 1, 1, () => 100, 10);
  // a server that had served 1000 tokens before the run: only the growth counts
  const tok = sampled("workload/main/vllm_generation_tokens_total", 10, 1, (i) => 1000 + 50 * i);
  const tr = trace([power, energyFrom(power), rt, tsps, tok], {
    extra: { workload: { counters: { vllm_generation_tokens_total: "tokens" } } },
  });
  const pu = enrich(tr).workload.per_unit;
  assert.equal(pu.samples, 900);
  assert.equal(pu.methods.samples, "train_samples_per_second × train_runtime");
  assert.equal(pu.tokens, 450);
  assert.ok(Math.abs(pu.energy_per_token_j - 2000 / 450) < 0.01);
});

Deno.test("workload: --baseline gives gross and net energy side by side", () => {
  // 10 s idle at 50 W, then the command at 250 W for 20 s
  const power = sampled("rapl/package-0/power_w", 301, 0.1, (_i, t) => (t <= 10 ? 50 : 250));
  const tr = trace([power, energyFrom(power)], {
    extra: { baseline: { start_us: us(0), end_us: us(10), duration_s: 10 } },
  });
  const s = enrich(tr);
  const b = s.workload.baseline;
  assert.ok(Math.abs(b.idle_power_w - 50) < 0.5, String(b.idle_power_w));
  assert.ok(Math.abs(b.command.duration_s - 20) < 1e-6);
  assert.ok(Math.abs(b.gross_energy_j - 5000) < 15, String(b.gross_energy_j));
  assert.ok(Math.abs(b.idle_energy_j - 1000) < 10);
  assert.ok(Math.abs(b.net_energy_j - 4000) < 20);
  assert.ok(Math.abs(b.net_energy_by.cpu - b.net_energy_j) < 1e-3);
  assert.match(b.method, /net = gross − idle power/);
  // the whole trace's energy includes the idle window; the command's does not
  assert.ok(s.energy_j.total > b.gross_energy_j);
  const w = energyInWindow([tr], us(0), us(10));
  assert.ok(Math.abs(w.totals.total - 500) < 10);
});

Deno.test("workload: a trace with nothing of the workload gets no block", () => {
  const power = sampled("nvml/gpu0/power_w", 20, 0.1, () => 100);
  assert.equal(enrich(trace([power], { extra: {} })).workload, undefined);
});
