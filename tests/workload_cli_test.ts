/** The workload side through the real CLI: run + events, mark, snippet, stdout parsers, scrape. */
import assert from "node:assert/strict";
import { aimeter, tempDir } from "./helpers/cli.ts";
import { readTrace } from "../src/trace/reader.ts";
import { parseEventLine } from "../src/workload/events.ts";

const REC = ["--sources", "proc", "--interval", "50ms", "--no-report", "-q"];

function workloadRows(trace: Awaited<ReturnType<typeof readTrace>>, metric: string): number[] {
  const s = trace.series.find((s) =>
    s.source === "workload" && s.device === "main" && s.metric === metric
  );
  return s ? [...s.values] : [];
}

Deno.test("aimeter mark appends to $AIMETER_EVENTS, and is harmless outside aimeter", async () => {
  const dir = await tempDir();
  const path = `${dir}/events.jsonl`;
  const env = { AIMETER_EVENTS: path };
  assert.equal((await aimeter(["mark", "dataset", "ready"], { env })).code, 0);
  assert.equal((await aimeter(["mark", "--phase", "preprocess"], { env })).code, 0);
  assert.equal(
    (await aimeter(["mark", "--phase", "-", "--metric", "samples=500"], { env })).code,
    0,
  );
  const lines = Deno.readTextFileSync(path).trim().split("\n");
  const evs = lines.map((l) => parseEventLine(l, Date.now() * 1000)!);
  assert.equal(evs[0].mark, "dataset ready");
  assert.equal(evs[1].phase, "preprocess");
  assert.equal(evs[2].phase, null);
  assert.deepEqual(evs[2].metrics, [["samples", 500]]);
  assert.ok(evs.every((e) => !e.bad));
  // outside aimeter: a note, exit 0 (or 1 with --strict); usage errors exit 2
  const noEnv = { AIMETER_EVENTS: "" };
  const r = await aimeter(["mark", "hello"], { env: noEnv });
  assert.equal(r.code, 0);
  assert.match(r.stderr, /AIMETER_EVENTS is not set/);
  assert.equal((await aimeter(["mark", "--strict", "hello"], { env: noEnv })).code, 1);
  assert.equal((await aimeter(["mark"], { env })).code, 2);
  assert.equal((await aimeter(["mark", "--metric", "x=abc"], { env })).code, 2);
});

