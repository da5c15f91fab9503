/**
 * One recording, start to end: open the sensors, start the sampler and the
 * crash-safe trace writer, run the command (or wait for a signal / the
 * duration), then finalize the trace and write summary.json and report.html.
 */
import { closeSensors, openSensors } from "../sensors/registry.ts";
import type { SensorNote, SensorOptions } from "../sensors/types.ts";
import { TraceWriter } from "../trace/writer.ts";
import type { TraceFormat } from "../trace/schema.ts";
import { Sampler } from "../sampler/sampler.ts";
import { defaultRunDir, hostName } from "./host_info.ts";
import { CommandNotFound, startChild } from "./child.ts";
import type { Attachment, SessionContext } from "./attachment.ts";
import { StatusLine } from "./status_line.ts";
import type { Summary } from "../analysis/summary.ts";
import type { AnalysisOptions } from "../analysis/stages.ts";
import { endMeta, startMeta } from "./trace_meta.ts";
import { prepareRunDir } from "./run_dir.ts";

export interface SessionConfig {
  mode: "run" | "record";
  /** The command for `run`. */
  command: string[];
  intervalS: number;
  outDir?: string;
  format: TraceFormat;
  report: boolean;
  quiet: boolean;
  sensorOptions: Omit<SensorOptions, "rootPid" | "intervalS">;
  /** Replace a run already in `outDir` (else a run there is refused). */
  overwrite?: boolean;
  /** `record`: stop after this many seconds. */
  durationS?: number;
  /** `record`: write aimeter's pid here. */
  pidFile?: string;
  /** Options for the analysis (carbon region, PUE ...), saved with the trace. */
  analysis: AnalysisOptions;
  attachments?: Attachment[];
  /** Restrict to these sources (tests, `--sources`). */
  sources?: string[];
  /** Extra metadata for the trace (SLURM tags ...). */
  metaExtra?: Record<string, unknown>;
  /** The host name written in the trace (default: this host's name); e.g. the SLURM node name. */
  host?: string;
}

export interface SessionResult {
  exitCode: number;
  dir: string;
  summary?: Summary;
}

function say(quiet: boolean, msg: string) {
  if (!quiet) console.error(`aimeter: ${msg}`);
}

export function describeNote(n: SensorNote): string {
  return `${n.source}${n.device ? ` ${n.device}` : ""}: ${n.message}${
    n.fix ? ` (fix: ${n.fix})` : ""
  }`;
}

