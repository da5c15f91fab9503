/**
 * A run folder holds one run. Recording into a folder that already holds a
 * trace would mix two runs (stale segments of a crashed run would be merged
 * into the new trace), so it is refused unless the user says `--overwrite`,
 * which removes aimeter's own files of the old run first (nothing else).
 */
import { UsageError } from "../cli/errors.ts";

/** Files and folders a run writes into its folder. */
export const RUN_FILES = [
  "trace.parquet",
  "trace.parquet.tmp",
  "trace.csv",
  "trace.parts",
  "meta.json",
  "summary.json",
  "report.html",
  "events.jsonl",
];

function exists(p: string): boolean {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The run files already in `dir` (empty when the folder is new or holds none). */
export function existingRunFiles(dir: string): string[] {
  return RUN_FILES.filter((f) => exists(`${dir}/${f}`));
}

/** Refuse a folder that holds a run, unless overwriting (then the old run's files go). */
export function prepareRunDir(dir: string, overwrite: boolean): void {
  const old = existingRunFiles(dir);
  if (!old.length) return;
  if (!overwrite) {
    throw new UsageError(
      `--out: ${dir} already holds a run (${old.join(", ")}); ` +
        `choose another folder, or add --overwrite to replace it`,
    );
  }
  for (const f of old) Deno.removeSync(`${dir}/${f}`, { recursive: true });
}
