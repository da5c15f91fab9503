import { measureRecording } from "./recorder.ts";
import { recordingFixtures } from "./common.ts";
const ctx = { quick: true, out: "/tmp/bx/o", work: "/tmp/bx/o", log: console.error };
Deno.mkdirSync("/tmp/bx/o", { recursive: true });
const { nvmlLib, sysfs } = recordingFixtures(ctx);
const [interval, sources, win, seg] = Deno.args;
const m = await measureRecording({
  dir: "/tmp/bx/o/r",
  interval,
  intervalS: parseFloat(interval) / (interval.endsWith("ms") ? 1000 : 1),
  windowS: Number(win),
  warmupS: 2,
  args: ["--sources", sources, "--sysfs-root", sysfs, "--nvml-lib", nvmlLib],
  env: { NVML_DOUBLE_DEVICES: "8", ...(seg ? { AIMETER_SEGMENT_SECONDS: seg } : {}) },
});
const r = m.recorder;
console.log(
  interval,
  sources,
  seg ?? "",
  "cpu%",
  m.cpu_pct_one_core.toFixed(2),
  "hwm MB",
  (m.vm_hwm_bytes / 1e6).toFixed(1),
  "rss",
  (m.vm_rss_bytes / 1e6).toFixed(1),
  "jit",
  r.jitter_p50_ms,
  r.jitter_p99_ms,
  "skip",
  r.skipped_ticks,
  "/",
  r.ticks,
  "read",
  r.read_mean_ms?.toFixed(3),
  r.read_max_ms?.toFixed(2),
);
