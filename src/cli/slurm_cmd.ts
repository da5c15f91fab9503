/**
 * `aimeter slurm prolog|epilog|hook|report`: the SLURM node Prolog/Epilog
 * integration (one trace per node in a job folder, a merged job report,
 * mailed to the user), see the README (SLURM section).
 */
import { Command, Option } from "commander";
import { ExitCode } from "./errors.ts";
import { UsageError } from "./errors.ts";
import { parseDuration } from "./parse.ts";
import { loadSettings, type SlurmSettings } from "../slurm/config.ts";
import { jobFromEnv, type JobInfo, safeName } from "../slurm/job.ts";
import { epilog, prolog, renderAndMail } from "../slurm/hooks.ts";
import { errorText, HookLog } from "../slurm/log.ts";
import { PLAN_ENV, type RecorderPlan, runRecorder } from "../slurm/recorder.ts";
import { expandHostlist } from "../slurm/hostlist.ts";
import { formatRunSummary } from "../recorder/print_summary.ts";

function addCommonOptions(cmd: Command): Command {
  return cmd
    .option(
      "--dir <dir>",
      "job folders go here (env AIMETER_SLURM_DIR; default /var/lib/aimeter/slurm)",
    )
    .option(
      "--config <file>",
      "settings file (env AIMETER_SLURM_CONFIG; default /etc/aimeter/slurm.json)",
    )
    .option("--state-dir <dir>", "root-only pid files and markers (default <dir>/.aimeter-state)")
    .option("--log-file <file>", "hook log (default <dir>/aimeter-slurm.log)")
    .option("--region <code>", "grid region for carbon")
    .option("--pue <n>", "data-centre PUE");
}

function addRecorderOptions(cmd: Command): Command {
  return cmd
    .option("--interval <dur>", "sampling period of the recorder (default 1s)")
    .addOption(new Option("--format <fmt>", "trace format").choices(["parquet", "csv"]))
    .option("--sources <list>", "only these sources (nvml,rapl,amdgpu,hwmon,estimate,proc)")
    .option("--sysfs-root <dir>", "where sysfs is (tests)")
    .option("--procfs-root <dir>", "where procfs is (tests)")
    .option("--nvml-lib <path>", "NVML library to load");
}

export function addMailOptions(cmd: Command): Command {
  return cmd
    .option("--mail-to <addr>", "mail the job report here (env AIMETER_MAIL_TO)")
    .option("--mail-domain <domain>", "else mail <job user>@<domain> (env AIMETER_MAIL_DOMAIN)")
    .option("--mail-from <addr>", "sender (default aimeter@<host>)")
    .option("--smtp-host <host>", "SMTP server (default: the local sendmail)")
    .option("--smtp-port <n>", "SMTP port (default 587, 465 with --smtp-tls)")
    .addOption(
      new Option("--smtp-starttls <mode>", "STARTTLS: auto, require or off").choices([
        "auto",
        "require",
        "off",
      ]),
    )
    .option("--smtp-tls", "implicit TLS (SMTPS)")
    .option("--smtp-user <user>", "SMTP login")
    .option("--smtp-password-file <file>", "file holding the SMTP password")
    .option("--sendmail <path>", "sendmail program (when no SMTP host is set)");
}

// deno-lint-ignore no-explicit-any
type Raw = Record<string, any>;

function settingsOf(o: Raw): SlurmSettings {
  const flags = { ...o };
  if (o.report !== false) delete flags.report;
  return loadSettings(flags);
}

/** Run a hook: every error is logged; slurmd always sees exit 0. */
async function runHook(kind: "prolog" | "epilog", o: Raw): Promise<void> {
  const env = Deno.env.toObject();
  let s: SlurmSettings | undefined;
  try {
    s = settingsOf(o);
    const job = jobFromEnv(env);
    if (kind === "prolog") prolog(s, job, env);
    else await epilog(s, job);
  } catch (e) {
    new HookLog(s?.logFile ?? fallbackLog(o, env), kind).error(errorText(e));
  }
}

function fallbackLog(o: Raw, env: Record<string, string>): string | undefined {
  const dir = o.dir ?? env.AIMETER_SLURM_DIR;
  return dir ? `${dir}/aimeter-slurm.log` : undefined;
}

function hookCommand(name: "prolog" | "epilog" | "hook", description: string): Command {
  const cmd = new Command(name).description(description).allowUnknownOption()
    .allowExcessArguments();
  addCommonOptions(cmd);
  addRecorderOptions(cmd);
  if (name !== "prolog") {
    cmd.option("--stop-timeout <s>", "seconds to wait for the recorder to finish (default 30)")
      .option("--no-report", "do not render the job report in the epilog");
    addMailOptions(cmd);
  }
  cmd.action(async (o: Raw) => {
    let kind: "prolog" | "epilog";
    if (name === "hook") {
      const ctx = Deno.env.get("SLURM_SCRIPT_CONTEXT") ?? "";
      if (/^prolog/.test(ctx)) kind = "prolog";
      else if (/^epilog/.test(ctx)) kind = "epilog";
      else {
        new HookLog(fallbackLog(o, Deno.env.toObject()), "hook").error(
          `SLURM_SCRIPT_CONTEXT is "${ctx}": not a prolog or epilog; nothing done`,
        );
        return;
      }
    } else kind = name;
    await runHook(kind, o);
  });
  return cmd;
}

