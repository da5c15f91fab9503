/** `aimeter record [options]`: the node, until SIGINT/SIGTERM or --duration. */
import { Command } from "commander";
import { addRecordingOptions, sessionConfig } from "./recording_options.ts";
import { runSession } from "../recorder/session.ts";
import { ExitCode } from "./errors.ts";
import { cachedPids, cgroupPids } from "../slurm/procs.ts";

export function recordCommand(): Command {
  const cmd = new Command("record")
    .description("record the node until SIGINT/SIGTERM or --duration")
    .option("--duration <dur>", "stop after this long (30s, 10m, 2h)")
    .option("--pid-file <path>", "write aimeter's pid here while recording")
    .option(
      "--cgroup <path>",
      "attribute the processes of this cgroup (and below), e.g. a SLURM job's",
    );
  addRecordingOptions(cmd);
  cmd.addHelpText(
    "after",
    `
On a terminal a live line shows elapsed time, power and energy so far.

Examples:
  aimeter record --duration 10m --out idle-node
  aimeter record --pid-file /run/aimeter.pid &   # stop later with: kill $(cat /run/aimeter.pid)`,
  );
  cmd.action(async (opts) => {
    const cfg = sessionConfig("record", [], opts);
    if (opts.cgroup) {
      const path = String(opts.cgroup);
      cfg.sensorOptions = { ...cfg.sensorOptions, processPids: cachedPids(() => cgroupPids(path)) };
    }
    const r = await runSession(cfg);
    throw new ExitCode(r.exitCode);
  });
  return cmd;
}
