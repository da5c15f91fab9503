/**
 * Builds the NVML test double (tests/fixtures/nvml_double.c) with the system C
 * compiler, once per test process and variant, into a temporary directory.
 * Test support only.
 */

/** `modern`: every symbol; `legacy`: without the newer symbols (an old driver). */
export type NvmlDoubleVariant = "modern" | "legacy";

const SOURCE = new URL("../fixtures/nvml_double.c", import.meta.url);
const built = new Map<NvmlDoubleVariant, string>();
let dir: string | undefined;

/** Path of `libnvml_double.so` (compiled on first use). Throws when `cc` fails. */
export function nvmlDoublePath(variant: NvmlDoubleVariant = "modern"): string {
  const cached = built.get(variant);
  if (cached) return cached;
  if (dir === undefined) {
    dir = Deno.makeTempDirSync({ prefix: "aimeter-nvml-double-" });
    const d = dir;
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(d, { recursive: true });
      } catch { /* already gone */ }
    });
  }
  const out = `${dir}/libnvml_double${variant === "legacy" ? "_legacy" : ""}.so`;
  const args = ["-shared", "-fPIC", "-O1", "-Wall", "-o", out, SOURCE.pathname, "-lm"];
  if (variant === "legacy") args.unshift("-DNVML_DOUBLE_LEGACY");
  const r = new Deno.Command("cc", { args, stderr: "piped" }).outputSync();
  if (!r.success) {
    throw new Error(`cc failed building the NVML double:\n${new TextDecoder().decode(r.stderr)}`);
  }
  built.set(variant, out);
  return out;
}

/** Environment variables the double reads at nvmlInit_v2. */
const DOUBLE_VARS = [
  "NVML_DOUBLE_DEVICES",
  "NVML_DOUBLE_INIT_ERROR",
  "NVML_DOUBLE_NO_ENERGY",
  "NVML_DOUBLE_NO_INSTANT",
  "NVML_DOUBLE_POWER",
  "NVML_DOUBLE_QUANTUM_MS",
  "NVML_DOUBLE_PIDS",
  "NVML_DOUBLE_PROC_DELAY_MS",
  "NVML_DOUBLE_GPM",
  "NVML_DOUBLE_ARCH",
  "NVML_DOUBLE_TEMP_ERROR",
];

/** Set the double's variables (all others cleared) for the duration of `fn`. */
export async function withDoubleEnv<T>(
  vars: Record<string, string | number>,
  fn: () => T | Promise<T>,
): Promise<T> {
  for (const k of DOUBLE_VARS) Deno.env.delete(k);
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, String(v));
  try {
    return await fn();
  } finally {
    for (const k of DOUBLE_VARS) Deno.env.delete(k);
  }
}
