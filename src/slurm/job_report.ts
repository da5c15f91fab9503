/**
 * The job report: every node's trace in a job folder merged into one
 * summary.json + report.html (per-node breakdown, totals), with the job's
 * SLURM facts and the warnings the recorders left (another job on a GPU).
 */
import { loadTraces, summarize } from "../pipeline.ts";
import { writeReport } from "../report/write.ts";
import { expandTracePaths } from "../trace/discover.ts";
import type { Summary } from "../analysis/summary.ts";
import type { Trace } from "../trace/reader.ts";

export interface JobReport {
  summary: Summary;
  reportPath: string;
  summaryPath: string;
  /** Node names that have a trace in the folder. */
  nodes: string[];
  /** Nodes of the job with no trace (when the job's node list is known). */
  missing: string[];
}

/** Node folders of a job folder that hold a trace. */
export function nodeTraces(jobDir: string): string[] {
  try {
    Deno.statSync(jobDir);
  } catch {
    return [];
  }
  const dir = jobDir.replace(/\/+$/, "");
  return expandTracePaths([dir]).filter((p) => p !== dir);
}

function jobTagsOf(t: Trace): Record<string, unknown> | undefined {
  const v = t.meta?.extra?.slurm_job;
  return v && typeof v === "object" ? v as Record<string, unknown> : undefined;
}

/** Merge the node traces of `jobDir` into `<jobDir>/report.html` and `summary.json`. */
export async function renderJobReport(
  jobDir: string,
  opts: {
    region?: string;
    pue?: number;
    expectedNodes?: string[];
    /**
     * Write the files here first (a root-only folder on the same file system)
     * and rename them into the job folder: root never writes through a link
     * the job's user placed in their folder.
     */
    stagingDir?: string;
  } = {},
): Promise<JobReport> {
  const dir = jobDir.replace(/\/+$/, "");
  const files = nodeTraces(dir);
  if (!files.length) throw new Error(`no node trace in ${dir}`);
  const traces = await loadTraces(files);
  const analysis: Record<string, unknown> = {};
  if (opts.region) analysis.region = opts.region;
  if (opts.pue !== undefined) analysis.pue = opts.pue;
  const summary = await summarize(traces, analysis);
  const tags = traces.map(jobTagsOf).filter((t) => t !== undefined);
  const nodes = traces.map((t) =>
    String(jobTagsOf(t)?.node ?? t.meta?.host ?? t.location.dir ?? "?")
  );
  const expected = opts.expectedNodes ??
    (Array.isArray(tags[0]?.nodes) ? (tags[0]!.nodes as unknown[]).map(String) : nodes);
  const missing = expected.filter((n) => !nodes.includes(n));
  const first = tags[0] ?? {};
  summary.slurm_job = {
    job_id: first.job_id,
    array_job_id: first.array_job_id || undefined,
    array_task_id: first.array_task_id || undefined,
    job_name: first.job_name,
    user: first.user,
    partition: first.partition,
    nodelist: first.nodelist,
    nodes,
    missing_nodes: missing,
  };
  for (const t of traces) {
    const w = t.meta?.extra?.slurm_warnings;
    if (!Array.isArray(w)) continue;
    for (const msg of w) {
      summary.sensors.push({ source: "slurm", status: "error", message: String(msg) });
    }
  }
  if (missing.length) {
    summary.sensors.push({
      source: "slurm",
      status: "not-found",
      message: `no trace from node(s) ${
        missing.join(", ")
      }: the totals cover ${nodes.length} of ${expected.length} nodes`,
      fix: "see the aimeter-slurm.log of the job folder's parent on those nodes",
    });
  }
  const reportPath = `${dir}/report.html`;
  const summaryPath = `${dir}/summary.json`;
  let stage: string | undefined;
  if (opts.stagingDir) {
    Deno.mkdirSync(opts.stagingDir, { recursive: true, mode: 0o700 });
    stage = Deno.makeTempDirSync({ dir: opts.stagingDir, prefix: "report-" });
  }
  try {
    const rp = stage ? `${stage}/report.html` : reportPath;
    const sp = stage ? `${stage}/summary.json` : summaryPath;
    await writeReport(traces, summary, rp, true);
    Deno.writeTextFileSync(`${sp}.tmp`, JSON.stringify(summary, null, 2) + "\n");
    Deno.renameSync(`${sp}.tmp`, sp);
    if (stage) {
      Deno.renameSync(rp, reportPath);
      Deno.renameSync(sp, summaryPath);
    }
  } finally {
    if (stage) Deno.removeSync(stage, { recursive: true });
  }
  return { summary, reportPath, summaryPath, nodes, missing };
}
