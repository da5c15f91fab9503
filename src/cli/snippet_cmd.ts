/** `aimeter snippet python`: print a zero-dependency module that writes the workload events protocol. */
import { Command } from "commander";
import py from "../../templates/snippet_python.py" with { type: "text" };
import { UsageError } from "./errors.ts";

export const SNIPPETS: Record<string, { text: string; file: string; what: string }> = {
  python: {
    text: py,
    file: "aimeter_events.py",
    what: "plain-loop StepMeter, Hugging Face TrainerCallback, Lightning and Keras callbacks",
  },
};

export function snippetCommand(): Command {
  return new Command("snippet")
    .description(
      "print a small module that reports a workload's metrics, phases and marks to aimeter\n" +
        "(the AIMETER_EVENTS protocol) with nothing to install",
    )
    .argument("[language]", `one of: ${Object.keys(SNIPPETS).join(", ")}`)
    .addHelpText(
      "after",
      `
Examples:
  aimeter snippet python > aimeter_events.py
  aimeter run -- python train.py        # train.py does: import aimeter_events as ae`,
    )
    .action((language?: string) => {
      if (!language) {
        for (const [k, s] of Object.entries(SNIPPETS)) {
          console.log(`${k}\t${s.file}: ${s.what}`);
        }
        return;
      }
      const s = SNIPPETS[language.toLowerCase()];
      if (!s) {
        throw new UsageError(
          `snippet: no snippet for '${language}' (available: ${Object.keys(SNIPPETS).join(", ")})`,
        );
      }
      Deno.stdout.writeSync(new TextEncoder().encode(s.text));
    });
}
