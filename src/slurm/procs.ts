/**
 * The job's processes and GPUs on this node, as root sees them:
 * - the job's cgroup (cgroup v2: `<slurmd's parent>/slurmstepd.scope/job_<id>`;
 *   v1: `<controller>/slurm/uid_<uid>/job_<id>`), every `cgroup.procs` below it;
 * - where there is no cgroup (`proctrack/linuxproc`), the processes whose
 *   environment says `SLURM_JOB_ID=<id>`;
 * - `SLURM_JOB_GPUS` holds device minor numbers; the NVIDIA driver's
 *   `/proc/driver/nvidia/gpus/<bus>/information` maps them to UUIDs, which is
 *   how the recorder selects the GPUs (NVML indices need not equal minors);
 * - other jobs' processes that hold a job GPU's `/dev/nvidia<minor>` open.
 */

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** Where the job's cgroup is (or will be, once slurmstepd makes it); undefined without cgroups. */
export function jobCgroupPath(opts: {
  jobId: string;
  uid?: number;
  sysfsRoot: string;
  procfsRoot: string;
  /** A pid inside slurmd's cgroup (the Prolog's parent). */
  slurmdPid?: number;
}): string | undefined {
  const root = `${opts.sysfsRoot}/fs/cgroup`;
  if (readText(`${root}/cgroup.controllers`) !== undefined) {
    // cgroup v2: slurmd puts slurmstepd.scope beside its own cgroup
    let parent = "/system.slice";
    const own = opts.slurmdPid !== undefined
      ? readText(`${opts.procfsRoot}/${opts.slurmdPid}/cgroup`)
      : undefined;
    const m = own ? /^0::(\/.*)$/m.exec(own) : null;
    if (m) {
      const p = m[1].replace(/\/+$/, "");
      if (/slurmstepd\.scope/.test(p)) parent = p.replace(/\/slurmstepd\.scope.*$/, "");
      else if (p.lastIndexOf("/") > 0) parent = p.slice(0, p.lastIndexOf("/"));
    }
    for (const cand of [`${root}${parent}`, `${root}/system.slice`]) {
      if (isDir(`${cand}/slurmstepd.scope`)) return `${cand}/slurmstepd.scope/job_${opts.jobId}`;
    }
    return `${root}${parent}/slurmstepd.scope/job_${opts.jobId}`;
  }
  for (const ctrl of ["freezer", "cpuacct", "cpuacct,cpu", "cpu,cpuacct", "memory", "cpuset"]) {
    if (isDir(`${root}/${ctrl}/slurm`) && opts.uid !== undefined) {
      return `${root}/${ctrl}/slurm/uid_${opts.uid}/job_${opts.jobId}`;
    }
  }
  return undefined;
}

/** Every pid in the cgroup at `path` and below it (empty when it does not exist). */
export function cgroupPids(path: string): Set<number> {
  const out = new Set<number>();
  const walk = (dir: string, depth: number) => {
    const procs = readText(`${dir}/cgroup.procs`);
    if (procs) {
      for (const l of procs.split("\n")) if (/^\d+$/.test(l.trim())) out.add(Number(l));
    }
    if (depth > 8) return;
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory) walk(`${dir}/${e.name}`, depth + 1);
  };
  walk(path, 0);
  return out;
}

function pids(procfsRoot: string): number[] {
  const out: number[] = [];
  try {
    for (const e of Deno.readDirSync(procfsRoot)) {
      if (/^\d+$/.test(e.name)) out.push(Number(e.name));
    }
  } catch { /* no procfs */ }
  return out;
}

/**
 * The SLURM job a process belongs to: its cgroup path, else its environment.
 * The hooks and aimeter's own recorders carry a job's environment but are not
 * the job's processes: undefined for them.
 */
export function jobOfPid(procfsRoot: string, pid: number): string | undefined {
  if (pid === Deno.pid) return undefined;
  let text = "";
  try {
    text = new TextDecoder().decode(Deno.readFileSync(`${procfsRoot}/${pid}/environ`));
  } catch { /* gone, or not ours to read */ }
  if (/(?:^|\0)(?:SLURM_SCRIPT_CONTEXT|AIMETER_SLURM_PLAN)=/.test(text)) return undefined;
  const cg = readText(`${procfsRoot}/${pid}/cgroup`);
  const m = cg ? /\/job_(\d+)(?:\/|$)/m.exec(cg) : null;
  if (m) return m[1];
  return /(?:^|\0)SLURM_JOB_ID=(\d+)(?:\0|$)/.exec(text)?.[1];
}

