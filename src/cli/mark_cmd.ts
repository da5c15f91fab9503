/**
 * `aimeter mark TEXT`: for shell scripts run under `aimeter run`, append an
 * annotation (or, with --phase, the start of a phase; with --metric, numbers)
 * to $AIMETER_EVENTS. Outside aimeter it does nothing and says so (exit 0),
 * so a script works with and without aimeter.
 */
import { Command } from "commander";
import { closeSync, openSync, writeSync } from "node:fs";
import { UsageError } from "./errors.ts";
import { ExitCode } from "./errors.ts";
import { sanitizeMetricName } from "../workload/names.ts";

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function markCommand(): Command {
  return new Command("mark")
    .description(
      "from a script run under `aimeter run`: record an annotation, a phase or metrics\n" +
        "(appends one line to $AIMETER_EVENTS; does nothing outside aimeter)",
    )
    .argument("[text...]", "the annotation")
    .option("--phase <name>", "start a phase (ends the one before); '-' ends the current phase")
    .option("--metric <NAME=VALUE>", "record a number (repeatable)", collect)
    .option("--strict", "exit 1 when AIMETER_EVENTS is not set")
    .addHelpText(
      "after",
      `
Examples (in a job script run with aimeter run -- ./job.sh):
  aimeter mark --phase preprocess
  aimeter mark "dataset ready"
  aimeter mark --metric samples=50000`,
    )
    .action((text: string[], o) => {
      const ev: Record<string, unknown> = { time: Date.now() / 1000 };
      if (o.phase !== undefined) ev.phase = o.phase === "-" ? null : String(o.phase);
      if (text.length) ev.mark = text.join(" ");
      for (const spec of (o.metric ?? []) as string[]) {
        const eq = spec.indexOf("=");
        const name = eq > 0 ? sanitizeMetricName(spec.slice(0, eq)) : "";
        const v = eq > 0 ? Number(spec.slice(eq + 1)) : NaN;
        if (!name || !Number.isFinite(v) || spec.slice(eq + 1).trim() === "") {
          throw new UsageError(`--metric: '${spec}' is not NAME=NUMBER`);
        }
        ev[name] = v;
      }
      if (Object.keys(ev).length === 1) {
        throw new UsageError("mark: nothing to record (give TEXT, --phase or --metric)");
      }
      const path = Deno.env.get("AIMETER_EVENTS");
      if (!path) {
        console.error(
          "aimeter: mark: AIMETER_EVENTS is not set (not under `aimeter run`); nothing recorded",
        );
        if (o.strict) throw new ExitCode(1);
        return;
      }
      // one write of one whole line, in append mode: lines of concurrent writers do not interleave
      const fd = openSync(path, "a");
      try {
        writeSync(fd, JSON.stringify(ev) + "\n");
      } finally {
        closeSync(fd);
      }
    });
}
