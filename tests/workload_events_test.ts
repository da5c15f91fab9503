import assert from "node:assert/strict";
import { MAX_LINE, parseEventLine } from "../src/workload/events.ts";
import { sanitizeMetricName } from "../src/workload/names.ts";
import { matchMetricRegexes, parseHfLogLine, parseMetricRegex } from "../src/workload/stdout.ts";
import { counterRole, parseExposition } from "../src/workload/prom.ts";
import { WorkloadRecorder } from "../src/workload/recorder.ts";
import { EventsFileAttachment, LineTail } from "../src/workload/events_file.ts";
import type { SessionContext } from "../src/recorder/attachment.ts";

const NOW = Date.UTC(2026, 10, 1) * 1000;

/** A row sink that keeps rows in memory. */
class MemSink {
  names: string[] = [];
  rows: { t: number; name: string; v: number }[] = [];
  seriesId(_s: string, _d: string, metric: string) {
    this.names.push(metric);
    return this.names.length - 1;
  }
  append(t: number, id: number, v: number) {
    this.rows.push({ t, name: this.names[id], v });
  }
}

Deno.test("sanitizeMetricName() makes snake case", () => {
  assert.equal(sanitizeMetricName("trainLoss"), "train_loss");
  assert.equal(sanitizeMetricName("eval/accuracy"), "eval_accuracy");
  assert.equal(sanitizeMetricName("vllm:generation_tokens_total"), "vllm_generation_tokens_total");
  assert.equal(sanitizeMetricName("Samples per s"), "samples_per_s");
  assert.equal(sanitizeMetricName("GPUTemp"), "gpu_temp");
  assert.equal(sanitizeMetricName("1st"), "m_1st");
  assert.equal(sanitizeMetricName("---"), "");
});

Deno.test("parseEventLine() reads metrics, time, phase and mark", () => {
  const ev = parseEventLine(
    `{"time": ${
      NOW / 1e6 + 0.25
    }, "step": 120, "loss": 2.31, "samplesPerS": 812.5, "tag": "x", "ok": true}`,
    NOW,
  )!;
  assert.equal(ev.timeUs, NOW + 250_000);
  assert.deepEqual(ev.metrics, [["step", 120], ["loss", 2.31], ["samples_per_s", 812.5]]);
  assert.equal(ev.bad, undefined);
  assert.equal(parseEventLine(`{"phase": "eval"}`, NOW)!.phase, "eval");
  assert.equal(parseEventLine(`{"phase": null}`, NOW)!.phase, null);
  assert.equal(parseEventLine(`{"mark": "checkpoint saved"}`, NOW)!.mark, "checkpoint saved");
  assert.equal(parseEventLine("   ", NOW), undefined);
  // nested one level
  assert.deepEqual(parseEventLine(`{"eval": {"loss": 1.5}}`, NOW)!.metrics, [["eval_loss", 1.5]]);
  // no time, or an implausible one: the read time
  assert.equal(parseEventLine(`{"loss": 1, "time": 12}`, NOW)!.timeUs, NOW);
  // milliseconds by mistake
  assert.equal(parseEventLine(`{"loss": 1, "time": ${NOW / 1e3 + 5}}`, NOW)!.timeUs, NOW + 5000);
});

Deno.test("parseEventLine() marks bad lines and keeps what it can", () => {
  assert.equal(parseEventLine("not json", NOW)!.bad, "not JSON");
  assert.equal(parseEventLine(`{"loss": 1`, NOW)!.bad, "not JSON");
  assert.equal(parseEventLine("[1, 2]", NOW)!.bad, "not a JSON object");
  assert.equal(parseEventLine("42", NOW)!.bad, "not a JSON object");
  const huge = parseEventLine(`{"x": "${"a".repeat(MAX_LINE)}"}`, NOW)!;
  assert.match(huge.bad!, /too long/);
  assert.deepEqual(huge.metrics, []);
  // Python's json.dumps writes NaN: the line is bad, its finite numbers are kept
  const nan = parseEventLine(`{"loss": NaN, "step": 3, "lr": -Infinity, "note": "NaN ok"}`, NOW)!;
  assert.match(nan.bad!, /non-finite/);
  assert.deepEqual(nan.metrics, [["step", 3]]);
});

