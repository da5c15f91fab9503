/** `aimeter run [options] -- COMMAND [ARGS...]` */
import { Command } from "commander";
import { addRecordingOptions, sessionConfig } from "./recording_options.ts";
import { runSession } from "../recorder/session.ts";
import { UsageError } from "./errors.ts";
import { ExitCode } from "./errors.ts";
import { workloadAttachments } from "../workload/attach.ts";

export function runCommand(): Command {
  const cmd = new Command("run")
    .description(
      "record while COMMAND runs, then write the trace, summary.json and report.html;\n" +
        "exits with the command's exit code (128+N when it was killed by signal N)",
    )
    .usage("[options] -- COMMAND [ARGS...]")
    .argument("[command...]", "the command to run and measure")
    .passThroughOptions();
  addRecordingOptions(cmd);
  workloadAttachments.addOptions?.(cmd);
  cmd.addHelpText(
    "after",
    `
The command gets AIMETER_EVENTS (a file to append JSON lines of metrics to).
stdin, stdout and stderr pass through untouched; SIGTERM is forwarded.

Examples:
  aimeter run -- python train.py --epochs 3
  aimeter run --interval 50ms --out runs/a -- ./serve.sh`,
  );
  cmd.action(async (command: string[], opts) => {
    if (!command.length) {
      throw new UsageError(
        "run: no command given (usage: aimeter run [options] -- COMMAND [ARGS...])",
      );
    }
    const cfg = sessionConfig("run", command, opts);
    cfg.attachments = workloadAttachments.create(opts);
    const r = await runSession(cfg);
    throw new ExitCode(r.exitCode);
  });
  return cmd;
}
