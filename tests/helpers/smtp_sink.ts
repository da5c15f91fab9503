/**
 * A real SMTP server on loopback for tests: Debian's python3-aiosmtpd with
 * its Mailbox handler (`/usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:PORT
 * -c aiosmtpd.handlers.Mailbox DIR`); each message lands as a file in
 * `DIR/new/`. `messages()` parses them with Python's `email` package.
 */

export const SINK_PYTHON = "/usr/bin/python3";

/** Why the sink cannot run here, or null. */
export async function smtpSinkUnavailable(): Promise<string | null> {
  try {
    const r = await new Deno.Command(SINK_PYTHON, {
      args: ["-c", "import aiosmtpd"],
      stdout: "null",
      stderr: "null",
    }).output();
    return r.code === 0
      ? null
      : "python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd)";
  } catch {
    return `${SINK_PYTHON} is missing`;
  }
}

export interface ParsedMail {
  from: string;
  to: string;
  subject: string;
  body: string;
  attachments: { filename: string; contentType: string; content: string }[];
}

export interface SmtpSink {
  port: number;
  dir: string;
  /** Every message received so far, parsed. */
  messages(): Promise<ParsedMail[]>;
  /** Wait for `n` messages (default 1). */
  waitFor(n?: number, timeoutMs?: number): Promise<ParsedMail[]>;
  stop(): Promise<void>;
}

const PARSE = `
import email, json, os, sys
from email import policy
out = []
d = os.path.join(sys.argv[1], "new")
for name in sorted(os.listdir(d)):
    with open(os.path.join(d, name), "rb") as f:
        m = email.message_from_binary_file(f, policy=policy.default)
    body = m.get_body(preferencelist=("plain",))
    atts = []
    for part in m.iter_attachments():
        data = part.get_payload(decode=True) or b""
        atts.append({"filename": part.get_filename() or "", "contentType": part.get_content_type(),
                     "content": data.decode("utf-8", "replace")})
    out.append({"from": str(m["From"]), "to": str(m["To"]), "subject": str(m["Subject"]),
                "body": body.get_content() if body else "", "attachments": atts})
print(json.dumps(out))
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startSmtpSink(): Promise<SmtpSink> {
  const base = await Deno.makeTempDir({ prefix: "aimeter-smtp-" });
  const dir = `${base}/mbox`; // must not exist yet
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const child = new Deno.Command(SINK_PYTHON, {
    args: [
      "-m",
      "aiosmtpd",
      "-n",
      "-l",
      `127.0.0.1:${port}`,
      "-c",
      "aiosmtpd.handlers.Mailbox",
      dir,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream());
  let errText = "";
  const errDone = (async () => {
    for await (const c of stderr) errText += c;
  })();
  const deadline = Date.now() + 15_000;
  while (true) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        try {
          child.kill("SIGKILL");
        } catch { /* exited */ }
        await child.status;
        await errDone;
        throw new Error(`the SMTP sink did not start: ${errText}`);
      }
      await sleep(50);
    }
  }
  const sink: SmtpSink = {
    port,
    dir,
    async messages() {
      try {
        Deno.statSync(`${dir}/new`);
      } catch {
        return [];
      }
      const r = await new Deno.Command(SINK_PYTHON, { args: ["-c", PARSE, dir] }).output();
      if (r.code !== 0) throw new Error(new TextDecoder().decode(r.stderr));
      return JSON.parse(new TextDecoder().decode(r.stdout));
    },
    async waitFor(n = 1, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      while (true) {
        const m = await sink.messages();
        if (m.length >= n || Date.now() > until) return m;
        await sleep(100);
      }
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      const t = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* exited */ }
      }, 5000);
      await child.status;
      clearTimeout(t);
      await errDone.catch(() => {});
      await Deno.remove(base, { recursive: true }).catch(() => {});
    },
  };
  return sink;
}
