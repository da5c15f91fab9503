/**
 * The SLURM integration against a real SLURM (Debian's slurmctld/slurmd,
 * munge) on loopback: two nodes on this host, aimeter as their node
 * Prolog/Epilog, a two-node job submitted with sbatch by an ordinary user.
 * Plus unit tests of the pieces that need no cluster.
 */
import assert from "node:assert/strict";
import { clusterUnavailable, startCluster, userIds } from "./helpers/slurm_cluster.ts";
import { MAIN, ROOT } from "./helpers/cli.ts";
import { smtpSinkUnavailable, startSmtpSink } from "./helpers/smtp_sink.ts";
import { jobFromEnv } from "../src/slurm/job.ts";
import {
  cgroupPids,
  foreignGpuUse,
  jobCgroupPath,
  jobGpuSelection,
  jobOfPid,
} from "../src/slurm/procs.ts";
import { loadSettings } from "../src/slurm/config.ts";

const skip = clusterUnavailable();
const noSink = await smtpSinkUnavailable();

async function denoDir(): Promise<string> {
  const env = Deno.env.get("DENO_DIR");
  if (env) return env;
  const r = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stderr: "null" })
    .output();
  return JSON.parse(new TextDecoder().decode(r.stdout)).denoDir;
}

/** An absolute-path script for slurm.conf (slurmd gives Prolog/Epilog no PATH or HOME). */
async function hookScript(dir: string, jobsDir: string, extraEnv: Record<string, string> = {}) {
  const path = `${dir}/aimeter-hook.sh`;
  // an empty settings file: the machine's /etc/aimeter/slurm.json does not apply
  Deno.writeTextFileSync(`${dir}/slurm.json`, "{}\n");
  const exports = Object.entries({
    DENO_DIR: await denoDir(),
    AIMETER_SLURM_DIR: jobsDir,
    AIMETER_SLURM_CONFIG: `${dir}/slurm.json`,
    AIMETER_SLURM_INTERVAL: "200ms",
    ...extraEnv,
  }).map(([k, v]) => `export ${k}='${v}'`).join("\n");
  Deno.writeTextFileSync(
    path,
    `#!/bin/sh\n${exports}\n${Deno.execPath()} run -A --quiet --config ${ROOT}/deno.json ${MAIN} slurm hook\nexit 0\n`,
  );
  Deno.chmodSync(path, 0o755);
  return path;
}

function mode(path: string): number {
  return Deno.statSync(path).mode! & 0o777;
}

function walk(path: string, out: string[] = []): string[] {
  out.push(path);
  if (Deno.statSync(path).isDirectory) {
    for (const e of Deno.readDirSync(path)) walk(`${path}/${e.name}`, out);
  }
  return out;
}

