/**
 * Tick timing statistics kept by the sampler: lateness of each tick against
 * its deadline (jitter), ticks skipped because the previous one overran, and
 * the time spent reading sensors. Fixed memory: a histogram, not a list.
 */

const BUCKET_US = 50; // histogram resolution
const BUCKETS = 4000; // up to 200 ms; later ticks go in the last bucket

export class TickStats {
  ticks = 0;
  skipped = 0;
  readUsTotal = 0;
  readUsMax = 0;
  #hist = new Uint32Array(BUCKETS);

  record(latenessUs: number, readUs: number): void {
    this.ticks++;
    const b = Math.min(BUCKETS - 1, Math.max(0, Math.floor(latenessUs / BUCKET_US)));
    this.#hist[b]++;
    this.readUsTotal += readUs;
    if (readUs > this.readUsMax) this.readUsMax = readUs;
  }

  /** Lateness quantile in milliseconds (q in 0..1). */
  jitterMs(q: number): number {
    if (this.ticks === 0) return NaN;
    const target = Math.ceil(q * this.ticks);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#hist[i];
      if (seen >= target) return ((i + 1) * BUCKET_US) / 1000;
    }
    return (BUCKETS * BUCKET_US) / 1000;
  }

  toJSON() {
    return {
      ticks: this.ticks,
      skipped_ticks: this.skipped,
      jitter_p50_ms: this.jitterMs(0.5),
      jitter_p99_ms: this.jitterMs(0.99),
      read_mean_ms: this.ticks ? this.readUsTotal / this.ticks / 1000 : NaN,
      read_max_ms: this.readUsMax / 1000,
    };
  }
}
