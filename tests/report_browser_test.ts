/**
 * The report in a real browser: Debian's headless Chromium, driven by
 * playwright-core, with every request but the report's own file:// URL
 * blocked. Checks the charts are drawn (visible, sized), the page makes no
 * request and logs no error, prints to PDF, and reads on a phone; saves
 * screenshots (desktop and phone) to $AIMETER_SCREENSHOT_DIR or
 * tests/.tmp/screenshots/ for a human to look at.
 *
 * Chromium: /usr/bin/chromium or $CHROMIUM; the test waits up to
 * $CHROMIUM_WAIT_S (default 60) seconds for an install in progress, and is
 * skipped, loudly, when there is none.
 */
import assert from "node:assert/strict";
import { summarize } from "../src/pipeline.ts";
import { writeReport } from "../src/report/write.ts";
import { fixtureJob, fixtureTrace } from "./helpers/fixture_trace.ts";
import { findChromium, openFile } from "./helpers/chromium.ts";

const chromiumPath = await findChromium(Number(Deno.env.get("CHROMIUM_WAIT_S") ?? 60));
if (!chromiumPath) {
  console.error("report_browser_test: no Chromium found (apt-get install chromium): skipped");
}

const tmpRoot = new URL("./.tmp/", import.meta.url).pathname;
const shotDir = Deno.env.get("AIMETER_SCREENSHOT_DIR") ?? `${tmpRoot}screenshots`;

async function makeReport(name: string, multi: boolean): Promise<string> {
  await Deno.mkdir(tmpRoot, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: tmpRoot, prefix: `browser-${name}-` });
  const opts = {
    gpus: 4,
    durationS: 1800,
    intervalS: 1,
    // what a real recorder keeps (tick statistics, process lists, update periods), an idle
    // baseline and step/sample counters: every analysis block of the summary is there
    recorderExtras: true,
    baselineS: 60,
    workloadCounters: true,
    command: ["torchrun", "--nproc-per-node=4", "train.py", "--model", "llama-8b"],
    phases: [
      { name: "load", start: 60, end: 120 },
      { name: "train", start: 120, end: 1500 },
      { name: "eval", start: 1500, end: 1800 },
    ],
    marks: [{ time: 600, text: "checkpoint 1" }, { time: 1200, text: "checkpoint 2" }],
    notes: [{
      source: "rapl",
      status: "not-permitted" as const,
      message: "package-1: energy_uj is readable by root only",
      fix: "sudo chmod a+r /sys/class/powercap/intel-rapl:1/energy_uj",
    }],
  };
  const traces = multi
    ? await fixtureJob({ ...opts, dir, hosts: ["gpu-node-01", "gpu-node-02"] })
    : [await fixtureTrace({ ...opts, dir: `${dir}/run`, cpuEstimate: true })];
  // the real analysis stages (carbon from the built-in table: nothing is looked up)
  const summary = await summarize(traces, { region: "FR", pue: 1.2 });
  assert.deepEqual(summary.sensors.filter((n) => n.source === "aimeter"), [], "stages ran");
  const out = `${dir}/report.html`;
  await writeReport(traces, summary, out, true);
  return out;
}

for (const [name, multi] of [["single", false], ["multi", true]] as const) {
  Deno.test({
    name: `report opens in headless Chromium with the network blocked (${name} node)`,
    ignore: !chromiumPath,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const file = await makeReport(name, multi);
      await Deno.mkdir(shotDir, { recursive: true });
      const o = await openFile(chromiumPath!, file, { width: 1200, height: 900 });
      try {
        const { page } = o;
        const charts = await page.$$eval(
          "figure.chart:not(.heatmap) .plot svg",
          (els) =>
            els.map((e) => {
              const r = e.getBoundingClientRect();
              return { w: r.width, h: r.height, paths: e.querySelectorAll("path").length };
            }),
        );
        assert.ok(charts.length >= (multi ? 16 : 8), `${charts.length} charts`);
        for (const c of charts) {
          assert.ok(c.w > 600 && c.h > 100, `chart drawn at ${c.w}×${c.h}`);
          assert.ok(c.paths > 0, "chart has paths");
        }
        // the correlation heatmap: square cells, drawn at its own size, inside the page
        const heat = await page.$eval("#chart-correlation-heatmap .plot svg", (e) => {
          const r = e.getBoundingClientRect();
          const cell = e.querySelector("rect")!.getBoundingClientRect();
          return {
            w: r.width,
            h: r.height,
            rects: e.querySelectorAll("rect").length,
            cw: cell.width,
            ch: cell.height,
          };
        });
        assert.ok(heat.rects >= 100 && heat.w > 300 && heat.w <= 1200, JSON.stringify(heat));
        assert.ok(Math.abs(heat.cw - heat.ch) < 1, `cells ${heat.cw}×${heat.ch}`);
        // the analysis sections are on the page
        for (const id of ["attribution", "correlations", "quality"]) {
          assert.equal(await page.locator(`section#${id}`).count(), 1, id);
        }
        assert.equal(await page.locator("script").count(), 0);
        const title = await page.title();
        assert.match(title, /torchrun/);
        assert.ok(await page.locator("#key-numbers .card").count() >= 4);
        await page.screenshot({ path: `${shotDir}/report-${name}-desktop.png`, fullPage: true });
        // print: charts must not be cut, the PDF must come out
        await page.emulateMedia({ media: "print" });
        const pdf = await page.pdf({ format: "A4", printBackground: true });
        assert.ok(pdf.length > 10_000, `PDF of ${pdf.length} bytes`);
        await page.emulateMedia({ media: "screen" });
        // phone: no page-wide horizontal scrolling (charts scroll inside their box)
        await page.setViewportSize({ width: 390, height: 844 });
        const overflow = await page.evaluate(() =>
          document.documentElement.scrollWidth - document.documentElement.clientWidth
        );
        assert.ok(overflow <= 1, `page is ${overflow}px wider than a phone`);
        await page.screenshot({ path: `${shotDir}/report-${name}-phone.png`, fullPage: false });
        assert.deepEqual(o.errors, [], "console errors");
        assert.deepEqual(o.blocked, [], "the page tried to reach the network");
        console.log(`screenshots: ${shotDir}/report-${name}-{desktop,phone}.png`);
      } finally {
        await o.close();
        await Deno.copyFile(file, `${shotDir}/report-${name}.html`).catch(() => {});
        await Deno.remove(file.replace(/\/report\.html$/, ""), { recursive: true }).catch(() => {});
      }
    },
  });
}
