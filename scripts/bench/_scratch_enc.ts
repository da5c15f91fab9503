import { RowBatch, SeriesTable } from "../../src/trace/batch.ts";
import { batchColumns, encodeParquet } from "../../src/trace/parquet_codec.ts";
import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import { PARQUET_SCHEMA } from "../../src/trace/schema.ts";
const st = new SeriesTable();
const ids: number[] = [];
for (let g = 0; g < 8; g++) for (let m = 0; m < 15; m++) ids.push(st.id("nvml", `gpu${g}`, `metric_${m}_x`));
for (let z = 0; z < 10; z++) ids.push(st.id("rapl", `zone${z}`, "energy_j"));
const ticks = Number(Deno.args[0] ?? 50);
function mk() { const b = new RowBatch(); for (let k = 0; k < ticks; k++) for (const s of ids) b.push(1.7e15 + k * 1e5, s, Math.round(Math.random() * 1000) / 10); return b; }
const meta = JSON.stringify({ x: "y".repeat(10000) });
const time = (name: string, f: () => unknown, n = 20) => { f(); const t0 = performance.now(); for (let i = 0; i < n; i++) f(); console.log(name, ((performance.now() - t0) / n).toFixed(2), "ms"); };
const b = mk();
console.log("rows", b.length);
time("orderBySeries", () => b.orderBySeries());
time("batchColumns", () => batchColumns(b, st.list, "host"));
const cols = batchColumns(b, st.list, "host");
time("encodeParquet", () => encodeParquet(cols, { "aimeter.meta": meta }));
for (const codec of ["UNCOMPRESSED", "SNAPPY"]) {
time("encode " + codec, () => { const bw = new ByteWriter(); const pw = new ParquetWriter({ writer: bw as any, schema: PARQUET_SCHEMA, codec: codec as any });
 pw.write({ columnData: [
    { name: "time", data: cols.time, encoding: "DELTA_BINARY_PACKED" },
    { name: "host", data: cols.host }, { name: "source", data: cols.source }, { name: "device", data: cols.device }, { name: "metric", data: cols.metric },
    { name: "value", data: cols.value, encoding: "BYTE_STREAM_SPLIT" }], rowGroupSize: cols.time.length + 1 }); pw.finish(); });
}
for (const c of ["time", "host", "source", "device", "metric", "value"] as const) {
  const i = PARQUET_SCHEMA.findIndex((s: any) => s.name === c);
  const sch = [{ name: "root", num_children: 1 }, PARQUET_SCHEMA[i]];
  const enc = c === "time" ? "DELTA_BINARY_PACKED" : c === "value" ? "BYTE_STREAM_SPLIT" : undefined;
  time("col " + c, () => { const bw = new ByteWriter(); const pw = new ParquetWriter({ writer: bw as any, schema: sch, codec: "UNCOMPRESSED" as any });
   pw.write({ columnData: [{ name: c, data: (cols as any)[c], ...(enc ? { encoding: enc } : {}) }], rowGroupSize: cols.time.length + 1 }); pw.finish(); });
}