Deno.test("parseHfLogLine() reads Hugging Face Trainer log dicts", () => {
  const a = parseHfLogLine(
    "{'loss': 0.6931, 'grad_norm': 1.25, 'learning_rate': 5e-05, 'epoch': 0.5}",
  )!;
  assert.deepEqual(a.metrics, [["loss", 0.6931], ["grad_norm", 1.25], ["learning_rate", 5e-5], [
    "epoch",
    0.5,
  ]]);
  const b = parseHfLogLine(
    " 50%|█████     | 5/10 [00:01<00:01]\r{'train_runtime': 12.3, 'train_samples_per_second': 81.2, 'train_steps_per_second': 0.8, 'train_loss': 0.5, 'epoch': 1.0}",
  )!;
  assert.deepEqual(b.metrics.map((m) => m[0]), [
    "train_runtime",
    "train_samples_per_second",
    "train_steps_per_second",
    "train_loss",
    "epoch",
  ]);
  // numpy 2 reprs and nan
  const c = parseHfLogLine("{'eval_loss': np.float64(0.25), 'eval_acc': nan}")!;
  assert.deepEqual(c.metrics, [["eval_loss", 0.25]]);
  assert.match(c.bad!, /eval_acc/);
  assert.equal(parseHfLogLine("Epoch 1: loss 0.5"), undefined);
  assert.equal(parseHfLogLine("{}"), undefined);
  assert.equal(parseHfLogLine(`{"json": "but no numbers"}`), undefined);
});

Deno.test("--metric-regex specs", () => {
  const r = parseMetricRegex("tokPerS=([0-9.]+) tok/s");
  assert.equal(r.name, "tok_per_s");
  // a plain group stops at the comma; (?<value>...) with commas reads the whole number
  assert.deepEqual(matchMetricRegexes("speed 1,234.5 tok/s", [r])!.metrics, [["tok_per_s", 234.5]]);
  const r2 = parseMetricRegex("tps=speed (?<value>[0-9.,]+) tok/s");
  assert.deepEqual(matchMetricRegexes("speed 1,234.5 tok/s", [r2])!.metrics, [["tps", 1234.5]]);
  assert.deepEqual(matchMetricRegexes("12.5 tok/s", [r])!.metrics, [["tok_per_s", 12.5]]);
  assert.equal(matchMetricRegexes("nothing here", [r]), undefined);
  assert.throws(() => parseMetricRegex("noequals"), /NAME=REGEX/);
  assert.throws(() => parseMetricRegex("x=([0-9]"), /not a valid regular expression/);
  assert.throws(() => parseMetricRegex("x=[0-9]+"), /no capture group/);
});

Deno.test("parseExposition() sums label sets and skips comments", () => {
  const text = `# HELP vllm:generation_tokens_total Number of generation tokens processed.
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{model_name="a"} 100.0
vllm:generation_tokens_total{model_name="b{x}",le="1"} 50
tgi_request_generated_tokens_sum 7 1700000000000
tgi_request_generated_tokens_bucket{le="+Inf"} 3
nv_inference_count{model="resnet",version="1"} 12
weird NaN
`;
  const all = parseExposition(text);
  assert.equal(all.get("vllm:generation_tokens_total"), 150);
  assert.equal(all.get("tgi_request_generated_tokens_sum"), 7);
  assert.equal(all.has("weird"), false);
  const some = parseExposition(text, new Set(["nv_inference_count"]));
  assert.deepEqual([...some], [["nv_inference_count", 12]]);
  assert.equal(counterRole("vllm:generation_tokens_total"), "tokens");
  assert.equal(counterRole("tgi_request_generated_tokens_sum"), "tokens");
  assert.equal(counterRole("nv_inference_request_success"), "requests");
  assert.equal(counterRole("vllm:num_requests_running"), undefined);
});

