/**
 * Shared helpers of the benchmark suite (`deno task bench`): the fixtures a
 * recording needs (the NVML test double, a powercap tree), CPU time and memory
 * of another process read from /proc, starting aimeter as a subprocess, and
 * the machine description that goes with every result.
 */
import { nvmlDoublePath } from "../../tests/helpers/nvml_double.ts";
import { FakeTree, typicalIntel } from "../../tests/helpers/fake_sysfs.ts";
import { exists } from "../../src/sensors/sysfs.ts";

export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const MAIN = `${ROOT}/main.ts`;

/** What each part returns: numbers for bench.json and rows for the markdown table. */
export interface PartResult {
  /** Machine-readable results. */
  data: Record<string, unknown>;
  /** Table rows: [measure, value, target, verdict]. */
  rows: Row[];
  /** Notes printed under the table (causes of misses, caveats). */
  notes?: string[];
}

export interface Row {
  part: string;
  measure: string;
  value: string;
  target?: string;
  /** true: met, false: missed, undefined: no target. */
  met?: boolean;
}

export interface BenchContext {
  quick: boolean;
  out: string;
  /** Scratch space for fixtures (below `out`). */
  work: string;
  log: (msg: string) => void;
}

// ---------------------------------------------------------------- fixtures

/** The NVML double's path and a powercap tree (typical Intel: 5 zones), made once per run. */
export function recordingFixtures(ctx: BenchContext): { nvmlLib: string; sysfs: string } {
  const nvmlLib = nvmlDoublePath();
  const sysfs = `${ctx.work}/sys`;
  try {
    Deno.removeSync(sysfs, { recursive: true });
  } catch { /* not there */ }
  const tree = new FakeTree("", sysfs);
  const files = typicalIntel(tree);
  // non-zero, distinct counters so both readers parse real numbers
  let k = 1;
  for (const p of Object.values(files)) Deno.writeTextFileSync(p, `${123_456_789 * k++}\n`);
  return { nvmlLib, sysfs };
}

// ---------------------------------------------------------------- /proc

let clkTck: number | undefined;

/** Clock ticks per second for /proc/<pid>/stat times (`getconf CLK_TCK`, 100 on Linux). */
export function clockTicks(): number {
  if (clkTck !== undefined) return clkTck;
  try {
    const r = new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).outputSync();
    clkTck = Number(new TextDecoder().decode(r.stdout).trim()) || 100;
  } catch {
    clkTck = 100;
  }
  return clkTck;
}

/** utime + stime of a process (all its threads), in seconds. */
export function cpuSeconds(pid: number): number {
  const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // fields after the command name in parentheses (which may hold spaces)
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  // f[0] is field 3 (state); utime is field 14, stime 15
  return (Number(f[11]) + Number(f[12])) / clockTicks();
}

/**
 * Resident memory of a process from /proc/<pid>/status: peak (VmHWM), now
 * (VmRSS), and VmRSS split into anonymous pages (heaps, stacks: what the
 * process itself allocated) and file pages (mostly the executable's own code
 * and data mapped from disk: shared, and dropped by the kernel under pressure).
 */
export function memory(pid: number): { hwm: number; rss: number; anon: number; file: number } {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (k: string) =>
    Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN) * 1024;
  return { hwm: kb("VmHWM"), rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Wait until `cond` holds (polling), or throw after `timeoutMs`. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string) {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export { exists };

/** Start `deno run -A main.ts ARGS` (aimeter as a user runs it from source): the tests' helper. */
export { spawnAimeter } from "../../tests/helpers/cli.ts";

/** Run a command to the end; throws with its stderr when it fails. */
export async function runToEnd(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<{ stdout: string; stderr: string; wallS: number; cpuS: number; maxRssBytes: number }> {
  // /usr/bin/time -v gives the child's CPU time and peak RSS without polling
  const useTime = exists("/usr/bin/time");
  const t0 = performance.now();
  const out = await new Deno.Command(useTime ? "/usr/bin/time" : cmd, {
    args: useTime ? ["-v", cmd, ...args] : args,
    env: opts.env,
    cwd: opts.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wallS = (performance.now() - t0) / 1000;
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout), stderr = dec.decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}):\n${stderr}`);
  const num = (re: RegExp) => Number(re.exec(stderr)?.[1] ?? NaN);
  return {
    stdout,
    stderr,
    wallS,
    cpuS: num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/),
    maxRssBytes: num(/Maximum resident set size \(kbytes\): (\d+)/) * 1024,
  };
}

// ---------------------------------------------------------------- machine

export function machine(): Record<string, unknown> {
  const cpuinfo = (() => {
    try {
      return Deno.readTextFileSync("/proc/cpuinfo");
    } catch {
      return "";
    }
  })();
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown";
  let kernel = "";
  try {
    kernel = Deno.readTextFileSync("/proc/sys/kernel/osrelease").trim();
  } catch { /* not Linux */ }
  return {
    cpu: model,
    cores: navigator.hardwareConcurrency,
    memory_bytes: Deno.systemMemoryInfo().total,
    kernel,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    hostname: Deno.hostname(),
  };
}

// ---------------------------------------------------------------- formatting

export function fmt(v: number, digits = 2): string {
  if (!Number.isFinite(v)) return "n/a";
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  return v.toFixed(digits);
}

export function mb(bytes: number): string {
  return `${fmt(bytes / 1e6, 1)} MB`;
}

export function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
