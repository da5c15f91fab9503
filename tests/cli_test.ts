import assert from "node:assert/strict";
import { aimeter, tempDir } from "./helpers/cli.ts";
import { VERSION } from "../src/version.ts";

Deno.test("--version prints the version", async () => {
  const r = await aimeter(["--version"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, new RegExp(`aimeter ${VERSION.replaceAll(".", "\\.")}`));
});

for (const sub of ["run", "record", "report", "sensors"]) {
  Deno.test(`${sub} --help explains the command`, async () => {
    const r = await aimeter([sub, "--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Usage: aimeter ${sub}`));
  });
}

Deno.test("an unknown flag exits 2 and names the flag", async () => {
  const r = await aimeter(["record", "--intervall", "1s"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--intervall/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/); // no stack trace
});

Deno.test("a bad duration exits 2 and names the flag", async () => {
  const r = await aimeter(["record", "--interval", "fast", "--duration", "1s"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--interval: 'fast' is not a duration/);
});

Deno.test("an interval under 10ms is refused", async () => {
  const r = await aimeter(["record", "--interval", "5ms", "--duration", "1s"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /below the 10ms minimum/);
});

Deno.test("a bad --format is refused with the choices", async () => {
  const r = await aimeter(["record", "--format", "xlsx", "--duration", "1s"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--format/);
  assert.match(r.stderr, /parquet, csv/);
});

Deno.test("run without a command exits 2", async () => {
  const r = await aimeter(["run"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no command given/);
});

Deno.test("report of a missing path exits 2 with a clear message", async () => {
  const dir = await tempDir();
  const r = await aimeter(["report", `${dir}/nope`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no such file or folder/);
});

Deno.test("report of a file that is not a trace exits 2 without a stack trace", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/bad.parquet`, "this is not parquet");
  await Deno.writeTextFile(`${dir}/bad.csv`, "a,b\n1,2\n");
  for (const f of ["bad.parquet", "bad.csv"]) {
    const r = await aimeter(["report", `${dir}/${f}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(f.replace(".", "\\.")));
    assert.doesNotMatch(r.stderr, /at .*\.(ts|js):\d+/);
  }
});
