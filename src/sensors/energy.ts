/**
 * Turning raw readings into the trace's `energy_j`: cumulative since the
 * device's first sample of the run, wraparound-corrected and monotonic.
 */

/**
 * A hardware energy counter (RAPL `energy_uj`, NVML total energy in mJ, hwmon
 * `energyN_input`). Feed raw readings in the counter's own unit; get joules
 * since the first reading.
 *
 * Wraps: when a reading is below the previous one and `maxRange` is known, the
 * counter wrapped once: delta = cur + (maxRange - prev) (+1 unit for counters
 * whose range is inclusive is below any resolution we care about). Without a
 * known range, a drop is a reset (driver reload): the delta is taken as 0 and
 * counted in `resets`, so energy never goes backwards and never jumps.
 */
export class CounterAccumulator {
  #prev: number | undefined;
  #totalUnits = 0;
  wraps = 0;
  resets = 0;
  /** Deltas larger than this (in counter units) are rejected as impossible. */
  readonly maxStep: number;

  constructor(
    /** Joules per counter unit: 1e-6 for µJ, 1e-3 for mJ. */
    readonly joulesPerUnit: number,
    /** Counter range (`max_energy_range_uj`), or undefined when the counter does not wrap. */
    readonly maxRange?: number,
    maxStep = Infinity,
  ) {
    this.maxStep = maxStep;
  }

  /** Add a raw reading; returns cumulative joules since the first reading. */
  add(raw: number): number {
    if (!Number.isFinite(raw)) return this.joules;
    const prev = this.#prev;
    this.#prev = raw;
    if (prev === undefined) return 0;
    let delta = raw - prev;
    if (delta < 0) {
      if (this.maxRange !== undefined && this.maxRange > 0 && prev <= this.maxRange) {
        delta = raw + (this.maxRange - prev);
        this.wraps++;
      } else {
        delta = 0;
        this.resets++;
      }
    }
    if (delta > this.maxStep) {
      this.resets++;
      delta = 0;
    }
    this.#totalUnits += delta;
    return this.joules;
  }

  get started(): boolean {
    return this.#prev !== undefined;
  }

  get joules(): number {
    return this.#totalUnits * this.joulesPerUnit;
  }
}

/**
 * Energy by trapezoidal integration of power samples, for sources with no
 * energy counter. Times in microseconds, power in watts.
 */
export class PowerIntegrator {
  #lastT: number | undefined;
  #lastP: number | undefined;
  #joules = 0;

  /** Add a power sample; returns cumulative joules since the first sample. */
  add(timeUs: number, watts: number): number {
    if (!Number.isFinite(watts)) return this.#joules;
    if (this.#lastT !== undefined && this.#lastP !== undefined && timeUs > this.#lastT) {
      this.#joules += ((this.#lastP + watts) / 2) * ((timeUs - this.#lastT) / 1e6);
    }
    this.#lastT = timeUs;
    this.#lastP = watts;
    return this.#joules;
  }

  get joules(): number {
    return this.#joules;
  }
}
