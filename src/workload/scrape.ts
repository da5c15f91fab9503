/**
 * `--scrape URL`: poll the workload's own Prometheus endpoint (vLLM, TGI,
 * Triton, SGLang) and record the chosen counters as workload metrics, so a
 * serving run gets energy per generated token with no code change. Polls
 * never overlap and never block a tick; a server that is not up yet (or any
 * failure) is counted, never fatal.
 */
import type { Attachment, SessionContext } from "../recorder/attachment.ts";
import { nowUs } from "../sampler/clock.ts";
import { sanitizeMetricName } from "./names.ts";
import { counterRole, parseExposition } from "./prom.ts";
import type { RowSinkLike, WorkloadRecorder } from "./recorder.ts";

export class ScrapeAttachment implements Attachment {
  name = "scrape";
  #recorder?: WorkloadRecorder;
  #timer?: ReturnType<typeof setTimeout>;
  #inFlight?: Promise<void>;
  #stopped = false;
  #wanted: Set<string>;
  #stats = { ok: 0, failed: 0, last_error: undefined as string | undefined };

  constructor(
    private getRecorder: (w: RowSinkLike) => WorkloadRecorder,
    readonly url: string,
    names: string[],
    readonly intervalS: number,
  ) {
    this.#wanted = new Set(names);
  }

  prepare(ctx: SessionContext): void {
    this.#recorder = this.getRecorder(ctx.writer);
    this.#recorder.inputs.push(`scrape:${this.url}`);
    this.#loop();
  }

  #loop = (): void => {
    if (this.#stopped) return;
    const started = performance.now();
    this.#inFlight = this.scrapeOnce(Math.min(5, Math.max(0.5, this.intervalS)) * 1000).then(
      () => {
        if (this.#stopped) return;
        const wait = Math.max(0, this.intervalS * 1000 - (performance.now() - started));
        this.#timer = setTimeout(this.#loop, wait);
      },
    );
  };

  /** One poll; true when the endpoint answered. */
  async scrapeOnce(timeoutMs: number, count = true): Promise<boolean> {
    const rec = this.#recorder!;
    try {
      const res = await fetch(this.url, { signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const t = nowUs();
      for (const [name, v] of parseExposition(text, this.#wanted)) {
        const m = sanitizeMetricName(name);
        rec.metric(m, t, v);
        const role = counterRole(name);
        if (role) rec.counters[m] = role;
      }
      this.#stats.ok++;
      return true;
    } catch (e) {
      if (count) {
        this.#stats.failed++;
        this.#stats.last_error = (e as Error).message;
      }
      return false;
    }
  }

  async finish(ctx: SessionContext): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#inFlight;
    // the last counts, if the server is still up (often it has just stopped: not an error)
    if (this.#recorder) await this.scrapeOnce(1000, false);
    if (this.#recorder) {
      this.#recorder.scrape = {
        url: this.url,
        ok: this.#stats.ok,
        failed: this.#stats.failed,
        ...(this.#stats.last_error ? { last_error: this.#stats.last_error } : {}),
      };
      this.#recorder.save(ctx, nowUs());
    }
  }
}
