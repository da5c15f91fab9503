/**
 * End to end with the real thing: Debian's Prometheus scrapes `aimeter serve`
 * (which it asks for OpenMetrics) on loopback, and node_exporter's textfile
 * collector exports aimeter's `--textfile` (the Prometheus text format); both
 * are read back through Prometheus's query API. The sensors come from a fake
 * powercap tree whose package counter grows at about 100 W.
 *
 * Skipped when /usr/bin/prometheus is not installed (`apt-get install
 * prometheus`); the node_exporter half is skipped without
 * /usr/bin/prometheus-node-exporter.
 */
import assert from "node:assert/strict";
import { addRaplZone, FakeTree, setValue } from "./helpers/fake_sysfs.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const PROMETHEUS = "/usr/bin/prometheus";
const NODE_EXPORTER = "/usr/bin/prometheus-node-exporter";
const exists = (p: string) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
};

interface Proc {
  child: Deno.ChildProcess;
  log: () => string;
  stop(signal?: Deno.Signal): Promise<number>;
}

/** Spawn with stdout+stderr collected (never blocking the child on a full pipe). */
function spawn(cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env,
  }).spawn();
  let text = "";
  const collect = (s: ReadableStream<Uint8Array<ArrayBuffer>>) =>
    (async () => {
      for await (const c of s.pipeThrough(new TextDecoderStream())) text += c;
    })();
  const done = Promise.all([collect(child.stdout), collect(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  return {
    child,
    log: () => text,
    async stop(signal: Deno.Signal = "SIGTERM") {
      if (!exited) child.kill(signal);
      const s = await status;
      await done;
      return s.code;
    },
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  logs: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what} (last error: ${last})\n${logs()}`);
}

interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(base: string, q: string): Promise<PromVector[]> {
  const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`);
  const j = await r.json();
  if (j.status !== "success") throw new Error(`query ${q}: ${JSON.stringify(j)}`);
  return j.data.result as PromVector[];
}

Deno.test({
  name: "Prometheus scrapes aimeter serve and node_exporter's textfile; energy reads back",
  ignore: !exists(PROMETHEUS),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tree = new FakeTree();
    const work = Deno.makeTempDirSync({ prefix: "aimeter-prom-" });
    Deno.mkdirSync(`${work}/textfile`);
    const pkg = addRaplZone(tree, { dir: "intel-rapl:0", name: "package-0", energyUj: 5_000_000 });
    let uj = 5_000_000;
    const started = performance.now();
    const grow = setInterval(() => {
      // about 100 W, from the wall clock so a busy test machine does not skew it
      uj = 5_000_000 + Math.round((performance.now() - started) * 100_000);
      setValue(pkg, uj);
    }, 20);
    const procs: Proc[] = [];
    const logs = () => procs.map((p) => p.log()).join("\n----\n");
    try {
      // 1. aimeter serve on an ephemeral loopback port, also writing the textfile
      const aimeter = spawn(Deno.execPath(), [
        "run",
        "-A",
        `${ROOT}main.ts`,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--interval",
        "100ms",
        "--sysfs-root",
        tree.root,
        "--sources",
        "rapl,proc",
        "--textfile",
        `${work}/textfile/aimeter.prom`,
      ], { NO_COLOR: "1" });
      procs.push(aimeter);
      const target = await waitFor(
        "aimeter serve to listen",
        () =>
          Promise.resolve(
            /serving metrics on http:\/\/(127\.0\.0\.1:\d+)\/metrics/.exec(aimeter.log())?.[1],
          ),
        60_000,
        logs,
      );

      // 2. node_exporter with only the textfile collector
      const withNode = exists(NODE_EXPORTER);
      const nodePort = freePort();
      if (withNode) {
        procs.push(spawn(NODE_EXPORTER, [
          "--collector.disable-defaults",
          "--collector.textfile",
          `--collector.textfile.directory=${work}/textfile`,
          `--web.listen-address=127.0.0.1:${nodePort}`,
        ]));
      }

      // 3. Prometheus, scraping both every second
      const promPort = freePort();
      const config = [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: aimeter",
        "    static_configs:",
        `      - targets: ["${target}"]`,
        ...(withNode
          ? [
            "  - job_name: node",
            "    static_configs:",
            `      - targets: ["127.0.0.1:${nodePort}"]`,
          ]
          : []),
      ].join("\n") + "\n";
      Deno.writeTextFileSync(`${work}/prometheus.yml`, config);
      procs.push(spawn(PROMETHEUS, [
        `--config.file=${work}/prometheus.yml`,
        `--storage.tsdb.path=${work}/data`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        "--log.level=warn",
      ]));
      const base = `http://127.0.0.1:${promPort}`;
      await waitFor(
        "Prometheus to be ready",
        async () => {
          const r = await fetch(`${base}/-/ready`);
          await r.body?.cancel();
          return r.ok ? true : undefined;
        },
        60_000,
        logs,
      );

      // 4. the energy counter, read back from Prometheus
      const sel = 'aimeter_energy_joules_total{job="aimeter",source="rapl",device="package-0"}';
      const first = await waitFor(
        "the energy counter in Prometheus",
        async () => {
          const r = await query(base, sel);
          return r.length === 1 && Number(r[0].value[1]) > 0 ? r[0] : undefined;
        },
        60_000,
        logs,
      );
      assert.equal(first.metric.host, Deno.hostname());
      assert.equal(first.metric.model, "RAPL package-0");
      assert.equal(first.metric.instance, target);
      const up = await query(base, 'up{job="aimeter"}');
      assert.equal(up[0]?.value[1], "1", JSON.stringify(up));

      // it grows, at about the rate the fake counter is fed
      const rate = await waitFor(
        "several scrapes of the counter",
        async () => {
          // raw samples (a range selector), so no extrapolation: (last - first) / time between
          const r = await query(base, `${sel}[30s]`) as unknown as { values: [number, string][] }[];
          const v = r[0]?.values ?? [];
          if (v.length < 5) return undefined;
          const [t0, e0] = v[0];
          const [t1, e1] = v[v.length - 1];
          return (Number(e1) - Number(e0)) / (t1 - t0);
        },
        60_000,
        logs,
      );
      assert.ok(rate > 50 && rate < 150, `rate ${rate} W, expected about 100 W`);
      const later = await query(base, sel);
      assert.ok(Number(later[0].value[1]) > Number(first.value[1]), "the counter grew");

      // the rest of the families made it through Prometheus's parser too
      for (
        const q of [
          'aimeter_build_info{job="aimeter"}',
          'aimeter_power_watts{job="aimeter",device="package-0"}',
          'aimeter_utilization_ratio{job="aimeter",source="proc",device="cpu"}',
          'aimeter_sampler_ticks_total{job="aimeter"}',
          'aimeter_scrape_duration_seconds{job="aimeter"}',
        ]
      ) {
        assert.equal((await query(base, q)).length, 1, q);
      }

      // 5. the same counter through node_exporter's textfile collector
      if (withNode) {
        const viaNode = await waitFor(
          "the textfile counter via node_exporter",
          async () => {
            const r = await query(base, sel.replace('job="aimeter"', 'job="node"'));
            return r.length === 1 && Number(r[0].value[1]) > 0 ? r[0] : undefined;
          },
          60_000,
          logs,
        );
        assert.equal(viaNode.metric.host, Deno.hostname());
        const errs = await query(base, 'node_textfile_scrape_error{job="node"}');
        assert.equal(errs[0]?.value[1], "0", JSON.stringify(errs));
      }

      // 6. aimeter stops cleanly and takes its textfile with it
      assert.equal(await aimeter.stop("SIGTERM"), 0, aimeter.log());
      assert.ok(!exists(`${work}/textfile/aimeter.prom`));
    } finally {
      clearInterval(grow);
      for (const p of procs.reverse()) await p.stop("SIGTERM");
      tree.remove();
      Deno.removeSync(work, { recursive: true });
    }
  },
});