Deno.test({
  name: "slurm: a two-node sbatch job gets one trace per node and a merged job report",
  ignore: skip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t0 = performance.now();
    const base = await Deno.makeTempDir({ prefix: "aimeter-slurmtest-" });
    Deno.chmodSync(base, 0o755);
    const jobsDir = `${base}/jobs`;
    const work = `${base}/work`;
    Deno.mkdirSync(work);
    Deno.chmodSync(work, 0o777);
    const sink = noSink === null ? await startSmtpSink() : undefined;
    const hook = await hookScript(
      base,
      jobsDir,
      sink
        ? {
          AIMETER_MAIL_DOMAIN: "example.org",
          AIMETER_MAIL_SMTP_HOST: "127.0.0.1",
          AIMETER_MAIL_SMTP_PORT: String(sink.port),
          AIMETER_MAIL_STARTTLS: "off",
        }
        : {},
    );
    const cluster = await startCluster({ prolog: hook, epilog: hook });
    try {
      const user = "nobody";
      const ids = userIds(user);
      const id = await cluster.sbatch([
        "-N",
        "2",
        "--job-name=aimeter-test",
        `--chdir=${work}`,
        `--output=${work}/out-%j.txt`,
        "--wrap",
        "srun sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'; sleep 1",
      ], user);
      const state = await cluster.waitJob(id, 120);
      assert.equal(state, "COMPLETED", Deno.readTextFileSync(`${work}/out-${id}.txt`));
      const jobDir = `${jobsDir}/${id}`;
      // the report appears when the last epilog is done; scontrol may say COMPLETED just before
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        try {
          Deno.statSync(`${jobDir}/report.html`);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      const log = (() => {
        try {
          return Deno.readTextFileSync(`${jobsDir}/aimeter-slurm.log`);
        } catch {
          return "(no log)";
        }
      })();
      for (const n of ["n1", "n2"]) {
        let st: Deno.FileInfo | undefined;
        try {
          st = Deno.statSync(`${jobDir}/${n}`);
        } catch { /* reported below, with the hook log */ }
        assert.ok(st?.isDirectory, `no trace folder for ${n}\n${log}`);
        const files = [...Deno.readDirSync(`${jobDir}/${n}`)].map((e) => e.name);
        assert.ok(
          files.some((f) => /^trace\.(parquet|csv)$/.test(f)),
          `${n}: ${files.join(", ")}\n${log}`,
        );
      }
      assert.ok(Deno.statSync(`${jobDir}/report.html`).isFile, log);
      const summary = JSON.parse(Deno.readTextFileSync(`${jobDir}/summary.json`));
      assert.deepEqual([...summary.run.hosts].sort(), ["n1", "n2"]);
      assert.equal(summary.slurm_job.job_id, id);
      assert.equal(summary.slurm_job.user, user);
      assert.deepEqual(summary.slurm_job.missing_nodes, []);
      // every file is the job user's and private
      for (const p of walk(jobDir)) {
        const st = Deno.statSync(p);
        assert.equal(st.uid, ids.uid, `${p} is owned by ${st.uid}`);
        assert.equal(st.gid, ids.gid, `${p} has group ${st.gid}`);
        assert.equal(mode(p) & 0o077, 0, `${p} is readable by others: ${mode(p).toString(8)}`);
      }
      // every trace is tagged with the job and written under the SLURM node name
      for (const n of ["n1", "n2"]) {
        const meta = JSON.parse(Deno.readTextFileSync(`${jobDir}/${n}/meta.json`));
        assert.equal(meta.host, n);
        assert.equal(meta.extra.slurm_job.job_id, id);
        assert.equal(meta.extra.slurm_job.node, n);
        assert.equal(meta.extra.slurm_job.step_id, "");
        assert.equal(meta.extra.slurm_job.array_job_id, "");
        assert.deepEqual(meta.extra.slurm_job.nodes, ["n1", "n2"]);
      }
      const html = Deno.readTextFileSync(`${jobDir}/report.html`);
      assert.match(html, /n1/);
      assert.match(html, /n2/);
      // the nodes stay in service (a failing prolog would drain them)
      for (const n of ["n1", "n2"]) assert.equal(await cluster.nodeState(n), "idle", log);
      assert.doesNotMatch(log, / error /, log);
      // no recorder is left behind
      const left = [...Deno.readDirSync(`${jobsDir}/.aimeter-state`)].filter((e) =>
        e.name.endsWith(".pid")
      );
      assert.deepEqual(left.map((e) => e.name), []);
      // the batch host's epilog mailed the report to the job's user
      if (sink) {
        const msgs = await sink.waitFor(1);
        assert.equal(msgs.length, 1, log);
        assert.equal(msgs[0].to, `${user}@example.org`);
        assert.match(msgs[0].subject, new RegExp(`SLURM job ${id}: .* on 2 nodes`));
        assert.match(msgs[0].body, /n1 +\S/);
        assert.ok(msgs[0].attachments.some((a) => a.filename === "report.html"));
      }
      console.log(`slurm job test: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      await sink?.stop();
      await cluster.stop();
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "slurm: a prolog that cannot work still exits 0 and the node stays in service",
  ignore: skip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const base = await Deno.makeTempDir({ prefix: "aimeter-slurmtest-" });
    Deno.chmodSync(base, 0o755);
    const work = `${base}/work`;
    Deno.mkdirSync(work);
    Deno.chmodSync(work, 0o777);
    // the job folder's parent is a file: nothing can be written
    Deno.writeTextFileSync(`${base}/blocked`, "");
    const hook = await hookScript(base, `${base}/blocked/jobs`);
    const cluster = await startCluster({ prolog: hook, epilog: hook, nodes: ["n1"] });
    try {
      const id = await cluster.sbatch(
        ["-N", "1", `--chdir=${work}`, "--output=/dev/null", "--wrap", "true"],
        "nobody",
      );
      assert.equal(await cluster.waitJob(id, 60), "COMPLETED");
      assert.equal(await cluster.nodeState("n1"), "idle");
    } finally {
      await cluster.stop();
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "slurm: without admin rights, `srun aimeter run` per node merges into one job report",
  ignore: skip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const base = await Deno.makeTempDir({ prefix: "aimeter-slurmtest-" });
    Deno.chmodSync(base, 0o755);
    const cluster = await startCluster({ nodes: ["n1", "n2"] });
    try {
      const wrapper = `${base}/aimeter`;
      Deno.writeTextFileSync(
        wrapper,
        `#!/bin/sh\nexport DENO_DIR='${await denoDir()}'\nexec ${Deno.execPath()} run -A --quiet --config ${ROOT}/deno.json ${MAIN} "$@"\n`,
      );
      Deno.chmodSync(wrapper, 0o755);
      // what the README (SLURM section) tells users to put in their batch script
      const script = `${base}/job.sh`;
      Deno.writeTextFileSync(
        script,
        `#!/bin/sh
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
srun sh -c 'exec ${wrapper} run --quiet --no-report --interval 200ms --out "aimeter-$SLURM_JOB_ID/$SLURMD_NODENAME" -- sleep 1'
`,
      );
      // run as root here: the job's user needs only aimeter on the nodes and a shared folder
      const id = await cluster.sbatch([`--chdir=${base}`, `--output=${base}/out-%j.txt`, script]);
      const state = await cluster.waitJob(id, 120);
      const out = (() => {
        try {
          return Deno.readTextFileSync(`${base}/out-${id}.txt`);
        } catch {
          return "";
        }
      })();
      assert.equal(state, "COMPLETED", out);
      const jobDir = `${base}/aimeter-${id}`;
      assert.deepEqual([...Deno.readDirSync(jobDir)].map((e) => e.name).sort(), ["n1", "n2"]);
      const r = await new Deno.Command(wrapper, {
        args: ["report", jobDir, "--quiet"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
      const summary = JSON.parse(Deno.readTextFileSync(`${jobDir}/summary.json`));
      assert.ok(Deno.statSync(`${jobDir}/report.html`).isFile);
      assert.equal(summary.run.slurm.job_id, id);
      assert.ok(summary.run.complete);
    } finally {
      await cluster.stop();
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("slurm: job facts from a Prolog environment", () => {
  const j = jobFromEnv({
    SLURM_JOB_ID: "42",
    SLURM_JOB_USER: "alice",
    SLURM_JOB_UID: "1001",
    SLURM_JOB_GID: "100",
    SLURMD_NODENAME: "gpu07",
    SLURM_NODELIST: "gpu[07-08],cpu1",
    SLURM_JOB_GPUS: "0,2",
    SLURM_ARRAY_JOB_ID: "40",
    SLURM_ARRAY_TASK_ID: "3",
  });
  assert.equal(j.jobKey, "40_3");
  assert.equal(j.node, "gpu07");
  assert.deepEqual(j.nodes, ["gpu07", "gpu08", "cpu1"]);
  assert.deepEqual(j.gpus, ["0", "2"]);
  assert.equal(j.uid, 1001);
  assert.equal(j.gid, 100);
  assert.throws(() => jobFromEnv({}), /SLURM_JOB_ID/);
});

Deno.test("slurm: settings from file, environment and flags, in that order", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(
      `${dir}/slurm.json`,
      JSON.stringify({
        dir: "/from/file",
        interval: "5s",
        mail: { domain: "example.org", smtpHost: "mail.example.org" },
      }),
    );
    const s = loadSettings({ config: `${dir}/slurm.json`, interval: "2s" }, {
      AIMETER_SLURM_DIR: "/from/env",
      AIMETER_MAIL_SMTP_PORT: "2525",
    });
    assert.equal(s.dir, "/from/env");
    assert.equal(s.interval, "2s");
    assert.equal(s.stateDir, "/from/env/.aimeter-state");
    assert.equal(s.mail.domain, "example.org");
    assert.equal(s.mail.smtpHost, "mail.example.org");
    assert.equal(s.mail.smtpPort, 2525);
    assert.equal(s.mail.starttls, "auto");
    assert.throws(() => loadSettings({ config: `${dir}/missing.json` }, {}), /cannot read/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("slurm: cgroups, GPU UUIDs by minor number, other jobs on the job's GPUs", () => {
  const root = Deno.makeTempDirSync();
  try {
    const sys = `${root}/sys`, proc = `${root}/proc`, dev = `${root}/dev`;
    // cgroup v2 with slurmd in system.slice/slurmd.service
    const scope = `${sys}/fs/cgroup/system.slice/slurmstepd.scope`;
    Deno.mkdirSync(`${scope}/job_7/step_batch/user/task_0`, { recursive: true });
    Deno.mkdirSync(`${scope}/job_7/step_0`, { recursive: true });
    Deno.writeTextFileSync(`${sys}/fs/cgroup/cgroup.controllers`, "cpu memory\n");
    Deno.writeTextFileSync(`${scope}/job_7/cgroup.procs`, "");
    Deno.writeTextFileSync(`${scope}/job_7/step_batch/user/task_0/cgroup.procs`, "101\n102\n");
    Deno.writeTextFileSync(`${scope}/job_7/step_0/cgroup.procs`, "103\n");
    Deno.mkdirSync(`${proc}/900`, { recursive: true });
    Deno.writeTextFileSync(`${proc}/900/cgroup`, "0::/system.slice/slurmd.service\n");
    const path = jobCgroupPath({ jobId: "7", sysfsRoot: sys, procfsRoot: proc, slurmdPid: 900 });
    assert.equal(path, `${scope}/job_7`);
    assert.deepEqual([...cgroupPids(path!)].sort(), [101, 102, 103]);
    // NVIDIA driver: minors 0 and 1 with their UUIDs
    for (
      const [bus, minor, uuid] of [["0000:17:00.0", 0, "GPU-aaa"], ["0000:65:00.0", 1, "GPU-bbb"]]
    ) {
      Deno.mkdirSync(`${proc}/driver/nvidia/gpus/${bus}`, { recursive: true });
      Deno.writeTextFileSync(
        `${proc}/driver/nvidia/gpus/${bus}/information`,
        `Model: \t\t NVIDIA H100\nIRQ: 1\nGPU UUID: \t ${uuid}\nDevice Minor: \t ${minor}\n`,
      );
    }
    const sel = jobGpuSelection(proc, ["1", "5"]);
    assert.deepEqual(sel.gpus, ["GPU-bbb", "5"]);
    assert.deepEqual(sel.minors, [1, 5]);
    assert.deepEqual(sel.unmatched, ["5"]);
    // process 201 of job 8 holds /dev/nvidia1 open; 202 of job 7 too; 203 has no job
    Deno.mkdirSync(dev);
    Deno.writeTextFileSync(`${dev}/nvidia1`, "");
    for (
      const [pid, cg] of [[201, "0::/system.slice/slurmstepd.scope/job_8/step_0\n"], [
        202,
        "0::/system.slice/slurmstepd.scope/job_7/step_0\n",
      ], [203, "0::/user.slice\n"]] as const
    ) {
      Deno.mkdirSync(`${proc}/${pid}/fd`, { recursive: true });
      Deno.writeTextFileSync(`${proc}/${pid}/cgroup`, cg);
      Deno.writeTextFileSync(`${proc}/${pid}/comm`, "python\n");
      Deno.symlinkSync(`${dev}/nvidia1`, `${proc}/${pid}/fd/3`);
    }
    assert.equal(jobOfPid(proc, 201), "8");
    const foreign = foreignGpuUse(proc, "7", [1], dev);
    assert.deepEqual(foreign, [{ pid: 201, job: "8", gpu: "minor 1", command: "python" }]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
