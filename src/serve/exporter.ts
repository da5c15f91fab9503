/**
 * Builds the metric families of one scrape from what the background sampler
 * already holds: `Sampler.latest()` (the latest value per channel), the
 * sensors' device list, and the tick statistics. A scrape reads no sensor and
 * waits for nothing; values older than `staleAfterS` are left out rather
 * than shown as current.
 */
import type { DeviceInfo } from "../sensors/types.ts";
import type { LatestValue } from "../sampler/sampler.ts";
import type { TickStats } from "../sampler/stats.ts";
import {
  type ExpositionFormat,
  type Family,
  type FamilyType,
  type Labels,
  mapMetric,
  render,
  THROTTLE_REASONS,
} from "./exposition.ts";

/** What the exporter reads each scrape; `Sampler` fits it. */
export interface SampleSource {
  latest(): Map<string, LatestValue>;
  readonly stats: TickStats;
}

export interface ExporterOptions {
  host: string;
  version: string;
  devices?: readonly DeviceInfo[];
  intervalS: number;
  /** Unix seconds when serving started. */
  startTimeS: number;
  /** Values older than this are not exported (default: max(60 s, 10 intervals)). */
  staleAfterS?: number;
  /** The clock, unix µs (tests). */
  nowUs?: () => number;
}

class Families {
  #map = new Map<string, Family & { seen: Set<string> }>();

  add(
    name: string,
    type: FamilyType,
    help: string,
    unit: string | undefined,
    labels: Labels,
    value: number,
  ): void {
    let f = this.#map.get(name);
    if (!f) {
      f = { name, type, help, unit, samples: [], seen: new Set() };
      this.#map.set(name, f);
    }
    const sig = JSON.stringify(labels);
    if (f.seen.has(sig)) return; // two channels that map to one series: keep the first
    f.seen.add(sig);
    f.samples.push({ labels, value });
  }

  list(): Family[] {
    return [...this.#map.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(({ seen: _seen, ...f }) => f);
  }
}

export class Exporter {
  readonly opts: ExporterOptions;
  #source: SampleSource | undefined;
  #devices = new Map<string, DeviceInfo>();
  /** Highest energy seen per series: the counter never goes down while serving. */
  #energyMax = new Map<string, number>();
  #nowUs: () => number;
  #staleAfterUs: number;
  /** Duration of the latest scrape, seconds. */
  lastScrapeS = NaN;

  constructor(opts: ExporterOptions) {
    this.opts = opts;
    this.setDevices(opts.devices ?? []);
    this.#nowUs = opts.nowUs ?? (() => (performance.timeOrigin + performance.now()) * 1000);
    this.#staleAfterUs = (opts.staleAfterS ?? Math.max(60, 10 * opts.intervalS)) * 1e6;
  }

  /** The devices the sensors found (model and UUID labels, `aimeter_device_info`). */
  setDevices(devices: readonly DeviceInfo[]): void {
    this.#devices.clear();
    for (const d of devices) this.#devices.set(`${d.source}/${d.device}`, d);
  }

  /** Start exporting from this sampler (before, only the self-metrics are shown). */
  attach(source: SampleSource): void {
    this.#source = source;
  }

  #deviceLabels(source: string, device: string): Labels {
    const labels: Labels = [["host", this.opts.host], ["source", source], ["device", device]];
    const d = this.#devices.get(`${source}/${device}`);
    if (d?.name) labels.push(["model", d.name]);
    if (d?.uuid) labels.push(["uuid", d.uuid]);
    return labels;
  }