function reportCommand(): Command {
  const cmd = new Command("report")
    .description(
      "render the job report (all node traces merged) of JOB: a job id under --dir, or a job folder;\n" +
        "mail it with --mail-to",
    )
    .argument("<job>", "job id (or <array job>_<task>) or job folder");
  addCommonOptions(cmd);
  addMailOptions(cmd);
  cmd
    .option("--wait <dur>", "wait up to this long for every node's trace (with --nodes or tags)")
    .option("--nodes <hostlist>", "the job's nodes (default: as tagged in the traces)")
    .option("-q, --quiet", "print nothing but errors")
    .action(async (jobArg: string, o: Raw) => {
      let s: SlurmSettings;
      try {
        s = loadSettings({ ...o, report: undefined });
      } catch (e) {
        throw new UsageError(errorText(e));
      }
      let jobDir: string;
      let key: string;
      if (/^\d+(_\d+)?$/.test(jobArg) && !isDir(jobArg)) {
        key = jobArg;
        jobDir = `${s.dir}/${key}`;
      } else {
        jobDir = jobArg.replace(/\/+$/, "");
        key = safeName(jobDir.split("/").pop() ?? jobArg);
        s = { ...s, dir: jobDir.slice(0, jobDir.lastIndexOf("/")) || "." };
      }
      if (!isDir(jobDir)) throw new UsageError(`slurm report: no job folder ${jobDir}`);
      let nodes: string[] = [];
      if (o.nodes) {
        try {
          nodes = expandHostlist(String(o.nodes));
        } catch (e) {
          throw new UsageError(`--nodes: ${errorText(e)}`);
        }
      }
      if (o.wait !== undefined) {
        const until = Date.now() + parseDuration(String(o.wait), "--wait") * 1000;
        while (Date.now() < until) {
          const { nodeTraces } = await import("../slurm/job_report.ts");
          const have = nodeTraces(jobDir).map((p) => p.split("/").pop()!);
          if (nodes.length ? nodes.every((n) => have.includes(n)) : have.length > 0) break;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      const st = Deno.statSync(jobDir);
      const job: JobInfo = {
        jobId: key.split("_")[0],
        jobKey: key,
        node: "",
        nodes,
        uid: Deno.uid() === 0 && st.uid !== null ? st.uid : undefined,
        gid: Deno.uid() === 0 && st.gid !== null ? st.gid : undefined,
      };
      const log = new HookLog(undefined, "aimeter slurm report");
      const mailWanted = !!(s.mail.to || s.mail.domain);
      const r = await renderAndMail(s, job, o.quiet ? new HookLog(null, "") : log, {
        mailRequired: mailWanted,
      });
      if (!r) throw new Error(`no job report for ${jobDir}`);
      if (!o.quiet) {
        const summary = JSON.parse(Deno.readTextFileSync(`${jobDir}/summary.json`));
        console.error(formatRunSummary(summary, jobDir, true));
      }
    });
  return cmd;
}

function isDir(p: string): boolean {
  try {
    return Deno.statSync(p).isDirectory;
  } catch {
    return false;
  }
}

function recordCommand(): Command {
  return new Command("_record")
    .description("(internal) the detached recorder the prolog starts")
    .action(async () => {
      const raw = Deno.env.get(PLAN_ENV);
      if (!raw) throw new UsageError(`slurm _record is started by the prolog (${PLAN_ENV} unset)`);
      const plan = JSON.parse(raw) as RecorderPlan;
      throw new ExitCode(await runRecorder(plan));
    });
}

export function slurmCommand(): Command {
  const cmd = new Command("slurm")
    .description("SLURM node Prolog/Epilog: per-job, per-node traces, a job report, mail")
    .addHelpText(
      "after",
      `
slurm.conf (see the README (SLURM section)):
  Prolog=/etc/slurm/aimeter-hook.sh     # script: /usr/local/bin/aimeter slurm hook; exit 0
  Epilog=/etc/slurm/aimeter-hook.sh
  PrologFlags=Alloc                     # start the recorder on every node at allocation
Settings: /etc/aimeter/slurm.json (dir, interval, mail: {domain, smtpHost, ...}).

Examples:
  aimeter slurm report 4242 --dir /var/lib/aimeter/slurm --mail-to me@example.org`,
    );
  cmd.addCommand(
    hookCommand("prolog", "node Prolog: start this node's recorder for the job; always exits 0"),
  );
  cmd.addCommand(
    hookCommand(
      "epilog",
      "node Epilog: stop the recorder, give the trace to the job's user, render/mail the job report; always exits 0",
    ),
  );
  cmd.addCommand(hookCommand("hook", "prolog or epilog, as SLURM_SCRIPT_CONTEXT says"));
  cmd.addCommand(reportCommand());
  cmd.addCommand(recordCommand(), { hidden: true });
  return cmd;
}
