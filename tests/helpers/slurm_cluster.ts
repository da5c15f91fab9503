/**
 * A real SLURM cluster on loopback for tests, from Debian's packages:
 * `munged` with a generated key and its own socket, `slurmctld -D` and one
 * `slurmd -D -N <node>` per node, all on this host with unique ports, every
 * state/spool/log path in one temp folder. Starts in about a second; `stop()`
 * ends every daemon it started (by pid) and removes the folder.
 *
 * Needs root (slurmd), `/usr/sbin/{munged,mungekey,slurmctld,slurmd}` and
 * the slurm-client tools (`sbatch`, `scontrol`, `sinfo`).
 */

export const SLURM_BINARIES = [
  "/usr/sbin/munged",
  "/usr/sbin/mungekey",
  "/usr/sbin/slurmctld",
  "/usr/sbin/slurmd",
  "/usr/bin/sbatch",
  "/usr/bin/scontrol",
  "/usr/bin/sinfo",
];

/** Why a real cluster cannot run here, or null when it can. */
export function clusterUnavailable(): string | null {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root (slurmd needs root)";
  for (const b of SLURM_BINARIES) {
    try {
      Deno.statSync(b);
    } catch {
      return `${b} is missing (apt-get install slurmd slurmctld slurm-client munge)`;
    }
  }
  return null;
}

export interface ClusterOptions {
  nodes?: string[];
  /** Absolute paths for slurm.conf `Prolog=` / `Epilog=`. */
  prolog?: string;
  epilog?: string;
  /** More slurm.conf lines. */
  extraConf?: string[];
}

export interface Cluster {
  dir: string;
  conf: string;
  nodes: string[];
  /** Environment for the client tools (`SLURM_CONF`). */
  env: Record<string, string>;
  /** Run a client tool; as `user` when given (via setpriv). */
  tool(args: string[], user?: string): Promise<{ code: number; out: string; err: string }>;
  /** `sbatch --parsable ...` as `user`; the job id. */
  sbatch(args: string[], user?: string): Promise<string>;
  /** Wait until the job has left the queue (`scontrol show job` says a final state); that state. */
  waitJob(id: string, timeoutS?: number): Promise<string>;
  /** `sinfo` state of a node (`idle`, `drained`, ...). */
  nodeState(node: string): Promise<string>;
  /** A daemon's log, for failure messages. */
  log(name: string): string;
  stop(): Promise<void>;
}

