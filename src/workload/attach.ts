/**
 * The workload side of a run (events file, stdout parsers, scrapers, idle
 * baseline): the options it adds to `aimeter run` and the attachments it
 * creates. See the README (workload section).
 */
import { type Command, Option } from "commander";
import type { Attachment } from "../recorder/attachment.ts";
import type { RawOptions } from "../cli/recording_options.ts";
import { UsageError } from "../cli/errors.ts";
import { parseDuration } from "../cli/parse.ts";
import { WorkloadRecorder } from "./recorder.ts";
import { EventsFileAttachment } from "./events_file.ts";
import { StdoutAttachment } from "./stdout_attachment.ts";
import { ScrapeAttachment } from "./scrape.ts";
import { BaselineAttachment } from "./baseline.ts";
import { type MetricRegex, parseMetricRegex } from "./stdout.ts";
import { DEFAULT_SCRAPE_METRICS } from "./prom.ts";

export interface WorkloadAttachments {
  addOptions?(cmd: Command): void;
  create(opts: RawOptions): Attachment[];
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export const workloadAttachments: WorkloadAttachments = {
  addOptions(cmd: Command) {
    cmd
      .option(
        "--events <file>",
        "the events file passed to the command as AIMETER_EVENTS (default: events.jsonl in the run folder)",
      )
      .option("--no-events", "do not create an events file (no AIMETER_EVENTS)")
      .addOption(
        new Option(
          "--stdout-metrics <mode>",
          "read Hugging Face Trainer log dicts from the command's stdout; auto: only when\n" +
            "aimeter's stdout is not a terminal (the command's stdout then stays a terminal)",
        ).choices(["auto", "on", "off"]).default("auto"),
      )
      .option(
        "--metric-regex <NAME=REGEX>",
        "record a metric from stdout lines: the regex's first capture group (or (?<value>...)); repeatable",
        collect,
      )
      .option(
        "--scrape <url>",
        "poll the workload's Prometheus endpoint (vLLM, TGI, Triton, SGLang) for token and request counters",
      )
      .option(
        "--scrape-metric <name>",
        `metric to record from --scrape (repeatable; default: ${
          DEFAULT_SCRAPE_METRICS.join(", ")
        })`,
        collect,
      )
      .option("--scrape-interval <dur>", "how often --scrape polls", "1s")
      .option(
        "--baseline <dur>",
        "measure the node idle for this long before the command (gross and net energy)",
      );
  },

  create(o: RawOptions): Attachment[] {
    const out: Attachment[] = [];
    let recorder: WorkloadRecorder | undefined;
    // the recorder needs the trace writer, known only when the session starts
    const shared = {
      get: (
        w: ConstructorParameters<typeof WorkloadRecorder>[0],
      ) => (recorder ??= new WorkloadRecorder(w)),
    };

    if (o.baseline !== undefined) {
      const s = parseDuration(String(o.baseline), "--baseline");
      if (s <= 0 || s > 3600) {
        throw new UsageError(`--baseline: ${o.baseline} is not between 0 and 1h`);
      }
      out.push(new BaselineAttachment(s));
    }
    if (o.events !== false) {
      out.push(
        new EventsFileAttachment(shared.get, typeof o.events === "string" ? o.events : undefined),
      );
    }
    const regexes: MetricRegex[] = [];
    for (const spec of (o.metricRegex ?? []) as string[]) {
      try {
        regexes.push(parseMetricRegex(spec));
      } catch (e) {
        throw new UsageError(`--metric-regex: ${(e as Error).message}`);
      }
    }
    const mode = String(o.stdoutMetrics ?? "auto");
    if (!["auto", "on", "off"].includes(mode)) {
      throw new UsageError(`--stdout-metrics: '${mode}' is not one of auto, on, off`);
    }
    const hf = mode === "on" || (mode === "auto" && !Deno.stdout.isTerminal());
    if (hf || regexes.length) out.push(new StdoutAttachment(shared.get, hf, regexes));
    if (o.scrape !== undefined) {
      let url: URL;
      try {
        url = new URL(String(o.scrape));
        if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
      } catch {
        throw new UsageError(`--scrape: '${o.scrape}' is not an http(s) URL`);
      }
      if (url.pathname === "/" || url.pathname === "") url.pathname = "/metrics";
      const interval = parseDuration(String(o.scrapeInterval ?? "1s"), "--scrape-interval");
      if (interval < 0.05) throw new UsageError("--scrape-interval: below the 50ms minimum");
      const names = (o.scrapeMetric as string[] | undefined)?.length
        ? (o.scrapeMetric as string[])
        : DEFAULT_SCRAPE_METRICS;
      out.push(new ScrapeAttachment(shared.get, url.toString(), names, interval));
    } else if (o.scrapeMetric?.length) {
      throw new UsageError("--scrape-metric needs --scrape URL");
    }
    return out;
  },
};