export async function runSession(cfg: SessionConfig): Promise<SessionResult> {
  const host = cfg.host ?? hostName();
  const start = new Date();
  const dir = cfg.outDir ?? defaultRunDir(host, start);
  prepareRunDir(dir, !!cfg.overwrite);
  let childPid: number | undefined;
  const { sensors, notes } = openSensors(
    { ...cfg.sensorOptions, intervalS: cfg.intervalS, rootPid: () => childPid },
    cfg.sources,
  );
  for (const n of notes) {
    if (n.status !== "found") say(cfg.quiet, describeNote(n));
  }
  const meta = startMeta({
    mode: cfg.mode,
    host,
    start,
    command: cfg.command,
    intervalS: cfg.intervalS,
    procfsRoot: cfg.sensorOptions.procfsRoot,
    sensors,
    notes,
    extra: { options: cfg.analysis, ...(cfg.metaExtra ?? {}) },
  });
  let writer: TraceWriter;
  try {
    writer = new TraceWriter({
      dir,
      format: cfg.format,
      meta,
      // how often a complete segment is written (the most a crash can lose); 5 s by default
      segmentSeconds: Number(Deno.env.get("AIMETER_SEGMENT_SECONDS")) || 5,
    });
  } catch (e) {
    await closeSensors(sensors);
    throw new Error(`cannot write the run folder ${dir}: ${(e as Error).message}`);
  }
  const attachments = cfg.attachments ?? [];
  const status = cfg.mode === "record" && !cfg.quiet && Deno.stderr.isTerminal()
    ? new StatusLine()
    : undefined;
  const sampler = new Sampler(sensors, writer, cfg.intervalS * 1000, (t) => {
    for (const a of attachments) a.onTick?.(t);
    status?.maybeUpdate(sampler, t);
  });
  const ctx: SessionContext = { dir, writer, sampler, quiet: cfg.quiet, extra: {} };

  let exitCode = 0;
  const signalsSeen: string[] = [];
  let finalized = false;
  const finalize = async (code: number | null) => {
    if (finalized) return;
    finalized = true;
    sampler.stop();
    for (const a of attachments) {
      try {
        await a.finish?.(ctx);
      } catch (e) {
        say(cfg.quiet, `${a.name}: ${(e as Error).message}`);
      }
    }
    status?.clear();
    await writer.finalize(
      endMeta(meta, sensors, notes, sampler, code, {
        ...ctx.extra,
        ...(signalsSeen.length ? { signals: signalsSeen } : {}),
      }),
    );
    await closeSensors(sensors);
  };

  try {
    sampler.start();
    // attachments prepare while the sampler runs (an idle baseline is measured here)
    const env: Record<string, string> = {};
    for (const a of attachments) Object.assign(env, (await a.prepare?.(ctx)) ?? {});
    if (cfg.mode === "run") {
      exitCode = await runChild(cfg, env, attachments, (pid) => childPid = pid, signalsSeen);
    } else {
      if (cfg.pidFile) Deno.writeTextFileSync(cfg.pidFile, `${Deno.pid}\n`);
      say(
        cfg.quiet,
        `recording to ${dir}/ every ${cfg.intervalS * 1000} ms` +
          (cfg.durationS ? ` for ${cfg.durationS} s` : "; stop with Ctrl-C or SIGTERM"),
      );
      await waitForStop(cfg.durationS, signalsSeen);
      exitCode = 0;
    }
  } catch (e) {
    await finalize(null);
    if (e instanceof CommandNotFound) {
      say(false, e.message);
      return { exitCode: 127, dir };
    }
    throw e;
  } finally {
    if (cfg.pidFile) {
      try {
        Deno.removeSync(cfg.pidFile);
      } catch { /* gone already */ }
    }
  }
  await finalize(exitCode);

  let summary: Summary | undefined;
  // The analysis and report stack (Plot, linkedom, the Parquet reader) is loaded
  // only now, after recording: the recorder itself stays small while it runs.
  const { finishRun } = await import("./finish.ts");
  try {
    const { readTrace, summarize, writeReport } = finishRun;
    const trace = await readTrace(dir);
    summary = await summarize([trace], cfg.analysis);
    Deno.writeTextFileSync(`${dir}/summary.json`, JSON.stringify(summary, null, 2) + "\n");
    if (cfg.report) await writeReport([trace], summary, `${dir}/report.html`, cfg.quiet);
  } catch (e) {
    say(false, `the trace is safe in ${dir}/, but the summary failed: ${(e as Error).message}`);
  }
  if (summary && !cfg.quiet) finishRun.printRunSummary(summary, dir, cfg.report);
  return { exitCode, dir, summary };
}

async function runChild(
  cfg: SessionConfig,
  extraEnv: Record<string, string>,
  attachments: Attachment[],
  setPid: (pid: number) => void,
  signalsSeen: string[],
): Promise<number> {
  const tee = attachments.filter((a) => a.teeStdout && a.onStdoutLine);
  const child = startChild({
    command: cfg.command,
    env: extraEnv,
    onStdoutLine: tee.length
      ? (line) => {
        const t = (performance.timeOrigin + performance.now()) * 1000;
        for (const a of tee) a.onStdoutLine!(line, t);
      }
      : undefined,
  });
  setPid(child.pid);
  // SIGTERM (SLURM at the time limit, kill) always goes to the command. SIGINT
  // from a terminal's Ctrl-C already reached the command (same process group),
  // so it is forwarded only when stdin is not a terminal.
  const forward = (sig: Deno.Signal) => () => {
    signalsSeen.push(sig);
    if (sig === "SIGINT" && Deno.stdin.isTerminal()) return;
    child.kill(sig);
  };
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGINT", forward("SIGINT")],
    ["SIGTERM", forward("SIGTERM")],
    ["SIGHUP", forward("SIGHUP")],
  ];
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  try {
    return await child.done;
  } finally {
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  }
}

function waitForStop(durationS: number | undefined, signalsSeen: string[]): Promise<void> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const handlers: [Deno.Signal, () => void][] = [];
    const done = () => {
      if (timer !== undefined) clearTimeout(timer);
      for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
      resolve();
    };
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as Deno.Signal[]) {
      const h = () => {
        signalsSeen.push(sig);
        done();
      };
      handlers.push([sig, h]);
      Deno.addSignalListener(sig, h);
    }
    if (durationS !== undefined) timer = setTimeout(done, durationS * 1000);
  });
}
