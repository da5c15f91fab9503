import { writeFixtureTrace } from "../../tests/helpers/fixture_trace.ts";
const [dir, dur, dt] = Deno.args;
const t0 = performance.now();
await writeFixtureTrace({ dir, gpus: 8, durationS: Number(dur), intervalS: Number(dt),
  gpuMetrics: ["power_w","energy_j","util_pct","mem_util_pct","mem_used_bytes","temp_c","sm_clock_mhz","mem_clock_mhz","power_limit_w"] });
console.log("gen s", (performance.now()-t0)/1000, Deno.memoryUsage().rss/1e6);
