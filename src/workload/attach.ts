/**
 * The workload side of a run (events file, stdout parsers, scrapers): the
 * options it adds to `aimeter run` and the attachments it creates.
 */
import type { Command } from "commander";
import type { Attachment } from "../recorder/attachment.ts";
import type { RawOptions } from "../cli/recording_options.ts";

export interface WorkloadAttachments {
  addOptions?(cmd: Command): void;
  create(opts: RawOptions): Attachment[];
}

export const workloadAttachments: WorkloadAttachments = {
  create: () => [],
};
