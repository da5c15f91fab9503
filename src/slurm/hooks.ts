/**
 * slurmd's node Prolog and Epilog.
 *
 * prolog: start a detached recorder for the job on this node (new session,
 *   stdio on /dev/null, so slurmd neither waits for it nor kills it) and
 *   return at once.
 * epilog: stop it (SIGTERM through its pid file, wait for the trace to be
 *   finalized), give the node's trace to the job's user (0700/0600), and when
 *   every node of the job has its trace in, render the job report and mail it.
 *
 * Both never fail the job: a Prolog that exits non-zero drains the node and
 * requeues the job. Every error goes to the log and the hook returns normally.
 *
 * Layout: `<dir>/<job>/<node>/` (one run folder per SLURM node name),
 * `<dir>/<job>/report.html` + `summary.json`; root-only state in
 * `<stateDir>/<job>.<node>.pid` and `<stateDir>/<job>/<node>.done`.
 */
import type { SlurmSettings } from "./config.ts";
import { type JobInfo, passwdIds } from "./job.ts";
import { errorText, HookLog } from "./log.ts";
import { jobCgroupPath, jobGpuSelection } from "./procs.ts";
import { PLAN_ENV, type RecorderPlan } from "./recorder.ts";
import { exists } from "../sensors/sysfs.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function mkdirMode(p: string, mode: number): void {
  if (exists(p)) return;
  Deno.mkdirSync(p, { recursive: true, mode });
  Deno.chmodSync(p, mode);
}

export function jobDirOf(s: SlurmSettings, job: JobInfo): string {
  return `${s.dir}/${job.jobKey}`;
}

export function pidFileOf(s: SlurmSettings, job: JobInfo): string {
  return `${s.stateDir}/${job.jobKey}.${job.node}.pid`;
}

function spawnedFileOf(s: SlurmSettings, job: JobInfo): string {
  return `${s.stateDir}/${job.jobKey}.${job.node}.spawned`;
}

function markerDirOf(s: SlurmSettings, job: JobInfo): string {
  return `${s.stateDir}/${job.jobKey}`;
}

/** The command line that starts this aimeter again (compiled binary, or deno + script). */
export function selfCommand(): { cmd: string[]; cwd: string } {
  const exe = Deno.execPath();
  const base = exe.split("/").pop() ?? "";
  if (base !== "deno" && base !== "deno.exe") return { cmd: [exe], cwd: "/" };
  const main = new URL(Deno.mainModule);
  const script = decodeURIComponent(main.pathname);
  const dir = script.slice(0, script.lastIndexOf("/")) || "/";
  // a source checkout needs its deno.json (import map); a bundle needs nothing
  const cfg = ["deno.json", "deno.jsonc"].map((f) => `${dir}/${f}`).find(exists);
  return {
    cmd: [exe, "run", "-A", ...(cfg ? ["--config", cfg] : []), script],
    cwd: cfg ? dir : "/",
  };
}

function findSetsid(): string | undefined {
  return ["/usr/bin/setsid", "/bin/setsid", "/usr/sbin/setsid"].find(exists);
}

