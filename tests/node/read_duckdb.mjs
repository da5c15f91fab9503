// An independent reader for aimeter's Parquet traces: DuckDB, run under node.
// Usage: node read_duckdb.mjs TRACE.parquet  → prints one JSON object.
import { DuckDBInstance } from "@duckdb/node-api";

const file = process.argv[2].replaceAll("'", "''");
const db = await DuckDBInstance.create(":memory:");
const con = await db.connect();
const q = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson();
const [stats] = await q(
  `SELECT count(*) AS rows, count(DISTINCT source || '/' || device || '/' || metric) AS series,
          min(epoch_us(time)) AS first_us, max(epoch_us(time)) AS last_us
   FROM read_parquet('${file}')`,
);
const schema = await q(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
const perSeries = await q(
  `SELECT source, device, metric, count(*) AS n, sum(value) AS sum, max(value) AS max
   FROM read_parquet('${file}') GROUP BY ALL ORDER BY ALL`,
);
const kv = await q(`SELECT decode(key) AS key FROM parquet_kv_metadata('${file}')`);
console.log(JSON.stringify({ stats, schema, perSeries, kv }));
