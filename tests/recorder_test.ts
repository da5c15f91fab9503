/**
 * The recorder end to end, as a subprocess: exit codes pass through, stdout
 * is untouched, SIGTERM finalizes, SIGKILL leaves readable segments.
 * Sources are limited to `proc` (real /proc) so the tests run on any machine.
 */
import assert from "node:assert/strict";
import { aimeter, spawnAimeter, tempDir, waitFor } from "./helpers/cli.ts";
import { locateTrace, readTrace } from "../src/trace/reader.ts";

const BASE = ["--sources", "proc", "--no-report", "--interval", "50ms"];

Deno.test("run passes the exit code, stdout and stderr of the command through", async () => {
  const dir = await tempDir();
  const r = await aimeter([
    "run",
    ...BASE,
    "--out",
    `${dir}/run`,
    "--",
    "sh",
    "-c",
    "printf 'hello\\nworld'; echo oops >&2; exit 3",
  ]);
  assert.equal(r.code, 3);
  assert.equal(r.stdout, "hello\nworld");
  assert.match(r.stderr, /oops/);
  const summary = JSON.parse(await Deno.readTextFile(`${dir}/run/summary.json`));
  assert.equal(summary.schema, "aimeter/summary@1");
  assert.equal(summary.run.exit_code, 3);
  assert.deepEqual(summary.run.command, [
    "sh",
    "-c",
    "printf 'hello\\nworld'; echo oops >&2; exit 3",
  ]);
});

Deno.test("a command killed by signal N gives exit code 128+N", async () => {
  const dir = await tempDir();
  const r = await aimeter([
    "run",
    ...BASE,
    "--quiet",
    "--out",
    `${dir}/r`,
    "--",
    "sh",
    "-c",
    "kill -KILL $$",
  ]);
  assert.equal(r.code, 137);
});

Deno.test("a command that does not exist exits 127 with one clear line", async () => {
  const dir = await tempDir();
  const r = await aimeter(["run", ...BASE, "--out", `${dir}/r`, "--", "no-such-command-xyz"]);
  assert.equal(r.code, 127);
  assert.match(r.stderr, /command not found: no-such-command-xyz/);
});

Deno.test("run records the command's process tree CPU (a busy child shows ~100% of a core)", async () => {
  const dir = await tempDir();
  const r = await aimeter([
    "run",
    ...BASE,
    "--quiet",
    "--out",
    `${dir}/r`,
    "--",
    "sh",
    "-c",
    "timeout 2 sh -c 'while :; do :; done'; true",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const tr = await readTrace(`${dir}/r`);
  const cpu = tr.series.find((s) => s.key === "proc/process/cpu_pct");
  assert.ok(cpu, `no process cpu series in ${tr.series.map((s) => s.key)}`);
  const mid = Array.from(cpu.values).slice(5, -3);
  const mean = mid.reduce((a, b) => a + b, 0) / mid.length;
  // a whole core when the machine is quiet; on a loaded 2-core CI machine the
  // child gets less (tests/proc_test.ts checks against the scheduler's own count)
  assert.ok(mean > 35 && mean < 130, `mean cpu_pct ${mean}`);
});

Deno.test("record stops on SIGTERM and finalizes the trace and summary", async () => {
  const dir = await tempDir();
  const p = spawnAimeter(["record", ...BASE, "--out", `${dir}/rec`, "--pid-file", `${dir}/pid`]);
  assert.ok(
    await waitFor(() => {
      try {
        return Deno.readDirSync(`${dir}/rec/trace.parts`).some(() => true) || true;
      } catch {
        return false;
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 800));
  p.kill("SIGTERM");
  const out = await p.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const loc = locateTrace(`${dir}/rec`);
  assert.equal(loc.complete, true);
  assert.equal(loc.files[0], `${dir}/rec/trace.parquet`);
  const summary = JSON.parse(await Deno.readTextFile(`${dir}/rec/summary.json`));
  assert.ok(summary.run.duration_s > 0.5);
  const tr = await readTrace(`${dir}/rec`);
  assert.ok(tr.series.some((s) => s.key === "proc/cpu/util_pct" && s.values.length >= 10));
  assert.throws(() => Deno.statSync(`${dir}/pid`), "pid file removed at the end");
});

Deno.test("SIGKILL mid-run leaves complete, readable segments", async () => {
  const dir = await tempDir();
  const p = spawnAimeter(["record", ...BASE, "--out", `${dir}/k`], {
    AIMETER_SEGMENT_SECONDS: "0.5",
  });
  const ok = await waitFor(() => {
    try {
      return [...Deno.readDirSync(`${dir}/k/trace.parts`)].filter((e) =>
        e.name.endsWith(".parquet")
      )
        .length >= 3;
    } catch {
      return false;
    }
  }, 15000);
  assert.ok(ok, "segments were written");
  p.kill("SIGKILL");
  await p.output();
  const loc = locateTrace(`${dir}/k`);
  assert.equal(loc.complete, false);
  const tr = await readTrace(`${dir}/k`);
  assert.ok(tr.rows > 0);
  const util = tr.series.find((s) => s.key === "proc/cpu/util_pct")!;
  assert.ok(util.values.length >= 10, `${util.values.length} samples survived`);
  // and `aimeter report` can still make a summary of it
  const r = await aimeter(["report", "--quiet", `${dir}/k`, "-o", `${dir}/k/report.html`]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(await Deno.readTextFile(`${dir}/k/summary.json`));
  assert.equal(summary.run.complete, false);
});

Deno.test("record --duration stops by itself; CSV traces work the same", async () => {
  const dir = await tempDir();
  const r = await aimeter([
    "record",
    ...BASE,
    "--format",
    "csv",
    "--duration",
    "0.6s",
    "--out",
    `${dir}/c`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const head = (await Deno.readTextFile(`${dir}/c/trace.csv`)).split("\n")[0];
  assert.equal(head, "time,host,source,device,metric,value");
  const tr = await readTrace(`${dir}/c`);
  const util = tr.series.find((s) => s.key === "proc/cpu/util_pct")!;
  assert.ok(util.values.length >= 8 && util.values.length <= 16, `${util.values.length} samples`);
});

Deno.test("a run folder holding a run is refused (exit 2) unless --overwrite", async () => {
  const dir = await tempDir();
  const args = ["record", ...BASE, "--quiet", "--duration", "0.3s", "--out", `${dir}/r`];
  assert.equal((await aimeter(args)).code, 0);
  // a stale segment of a crashed run must not end up in the next trace
  Deno.mkdirSync(`${dir}/r/trace.parts`);
  Deno.copyFileSync(`${dir}/r/trace.parquet`, `${dir}/r/trace.parts/seg-000099.parquet`);
  const refused = await aimeter(args);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /already holds a run .*--overwrite/);
  const again = await aimeter([...args, "--overwrite"]);
  assert.equal(again.code, 0, again.stderr);
  const tr = await readTrace(`${dir}/r`);
  const util = tr.series.find((s) => s.key === "proc/cpu/util_pct")!;
  assert.ok(util.values.length < 15, `${util.values.length} samples: only the new run`);
});