  /** Every family of one scrape, sorted by name (scrape duration not included). */
  families(): Family[] {
    const fams = new Families();
    const host = this.opts.host;
    const now = this.#nowUs();

    fams.add(
      "aimeter_build",
      "info",
      "aimeter build information.",
      undefined,
      [["host", host], ["version", this.opts.version], ["runtime", `deno ${Deno.version.deno}`]],
      1,
    );
    fams.add(
      "aimeter_start_time_seconds",
      "gauge",
      "When aimeter serve started, unix time (counters restart from 0 then).",
      "seconds",
      [["host", host]],
      this.opts.startTimeS,
    );
    fams.add(
      "aimeter_sampler_interval_seconds",
      "gauge",
      "Sampling period of the background sampler.",
      "seconds",
      [["host", host]],
      this.opts.intervalS,
    );
    for (const d of this.#devices.values()) {
      const labels: Labels = [["host", host], ["source", d.source], ["device", d.device]];
      if (d.name) labels.push(["model", d.name]);
      if (d.uuid) labels.push(["uuid", d.uuid]);
      if (d.energyMethod) labels.push(["energy_method", d.energyMethod]);
      if (d.total) labels.push(["energy_total", d.total]);
      fams.add(
        "aimeter_device",
        "info",
        "A measured device: model, UUID, how its energy is obtained and which total it counts into.",
        undefined,
        labels,
        1,
      );
    }

    const src = this.#source;
    if (src) {
      const st = src.stats;
      fams.add(
        "aimeter_sampler_ticks",
        "counter",
        "Sampler ticks since aimeter serve started.",
        undefined,
        [["host", host]],
        st.ticks,
      );
      fams.add(
        "aimeter_sampler_skipped_ticks",
        "counter",
        "Ticks skipped because a sensor read overran the interval.",
        undefined,
        [["host", host]],
        st.skipped,
      );
      const p99 = st.jitterMs(0.99);
      if (p99 === p99) {
        fams.add(
          "aimeter_sampler_jitter_seconds",
          "gauge",
          "99th percentile of how late sampler ticks ran against their deadline, since start " +
            "(50 us resolution).",
          "seconds",
          [["host", host]],
          p99 / 1000,
        );
      }
      let lastUs = 0;
      for (const [key, lv] of src.latest()) {
        if (now - lv.timeUs > this.#staleAfterUs) continue;
        if (lv.timeUs > lastUs) lastUs = lv.timeUs;
        this.#addChannel(fams, key, lv);
      }
      if (lastUs > 0) {
        fams.add(
          "aimeter_last_sample_timestamp_seconds",
          "gauge",
          "Unix time of the latest sample taken by the sampler.",
          "seconds",
          [["host", host]],
          lastUs / 1e6,
        );
      }
    }
    return fams.list();
  }

  #addChannel(fams: Families, key: string, lv: LatestValue): void {
    const { source, device, metric } = lv.channel;
    const base = this.#deviceLabels(source, device);
    if (metric === "throttle_reasons") {
      fams.add(
        "aimeter_gpu_throttle_reasons",
        "gauge",
        "NVML clock-event (throttle) reasons bitmask; one 0/1 series per reason in aimeter_gpu_throttle_active.",
        undefined,
        base,
        lv.value,
      );
      for (const [bit, reason] of THROTTLE_REASONS) {
        fams.add(
          "aimeter_gpu_throttle_active",
          "gauge",
          "1 while the GPU clocks are held down for this reason, else 0.",
          undefined,
          [...base, ["reason", reason]],
          Math.floor(lv.value / bit) % 2,
        );
      }
      return;
    }
    const m = mapMetric(metric);
    let value = lv.value * m.scale;
    if (m.type === "counter") {
      if (value < 0) return;
      const prev = this.#energyMax.get(key) ?? 0;
      if (value < prev) value = prev;
      else this.#energyMax.set(key, value);
    }
    fams.add(m.family, m.type, m.help, m.unit, m.labels ? [...base, ...m.labels] : base, value);
  }

  /** The full body of one scrape, with `aimeter_scrape_duration_seconds` last. */
  scrape(format: ExpositionFormat): string {
    const t0 = performance.now();
    const body = render(this.families(), format, { eof: false });
    const dur = (performance.now() - t0) / 1000;
    this.lastScrapeS = dur;
    const tail = render([{
      name: "aimeter_scrape_duration_seconds",
      type: "gauge",
      unit: "seconds",
      help: "Time taken to build this response from the sampler's latest values.",
      samples: [{ labels: [["host", this.opts.host]], value: dur }],
    }], format);
    return body + tail;
  }
}
