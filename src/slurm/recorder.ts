/**
 * The detached per-node recorder of a job (`aimeter slurm _record`, started
 * by the prolog in a new session): an `aimeter record` session restricted to
 * the job's GPUs (by UUID) and processes (its cgroup, else its environment),
 * tagged with the job, step and array ids, written under the SLURM node name,
 * and watching for other jobs' processes on the job's GPUs.
 */
import { runSession } from "../recorder/session.ts";
import type { Attachment } from "../recorder/attachment.ts";
import { parseInterval } from "../cli/parse.ts";
import type { JobInfo } from "./job.ts";
import { jobTags } from "./job.ts";
import {
  cachedPids,
  cgroupPids,
  foreignGpuUse,
  type ForeignUse,
  jobPidsByEnviron,
} from "./procs.ts";
import { errorText, HookLog } from "./log.ts";

/** Everything the prolog decided; passed to the recorder in `AIMETER_SLURM_PLAN`. */
export interface RecorderPlan {
  out: string;
  pidFile: string;
  logFile: string;
  interval: string;
  format: "parquet" | "csv";
  sources?: string;
  sysfsRoot: string;
  procfsRoot: string;
  nvmlLib: string;
  /** `--gpus` entries (UUIDs where known); undefined = every GPU. */
  gpus?: string[];
  /** Device minors of the job's GPUs (for the check on other jobs). */
  gpuMinors: number[];
  /** The job's cgroup, when the node has cgroups. */
  cgroup?: string;
  region?: string;
  pue?: number;
  job: JobInfo;
  /** Seconds between checks for other jobs on the job's GPUs (0: never). */
  foreignCheckS?: number;
}

export const PLAN_ENV = "AIMETER_SLURM_PLAN";

/** Watches for other jobs' processes holding one of the job's GPUs; warnings go in the trace. */
export function foreignGpuWatch(
  plan: RecorderPlan,
  log: HookLog,
): Attachment & { seen: Map<string, ForeignUse> } {
  const seen = new Map<string, ForeignUse>();
  let timer: ReturnType<typeof setInterval> | undefined;
  const check = () => {
    try {
      for (const u of foreignGpuUse(plan.procfsRoot, plan.job.jobId, plan.gpuMinors)) {
        const k = `${u.pid}/${u.gpu}`;
        if (seen.has(k)) continue;
        seen.set(k, u);
        log.warn(
          `process ${u.pid} (${u.command ?? "?"}) of job ${u.job} uses GPU ${u.gpu} of this job`,
        );
      }
    } catch (e) {
      log.error(`GPU sharing check: ${errorText(e)}`);
    }
  };
  return {
    name: "slurm-gpu-sharing",
    seen,
    prepare() {
      const every = (plan.foreignCheckS ?? 10) * 1000;
      if (!plan.gpuMinors.length || every <= 0) return;
      check();
      timer = setInterval(check, every);
    },
    finish(ctx) {
      if (timer !== undefined) clearInterval(timer);
      if (plan.gpuMinors.length) check();
      if (seen.size) {
        ctx.extra.slurm_warnings = [...seen.values()].map((u) =>
          `process ${u.pid} (${
            u.command ?? "?"
          }) of job ${u.job} used GPU ${u.gpu} (${plan.job.node}) of job ${plan.job.jobId}`
        );
      }
    },
  };
}

/** Run the recorder until SIGTERM; returns the exit code. Errors go to the log. */
export async function runRecorder(plan: RecorderPlan): Promise<number> {
  const log = new HookLog(plan.logFile, `recorder job ${plan.job.jobKey} node ${plan.job.node}`);
  try {
    const processPids = plan.cgroup
      ? cachedPids(() => {
        const p = cgroupPids(plan.cgroup!);
        return p.size ? p : jobPidsByEnviron(plan.procfsRoot, plan.job.jobId);
      })
      : cachedPids(() => jobPidsByEnviron(plan.procfsRoot, plan.job.jobId), 2000);
    const watch = foreignGpuWatch(plan, log);
    const r = await runSession({
      mode: "record",
      command: [],
      intervalS: parseInterval(plan.interval),
      outDir: plan.out,
      format: plan.format,
      report: false,
      quiet: true,
      host: plan.job.node,
      sensorOptions: {
        sysfsRoot: plan.sysfsRoot,
        procfsRoot: plan.procfsRoot,
        nvmlLib: plan.nvmlLib,
        gpus: plan.gpus,
        processPids,
      },
      sources: plan.sources
        ? plan.sources.split(",").map((s) => s.trim()).filter(Boolean)
        : undefined,
      pidFile: plan.pidFile,
      analysis: {
        ...(plan.region ? { region: plan.region } : {}),
        ...(plan.pue !== undefined ? { pue: plan.pue } : {}),
      },
      metaExtra: { slurm_job: jobTags(plan.job) },
      attachments: [watch],
    });
    log.info(`trace finished in ${r.dir} (exit ${r.exitCode})`);
    return r.exitCode;
  } catch (e) {
    log.error(`recorder failed: ${errorText(e)}`);
    return 1;
  }
}
