/**
 * The analysis stages that run after the energy summary, in order. Each adds
 * its block to summary.json (carbon, workload, correlations, findings, ...).
 * A stage that fails is reported in `summary.sensors`, never fatal.
 */
import type { Summary } from "./summary.ts";
import type { Trace } from "../trace/reader.ts";
import { carbonStage } from "./carbon_stage.ts";
import { qualityStage } from "./quality.ts";
import { attributionStage } from "./attribution.ts";
import { workloadStage } from "./workload_stage.ts";
import { correlationStage } from "./correlation.ts";
import { findingsStage } from "./findings.ts";

/** Options that change the analysis (carbon region, PUE, ...), from the CLI or saved with the run. */
// deno-lint-ignore no-explicit-any
export type AnalysisOptions = Record<string, any>;

export interface EnrichContext {
  traces: Trace[];
  summary: Summary;
  options: AnalysisOptions;
}

export interface Stage {
  name: string;
  fn: (ctx: EnrichContext) => void | Promise<void>;
}

export const STAGES: Stage[] = [
  { name: "quality", fn: qualityStage },
  { name: "attribution", fn: attributionStage },
  { name: "workload", fn: workloadStage }, // before carbon: carbon reads the phase bounds
  { name: "carbon", fn: carbonStage },
  { name: "correlation", fn: correlationStage },
  { name: "findings", fn: findingsStage },
  // one line per stage; keep the order: carbon needs energy, findings need workload and correlations
];
