/**
 * The performance suite: `deno task bench [--quick] [--only recorder,nvml,writing,report,compare]`.
 *
 *   recorder  CPU and memory of `aimeter record` (8 NVML-double GPUs + a powercap tree) at 1 s,
 *             100 ms and 10 ms, tick jitter (from outside, /proc; and summary.json quality.recorder)
 *   nvml      NVML sensor cost per device per tick, FFI calls, devices per core at 100 ms
 *   writing   trace writing: values per second, bytes per value (Parquet, CSV), segment time
 *   report    `aimeter report` time, peak memory, HTML size: 1 h and 24 h × 8 GPUs at 1 and 10 Hz
 *   compare   node_exporter vs aimeter on the same powercap zones (CPU per sample), and DuckDB
 *             vs aimeter report on the same 24 h trace
 *
 * Writes bench-out/bench.json and bench-out/bench.md and prints the markdown
 * table. About 10 minutes on 2 cores (the first run also writes the 24 h
 * fixture traces, kept in bench-out/fixtures/); `--quick` about 2 minutes.
 * Never run inside `deno test` (tests/bench_smoke_test.ts only checks the shape).
 */
import { parseArgs } from "node:util";
import { type BenchContext, machine, type PartResult, ROOT, type Row } from "./bench/common.ts";
import { benchRecorder } from "./bench/recorder.ts";
import { benchNvml } from "./bench/nvml.ts";
import { benchWriting } from "./bench/writing.ts";
import { benchReport, type ReportRun } from "./bench/report.ts";
import { benchCompare } from "./bench/compare.ts";

export const PARTS = ["recorder", "nvml", "writing", "report", "compare"] as const;
type Part = typeof PARTS[number];

const USAGE = `usage: deno task bench [--quick] [--only ${PARTS.join(",")}] [--out DIR]`;

function table(rows: Row[]): string {
  const lines = [
    "| part | measure | value | target | met |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const met = r.met === undefined ? "" : r.met ? "yes" : "**no**";
    lines.push(`| ${r.part} | ${r.measure} | ${r.value} | ${r.target ?? ""} | ${met} |`);
  }
  return lines.join("\n");
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: {
        quick: { type: "boolean", default: false },
        only: { type: "string" },
        out: { type: "string", default: `${ROOT}/bench-out` },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const only = args.only ? args.only.split(",").map((s) => s.trim()).filter(Boolean) : [...PARTS];
  const unknown = only.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (unknown.length) {
    console.error(`unknown part(s) ${unknown.join(", ")}\n${USAGE}`);
    return 2;
  }
  const out = args.out!.replace(/\/+$/, "");
  const work = `${out}/work`;
  Deno.mkdirSync(work, { recursive: true });
  const t0 = performance.now();
  const ctx: BenchContext = {
    quick: args.quick!,
    out,
    work,
    log: (m) =>
      console.error(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${m}`),
  };
  const command = `deno task bench${args.quick ? " --quick" : ""}${
    args.only ? ` --only ${args.only}` : ""
  }`;
  const results: Partial<Record<Part, PartResult>> = {};
  const errors: Record<string, string> = {};
  const run = async (p: Part, fn: () => Promise<PartResult>) => {
    if (!only.includes(p)) return;
    try {
      results[p] = await fn();
    } catch (e) {
      errors[p] = (e as Error).stack ?? String(e);
      ctx.log(`${p} failed: ${(e as Error).message}`);
    }
  };
  await run("recorder", () => benchRecorder(ctx));
  await run("nvml", () => benchNvml(ctx));
  await run("writing", () => benchWriting(ctx));
  await run("report", () => benchReport(ctx));
  await run(
    "compare",
    () => benchCompare(ctx, results.report?.data.runs as ReportRun[] | undefined),
  );

  const rows = PARTS.flatMap((p) => results[p]?.rows ?? []);
  const notes = PARTS.flatMap((p) => results[p]?.notes ?? []);
  const totalS = (performance.now() - t0) / 1000;
  const json = {
    schema: "aimeter/bench@1",
    date: new Date().toISOString(),
    command,
    quick: ctx.quick,
    parts: only,
    total_s: totalS,
    machine: machine(),
    results: Object.fromEntries(PARTS.filter((p) => results[p]).map((p) => [p, results[p]!.data])),
    table: rows,
    notes,
    errors,
  };
  Deno.writeTextFileSync(`${out}/bench.json`, JSON.stringify(json, null, 2) + "\n");
  const m = json.machine;
  const md = [
    `Command: \`${command}\` — ${json.date}, ${totalS.toFixed(0)} s`,
    `Machine: ${m.cpu}, ${m.cores} cores, ${
      (Number(m.memory_bytes) / 2 ** 30).toFixed(1)
    } GiB, Linux ${m.kernel}, Deno ${m.deno}`,
    "",
    table(rows),
    ...(notes.length ? ["", ...notes.map((n) => `- ${n}`)] : []),
    ...(Object.keys(errors).length
      ? ["", ...Object.entries(errors).map(([p, e]) => `- **${p} failed**: ${e.split("\n")[0]}`)]
      : []),
    "",
  ].join("\n");
  Deno.writeTextFileSync(`${out}/bench.md`, md);
  console.log(md);
  return Object.keys(errors).length ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
