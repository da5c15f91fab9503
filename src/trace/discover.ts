/**
 * From what the user typed to trace locations: a trace file, a run folder,
 * or a job folder holding one run folder (or trace file) per node.
 */
import { locateTrace } from "./reader.ts";

function isTraceDir(p: string): boolean {
  try {
    locateTrace(p);
    return true;
  } catch {
    return false;
  }
}

/** Paths that `readTrace` accepts, one per node/run. Unknown paths are kept so the reader names them. */
export function expandTracePaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st: Deno.FileInfo;
    try {
      st = Deno.statSync(p);
    } catch {
      out.push(p);
      continue;
    }
    if (st.isFile || isTraceDir(p)) {
      out.push(p);
      continue;
    }
    const inner = [...Deno.readDirSync(p)]
      .filter((e) =>
        (e.isDirectory && isTraceDir(`${p}/${e.name}`)) ||
        (e.isFile && /\.(parquet|csv)$/.test(e.name))
      )
      .map((e) => `${p.replace(/\/+$/, "")}/${e.name}`)
      .sort();
    out.push(...(inner.length ? inner : [p]));
  }
  return out;
}