/** uid and primary gid of a local user, from /etc/passwd. */
export function userIds(name: string): { uid: number; gid: number } {
  for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
    const f = line.split(":");
    if (f[0] === name) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new Error(`no user ${name} in /etc/passwd`);
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function freePorts(n: number): number[] {
  const out = new Set<number>();
  while (out.size < n) out.add(freePort());
  return [...out];
}

async function exec(
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(cmd, { args, env, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const nodes = opts.nodes ?? ["n1", "n2"];
  const dir = await Deno.makeTempDir({ prefix: "aimeter-slurm-" });
  // the job's user (nobody) must reach the munge socket and the config
  Deno.chmodSync(dir, 0o755);
  for (const d of ["state", "spool", "log", "run", "munge"]) Deno.mkdirSync(`${dir}/${d}`);
  Deno.chmodSync(`${dir}/munge`, 0o755);
  const children: Deno.ChildProcess[] = [];
  const sock = `${dir}/munge/munge.socket`;
  const [ctldPort, ...nodePorts] = freePorts(1 + nodes.length);
  const conf = `${dir}/slurm.conf`;
  const env = { SLURM_CONF: conf };
  const lines = [
    "ClusterName=aimetertest",
    "SlurmctldHost=localhost(127.0.0.1)",
    `SlurmctldPort=${ctldPort}`,
    "AuthType=auth/munge",
    "CredType=cred/munge",
    `AuthInfo=socket=${sock}`,
    "SlurmUser=root",
    "SlurmdUser=root",
    `StateSaveLocation=${dir}/state`,
    `SlurmdSpoolDir=${dir}/spool/%n`,
    `SlurmctldPidFile=${dir}/run/slurmctld.pid`,
    `SlurmdPidFile=${dir}/run/slurmd-%n.pid`,
    `SlurmctldLogFile=${dir}/log/slurmctld.log`,
    `SlurmdLogFile=${dir}/log/slurmd-%n.log`,
    "SlurmctldDebug=info",
    "SlurmdDebug=info",
    "ProctrackType=proctrack/linuxproc",
    "TaskPlugin=task/none",
    "JobAcctGatherType=jobacct_gather/none",
    "AccountingStorageType=accounting_storage/none",
    "SchedulerType=sched/builtin",
    "SelectType=select/linear",
    "MpiDefault=none",
    "MailProg=/bin/true",
    "ReturnToService=2",
    "SlurmdParameters=config_overrides",
    "SlurmctldTimeout=30",
    "SlurmdTimeout=30",
    "InactiveLimit=0",
    "MinJobAge=300",
    "KillWait=5",
    "Waittime=0",
    ...(opts.prolog ? [`Prolog=${opts.prolog}`, "PrologFlags=Alloc"] : []),
    ...(opts.epilog ? [`Epilog=${opts.epilog}`] : []),
    ...(opts.extraConf ?? []),
    ...nodes.map((n, i) =>
      `NodeName=${n} NodeHostname=localhost NodeAddr=127.0.0.1 Port=${
        nodePorts[i]
      } CPUs=1 RealMemory=100 State=UNKNOWN`
    ),
    `PartitionName=test Nodes=${nodes.join(",")} Default=YES MaxTime=INFINITE State=UP`,
  ];
  Deno.writeTextFileSync(conf, lines.join("\n") + "\n");
  Deno.chmodSync(conf, 0o644);

  const spawn = (cmd: string, args: string[]) => {
    const c = new Deno.Command(cmd, {
      args,
      env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    children.push(c);
    return c;
  };
  const cluster: Cluster = {
    dir,
    conf,
    nodes,
    env,
    tool(args, user) {
      const [cmd, ...rest] = args;
      const ids = user ? userIds(user) : undefined;
      return ids
        ? exec("/usr/bin/setpriv", [
          "--reuid",
          String(ids.uid),
          "--regid",
          String(ids.gid),
          "--clear-groups",
          "--",
          cmd,
          ...rest,
        ], env)
        : exec(cmd, rest, env);
    },
    async sbatch(args, user) {
      const r = await cluster.tool(["/usr/bin/sbatch", "--parsable", ...args], user);
      if (r.code !== 0) throw new Error(`sbatch failed (${r.code}): ${r.err}${r.out}`);
      return r.out.trim().split(";")[0];
    },
    async waitJob(id, timeoutS = 60) {
      const deadline = Date.now() + timeoutS * 1000;
      let last = "";
      while (Date.now() < deadline) {
        const r = await cluster.tool(["/usr/bin/scontrol", "-o", "show", "job", id]);
        const m = /JobState=(\S+)/.exec(r.out);
        last = m?.[1] ?? r.err.trim();
        if (
          m &&
          ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "BOOT_FAIL", "OUT_OF_MEMORY"]
            .includes(m[1])
        ) {
          // COMPLETING (epilogs still running) is not final; scontrol shows CG for it
          return m[1];
        }
        await sleep(200);
      }
      throw new Error(`job ${id} did not finish in ${timeoutS} s (last state: ${last})`);
    },
    async nodeState(node) {
      const r = await cluster.tool(["/usr/bin/sinfo", "-h", "-N", "-n", node, "-o", "%T"]);
      return r.out.trim();
    },
    log(name) {
      return readOr(`${dir}/log/${name}.log`);
    },
    async stop() {
      for (const c of children.toReversed()) {
        try {
          c.kill("SIGTERM");
        } catch { /* exited */ }
      }
      const killer = setTimeout(() => {
        for (const c of children) {
          try {
            c.kill("SIGKILL");
          } catch { /* exited */ }
        }
      }, 5000);
      await Promise.allSettled(children.map((c) => c.status));
      clearTimeout(killer);
      // slurmstepd of a job still running belong to us too: end them by their pids
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };

  try {
    const key = `${dir}/munge/munge.key`;
    const k = await exec("/usr/sbin/mungekey", ["--create", `--keyfile=${key}`]);
    if (k.code !== 0) throw new Error(`mungekey: ${k.err}`);
    spawn("/usr/sbin/munged", [
      "-F",
      "--force",
      `--key-file=${key}`,
      `--socket=${sock}`,
      `--pid-file=${dir}/run/munged.pid`,
      `--log-file=${dir}/log/munged.log`,
      `--seed-file=${dir}/munge/munged.seed`,
    ]);
    for (let i = 0; i < 100; i++) {
      try {
        Deno.statSync(sock);
        break;
      } catch {
        await sleep(50);
      }
    }
    spawn("/usr/sbin/slurmctld", ["-D", "-i", "-f", conf]);
    for (const n of nodes) spawn("/usr/sbin/slurmd", ["-D", "-N", n, "-f", conf]);
    const deadline = Date.now() + 30_000;
    while (true) {
      const r = await cluster.tool(["/usr/bin/sinfo", "-h", "-N", "-o", "%N %T"]);
      const states = new Map(
        r.out.trim().split("\n").filter(Boolean).map((l) => l.split(" ") as [string, string]),
      );
      if (nodes.every((n) => states.get(n) === "idle")) break;
      if (Date.now() > deadline) {
        throw new Error(
          `SLURM did not come up: ${r.out}${r.err}\n--- slurmctld ---\n${
            cluster.log("slurmctld").slice(-2000)
          }\n--- munged ---\n${cluster.log("munged").slice(-1000)}`,
        );
      }
      await sleep(100);
    }
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
