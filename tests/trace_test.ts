import assert from "node:assert/strict";
import { TraceWriter } from "../src/trace/writer.ts";
import { locateTrace, readTrace } from "../src/trace/reader.ts";
import { isoMicros, parseIsoMicros } from "../src/trace/csv_codec.ts";
import type { TraceFormat, TraceMeta } from "../src/trace/schema.ts";
import { ROOT, tempDir } from "./helpers/cli.ts";

function meta(): TraceMeta {
  return {
    schema: "aimeter/trace@1",
    aimeter_version: "test",
    host: 'node,"01"',
    command: ["python", "train.py"],
    start: "2026-11-26T00:00:00.000Z",
    interval_s: 0.1,
    mode: "run",
  };
}

/** Two GPUs × 3 metrics, 120 ticks with distinct values; returns the truth per series. */
function fill(w: TraceWriter, flushEvery = 0) {
  const truth = new Map<string, [number, number][]>();
  const t0 = 1_764_115_200_000_000; // 2025-11-26T00:00:00Z in µs
  for (let k = 0; k < 120; k++) {
    const t = t0 + k * 100_000 + 7; // odd microseconds must survive
    for (const gpu of ["gpu0", "gpu1"]) {
      for (
        const [metric, v] of [["power_w", 300 + k * 0.25], ["energy_j", k * 30.0625], [
          "util_pct",
          k % 100,
        ]] as const
      ) {
        const id = w.seriesId("nvml", gpu, metric);
        w.append(t, id, v);
        const key = `nvml/${gpu}/${metric}`;
        if (!truth.has(key)) truth.set(key, []);
        truth.get(key)!.push([t, v]);
      }
    }
    if (flushEvery && k % flushEvery === flushEvery - 1) w.flush();
  }
  return truth;
}

for (const format of ["parquet", "csv"] as TraceFormat[]) {
  Deno.test(`${format} trace round trip keeps every row, µs times and values`, async () => {
    const dir = await tempDir();
    const w = new TraceWriter({ dir, format, meta: meta() });
    const truth = fill(w, 25);
    await w.finalize({ end: "2026-11-26T00:00:12.000Z", exit_code: 0 });
    const tr = await readTrace(dir);
    assert.equal(tr.rows, 720);
    assert.equal(tr.series.length, 6);
    assert.equal(tr.meta?.host, 'node,"01"');
    assert.equal(tr.meta?.exit_code, 0);
    for (const s of tr.series) {
      const want = truth.get(s.key)!;
      assert.equal(s.host, 'node,"01"');
      assert.deepEqual(Array.from(s.times), want.map((x) => x[0]));
      assert.deepEqual(Array.from(s.values), want.map((x) => x[1]));
    }
  });
}

Deno.test("ISO times with microseconds survive both ways", () => {
  const us = 1_764_115_200_123_457;
  assert.equal(isoMicros(us), "2025-11-26T00:00:00.123457Z");
  assert.equal(parseIsoMicros(isoMicros(us)), us);
  assert.ok(Number.isNaN(parseIsoMicros("yesterday")));
});

Deno.test("an unfinished trace (segments only) is readable and marked incomplete", async () => {
  const dir = await tempDir();
  const w = new TraceWriter({ dir, format: "parquet", meta: meta() });
  fill(w, 30);
  w.flush(); // no finalize: as if the recorder was killed
  const loc = locateTrace(dir);
  assert.equal(loc.complete, false);
  assert.equal(loc.files.length, 4);
  const tr = await readTrace(dir);
  assert.equal(tr.rows, 720);
  assert.equal(tr.meta?.command[0], "python");
});

