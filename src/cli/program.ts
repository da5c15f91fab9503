/**
 * The command line: `aimeter run|record|report|sensors|...`. Every command
 * lives in its own module and is added here. Usage errors exit 2 with one
 * line naming the flag; no stack traces for bad input.
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "../version.ts";
import { ExitCode, UsageError } from "./errors.ts";
import { runCommand } from "./run_cmd.ts";
import { recordCommand } from "./record_cmd.ts";
import { sensorsCommand } from "./sensors_cmd.ts";
import { reportCommand } from "./report_cmd.ts";
import { serveCommand } from "./serve_cmd.ts";
import { carbonCommand } from "./carbon_cmd.ts";
import { slurmCommand } from "./slurm_cmd.ts";
import { markCommand } from "./mark_cmd.ts";
import { snippetCommand } from "./snippet_cmd.ts";
import { compareCommand } from "./compare_cmd.ts";

export function buildProgram(): Command {
  const program = new Command("aimeter")
    .description(
      "Measure the energy, power, hardware use and carbon of AI workloads;\n" +
        "record a Parquet/CSV trace and render a self-contained HTML report.",
    )
    .version(`aimeter ${VERSION}`, "-V, --version", "print the version")
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .addHelpText(
      "after",
      `
Examples:
  aimeter run -- python train.py          record while the command runs
  aimeter record --duration 10m           record the node for 10 minutes
  aimeter report aimeter-*/               render report.html again, or for several nodes
  aimeter sensors                         what can be measured here, and the fixes`,
    );
  for (
    const c of [
      runCommand(),
      recordCommand(),
      reportCommand(),
      sensorsCommand(),
      serveCommand(),
      carbonCommand(),
      slurmCommand(),
      compareCommand(),
      markCommand(),
      snippetCommand(),
    ]
  ) {
    program.addCommand(c);
  }
  return program;
}

/** Apply exit-code and error-output rules to a command and all its subcommands. */
function harden(cmd: Command): void {
  cmd.exitOverride().configureOutput({
    writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)),
    outputError: (s, write) => write(s.startsWith("error:") ? `aimeter: ${s}` : s),
  });
  for (const c of cmd.commands) harden(c);
}

/** Run the CLI; returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  const program = buildProgram();
  harden(program);
  try {
    await program.parseAsync(args, { from: "user" });
    return 0; // commands that end with another code throw ExitCode
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return 0;
      if (e.code === "commander.help") return 0;
      if (e.code === "commander.executeSubCommandAsync") return 0;
      return 2;
    }
    if (e instanceof UsageError || (e as { exitCode?: number }).exitCode === 2) {
      console.error(`aimeter: ${(e as Error).message}`);
      return 2;
    }
    if (e instanceof ExitCode) return e.code;
    console.error(`aimeter: ${(e as Error)?.message ?? e}`);
    if (Deno.env.get("AIMETER_DEBUG")) console.error((e as Error)?.stack);
    return 1;
  }
}
