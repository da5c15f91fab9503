/**
 * A real training run: PyTorch (Debian's python3-torch) trains a small MLP on
 * synthetic data under `aimeter run`, reporting through the events protocol
 * with the module from `aimeter snippet python`. Skipped where torch is not
 * importable.
 */
import assert from "node:assert/strict";
import { aimeter, ROOT, tempDir } from "./helpers/cli.ts";
import { readTrace } from "../src/trace/reader.ts";

const PY = "/usr/bin/python3";

function hasTorch(): boolean {
  try {
    return new Deno.Command(PY, { args: ["-c", "import torch"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "a tiny PyTorch training run reports loss, throughput, phases and marks through the snippet",
  ignore: !hasTorch(),
  fn: async () => {
    const dir = await tempDir("aimeter-torch-");
    const snippet = await aimeter(["snippet", "python"]);
    assert.equal(snippet.code, 0);
    Deno.writeTextFileSync(`${dir}/aimeter_events.py`, snippet.stdout);
    const r = await aimeter(
      // --cpu-tdp: an energy figure even on a machine with no readable meter
      [
        "run",
        "--out",
        dir,
        "--no-report",
        "--cpu-tdp",
        "100",
        "--",
        PY,
        "tests/fixtures/train_tiny.py",
        "2",
      ],
      { cwd: ROOT },
    );
    assert.equal(r.code, 0, r.stderr);
    // the workload's stdout reached the user untouched
    assert.match(r.stdout, /tiny training done: \d+ steps, accuracy 0\.\d+/);
    assert.match(r.stdout, /^\{'train_runtime': /m);

    const tr = await readTrace(dir);
    const wl = (m: string) =>
      tr.series.find((s) => s.source === "workload" && s.device === "main" && s.metric === m);
    const loss = wl("loss")!, sps = wl("samples_per_s")!, step = wl("step")!;
    assert.ok(loss && loss.values.length >= 10, "loss rows in the trace");
    assert.ok(sps && sps.values.every((v) => v > 0), "throughput rows in the trace");
    assert.ok(loss.values[loss.values.length - 1] < loss.values[0], "the model learned");
    assert.ok(loss.values.every(Number.isFinite), "the NaN the script logged was never written");
    // workload times lie inside the recording
    const hw = tr.series.filter((s) => s.source !== "workload");
    const t0 = Math.min(...hw.map((s) => s.times[0]));
    const t1 = Math.max(...hw.map((s) => s.times[s.times.length - 1]));
    assert.ok(step.times[0] >= t0 && step.times[step.times.length - 1] <= t1 + 1e6);
    // HF-style dict on stdout, read by the stdout parser
    assert.ok(wl("train_samples_per_second"));

    const s = JSON.parse(Deno.readTextFileSync(`${dir}/summary.json`));
    const w = s.workload;
    assert.equal(w.metrics.loss.n, loss.values.length);
    assert.equal(w.metrics.loss.last, loss.values[loss.values.length - 1]);
    assert.ok(w.metrics.samples_per_s.mean > 0);
    assert.equal(w.metrics.step.last, step.values[step.values.length - 1]);
    assert.deepEqual(w.phases.map((p: { name: string }) => p.name), ["setup", "train", "eval"]);
    const train = w.phases[1];
    assert.ok(train.duration_s > 1.5 && train.duration_s < 4, String(train.duration_s));
    assert.equal(train.units.steps, w.metrics.step.last);
    assert.ok(w.marks.some((m: { text: string }) => m.text === "step 50 reached"));
    assert.equal(w.bad_lines.count, 0);
    assert.equal(w.per_unit.steps, w.metrics.step.last);
    assert.equal(w.per_unit.samples, w.metrics.samples.last);
    assert.ok(s.energy_j.total > 0);
    assert.ok(w.per_unit.energy_per_sample_j > 0 && w.per_unit.energy_per_step_j > 0);
    assert.ok(w.per_unit.samples_per_s_per_w > 0);
    assert.ok(train.energy_j > 0 && train.energy_per_sample_j > 0);
    assert.ok(Array.isArray(s.correlations) && Array.isArray(s.findings));
  },
});
