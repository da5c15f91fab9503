/**
 * Settings of the SLURM integration, from (lowest to highest priority) the
 * defaults, `/etc/aimeter/slurm.json` (or `AIMETER_SLURM_CONFIG`), the
 * environment (`AIMETER_SLURM_*`, `AIMETER_MAIL_*`) and the command-line flags.
 * slurmd runs the Prolog/Epilog with a bare environment, so the file is the
 * usual place on a cluster.
 */
import type { MailSettings } from "../mail/send.ts";

export interface SlurmSettings {
  /** Folder holding one folder per job (`<dir>/<jobid>/<node>/`). */
  dir: string;
  /** Where the recorders' pid files and the per-job markers live (root only). */
  stateDir: string;
  /** Log file of the prolog/epilog (root only). */
  logFile: string;
  interval: string;
  format: "parquet" | "csv";
  /** Restrict the recorder's sources (`--sources`), e.g. for tests. */
  sources?: string;
  sysfsRoot: string;
  procfsRoot: string;
  nvmlLib: string;
  region?: string;
  pue?: string;
  /** Seconds the epilog waits for the recorder to finish its trace. */
  stopTimeoutS: number;
  /** Render the job report in the epilog once every node's trace is in. */
  report: boolean;
  /** The command that starts aimeter itself (default: this executable). */
  self?: string[];
  mail: MailSettings;
}

export const DEFAULT_CONFIG_FILE = "/etc/aimeter/slurm.json";
export const DEFAULT_DIR = "/var/lib/aimeter/slurm";

// deno-lint-ignore no-explicit-any
type Raw = Record<string, any>;

function readJson(path: string, required: boolean): Raw {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (!required && e instanceof Deno.errors.NotFound) return {};
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const v = JSON.parse(text);
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
    return v;
  } catch (e) {
    throw new Error(`${path} is not a JSON object: ${(e as Error).message}`);
  }
}

function num(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${what}: "${v}" is not a number`);
  return n;
}

function bool(v: unknown): boolean | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "boolean") return v;
  return !/^(0|no|false|off)$/i.test(String(v));
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Mail settings from the environment (`AIMETER_MAIL_*`). */
export function mailFromEnv(env: Record<string, string | undefined>): Partial<MailSettings> {
  return defined({
    to: env.AIMETER_MAIL_TO,
    domain: env.AIMETER_MAIL_DOMAIN,
    from: env.AIMETER_MAIL_FROM,
    smtpHost: env.AIMETER_MAIL_SMTP_HOST,
    smtpPort: num(env.AIMETER_MAIL_SMTP_PORT, "AIMETER_MAIL_SMTP_PORT"),
    starttls: env.AIMETER_MAIL_STARTTLS as MailSettings["starttls"] | undefined,
    tls: bool(env.AIMETER_MAIL_TLS),
    user: env.AIMETER_MAIL_USER,
    passwordFile: env.AIMETER_MAIL_PASSWORD_FILE,
    sendmail: env.AIMETER_MAIL_SENDMAIL,
  });
}

/** Mail settings from commander options (`--mail-to`, `--smtp-host`, ...). */
export function mailFromFlags(o: Raw): Partial<MailSettings> {
  return defined({
    to: o.mailTo,
    domain: o.mailDomain,
    from: o.mailFrom,
    smtpHost: o.smtpHost,
    smtpPort: num(o.smtpPort, "--smtp-port"),
    starttls: o.smtpStarttls,
    tls: o.smtpTls === true ? true : undefined,
    user: o.smtpUser,
    passwordFile: o.smtpPasswordFile,
    sendmail: o.sendmail,
  });
}

export function loadSettings(
  flags: Raw,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): SlurmSettings {
  const file = flags.config ?? env.AIMETER_SLURM_CONFIG ?? DEFAULT_CONFIG_FILE;
  const j = readJson(file, flags.config !== undefined || env.AIMETER_SLURM_CONFIG !== undefined);
  const dir = String(flags.dir ?? env.AIMETER_SLURM_DIR ?? j.dir ?? DEFAULT_DIR).replace(
    /\/+$/,
    "",
  );
  const selfEnv = env.AIMETER_SLURM_SELF;
  const self = selfEnv ? selfEnv.split(" ").filter(Boolean) : j.self;
  const mail: MailSettings = {
    ...defaultMail(),
    ...defined((j.mail ?? {}) as Partial<MailSettings>),
    ...mailFromEnv(env),
    ...mailFromFlags(flags),
  };
  const format = String(flags.format ?? env.AIMETER_SLURM_FORMAT ?? j.format ?? "parquet");
  if (format !== "parquet" && format !== "csv") {
    throw new Error(`format: "${format}" is not parquet or csv`);
  }
  return {
    dir,
    stateDir: String(
      flags.stateDir ?? env.AIMETER_SLURM_STATE_DIR ?? j.stateDir ?? `${dir}/.aimeter-state`,
    ),
    logFile: String(
      flags.logFile ?? env.AIMETER_SLURM_LOG ?? j.logFile ?? `${dir}/aimeter-slurm.log`,
    ),
    interval: String(flags.interval ?? env.AIMETER_SLURM_INTERVAL ?? j.interval ?? "1s"),
    format,
    sources: flags.sources ?? env.AIMETER_SLURM_SOURCES ?? j.sources,
    sysfsRoot: String(flags.sysfsRoot ?? env.AIMETER_SLURM_SYSFS_ROOT ?? j.sysfsRoot ?? "/sys"),
    procfsRoot: String(
      flags.procfsRoot ?? env.AIMETER_SLURM_PROCFS_ROOT ?? j.procfsRoot ?? "/proc",
    ),
    nvmlLib: String(flags.nvmlLib ?? j.nvmlLib ?? "libnvidia-ml.so.1"),
    region: flags.region ?? env.AIMETER_REGION ?? j.region,
    pue: flags.pue ?? j.pue,
    stopTimeoutS:
      num(flags.stopTimeout ?? env.AIMETER_SLURM_STOP_TIMEOUT ?? j.stopTimeoutS, "stop timeout") ??
        30,
    report: bool(flags.report ?? env.AIMETER_SLURM_REPORT ?? j.report) ?? true,
    self: Array.isArray(self) && self.length ? self.map(String) : undefined,
    mail,
  };
}

function defaultMail(): MailSettings {
  return { starttls: "auto", tls: false };
}
