// DuckDB (npm @duckdb/node-api, installed under tests/node) aggregating a trace
// per series, for the side-by-side with aimeter's report time. Run under node:
//   node scripts/bench/duckdb_aggregate.mjs TRACE.parquet [THREADS]  → one JSON object
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const here = new URL("../../tests/node/package.json", import.meta.url);
const resolved = createRequire(here).resolve("@duckdb/node-api");
const { DuckDBInstance } = await import(pathToFileURL(resolved).href);

const file = process.argv[2].replaceAll("'", "''");
const t0 = performance.now();
const db = await DuckDBInstance.create(":memory:");
const con = await db.connect();
if (process.argv[3]) await con.run(`SET threads = ${Number(process.argv[3])}`);
const t1 = performance.now();
const reader = await con.runAndReadAll(
  `SELECT host, source, device, metric, count(*) AS n, min(value) AS min, max(value) AS max,
          avg(value) AS mean, min(epoch_us(time)) AS first_us, max(epoch_us(time)) AS last_us
   FROM read_parquet('${file}') GROUP BY ALL ORDER BY ALL`,
);
const rows = reader.getRowObjectsJson();
const t2 = performance.now();
console.log(JSON.stringify({
  series: rows.length,
  values: rows.reduce((a, r) => a + Number(r.n), 0),
  open_ms: t1 - t0,
  query_ms: t2 - t1,
  threads:
    (await (await con.runAndReadAll("SELECT current_setting('threads') AS t")).getRowObjectsJson())[
      0
    ].t,
}));
