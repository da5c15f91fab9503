/** Plain Series and Trace objects for analysis tests (no files). */
import type { Series, Trace } from "../../src/trace/reader.ts";
import { mulberry32 } from "../../src/analysis/prng.ts";
import type { TraceMeta } from "../../src/trace/schema.ts";

/** A seeded PRNG (mulberry32) and a standard normal from it. */
export function rng(seed: number): { u: () => number; normal: () => number } {
  const u = mulberry32(seed);
  const normal = () => {
    const x = Math.max(u(), 1e-12), y = u();
    return Math.sqrt(-2 * Math.log(x)) * Math.cos(2 * Math.PI * y);
  };
  return { u, normal };
}

export const T0 = Date.UTC(2026, 10, 1, 12) * 1000; // µs

export function series(
  source: string,
  device: string,
  metric: string,
  times: ArrayLike<number>,
  values: ArrayLike<number>,
  host = "node1",
): Series {
  return {
    host,
    source,
    device,
    metric,
    key: `${source}/${device}/${metric}`,
    times: Float64Array.from(times),
    values: Float64Array.from(values),
  };
}

/** A series sampled every `dtS` seconds from T0, values from f(i, tSeconds). */
export function sampled(
  key: string,
  n: number,
  dtS: number,
  f: (i: number, t: number) => number,
  startS = 0,
): Series {
  const [source, device, ...rest] = key.split("/");
  const times: number[] = [], values: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = startS + i * dtS;
    times.push(T0 + t * 1e6);
    values.push(f(i, t));
  }
  return series(source, device, rest.join("/"), times, values);
}

/** Cumulative energy from a power series (same times). */
export function energyFrom(p: Series): Series {
  const v: number[] = [0];
  for (let i = 1; i < p.times.length; i++) {
    v.push(
      v[i - 1] + ((p.values[i] + p.values[i - 1]) / 2) * ((p.times[i] - p.times[i - 1]) / 1e6),
    );
  }
  return series(p.source, p.device, "energy_j", p.times, v, p.host);
}

export function trace(series: Series[], meta: Partial<TraceMeta> = {}): Trace {
  let t0 = Infinity, t1 = -Infinity;
  for (const s of series) {
    if (!s.times.length) continue;
    t0 = Math.min(t0, s.times[0]);
    t1 = Math.max(t1, s.times[s.times.length - 1]);
  }
  return {
    meta: {
      schema: "aimeter/trace@1",
      aimeter_version: "test",
      host: "node1",
      command: ["python", "train.py"],
      start: new Date(t0 / 1000).toISOString(),
      end: new Date(t1 / 1000).toISOString(),
      interval_s: 0.1,
      mode: "run",
      exit_code: 0,
      devices: [],
      notes: [],
      ...meta,
    },
    series,
    rows: series.reduce((a, s) => a + s.times.length, 0),
    location: { files: [], format: "parquet", complete: true },
  };
}
