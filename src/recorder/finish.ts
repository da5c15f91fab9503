/**
 * What a recording needs only once it has ended (the trace reader, the
 * analysis stages, the report generator). `session.ts` imports this module
 * dynamically so that none of it is loaded while the sampler runs.
 */
import { readTrace } from "../trace/reader.ts";
import { summarize } from "../pipeline.ts";
import { writeReport } from "../report/write.ts";
import { printRunSummary } from "./print_summary.ts";

export const finishRun = { readTrace, summarize, writeReport, printRunSummary };
