/** `aimeter compare RUN...`: the command line; the work is in compare_run.ts. */
import { Command } from "commander";

export function compareCommand(): Command {
  return new Command("compare")
    .description(
      "compare runs side by side: time, energy, energy per unit of work, power, emissions, with\n" +
        "differences; repeated runs of one command give bootstrap intervals; Pareto view of energy vs time",
    )
    .argument(
      "<runs...>",
      "run folders (or summary.json files, or traces); the first is the reference",
    )
    .option("--json <file>", "write the comparison as JSON ('-' for stdout)")
    .option(
      "--html <file>",
      "write a standalone HTML page with the table and the energy/time chart",
    )
    .option(
      "--no-group",
      "treat every run on its own (default: runs of the same command are repeats)",
    )
    .addHelpText(
      "after",
      `
Examples:
  aimeter compare runs/bs32-* runs/bs64-*       repeats of two configurations
  aimeter compare a/ b/ --html compare.html`,
    )
    .action(async (paths: string[], o) => {
      // the comparison (and its chart stack) loads only when the command runs
      const { runCompare } = await import("./compare_run.ts");
      await runCompare(paths, o);
    });
}
