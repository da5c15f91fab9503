/**
 * `aimeter serve`: the sensors, sampled in the background, exported live.
 *
 * Order: bind the HTTP address first (a port in use fails at once, before any
 * sensor is opened), open the sensors, start the sampler (rows go to the
 * trace writer with `--out`, else nowhere), then serve until SIGINT, SIGTERM,
 * SIGHUP or `--duration`. A scrape renders the sampler's latest values and
 * never reads a sensor. On stop: close the listener, take a last sample,
 * remove the textfile, finalize the trace and write summary.json/report.html.
 */
import { closeSensors, openSensors } from "../sensors/registry.ts";
import { NullSink, Sampler } from "../sampler/sampler.ts";
import { TraceWriter } from "../trace/writer.ts";
import type { TraceMeta } from "../trace/schema.ts";
import { VERSION } from "../version.ts";
import { hostName } from "../recorder/host_info.ts";
import { endMeta, startMeta } from "../recorder/trace_meta.ts";
import { prepareRunDir } from "../recorder/run_dir.ts";
import { describeNote, type SessionConfig } from "../recorder/session.ts";
import { Exporter } from "./exporter.ts";
import { isLoopback, type ListenAddress, startHttp, urlOf } from "./http.ts";
import { checkTextfilePath, TextfileWriter } from "./textfile.ts";

export interface ServeConfig {
  /** Where to listen; undefined with `--no-listen`. */
  listen?: ListenAddress;
  /** `--textfile PATH`. */
  textfile?: string;
  /** Stop after this many seconds (tests, timed exports). */
  durationS?: number;
  /** The shared recording options; `session.outDir` undefined = no trace. */
  session: SessionConfig;
}

export async function runServe(cfg: ServeConfig): Promise<number> {
  const s = cfg.session;
  const say = (msg: string) => {
    if (!s.quiet) console.error(`aimeter: ${msg}`);
  };
  const host = hostName();
  const start = new Date();

  if (cfg.textfile) {
    const c = checkTextfilePath(cfg.textfile);
    if (c.error) throw new Error(c.error);
    if (c.warning) say(c.warning);
  }
  if (!cfg.listen && !cfg.textfile) {
    throw new Error("nothing to export to: --no-listen needs --textfile PATH");
  }

  // The exporter exists before the sensors so that the listener can be bound first.
  const exporter = new Exporter({
    host,
    version: VERSION,
    intervalS: s.intervalS,
    startTimeS: start.getTime() / 1000,
  });
  const server = cfg.listen ? startHttp(exporter, cfg.listen) : undefined;

  const { sensors, notes } = openSensors({ ...s.sensorOptions, intervalS: s.intervalS }, s.sources);
  for (const n of notes) if (n.status !== "found") say(describeNote(n));
  if (sensors.length === 0) say("no sensor could be opened; only aimeter's own metrics are served");
  const devices = sensors.flatMap((x) => x.devices);
  exporter.setDevices(devices);

  let writer: TraceWriter | undefined;
  let meta: TraceMeta | undefined;
  if (s.outDir) {
    meta = startMeta({
      mode: "serve",
      host,
      start,
      command: [],
      intervalS: s.intervalS,
      procfsRoot: s.sensorOptions.procfsRoot,
      sensors,
      notes,
      extra: {
        options: s.analysis,
        serve: {
          listen: cfg.listen ? urlOf(cfg.listen.hostname, cfg.listen.port) : null,
          textfile: cfg.textfile ?? null,
        },
      },
    });
    try {
      prepareRunDir(s.outDir, !!s.overwrite);
      writer = new TraceWriter({ dir: s.outDir, format: s.format, meta });
    } catch (e) {
      await server?.shutdown();
      await closeSensors(sensors);
      throw new Error(`cannot write the run folder ${s.outDir}: ${(e as Error).message}`);
    }
  }

  const textfile = cfg.textfile
    ? new TextfileWriter(cfg.textfile, exporter, { onError: (m) => console.error(`aimeter: ${m}`) })
    : undefined;
  const sampler = new Sampler(sensors, writer ?? new NullSink(), s.intervalS * 1000, () => {
    textfile?.maybeWrite();
  });
  exporter.attach(sampler);
  sampler.start();

  if (server) {
    const { hostname, port } = server.addr;
    const url = urlOf(hostname, port);
    if (isLoopback(hostname)) {
      say(
        `serving metrics on ${url} (loopback only: other machines cannot scrape it; ` +
          `--listen 0.0.0.0:${port} exposes it)`,
      );
    } else {
      // said even with --quiet: the user should know the node is exposed
      console.error(
        `aimeter: warning: serving metrics on ${url} to the network, without authentication or TLS: ` +
          `anyone who can reach port ${port} can read this host's power and GPU data ` +
          `(restrict it with a firewall, or listen on 127.0.0.1)`,
      );
    }
  }
  if (textfile) say(`writing metrics to ${textfile.path} every second (node_exporter textfile)`);
  if (writer) say(`recording to ${s.outDir}/ every ${s.intervalS * 1000} ms`);
  say(
    `sampling ${sensors.map((x) => x.source).join(", ") || "nothing"} every ${
      s.intervalS * 1000
    } ms; stop with Ctrl-C or SIGTERM`,
  );

  const signal = await waitForStop(cfg.durationS);
  if (signal) say(`${signal}: stopping`);

  await server?.shutdown();
  sampler.stop();
  textfile?.remove();
  if (writer && meta) {
    await writer.finalize(
      endMeta(meta, sensors, notes, sampler, 0, signal ? { signals: [signal] } : {}),
    );
  }
  await closeSensors(sensors);
  if (writer && s.outDir) await writeSummary(s, s.outDir);
  return 0;
}

async function writeSummary(s: SessionConfig, dir: string): Promise<void> {
  try {
    const { readTrace, summarize, writeReport, printRunSummary } =
      (await import("../recorder/finish.ts")).finishRun;
    const trace = await readTrace(dir);
    const summary = await summarize([trace], s.analysis);
    Deno.writeTextFileSync(`${dir}/summary.json`, JSON.stringify(summary, null, 2) + "\n");
    if (s.report) await writeReport([trace], summary, `${dir}/report.html`, s.quiet);
    if (!s.quiet) printRunSummary(summary, dir, s.report);
  } catch (e) {
    console.error(
      `aimeter: the trace is safe in ${dir}/, but the summary failed: ${(e as Error).message}`,
    );
  }
}

/** Resolves with the signal's name, or undefined when the duration ran out. */
function waitForStop(durationS: number | undefined): Promise<string | undefined> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const handlers: [Deno.Signal, () => void][] = [];
    const done = (sig?: string) => {
      if (timer !== undefined) clearTimeout(timer);
      for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
      resolve(sig);
    };
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as Deno.Signal[]) {
      const h = () => done(sig);
      handlers.push([sig, h]);
      Deno.addSignalListener(sig, h);
    }
    if (durationS !== undefined) timer = setTimeout(() => done(), durationS * 1000);
  });
}