Deno.test("aimeter snippet python prints a module that writes valid protocol lines", async () => {
  const r = await aimeter(["snippet", "python"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /def hf_callback/);
  assert.match(r.stdout, /def lightning_callback/);
  assert.match(r.stdout, /def keras_callback/);
  assert.equal((await aimeter(["snippet", "cobol"])).code, 2);
  const dir = await tempDir();
  Deno.writeTextFileSync(`${dir}/aimeter_events.py`, r.stdout);
  const events = `${dir}/events.jsonl`;
  const py = `
import aimeter_events as ae
ae.phase("train")
m = ae.StepMeter(samples_per_step=32, tokens_per_step=32 * 128)
for i in range(3):
    m.step(loss=1.0 / (i + 1))
ae.log(bad=float("nan"), flag=True, text="x", force=True)   # nothing finite: no line
ae.log({"eval/acc": 0.5}, force=True)
with ae.phase("eval"):
    ae.mark("inside eval")
`;
  const out = await new Deno.Command("python3", {
    args: ["-c", py],
    cwd: dir,
    env: { AIMETER_EVENTS: events, PYTHONPATH: dir },
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = Deno.readTextFileSync(events).trim().split("\n");
  const evs = lines.map((l) => parseEventLine(l, Date.now() * 1000)!);
  assert.ok(evs.every((e) => !e.bad), lines.join("\n"));
  assert.deepEqual(evs.map((e) => e.phase).filter((p) => p !== undefined), [
    "train",
    "eval",
    "train",
  ]);
  const steps = evs.filter((e) => e.metrics.some(([n]) => n === "step"));
  assert.equal(steps.length, 3);
  assert.deepEqual(
    steps[2].metrics.map(([n]) => n).sort(),
    ["loss", "samples", "samples_per_s", "step", "step_time_s", "tokens", "tokens_per_s"],
  );
  assert.ok(evs.some((e) => e.metrics.some(([n, v]) => n === "eval_acc" && v === 0.5)));
  assert.ok(evs.some((e) => e.mark === "inside eval"));
  // outside aimeter (and on ranks other than 0) the module does nothing
  const off = await new Deno.Command("python3", {
    args: ["-c", "import aimeter_events as ae; ae.log(x=1); ae.mark('m'); print(ae.enabled)"],
    cwd: dir,
    env: { AIMETER_EVENTS: events, RANK: "1", PYTHONPATH: dir },
  }).output();
  assert.equal(new TextDecoder().decode(off.stdout).trim(), "False");
});

Deno.test("aimeter run: bad event lines are counted and reported, never fatal", async () => {
  const dir = await tempDir();
  const script = [
    `echo '{"phase": "train"}' >> "$AIMETER_EVENTS"`,
    `echo '{"step": 1, "loss": 0.5}' >> "$AIMETER_EVENTS"`,
    `echo 'this is not json' >> "$AIMETER_EVENTS"`,
    `echo '{"loss": NaN, "step": 2}' >> "$AIMETER_EVENTS"`,
    `echo '[1,2,3]' >> "$AIMETER_EVENTS"`,
    `head -c 70000 /dev/zero | tr '\\0' 'x' >> "$AIMETER_EVENTS"; echo >> "$AIMETER_EVENTS"`,
    `echo '{"mark": "done"}' >> "$AIMETER_EVENTS"`,
    `sleep 0.3`,
  ].join("\n");
  const r = await aimeter(["run", ...REC, "--out", dir, "--", "sh", "-c", script]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(Deno.readTextFileSync(`${dir}/summary.json`));
  assert.equal(s.workload.bad_lines.count, 4);
  assert.deepEqual(s.workload.metrics.step, { last: 2, mean: 1.5, min: 1, max: 2, n: 2 });
  assert.equal(s.workload.metrics.loss.n, 1);
  assert.deepEqual(s.workload.phases.map((p: { name: string }) => p.name), ["train"]);
  assert.equal(s.workload.marks[0].text, "done");
  const tr = await readTrace(dir);
  // deno-lint-ignore no-explicit-any
  assert.equal((tr.meta?.extra?.workload as any).bad_lines.count, 4);
});

Deno.test("aimeter run: stdout passes through unchanged while --metric-regex and HF dicts are read", async () => {
  const dir = await tempDir();
  const text = "epoch 1 acc=0.50\nprogress \u00e9\u00e8 50%\r\n" +
    "{'loss': 0.69, 'learning_rate': 5e-05, 'epoch': 0.5}\nepoch 2 acc=0.75\nno newline at end";
  const r = await aimeter([
    "run",
    ...REC,
    "--out",
    dir,
    "--metric-regex",
    "accuracy=acc=([0-9.]+)",
    "--",
    "printf",
    "%s",
    text,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, text);
  const tr = await readTrace(dir);
  assert.deepEqual(workloadRows(tr, "accuracy"), [0.5, 0.75]);
  assert.deepEqual(workloadRows(tr, "loss"), [0.69]);
  assert.deepEqual(workloadRows(tr, "learning_rate"), [5e-5]);
  // off: nothing parsed
  const dir2 = await tempDir();
  const r2 = await aimeter([
    "run",
    ...REC,
    "--out",
    dir2,
    "--stdout-metrics",
    "off",
    "--",
    "printf",
    "%s",
    text,
  ]);
  assert.equal(r2.stdout, text);
  assert.deepEqual(workloadRows(await readTrace(dir2), "loss"), []);
  // a bad regex is a usage error
  assert.equal((await aimeter(["run", ...REC, "--metric-regex", "x=[", "--", "true"])).code, 2);
});

Deno.test("aimeter run --scrape records a server's growing counters and gives energy per token", async () => {
  let tokens = 0, requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    if (new URL(req.url).pathname !== "/metrics") return new Response("no", { status: 404 });
    tokens += 250;
    requests += 2;
    return new Response(
      `# HELP vllm:generation_tokens_total Number of generation tokens processed.
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{model_name="tiny"} ${tokens}.0
# TYPE vllm:request_success_total counter
vllm:request_success_total{finished_reason="stop",model_name="tiny"} ${requests}.0
vllm:request_success_total{finished_reason="length",model_name="tiny"} 0.0
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="tiny"} 3.0
other_metric 1
`,
      { headers: { "content-type": "text/plain; version=0.0.4" } },
    );
  });
  try {
    const dir = await tempDir();
    const url = `http://127.0.0.1:${server.addr.port}`; // no path: /metrics is added
    const r = await aimeter([
      "run",
      "--sources",
      "proc,estimate",
      "--cpu-tdp",
      "100",
      "--interval",
      "50ms",
      "--no-report",
      "-q",
      "--out",
      dir,
      "--scrape",
      url,
      "--scrape-interval",
      "200ms",
      "--",
      "sleep",
      "1.5",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const tr = await readTrace(dir);
    const tok = workloadRows(tr, "vllm_generation_tokens_total");
    assert.ok(tok.length >= 4, `scraped ${tok.length} times`);
    for (let i = 1; i < tok.length; i++) assert.ok(tok[i] > tok[i - 1]);
    assert.ok(workloadRows(tr, "vllm_num_requests_running").every((v) => v === 3));
    assert.deepEqual(workloadRows(tr, "other_metric"), []);
    const s = JSON.parse(Deno.readTextFileSync(`${dir}/summary.json`));
    assert.equal(s.workload.counters.vllm_generation_tokens_total, "tokens");
    assert.equal(s.workload.scrape.failed, 0);
    const pu = s.workload.per_unit;
    assert.equal(pu.tokens, tok[tok.length - 1] - tok[0]);
    assert.equal(pu.methods.tokens, "scraped counter vllm_generation_tokens_total");
    assert.ok(pu.energy_per_token_j > 0);
    assert.ok(
      Math.abs(pu.energy_per_token_j - pu.energy_j / pu.tokens) < 1e-3 * pu.energy_per_token_j,
    );
    assert.ok(pu.requests > 0 && pu.energy_per_request_j > 0);
  } finally {
    await server.shutdown();
  }
});

Deno.test("aimeter run --scrape: a server that never answers is counted, not fatal", async () => {
  const dir = await tempDir();
  const r = await aimeter([
    "run",
    ...REC,
    "--out",
    dir,
    "--scrape",
    "http://127.0.0.1:9/metrics",
    "--scrape-interval",
    "100ms",
    "--",
    "sleep",
    "0.5",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(Deno.readTextFileSync(`${dir}/summary.json`));
  assert.ok(s.workload.scrape.failed >= 1);
  assert.equal(s.workload.scrape.ok, 0);
  assert.equal((await aimeter(["run", ...REC, "--scrape", "ftp://x", "--", "true"])).code, 2);
});

Deno.test("aimeter run --baseline measures the idle node first, then reports gross and net", async () => {
  const dir = await tempDir();
  const r = await aimeter([
    "run",
    "--sources",
    "proc,estimate",
    "--cpu-tdp",
    "100",
    "--interval",
    "50ms",
    "--no-report",
    "-q",
    "--out",
    dir,
    "--baseline",
    "1s",
    "--",
    "sh",
    "-c",
    `echo '{"mark": "command started"}' >> "$AIMETER_EVENTS"; sleep 0.5`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(Deno.readTextFileSync(`${dir}/summary.json`));
  const b = s.workload.baseline;
  assert.ok(Math.abs(b.window.duration_s - 1) < 0.1, JSON.stringify(b.window));
  assert.ok(
    s.workload.marks[0].time_us >= b.window.end_us,
    "the command starts after the baseline",
  );
  assert.ok(b.gross_energy_j > 0 && b.idle_power_w > 0);
  assert.ok(Math.abs(b.net_energy_j - (b.gross_energy_j - b.idle_energy_j)) < 1e-3);
  assert.match(b.method, /idle power/);
  assert.equal((await aimeter(["run", ...REC, "--baseline", "soon", "--", "true"])).code, 2);
});

Deno.test("snippet callbacks (Hugging Face, Lightning, Keras) drive the protocol (stub frameworks)", async () => {
  const dir = await tempDir();
  Deno.writeTextFileSync(`${dir}/aimeter_events.py`, (await aimeter(["snippet", "python"])).stdout);
  // minimal stand-ins with the real base-class names and hook signatures
  Deno.mkdirSync(`${dir}/transformers`);
  Deno.writeTextFileSync(`${dir}/transformers/__init__.py`, "class TrainerCallback: pass\n");
  Deno.mkdirSync(`${dir}/lightning/pytorch`, { recursive: true });
  Deno.writeTextFileSync(`${dir}/lightning/__init__.py`, "");
  Deno.writeTextFileSync(`${dir}/lightning/pytorch/__init__.py`, "class Callback: pass\n");
  Deno.mkdirSync(`${dir}/keras`);
  Deno.writeTextFileSync(
    `${dir}/keras/__init__.py`,
    "class _C:\n    def __init__(self): pass\nclass callbacks:\n    Callback = _C\n",
  );
  const py = `
import types
import aimeter_events as ae
ae.min_interval = 0  # no throttling in this test
S = types.SimpleNamespace
hf = ae.hf_callback()
st = S(global_step=0)
hf.on_train_begin(None, st, None)
for i in range(1, 4):
    st.global_step = i
    hf.on_log(None, st, None, logs={"loss": 1.0 / i, "learning_rate": 5e-5, "epoch": i / 4})
hf.on_evaluate(None, st, None, metrics={"eval_loss": 0.4})
hf.on_save(None, st, None)
hf.on_log(None, st, None, logs={"train_runtime": 3.0, "train_samples_per_second": 100.0})
hf.on_train_end(None, st, None)

lc = ae.lightning_callback()
tr = S(global_step=0, current_epoch=0, callback_metrics={"val_acc": 0.5}, training=True)
lc.on_train_start(tr, None)
for i in range(3):
    tr.global_step = i + 1
    lc.on_train_batch_start(tr, None, None, i)
    lc.on_train_batch_end(tr, None, {"loss": 0.9 - 0.1 * i}, None, i)
lc.on_validation_start(tr, None)
lc.on_validation_end(tr, None)
lc.on_train_end(tr, None)

kc = ae.keras_callback()
kc.on_train_begin()
kc.on_train_batch_end(0, {"loss": 0.7, "accuracy": 0.6})
kc.on_test_begin()
kc.on_test_end({"val_loss": 0.65})
kc.on_epoch_end(0, {"loss": 0.7, "val_loss": 0.65})
kc.on_train_end()
`;
  const events = `${dir}/events.jsonl`;
  const out = await new Deno.Command("python3", {
    args: ["-c", py],
    cwd: dir,
    env: { AIMETER_EVENTS: events, PYTHONPATH: dir },
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const evs = Deno.readTextFileSync(events).trim().split("\n").map((l) =>
    parseEventLine(l, Date.now() * 1000)!
  );
  assert.ok(evs.every((e) => !e.bad));
  const phases = evs.map((e) => e.phase).filter((p) => p !== undefined);
  assert.deepEqual(phases, [
    "train",
    null,
    "train",
    "validate",
    "train",
    null,
    "train",
    "eval",
    "train",
    null,
  ]);
  const names = new Set(evs.flatMap((e) => e.metrics.map(([n]) => n)));
  for (
    const n of [
      "loss",
      "learning_rate",
      "epoch",
      "step",
      "eval_loss",
      "train_runtime",
      "val_acc",
      "accuracy",
      "val_loss",
    ]
  ) {
    assert.ok(names.has(n), `${n} in ${[...names]}`);
  }
  assert.ok(evs.some((e) => e.mark === "checkpoint saved at step 3"));
});
