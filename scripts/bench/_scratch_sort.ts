import { RowBatch } from "../../src/trace/batch.ts";
for (let trial = 0; trial < 200; trial++) {
  const b = new RowBatch(4);
  const n = Math.floor(Math.random() * 300);
  for (let i = 0; i < n; i++) b.push(Math.floor(Math.random() * 20), Math.floor(Math.random() * 7), i);
  const got = Array.from(b.orderBySeries());
  const want = Array.from({ length: n }, (_, i) => i).sort((x, y) => b.series[x] - b.series[y] || b.time[x] - b.time[y] || x - y);
  if (JSON.stringify(got) !== JSON.stringify(want)) { console.log("MISMATCH", trial); Deno.exit(1); }
}
console.log("ok");
