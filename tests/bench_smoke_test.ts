/**
 * The benchmark suite runs (a smoke check, no timing asserted): `scripts/bench.ts
 * --quick --only writing` writes bench.json of the documented shape.
 */
import assert from "node:assert/strict";
import { ROOT, tempDir } from "./helpers/cli.ts";

Deno.test("bench --quick --only writing writes bench.json", async () => {
  const out = await tempDir("aimeter-bench-");
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        `${ROOT}/scripts/bench.ts`,
        "--quick",
        "--only",
        "writing",
        "--out",
        out,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert.equal(r.code, 0, dec.decode(r.stderr));
    assert.match(dec.decode(r.stdout), /\| part \| measure \| value \| target \| met \|/);
    const j = JSON.parse(await Deno.readTextFile(`${out}/bench.json`));
    assert.equal(j.schema, "aimeter/bench@1");
    assert.deepEqual(j.parts, ["writing"]);
    assert.equal(typeof j.machine.cpu, "string");
    assert.deepEqual(j.errors, {});
    const runs = j.results.writing.runs;
    assert.deepEqual(runs.map((x: { format: string }) => x.format), ["parquet", "csv", "parquet"]);
    for (const x of runs) {
      assert.ok(x.values > 0 && x.values_per_s > 0 && x.bytes_per_value > 0, JSON.stringify(x));
    }
    assert.ok(
      j.table.length >= 3 && j.table.every((row: { part: string }) => row.part === "writing"),
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
