/**
 * The shipped program is one file: `deno bundle` output run from an empty
 * folder, end to end. This proves nothing reads the source tree at run time
 * (templates, carbon table and snippets are imported into the bundle).
 * (`deno compile` makes the same program into a binary; it needs Deno's
 * `denort` download, which these machines cannot reach, see the README.)
 */
import assert from "node:assert/strict";
import { ROOT, tempDir } from "./helpers/cli.ts";

async function run(args: string[], cwd: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("the bundle runs from an empty folder: run, summary, report, sensors", async () => {
  const build = await tempDir();
  const bundle = `${build}/aimeter.js`;
  const b = await run(
    ["bundle", "--quiet", "--platform", "deno", "-o", bundle, `${ROOT}/main.ts`],
    ROOT,
  );
  assert.equal(b.code, 0, b.stderr);

  const empty = await tempDir();
  const v = await run(["run", "-A", bundle, "--version"], empty);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /^aimeter \d+\.\d+\.\d+/);

  const r = await run([
    "run",
    "-A",
    bundle,
    "run",
    "--sources",
    "proc",
    "--region",
    "FR",
    "--out",
    "job",
    "--",
    "sh",
    "-c",
    "sleep 0.4; exit 4",
  ], empty);
  assert.equal(r.code, 4, r.stderr);
  const summary = JSON.parse(await Deno.readTextFile(`${empty}/job/summary.json`));
  assert.equal(summary.run.exit_code, 4);
  assert.equal(summary.carbon.region, "FR"); // the embedded carbon table is inside the bundle
  const html = await Deno.readTextFile(`${empty}/job/report.html`);
  assert.match(html, /^<!doctype html>/i);
  Deno.statSync(`${empty}/job/trace.parquet`);

  const s = await run(["run", "-A", bundle, "sensors", "--json"], empty);
  assert.equal(s.code, 0, s.stderr);
  const doc = JSON.parse(s.stdout);
  assert.ok(doc.sources.some((x: { source: string }) => x.source === "proc"));
  // only what the run wrote is in the folder
  assert.deepEqual([...Deno.readDirSync(empty)].map((e) => e.name).sort(), ["job"]);
});