Deno.test("DuckDB reads aimeter's Parquet trace: schema, rows, µs timestamps, metadata", async () => {
  const duck = `${ROOT}/tests/node/node_modules/@duckdb/node-api`;
  try {
    Deno.statSync(duck);
  } catch {
    throw new Error("DuckDB is not installed: run `npm install` in tests/node (.ci/run does)");
  }
  const dir = await tempDir();
  const w = new TraceWriter({ dir, format: "parquet", meta: meta() });
  const truth = fill(w, 40);
  const path = await w.finalize();
  const out = await new Deno.Command("node", {
    args: [`${ROOT}/tests/node/read_duckdb.mjs`, path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(Number(r.stats.rows), 720);
  assert.equal(Number(r.stats.series), 6);
  assert.equal(Number(r.stats.first_us), 1_764_115_200_000_007);
  const types = Object.fromEntries(
    r.schema.map((
      c: { column_name: string; column_type: string },
    ) => [c.column_name, c.column_type]),
  );
  assert.equal(types.time, "TIMESTAMP WITH TIME ZONE");
  assert.equal(types.value, "DOUBLE");
  assert.equal(types.metric, "VARCHAR");
  const power = r.perSeries.find((s: { device: string; metric: string }) =>
    s.device === "gpu1" && s.metric === "power_w"
  );
  const want = truth.get("nvml/gpu1/power_w")!.reduce((a, x) => a + x[1], 0);
  assert.ok(Math.abs(Number(power.sum) - want) < 1e-6);
  assert.ok(r.kv.some((k: { key: string }) => k.key === "aimeter.meta"));
});

Deno.test("a segment is written when it is full, before its time is up", async () => {
  const dir = await tempDir();
  const w = new TraceWriter({ dir, format: "parquet", meta: meta(), segmentRows: 100 });
  const id = w.seriesId("nvml", "gpu0", "power_w");
  for (let i = 0; i < 99; i++) w.append(1e15 + i, id, i);
  assert.equal(w.maybeFlush(), false);
  w.append(1e15 + 99, id, 99);
  assert.equal(w.maybeFlush(), true);
  assert.equal(w.pending, 0);
  assert.equal(locateTrace(dir).files.length, 1);
});

Deno.test("a trace too large to hold whole keeps bucket extremes and exact numbers", async () => {
  const { buildSummary } = await import("../src/analysis/summary.ts");
  const dir = await tempDir();
  const w = new TraceWriter({ dir, format: "parquet", meta: meta(), segmentRows: 5000 });
  const p0 = w.seriesId("amdgpu", "card0", "power_w"); // power only: energy by integral
  const u0 = w.seriesId("amdgpu", "card0", "util_pct");
  const e1 = w.seriesId("nvml", "gpu1", "energy_j");
  const p1 = w.seriesId("nvml", "gpu1", "power_w");
  const t0 = 1_764_115_200_000_000;
  let e = 0;
  for (let k = 0; k < 20_000; k++) {
    const t = t0 + k * 100_000;
    const spike = k === 12_345 ? 900 : 0; // one short peak must survive
    w.append(t, p0, 150 + 50 * Math.sin(k / 500) + spike);
    w.append(t, u0, k % 100);
    e += 30;
    w.append(t, e1, e);
    w.append(t, p1, 300);
    w.maybeFlush();
  }
  await w.finalize();
  const full = await readTrace(dir);
  const small = await readTrace(dir, { reduceAboveRows: 10_000, buckets: 200 });
  const ps = small.series.find((s) => s.key === "amdgpu/card0/power_w")!;
  assert.equal(ps.reduced, true);
  assert.ok(ps.times.length <= 800, `${ps.times.length} points kept`);
  assert.ok(Math.max(...ps.values) >= 1000, "the spike is kept");
  const a = buildSummary([full]), b = buildSummary([small]);
  for (const d of a.devices) {
    const r = b.devices.find((x) => x.device === d.device)!;
    assert.ok(Math.abs(r.energy_j! - d.energy_j!) < 1e-6 * d.energy_j!, `${d.device} energy`);
    assert.equal(r.peak_power_w, d.peak_power_w);
    assert.equal(r.samples, d.samples);
    assert.equal(r.duration_s, d.duration_s);
  }
  const util = small.series.find((s) => s.key === "amdgpu/card0/util_pct")!;
  assert.equal(util.stats!.sum / util.stats!.n, 49.5);
});

Deno.test("segments are cheap to write (time PLAIN, time statistics only); the merged trace is compact with full statistics", async () => {
  const { asyncBufferFromFile, parquetMetadataAsync } = await import("hyparquet");
  const stats = async (file: string) => {
    const md = await parquetMetadataAsync(await asyncBufferFromFile(file));
    return Object.fromEntries(
      md.row_groups[0].columns.map((c) => [
        c.meta_data!.path_in_schema[0],
        c.meta_data!.statistics?.min_value !== undefined,
      ]),
    );
  };
  const dir = await tempDir();
  const w = new TraceWriter({ dir, format: "parquet", meta: meta() });
  fill(w, 60);
  const timeEncodings = async (file: string) => {
    const md = await parquetMetadataAsync(await asyncBufferFromFile(file));
    return md.row_groups[0].columns[0].meta_data!.encodings;
  };
  const [seg] = locateTrace(dir).files;
  assert.ok((await timeEncodings(seg)).includes("PLAIN"));
  assert.deepEqual(await stats(seg), {
    time: true,
    host: false,
    source: false,
    device: false,
    metric: false,
    value: false,
  });
  const path = await w.finalize();
  assert.ok((await timeEncodings(path)).includes("DELTA_BINARY_PACKED"));
  assert.deepEqual(await stats(path), {
    time: true,
    host: true,
    source: true,
    device: true,
    metric: true,
    value: true,
  });
});
