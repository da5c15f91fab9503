/** `aimeter serve`: live metrics for Prometheus (HTTP) and node_exporter (textfile). */
import { Command } from "commander";
import { addRecordingOptions, sessionConfig } from "./recording_options.ts";
import { parseDuration } from "./parse.ts";
import { ExitCode } from "./errors.ts";
import { DEFAULT_LISTEN, parseListen } from "../serve/http.ts";
import { runServe } from "../serve/serve.ts";

export function serveCommand(): Command {
  const cmd = new Command("serve")
    .description("export live metrics for Prometheus (/metrics) or node_exporter (--textfile)")
    .option(
      "--listen <addr>",
      "HOST:PORT to serve /metrics on; loopback unless told otherwise (0.0.0.0:9400 exposes it)",
      DEFAULT_LISTEN,
    )
    .option("--no-listen", "serve no HTTP (with --textfile)")
    .option(
      "--textfile <path>",
      "also write the metrics to this *.prom file, atomically, every second",
    )
    .option("--duration <dur>", "stop after this long (30s, 10m, 2h)");
  addRecordingOptions(cmd);
  const out = cmd.options.find((o) => o.long === "--out");
  if (out) out.description = "also record a trace into this run folder (default: no trace)";
  cmd.addHelpText(
    "after",
    `
A scrape returns the latest values the background sampler took; it never waits
on a sensor. Energy counters (aimeter_energy_joules_total) count from the start
of serve. See the README (serve section) for the metric names and the Grafana dashboard.

Examples:
  aimeter serve                                   http://127.0.0.1:9400/metrics
  aimeter serve --listen 0.0.0.0:9400 --interval 1s
  aimeter serve --no-listen --textfile /var/lib/node_exporter/textfile/aimeter.prom
  aimeter serve --out node17-trace                export and record a trace`,
  );
  cmd.action(async (o) => {
    const session = sessionConfig("record", [], o);
    const code = await runServe({
      listen: o.listen === false ? undefined : parseListen(String(o.listen)),
      textfile: o.textfile,
      durationS: o.duration !== undefined
        ? parseDuration(String(o.duration), "--duration")
        : undefined,
      session,
    });
    throw new ExitCode(code);
  });
  return cmd;
}