/** Processes whose environment (or cgroup) says they belong to job `jobId`. */
export function jobPidsByEnviron(procfsRoot: string, jobId: string): Set<number> {
  const out = new Set<number>();
  for (const pid of pids(procfsRoot)) if (jobOfPid(procfsRoot, pid) === jobId) out.add(pid);
  return out;
}

/** A function for `SensorOptions.processPids` that re-reads at most every `minPeriodMs`. */
export function cachedPids(read: () => Set<number>, minPeriodMs = 1000): () => Set<number> {
  let last = 0;
  let cached = new Set<number>();
  return () => {
    const now = performance.now();
    if (now - last >= minPeriodMs || last === 0) {
      try {
        cached = read();
      } catch {
        cached = new Set();
      }
      last = now;
    }
    return cached;
  };
}

export interface NvidiaGpu {
  minor: number;
  uuid: string;
  bus: string;
  model?: string;
}

/** The NVIDIA GPUs the driver lists under `<procfs>/driver/nvidia/gpus/`. */
export function nvidiaGpus(procfsRoot: string): NvidiaGpu[] {
  const base = `${procfsRoot}/driver/nvidia/gpus`;
  const out: NvidiaGpu[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(base)];
  } catch {
    return out;
  }
  for (const e of entries) {
    const info = readText(`${base}/${e.name}/information`);
    if (!info) continue;
    const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, "m").exec(info)?.[1].trim();
    const minor = Number(field("Device Minor"));
    const uuid = field("GPU UUID");
    if (!Number.isInteger(minor) || !uuid) continue;
    out.push({ minor, uuid, bus: e.name, model: field("Model") });
  }
  return out.sort((a, b) => a.minor - b.minor);
}

/**
 * `SLURM_JOB_GPUS` entries (minor numbers) to `--gpus` entries: the UUID
 * where the driver names it, else the entry as it is (then an NVML index).
 */
export function jobGpuSelection(
  procfsRoot: string,
  entries: string[],
): { gpus: string[]; minors: number[]; unmatched: string[] } {
  const known = nvidiaGpus(procfsRoot);
  const gpus: string[] = [];
  const minors: number[] = [];
  const unmatched: string[] = [];
  for (const e of entries) {
    if (/^GPU-/i.test(e)) {
      gpus.push(e);
      const g = known.find((k) => k.uuid.toLowerCase() === e.toLowerCase());
      if (g) minors.push(g.minor);
      continue;
    }
    const n = Number(e);
    const g = known.find((k) => k.minor === n);
    if (g) {
      gpus.push(g.uuid);
      minors.push(g.minor);
    } else {
      gpus.push(e);
      if (Number.isInteger(n)) minors.push(n);
      unmatched.push(e);
    }
  }
  return { gpus, minors, unmatched };
}

export interface ForeignUse {
  pid: number;
  job: string;
  gpu: string;
  command?: string;
}

/** Processes of other jobs holding one of the job's GPUs (`/dev/nvidia<minor>`) open. */
export function foreignGpuUse(
  procfsRoot: string,
  jobId: string,
  minors: number[],
  devRoot = "/dev",
): ForeignUse[] {
  if (!minors.length) return [];
  const wanted = new Map(minors.map((m) => [`${devRoot}/nvidia${m}`, `minor ${m}`]));
  const out: ForeignUse[] = [];
  for (const pid of pids(procfsRoot)) {
    let fds: Deno.DirEntry[];
    try {
      fds = [...Deno.readDirSync(`${procfsRoot}/${pid}/fd`)];
    } catch {
      continue;
    }
    const held = new Set<string>();
    for (const fd of fds) {
      try {
        const target = Deno.readLinkSync(`${procfsRoot}/${pid}/fd/${fd.name}`);
        const gpu = wanted.get(target);
        if (gpu) held.add(gpu);
      } catch { /* closed meanwhile */ }
    }
    if (!held.size) continue;
    const job = jobOfPid(procfsRoot, pid);
    if (job === undefined || job === jobId) continue;
    const command = readText(`${procfsRoot}/${pid}/comm`)?.trim();
    for (const gpu of held) out.push({ pid, job, gpu, command });
  }
  return out;
}
