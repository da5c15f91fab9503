/** Metrics from the command's stdout (Hugging Face log dicts, `--metric-regex`). */
import type { Attachment, SessionContext } from "../recorder/attachment.ts";
import { nowUs } from "../sampler/clock.ts";
import { matchMetricRegexes, type MetricRegex, parseHfLogLine } from "./stdout.ts";
import type { RowSinkLike, WorkloadRecorder } from "./recorder.ts";

export class StdoutAttachment implements Attachment {
  name = "stdout-metrics";
  teeStdout = true;
  #recorder?: WorkloadRecorder;

  constructor(
    private getRecorder: (w: RowSinkLike) => WorkloadRecorder,
    private hf: boolean,
    private regexes: MetricRegex[],
  ) {}

  prepare(ctx: SessionContext): void {
    this.#recorder = this.getRecorder(ctx.writer);
    this.#recorder.inputs.push(
      [this.hf ? "stdout:hf" : "", this.regexes.length ? "stdout:regex" : ""].filter(Boolean)
        .join(","),
    );
  }

  onStdoutLine(line: string, timeUs: number): void {
    const rec = this.#recorder;
    if (!rec) return;
    for (
      const r of [
        this.hf ? parseHfLogLine(line) : undefined,
        this.regexes.length ? matchMetricRegexes(line, this.regexes) : undefined,
      ]
    ) {
      if (!r) continue;
      rec.apply({ timeUs, metrics: r.metrics, bad: r.bad }, "stdout", line);
    }
  }

  finish(ctx: SessionContext): void {
    this.#recorder?.save(ctx, nowUs());
  }
}
