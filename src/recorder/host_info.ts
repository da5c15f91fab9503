/** Facts about the node that go into the trace metadata. */

export function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown-host";
  }
}

/** CPU model name(s) from /proc/cpuinfo, de-duplicated ("2 × Intel Xeon ..."). */
export function cpuModel(procfsRoot: string): string | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${procfsRoot}/cpuinfo`);
  } catch {
    return undefined;
  }
  const models = new Set<string>();
  const sockets = new Set<string>();
  for (const line of text.split("\n")) {
    const [k, ...rest] = line.split(":");
    const key = k?.trim();
    const v = rest.join(":").trim();
    if (key === "model name" || key === "Model" || key === "cpu model") models.add(v);
    if (key === "physical id") sockets.add(v);
  }
  if (models.size === 0) return undefined;
  const m = [...models].join(" / ");
  return sockets.size > 1 ? `${sockets.size} × ${m}` : m;
}

/** SLURM job facts from the environment, when running inside a job. */
export function slurmEnv(env: Record<string, string | undefined> = Deno.env.toObject()) {
  const keys = [
    "SLURM_JOB_ID",
    "SLURM_JOB_NAME",
    "SLURM_STEP_ID",
    "SLURM_ARRAY_JOB_ID",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_JOB_USER",
    "SLURM_JOB_PARTITION",
    "SLURM_NODELIST",
    "SLURM_JOB_NODELIST",
    "SLURM_PROCID",
    "SLURM_NODEID",
    "SLURMD_NODENAME",
  ];
  const out: Record<string, string> = {};
  for (const k of keys) if (env[k]) out[k.toLowerCase().replace(/^slurm_/, "")] = env[k]!;
  return Object.keys(out).length ? out : undefined;
}

/** `aimeter-20261126T045138Z-node17`: the default run folder name. */
export function defaultRunDir(host: string, when = new Date()): string {
  const ts = when.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `aimeter-${ts}-${host.replace(/[^A-Za-z0-9._-]/g, "_")}`;
}
