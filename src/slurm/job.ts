/**
 * What slurmd tells a Prolog/Epilog about the job, from its environment:
 * `SLURM_JOB_ID`, `SLURM_JOB_USER`, `SLURM_JOB_UID`, `SLURM_JOB_GID`,
 * `SLURM_NODELIST` (slurmd does not set `SLURM_JOB_NODELIST` there),
 * `SLURMD_NODENAME`, `SLURM_JOB_GPUS`, array ids, exit codes.
 */
import { expandHostlist } from "./hostlist.ts";

export interface JobInfo {
  jobId: string;
  /** Folder name of the job: the job id, or `<array job id>_<task id>` for an array task. */
  jobKey: string;
  user?: string;
  uid?: number;
  gid?: number;
  /** This node's SLURM name (`SLURMD_NODENAME`); several nodes may share one host. */
  node: string;
  /** The job's nodes, expanded; [node] when unknown. */
  nodes: string[];
  nodelist?: string;
  /** `SLURM_JOB_GPUS`: the node's GPU indices (device minor numbers) given to the job. */
  gpus?: string[];
  stepId?: string;
  arrayJobId?: string;
  arrayTaskId?: string;
  name?: string;
  partition?: string;
  exitCode?: string;
}

export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, "_");
}

function int(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v);
}

/** Job facts from a Prolog/Epilog environment; throws when there is no job id. */
export function jobFromEnv(
  env: Record<string, string | undefined>,
  fallbackNode?: string,
): JobInfo {
  const jobId = (env.SLURM_JOB_ID ?? env.SLURM_JOBID ?? "").trim();
  if (!/^\d+$/.test(jobId)) throw new Error("SLURM_JOB_ID is not set (not run by slurmd?)");
  const node = safeName(
    (env.SLURMD_NODENAME ?? fallbackNode ?? (() => {
      try {
        return Deno.hostname().split(".")[0];
      } catch {
        return "node";
      }
    })()).trim(),
  );
  const nodelist = env.SLURM_NODELIST ?? env.SLURM_JOB_NODELIST;
  let nodes = [node];
  if (nodelist) {
    try {
      nodes = expandHostlist(nodelist).map(safeName);
    } catch { /* keep this node only */ }
  }
  const arrayJobId = env.SLURM_ARRAY_JOB_ID?.trim() || undefined;
  const arrayTaskId = env.SLURM_ARRAY_TASK_ID?.trim() || undefined;
  const gpus = (env.SLURM_JOB_GPUS ?? env.SLURM_STEP_GPUS ?? "").split(",").map((s) => s.trim())
    .filter(Boolean);
  return {
    jobId,
    jobKey: arrayJobId && arrayTaskId ? `${arrayJobId}_${arrayTaskId}` : jobId,
    user: env.SLURM_JOB_USER || undefined,
    uid: int(env.SLURM_JOB_UID ?? env.SLURM_UID),
    gid: int(env.SLURM_JOB_GID),
    node,
    nodes,
    nodelist,
    gpus: gpus.length ? gpus : undefined,
    stepId: env.SLURM_STEP_ID?.trim() || undefined,
    arrayJobId,
    arrayTaskId,
    name: env.SLURM_JOB_NAME || undefined,
    partition: env.SLURM_JOB_PARTITION || undefined,
    exitCode: env.SLURM_JOB_EXIT_CODE2 ?? env.SLURM_JOB_EXIT_CODE,
  };
}

/** The tags every trace of the job carries (`meta.extra.slurm_job`). */
export function jobTags(j: JobInfo): Record<string, string | number | string[]> {
  const t: Record<string, string | number | string[]> = {
    job_id: j.jobId,
    step_id: j.stepId ?? "",
    array_job_id: j.arrayJobId ?? "",
    array_task_id: j.arrayTaskId ?? "",
    node: j.node,
    nodes: j.nodes,
  };
  if (j.user) t.user = j.user;
  if (j.uid !== undefined) t.uid = j.uid;
  if (j.nodelist) t.nodelist = j.nodelist;
  if (j.name) t.job_name = j.name;
  if (j.partition) t.partition = j.partition;
  if (j.gpus) t.gpus = j.gpus;
  return t;
}

/** uid/gid of a user from /etc/passwd (slurmd gives the uid; the gid may be missing). */
export function passwdIds(
  user: string | number,
  passwd = "/etc/passwd",
): { uid: number; gid: number } | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(passwd);
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 4) continue;
    if (f[0] === String(user) || (typeof user === "number" && Number(f[2]) === user)) {
      return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  }
  return undefined;
}
