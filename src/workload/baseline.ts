/**
 * `--baseline 30s`: before the command starts, record the node idle for a
 * while (the sampler is already running), and keep the window in the trace
 * metadata (`meta.extra.baseline`) so the analysis can subtract the idle power
 * from the command's energy (gross and net, side by side).
 */
import type { Attachment, SessionContext } from "../recorder/attachment.ts";
import { nowUs } from "../sampler/clock.ts";

export interface BaselineWindow {
  start_us: number;
  end_us: number;
  duration_s: number;
}

export class BaselineAttachment implements Attachment {
  name = "baseline";
  constructor(readonly seconds: number) {}

  async prepare(ctx: SessionContext): Promise<void> {
    if (!ctx.quiet) {
      console.error(
        `aimeter: measuring the idle baseline for ${this.seconds} s before the command`,
      );
    }
    const start = nowUs();
    await new Promise((r) => setTimeout(r, this.seconds * 1000));
    const end = nowUs();
    const win: BaselineWindow = {
      start_us: Math.round(start),
      end_us: Math.round(end),
      duration_s: (end - start) / 1e6,
    };
    ctx.extra.baseline = win;
  }
}