function pidAlive(pid: number): boolean {
  return exists(`/proc/${pid}`);
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(Deno.readTextFileSync(file).trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** True when `pid` is an aimeter recorder (guards against a recycled pid). */
function isRecorder(pid: number): boolean {
  try {
    const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    return cmd.includes("_record") || cmd.includes("aimeter");
  } catch {
    return false;
  }
}

/** The prolog: start the recorder and return. Never throws. */
export function prolog(s: SlurmSettings, job: JobInfo, env: Record<string, string>): void {
  const log = new HookLog(s.logFile, `prolog job ${job.jobKey} node ${job.node}`);
  try {
    mkdirMode(s.dir, 0o711);
    mkdirMode(s.stateDir, 0o700);
    const jobDir = jobDirOf(s, job);
    mkdirMode(jobDir, 0o700);
    const out = `${jobDir}/${job.node}`;
    const pidFile = pidFileOf(s, job);
    const old = readPid(pidFile);
    if (old !== undefined && pidAlive(old) && isRecorder(old)) {
      log.info(`a recorder (pid ${old}) already runs for this job here`);
      return;
    }
    if (exists(out)) {
      // a requeued job runs again under the same id: keep the earlier trace aside
      const aside = `${s.stateDir}/previous/${job.jobKey}.${job.node}.${Date.now()}`;
      mkdirMode(`${s.stateDir}/previous`, 0o700);
      Deno.renameSync(out, aside);
      log.info(`an earlier trace of this job on this node was moved to ${aside}`);
    }
    let gpus: string[] | undefined;
    let minors: number[] = [];
    if (job.gpus) {
      const sel = jobGpuSelection(s.procfsRoot, job.gpus);
      gpus = sel.gpus;
      minors = sel.minors;
      if (sel.unmatched.length) {
        log.warn(
          `SLURM_JOB_GPUS ${
            sel.unmatched.join(",")
          }: no UUID found in ${s.procfsRoot}/driver/nvidia/gpus; used as NVML indices`,
        );
      }
    } else if (env.SLURM_JOB_GPUS !== undefined) {
      gpus = [];
    }
    const cgroup = jobCgroupPath({
      jobId: job.jobId,
      uid: job.uid,
      sysfsRoot: s.sysfsRoot,
      procfsRoot: s.procfsRoot,
      slurmdPid: Deno.ppid,
    });
    const plan: RecorderPlan = {
      out,
      pidFile,
      logFile: s.logFile,
      interval: s.interval,
      format: s.format,
      sources: s.sources,
      sysfsRoot: s.sysfsRoot,
      procfsRoot: s.procfsRoot,
      nvmlLib: s.nvmlLib,
      gpus,
      gpuMinors: minors,
      cgroup,
      region: s.region,
      pue: s.pue !== undefined ? Number(s.pue) : undefined,
      job,
    };
    const self = s.self ? { cmd: s.self, cwd: "/" } : selfCommand();
    const setsid = findSetsid();
    const argv = [...self.cmd, "slurm", "_record"];
    // a new session with no stdio of slurmd's: slurmd neither waits for it nor kills it
    const child = new Deno.Command(setsid ?? argv[0], {
      args: setsid ? argv : argv.slice(1),
      cwd: self.cwd,
      env: { ...env, [PLAN_ENV]: JSON.stringify(plan) },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.unref();
    Deno.writeTextFileSync(spawnedFileOf(s, job), `${child.pid}\n`, { mode: 0o600 });
    if (!setsid) log.warn("setsid not found: the recorder may be killed when the prolog ends");
    log.info(
      `recorder started (pid ${child.pid}) -> ${out}` +
        (gpus ? `, GPUs ${gpus.join(",") || "none"}` : ", all GPUs") +
        (cgroup ? `, cgroup ${cgroup}` : ", processes by SLURM_JOB_ID"),
    );
  } catch (e) {
    log.error(`could not start the recorder: ${errorText(e)}`);
  }
}

/** Wait for the recorder to stop; true when it ended by itself within the time. */
async function stopRecorder(s: SlurmSettings, job: JobInfo, log: HookLog): Promise<boolean> {
  const pidFile = pidFileOf(s, job);
  const spawned = readPid(spawnedFileOf(s, job));
  let pid = readPid(pidFile);
  // the recorder writes its pid file once it listens for SIGTERM: a very short
  // job may end before that; wait for it while the started process lives
  const readyBy = Date.now() + s.stopTimeoutS * 1000;
  while (pid === undefined && spawned !== undefined && pidAlive(spawned) && Date.now() < readyBy) {
    await sleep(100);
    pid = readPid(pidFile);
  }
  if (pid === undefined) {
    if (spawned === undefined) log.warn("no recorder was started for this job here");
    else log.warn(`the recorder (pid ${spawned}) was not running any more`);
    return false;
  }
  if (!pidAlive(pid) || !isRecorder(pid)) {
    log.warn(`the recorder (pid ${pid}) was not running any more`);
    return false;
  }
  Deno.kill(pid, "SIGTERM");
  const deadline = Date.now() + s.stopTimeoutS * 1000;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(50);
  if (pidAlive(pid)) {
    log.error(`the recorder (pid ${pid}) did not stop in ${s.stopTimeoutS} s: killed`);
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
    return false;
  }
  return true;
}

/** chown -R uid:gid, directories 0700, files 0600. */
export function giveTo(path: string, uid: number, gid: number): void {
  const st = Deno.lstatSync(path);
  if (st.isSymlink) return;
  Deno.chownSync(path, uid, gid);
  if (st.isDirectory) {
    Deno.chmodSync(path, 0o700);
    for (const e of Deno.readDirSync(path)) giveTo(`${path}/${e.name}`, uid, gid);
  } else {
    Deno.chmodSync(path, 0o600);
  }
}

function ownerOf(job: JobInfo): { uid: number; gid: number } | undefined {
  if (job.uid === undefined) {
    return job.user ? passwdIds(job.user) : undefined;
  }
  const gid = job.gid ?? passwdIds(job.uid)?.gid ?? job.uid;
  return { uid: job.uid, gid };
}

/** The epilog: stop the recorder, hand the trace over, maybe render and mail. Never throws. */
export async function epilog(s: SlurmSettings, job: JobInfo): Promise<void> {
  const log = new HookLog(s.logFile, `epilog job ${job.jobKey} node ${job.node}`);
  try {
    const t0 = performance.now();
    const stopped = await stopRecorder(s, job, log);
    const jobDir = jobDirOf(s, job);
    const out = `${jobDir}/${job.node}`;
    const owner = ownerOf(job);
    if (exists(out)) {
      if (owner) giveTo(out, owner.uid, owner.gid);
      log.info(
        `trace ${stopped ? "finalized" : "left as it was"} in ${out} (${
          ((performance.now() - t0) / 1000).toFixed(1)
        } s)`,
      );
    } else {
      log.warn(`no trace in ${out}`);
    }
    try {
      Deno.removeSync(spawnedFileOf(s, job));
    } catch { /* not there */ }
    mkdirMode(markerDirOf(s, job), 0o700);
    Deno.writeTextFileSync(`${markerDirOf(s, job)}/${job.node}.done`, new Date().toISOString());
    if (exists(jobDir) && owner) {
      Deno.chownSync(jobDir, owner.uid, owner.gid);
      Deno.chmodSync(jobDir, 0o700);
    }
    if (s.report) await maybeJobReport(s, job, log);
  } catch (e) {
    log.error(`epilog failed: ${errorText(e)}`);
  }
}

/** Render (and mail) the job report once every node's epilog has handed its trace over. */
async function maybeJobReport(s: SlurmSettings, job: JobInfo, log: HookLog): Promise<void> {
  const markers = markerDirOf(s, job);
  const waiting = job.nodes.filter((n) => !exists(`${markers}/${n}.done`));
  if (waiting.length) {
    log.info(`job report waits for node(s) ${waiting.join(", ")}`);
    return;
  }
  // the last epilog to finish renders; the lock makes that exactly one
  try {
    Deno.openSync(`${markers}/report.lock`, { createNew: true, write: true }).close();
  } catch {
    return;
  }
  await renderAndMail(s, job, log);
  try {
    Deno.removeSync(markers, { recursive: true });
  } catch { /* best effort */ }
}

/** Render the job report of a job folder, hand it to the user, mail it when configured. */
export async function renderAndMail(
  s: SlurmSettings,
  job: JobInfo,
  log: HookLog,
  opts: { mailRequired?: boolean } = {},
): Promise<{ reportPath: string; mailedTo?: string; missing: string[] } | undefined> {
  const jobDir = jobDirOf(s, job);
  const t0 = performance.now();
  // the report and mail stacks load only here, never in the prolog
  const { renderJobReport } = await import("./job_report.ts");
  const { recipient, sendMail } = await import("../mail/send.ts");
  const { reportMail } = await import("../mail/report_mail.ts");
  let rep;
  try {
    rep = await renderJobReport(jobDir, {
      region: s.region,
      pue: s.pue !== undefined ? Number(s.pue) : undefined,
      expectedNodes: job.nodes.length > 1 || job.nodelist ? job.nodes : undefined,
      stagingDir: Deno.uid() === 0 ? `${s.dir}/.aimeter-staging` : undefined,
    });
  } catch (e) {
    log.error(`job report failed: ${errorText(e)}`);
    if (opts.mailRequired) throw e;
    return undefined;
  }
  const owner = ownerOf(job);
  if (owner) {
    for (const p of [rep.reportPath, rep.summaryPath]) giveTo(p, owner.uid, owner.gid);
  }
  log.info(
    `job report ${rep.reportPath} (${rep.nodes.length} node(s)${
      rep.missing.length ? `, missing ${rep.missing.join(",")}` : ""
    }, ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const to = recipient(s.mail, job.user ?? rep.summary.slurm_job?.user);
  if (!to) return { reportPath: rep.reportPath, missing: rep.missing };
  try {
    const msg = reportMail(rep.summary, rep.reportPath, to, {
      summaryPath: rep.summaryPath,
      folder: (() => {
        try {
          return Deno.realPathSync(jobDir);
        } catch {
          return jobDir;
        }
      })(),
    });
    const info = await sendMail(s.mail, msg);
    log.info(`report mailed to ${to} via ${info.transport}`);
    return { reportPath: rep.reportPath, mailedTo: to, missing: rep.missing };
  } catch (e) {
    log.error(`mailing the report to ${to} failed: ${errorText(e)}`);
    if (opts.mailRequired) throw e;
    return { reportPath: rep.reportPath, missing: rep.missing };
  }
}
