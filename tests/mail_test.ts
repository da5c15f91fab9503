/**
 * Mailing the job report: to a real SMTP server on loopback (aiosmtpd), and
 * through a sendmail-compatible program; the message carries the key numbers
 * in its body and report.html (and summary.json) as attachments.
 */
import assert from "node:assert/strict";
import { smtpSinkUnavailable, startSmtpSink } from "./helpers/smtp_sink.ts";
import { writeFixtureTrace } from "./helpers/fixture_trace.ts";
import { aimeter } from "./helpers/cli.ts";
import { recipient } from "../src/mail/send.ts";

const noSink = await smtpSinkUnavailable();

/** A job folder `<dir>/<job>/node1|node2` with two tagged node traces. */
async function jobFolder(dir: string, job = "77"): Promise<string> {
  // an empty settings file, so that the machine's /etc/aimeter/slurm.json does not apply
  Deno.writeTextFileSync(`${dir.replace(/\/jobs$/, "")}/slurm.json`, "{}\n");
  for (const [i, host] of ["node1", "node2"].entries()) {
    await writeFixtureTrace({
      dir: `${dir}/${job}/${host}`,
      host,
      durationS: 20,
      gpus: 1,
      load: 1 + i * 0.5,
      meta: {
        extra: {
          slurm_job: {
            job_id: job,
            step_id: "",
            array_job_id: "",
            array_task_id: "",
            node: host,
            nodes: ["node1", "node2"],
            nodelist: "node[1-2]",
            user: "alice",
            job_name: "train-llm",
          },
          ...(i === 1
            ? {
              slurm_warnings: [
                "process 4242 (python) of job 78 used GPU minor 0 (node2) of job 77",
              ],
            }
            : {}),
        },
      },
    });
  }
  return `${dir}/${job}`;
}

Deno.test("mail: the recipient is --mail-to, else the job user at the mail domain", () => {
  const base = { starttls: "auto" as const, tls: false };
  assert.equal(recipient({ ...base, to: "x@y.org", domain: "d.org" }, "alice"), "x@y.org");
  assert.equal(recipient({ ...base, domain: "@d.org" }, "alice"), "alice@d.org");
  assert.equal(recipient({ ...base, domain: "d.org" }), undefined);
  assert.equal(recipient(base, "alice"), undefined);
});

Deno.test({
  name: "mail: the job report goes to a real SMTP server with report.html attached",
  ignore: noSink !== null,
  async fn() {
    const t0 = performance.now();
    const dir = await Deno.makeTempDir({ prefix: "aimeter-mailtest-" });
    const sink = await startSmtpSink();
    try {
      await jobFolder(`${dir}/jobs`);
      const r = await aimeter([
        "slurm",
        "report",
        "77",
        "--dir",
        `${dir}/jobs`,
        "--config",
        `${dir}/slurm.json`,
        "--mail-domain",
        "example.org",
        "--mail-from",
        "aimeter@cluster.test",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        String(sink.port),
        "--smtp-starttls",
        "off",
        "--quiet",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const msgs = await sink.waitFor(1);
      assert.equal(msgs.length, 1);
      const m = msgs[0];
      assert.equal(m.to, "alice@example.org");
      assert.equal(m.from, "aimeter@cluster.test");
      assert.match(m.subject, /SLURM job 77 \(train-llm\)/);
      assert.match(m.subject, /on 2 nodes/);
      assert.match(m.body, /Energy: +\d/);
      assert.match(m.body, /node1 /);
      assert.match(m.body, /node2 /);
      assert.match(m.body, /GPU /);
      assert.match(m.body, /of job 78 used GPU/);
      const html = m.attachments.find((a) => a.filename === "report.html");
      assert.ok(html, JSON.stringify(m.attachments.map((a) => a.filename)));
      assert.equal(html.contentType, "text/html");
      assert.equal(html.content, Deno.readTextFileSync(`${dir}/jobs/77/report.html`));
      const summary = m.attachments.find((a) => a.filename === "summary.json");
      assert.ok(summary);
      assert.equal(JSON.parse(summary.content).slurm_job.job_id, "77");
      console.log(`mail test: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      await sink.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("mail: a refused or unreachable SMTP server fails `slurm report` with the reason", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aimeter-mailtest-" });
  try {
    await jobFolder(`${dir}/jobs`);
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const r = await aimeter([
      "slurm",
      "report",
      `${dir}/jobs/77`,
      "--config",
      `${dir}/slurm.json`,
      "--mail-to",
      "bob@example.org",
      "--smtp-host",
      "127.0.0.1",
      "--smtp-port",
      String(port),
      "--quiet",
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /ECONNREFUSED|refused/i);
    // the report itself was written
    Deno.statSync(`${dir}/jobs/77/report.html`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mail: through a sendmail-compatible program", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aimeter-mailtest-" });
  try {
    await jobFolder(`${dir}/jobs`, "91");
    const sendmail = `${dir}/fake-sendmail`;
    Deno.writeTextFileSync(sendmail, `#!/bin/sh\necho "$@" > ${dir}/args\ncat > ${dir}/message\n`);
    Deno.chmodSync(sendmail, 0o755);
    const r = await aimeter([
      "slurm",
      "report",
      "91",
      "--dir",
      `${dir}/jobs`,
      "--config",
      `${dir}/slurm.json`,
      "--mail-to",
      "carol@example.org",
      "--sendmail",
      sendmail,
      "--quiet",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const msg = Deno.readTextFileSync(`${dir}/message`);
    assert.match(Deno.readTextFileSync(`${dir}/args`), /carol@example\.org/);
    assert.match(msg, /^To: carol@example\.org$/m);
    assert.match(msg, /filename=report\.html/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
