/** `aimeter report TRACE_OR_RUN_DIR... [-o FILE]`: summary.json and report.html from traces alone. */
import { Command } from "commander";
import { UsageError } from "./errors.ts";
import { expandTracePaths } from "../trace/discover.ts";
import { formatRunSummary } from "../recorder/print_summary.ts";
import { addCarbonOptions, carbonAnalysisOptions } from "./recording_options.ts";

export function reportCommand(): Command {
  const cmd = new Command("report")
    .description(
      "render report.html (and summary.json) from one trace, a run folder, or the traces of\n" +
        "several nodes of one job (a job folder): one report with a per-node breakdown",
    )
    .argument("<paths...>", "trace files (.parquet, .csv), run folders or job folders")
    .option("-o, --output <file>", "report file (default: report.html in the run/job folder)")
    .option("--summary <file>", "summary.json path (default: beside the report)")
    .option("--no-summary-file", "do not write summary.json")
    .option("--region <code>", "grid region for carbon (overrides the one saved with the run)")
    .option("--pue <n>", "data-centre PUE (overrides the one saved with the run)")
    .option("-q, --quiet", "print nothing but errors");
  addCarbonOptions(cmd);
  return cmd.action(async (paths: string[], o) => {
    const analysis = carbonAnalysisOptions(o, false);
    // the reader, analysis and report stacks load only when a report is made
    const { loadTraces, summarize } = await import("../pipeline.ts");
    const { writeReport } = await import("../report/write.ts");
    const { TraceFormatError } = await import("../trace/reader.ts");
    const files = expandTracePaths(paths);
    if (!files.length) throw new UsageError(`report: no trace found in ${paths.join(" ")}`);
    let traces;
    try {
      traces = await loadTraces(files);
    } catch (e) {
      if (e instanceof TraceFormatError) throw new UsageError(e.message);
      throw e;
    }
    const summary = await summarize(traces, analysis);
    const first = paths[0].replace(/\/+$/, "");
    const baseDir = files.length === 1 && traces[0].location.dir
      ? traces[0].location.dir
      : (Deno.statSync(first).isDirectory ? first : ".");
    const out = o.output ?? `${baseDir}/report.html`;
    await writeReport(traces, summary, out, o.quiet);
    if (o.summaryFile !== false) {
      const sp = o.summary ?? out.replace(/[^/]*$/, "summary.json");
      Deno.writeTextFileSync(sp, JSON.stringify(summary, null, 2) + "\n");
    }
    if (!o.quiet) {
      console.error(formatRunSummary(summary, baseDir, true));
      console.error(`aimeter: report written to ${out}`);
    }
  });
}
