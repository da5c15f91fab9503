/**
 * The report's sections, in page order. A section returns "" when its data
 * is absent; a new section (carbon, correlations, findings refined by their
 * owners) is one module and one line here.
 */
import type { Section } from "./common.ts";
import { keyNumbersSection } from "./key_numbers.ts";
import { runSection } from "./run.ts";
import { nodesSection } from "./nodes.ts";
import { powerSection } from "./power.ts";
import { devicesSection } from "./devices.ts";
import { carbonSection } from "./carbon.ts";
import { workloadSection } from "./workload.ts";
import { hardwareSection } from "./hardware.ts";
import { findingsSection } from "./analysis.ts";
import { correlationsSection } from "./correlations.ts";
import { qualitySection } from "./quality.ts";
import { attributionSection } from "./attribution.ts";
import { sensorsSection } from "./sensors.ts";

export type { Progress, Section } from "./common.ts";

export const SECTIONS: Section[] = [
  keyNumbersSection,
  findingsSection,
  runSection,
  nodesSection,
  powerSection,
  devicesSection,
  attributionSection,
  carbonSection,
  workloadSection,
  hardwareSection,
  correlationsSection,
  qualitySection,
  sensorsSection,
];