Deno.test("LineTail reads a growing file by offset, across partial lines", () => {
  const path = Deno.makeTempFileSync();
  const lines: string[] = [];
  let overlong = 0;
  const tail = new LineTail(path, (l) => lines.push(l), () => overlong++);
  Deno.writeTextFileSync(path, `{"a": 1}\n{"b":`, { append: true });
  tail.read(0);
  assert.deepEqual(lines, [`{"a": 1}`]);
  Deno.writeTextFileSync(path, ` 2}\n`, { append: true });
  tail.read(0);
  assert.deepEqual(lines, [`{"a": 1}`, `{"b": 2}`]);
  // a bounded read leaves the rest for later
  Deno.writeTextFileSync(path, `{"c": 3}\n`.repeat(100), { append: true });
  assert.equal(tail.read(0, 100), true);
  assert.ok(lines.length < 102);
  tail.read(0);
  assert.equal(lines.length, 102);
  // an endless line is dropped, not buffered
  Deno.writeTextFileSync(path, "x".repeat(MAX_LINE + 10), { append: true });
  tail.read(0);
  Deno.writeTextFileSync(path, `yy\n{"d": 4}\n{"e": 5}`, { append: true });
  tail.read(0);
  tail.end(0);
  assert.equal(overlong, 1);
  assert.deepEqual(lines.slice(-2), [`{"d": 4}`, `{"e": 5}`]);
  tail.close();
  Deno.removeSync(path);
});

Deno.test("events attachment: metrics to the trace, phases/marks/bad lines to meta.extra", async () => {
  // times near the real clock (finish() reads with it; times a day away are not trusted)
  const NOW = Math.floor(Date.now() / 1000) * 1e6;
  const dir = Deno.makeTempDirSync();
  const sink = new MemSink();
  let rec: WorkloadRecorder | undefined;
  const a = new EventsFileAttachment((w) => (rec ??= new WorkloadRecorder(w)));
  const ctx = {
    dir,
    writer: sink as unknown as SessionContext["writer"],
    sampler: undefined as unknown as SessionContext["sampler"],
    quiet: true,
    extra: {},
  } as SessionContext;
  const env = a.prepare(ctx);
  const path = env.AIMETER_EVENTS;
  assert.equal(path, `${dir}/events.jsonl`);
  const t = (s: number) => (NOW + s * 1e6) / 1e6;
  Deno.writeTextFileSync(
    path,
    [
      `{"time": ${t(0)}, "phase": "train"}`,
      `{"time": ${t(1)}, "step": 1, "loss": 2.0}`,
      `garbage`,
      `{"time": ${t(2)}, "step": 2, "loss": NaN}`,
      `{"time": ${t(2.5)}, "mark": "checkpoint"}`,
      `{"time": ${t(3)}, "phase": "eval"}`,
    ].join("\n") + "\n",
  );
  a.onTick(NOW + 10e6);
  a.onTick(NOW + 10e6 + 1000); // throttled: within 200 ms
  Deno.writeTextFileSync(path, `{"time": ${t(4)}, "accuracy": 0.9}`, { append: true }); // no newline
  await a.finish(ctx);
  assert.deepEqual(
    sink.rows.map((r) => [r.name, r.v, (r.t - NOW) / 1e6]),
    [["step", 1, 1], ["loss", 2, 1], ["step", 2, 2], ["accuracy", 0.9, 4]],
  );
  // deno-lint-ignore no-explicit-any
  const w = ctx.extra.workload as any;
  assert.deepEqual(w.phases.map((p: { name: string }) => p.name), ["train", "eval"]);
  assert.equal(w.phases[0].end_us, NOW + 3e6);
  assert.ok(w.phases[1].end_us >= NOW + 3e6); // open phase ends at finish
  assert.deepEqual(w.marks, [{ time_us: NOW + 2.5e6, text: "checkpoint" }]);
  assert.equal(w.bad_lines.count, 2);
  assert.deepEqual(w.bad_lines.examples.map((e: { reason: string }) => e.reason), [
    "not JSON",
    "non-finite number (NaN/Infinity) (dropped)",
  ]);
  assert.deepEqual(w.metric_rows, { step: 2, loss: 1, accuracy: 1 });
  Deno.removeSync(dir, { recursive: true });
});
