/**
 * `aimeter compare RUN...`: runs side by side (time, energy, energy per unit
 * of work, average power, emissions), with differences; repeated runs of one
 * command give bootstrap intervals; a Pareto view of energy against time.
 * Text on stdout; `--json FILE` and `--html FILE` optional.
 */
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { UsageError } from "./errors.ts";
import { loadTraces, summarize } from "../pipeline.ts";
import { expandTracePaths } from "../trace/discover.ts";
import { TraceFormatError } from "../trace/reader.ts";
import type { Summary } from "../analysis/summary.ts";
import {
  COMPARED,
  compareRuns,
  type Comparison,
  fmtValue,
  formatComparison,
  type RunPoint,
  runPoint,
} from "../analysis/compare.ts";

/** A run's summary: its summary.json when there is one, else made from its trace. */
export async function loadRunSummary(path: string): Promise<{ summary: Summary; dir: string }> {
  const p = path.replace(/\/+$/, "");
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(p);
  } catch {
    throw new UsageError(`compare: ${path}: no such file or folder`);
  }
  if (st.isFile && p.endsWith(".json")) {
    return { summary: JSON.parse(Deno.readTextFileSync(p)), dir: p.replace(/\/[^/]*$/, "") || "." };
  }
  if (st.isDirectory) {
    try {
      return { summary: JSON.parse(Deno.readTextFileSync(`${p}/summary.json`)), dir: p };
    } catch {
      // no summary yet: from the trace
    }
  }
  const files = expandTracePaths([p]);
  if (!files.length) throw new UsageError(`compare: ${path}: no summary.json and no trace`);
  try {
    return { summary: await summarize(await loadTraces(files)), dir: p };
  } catch (e) {
    if (e instanceof TraceFormatError) throw new UsageError(`compare: ${e.message}`);
    throw e;
  }
}

function labelOf(dir: string): string {
  return dir.replace(/\/+$/, "").split("/").pop() || dir;
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A standalone HTML page: the table, the differences and the energy/time scatter. */
export function comparisonHtml(c: Comparison): string {
  const { document } = parseHTML("<!doctype html><html><head></head><body></body></html>");
  let svg = "";
  if (c.pareto.length) {
    const el = Plot.plot({
      // deno-lint-ignore no-explicit-any
      document: document as any,
      width: 640,
      height: 360,
      marginLeft: 70,
      grid: true,
      x: { label: "time (s) →", zero: true },
      y: { label: "↑ energy (kJ)", zero: true },
      marks: [
        Plot.line(
          c.pareto.filter((p) => p.pareto).sort((a, b) => a.duration_s - b.duration_s),
          {
            x: "duration_s",
            y: (d: { energy_j: number }) => d.energy_j / 1e3,
            stroke: "#999",
            strokeDasharray: "4 3",
          },
        ),
        Plot.dot(c.pareto, {
          x: "duration_s",
          y: (d: { energy_j: number }) => d.energy_j / 1e3,
          fill: (d: { pareto: boolean }) => (d.pareto ? "#1b7837" : "#888"),
          r: 5,
        }),
        Plot.text(c.pareto, {
          x: "duration_s",
          y: (d: { energy_j: number }) => d.energy_j / 1e3,
          text: "label",
          dy: -10,
          fontSize: 11,
        }),
      ],
    }) as unknown as Element;
    svg = el.outerHTML;
  }
  const head = `<tr><th></th>${
    c.groups.map((g) =>
      `<th>${esc(g.label)}<br><small>${g.n} run${g.n > 1 ? "s" : ""}</small></th>`
    ).join("")
  }${c.groups.slice(1).map((g) => `<th>Δ ${esc(g.label)}</th>`).join("")}</tr>`;
  const rows = COMPARED.filter(({ key }) => c.groups.some((g) => g.stats[key])).map(
    ({ key, label }) => {
      const cells = c.groups.map((g) => {
        const st = g.stats[key];
        if (!st) return "<td>—</td>";
        return `<td>${esc(fmtValue(key, st.mean))}${
          st.ci95
            ? `<br><small>[${esc(fmtValue(key, st.ci95[0]))}, ${
              esc(fmtValue(key, st.ci95[1]))
            }]</small>`
            : ""
        }</td>`;
      });
      const diffs = c.groups.slice(1).map((g) => {
        const d = c.differences.find((d) => d.metric === key && d.group === g.label);
        if (!d) return "<td>—</td>";
        const rel = d.rel !== null
          ? ` (${d.rel >= 0 ? "+" : "−"}${Math.abs(d.rel * 100).toFixed(1)} %)`
          : "";
        const ci = d.ci95
          ? `<br><small>[${esc(fmtValue(key, d.ci95[0]))}, ${esc(fmtValue(key, d.ci95[1]))}] ${
            d.real ? "<b>real</b>" : "within noise"
          }</small>`
          : "";
        return `<td>${d.diff >= 0 ? "+" : "−"}${
          esc(fmtValue(key, Math.abs(d.diff)))
        }${rel}${ci}</td>`;
      });
      return `<tr><th>${esc(label)}</th>${cells.join("")}${diffs.join("")}</tr>`;
    },
  );
  const runs = c.groups.map((g) =>
    `<li><b>${esc(g.label)}</b>: ${esc(g.runs.join(", "))} — <code>${
      esc(g.command.join(" "))
    }</code></li>`
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>aimeter compare</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}
td,th{border-bottom:1px solid #ddd;padding:.35em .7em;text-align:right;vertical-align:top}th:first-child{text-align:left}
small{color:#555}</style></head><body>
<h1>aimeter compare</h1>
<table>${head}${rows.join("")}</table>
<h2>Runs</h2><ul>${runs.join("")}</ul>
<h2>Energy against time</h2>${svg}<p><small>Green: the Pareto front (no other configuration is both faster and more frugal).</small></p>
<h2>Method</h2><p><small>${esc(c.method)}</small></p>
</body></html>
`;
}

/** `aimeter compare` itself: load the runs, compare, print and write. */
export async function runCompare(
  paths: string[],
  o: { json?: string; html?: string; group?: boolean },
) {
  const points: RunPoint[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    const { summary, dir } = await loadRunSummary(p);
    let label = labelOf(dir);
    while (seen.has(label)) label += "'";
    seen.add(label);
    points.push(runPoint(summary, label, dir));
  }
  const c = compareRuns(points, { group: o.group !== false });
  if (o.json === "-") console.log(JSON.stringify(c, null, 2));
  else console.log(formatComparison(c));
  if (o.json && o.json !== "-") {
    Deno.writeTextFileSync(o.json, JSON.stringify(c, null, 2) + "\n");
  }
  if (o.html) Deno.writeTextFileSync(o.html, comparisonHtml(c));
}
