/**
 * Correlations between hardware series and workload metrics: a heatmap of
 * Pearson's r over every series tested (`summary.correlation`) and the table
 * of the significant pairs (`summary.correlations`), with the method.
 */
import { esc, fill, table } from "../html.ts";
import { trimZeros, value } from "../format.ts";
import { correlationStops, renderHeatmap } from "../charts.ts";
import { TEMPLATES } from "../templates.ts";
import type { ReportContext } from "../context.ts";
import { isNum, isObj, type Progress, type Section, wrapSection } from "./common.ts";

/** Shown in the table. */
const MAX_ROWS = 40;
/** Series drawn in the heatmap at most (the most strongly correlated beyond). */
const MAX_KEYS = 30;
/** Values printed in the cells up to this many series. */
const MAX_VALUE_KEYS = 12;
const MAX_LABEL = 22;

const METRIC: Record<string, string> = {
  power_w: "power",
  power_instant_w: "power (inst.)",
  util_pct: "util",
  mem_util_pct: "mem util",
  mem_used_bytes: "mem used",
  sm_clock_mhz: "SM clock",
  mem_clock_mhz: "mem clock",
  temp_c: "temp",
  cpu_pct: "CPU",
  rss_bytes: "RSS",
  used_bytes: "used",
  fan_pct: "fan",
};
const PROC_DEVICE: Record<string, string> = { cpu: "CPU", mem: "RAM", process: "cmd" };

function clip(s: string, n = MAX_LABEL): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

/** `host:source/device/metric` → its parts (host empty for one node). */
export function splitKey(
  key: string,
): { host: string; source: string; device: string; metric: string } {
  const slash = key.indexOf("/");
  const colon = slash < 0 ? -1 : key.lastIndexOf(":", slash);
  const host = colon >= 0 ? key.slice(0, colon) : "";
  const parts = key.slice(colon + 1).split("/");
  if (parts.length < 3) return { host, source: "", device: "", metric: parts.join("/") };
  return {
    host,
    source: parts[0],
    device: parts.slice(1, -1).join("/"),
    metric: parts[parts.length - 1],
  };
}

/**
 * A series key as a short axis label: `nvml/gpu0/power_w` → `gpu0 power`,
 * `workload/main/loss` → `loss`, `proc/process/cpu_pct` → `cmd CPU`, with the
 * host in front on several nodes. Labels stay unique (a longer form otherwise).
 */
export function shortKeys(keys: string[], rate: Set<string> = new Set()): string[] {
  const hosts = shortHosts([...new Set(keys.map((k) => splitKey(k).host).filter(Boolean))]);
  const short = keys.map((k) => {
    const parts = splitKey(k);
    const { source, device, metric } = parts;
    const host = hosts.get(parts.host) ?? parts.host;
    const m = METRIC[metric] ?? metric;
    let label: string;
    if (!source) label = metric;
    else if (source === "workload") label = device === "main" ? metric : `${device} ${metric}`;
    else if (source === "proc") label = `${PROC_DEVICE[device] ?? device} ${m}`;
    else label = `${device} ${m}`;
    if (rate.has(k)) label += " (rate)";
    return clip(host ? `${host} ${label}` : label, host ? MAX_LABEL + 6 : MAX_LABEL);
  });
  return short.map((s, i) =>
    short.indexOf(s) !== short.lastIndexOf(s)
      ? clip(keys[i] + (rate.has(keys[i]) ? " (rate)" : ""), MAX_LABEL + 8)
      : s
  );
}

/**
 * Host names as short as they can be and still differ: what all of them share
 * in front (up to a `-`, `_` or `.`) and behind (a domain) is left out, so
 * `gpu-node-01`, `gpu-node-02` become `01`, `02`.
 */
export function shortHosts(hosts: string[]): Map<string, string> {
  const out = new Map(hosts.map((h) => [h, h]));
  if (hosts.length < 2) return out;
  let pre = hosts[0];
  for (const h of hosts) while (!h.startsWith(pre)) pre = pre.slice(0, -1);
  const cut = Math.max(pre.lastIndexOf("-"), pre.lastIndexOf("_"), pre.lastIndexOf(".")) + 1;
  let suf = hosts[0];
  for (const h of hosts) while (!h.endsWith(suf)) suf = suf.slice(1);
  const dot = suf.indexOf(".");
  const tail = dot >= 0 ? suf.length - dot : 0;
  for (const h of hosts) {
    const t = h.slice(cut, h.length - tail);
    out.set(h, clip(t || h, 12));
  }
  // shortened names that clash (or vanish) keep their full form
  const vals = [...out.values()];
  if (new Set(vals).size !== vals.length) { for (const h of hosts) out.set(h, clip(h, 16)); }
  return out;
}

function keyCell(key: unknown, transform: unknown): string {
  // long keys break after a slash, not inside a name
  return `<code>${esc(key ?? "").replace(/\//g, "/<wbr>")}</code>${
    transform === "rate"
      ? ' <span class="muted" title="a cumulative counter, differenced to a rate per second">(rate)</span>'
      : ""
  }`;
}

/** A correlation with three decimals and a real minus sign. */
function r3(r: unknown): string {
  if (!isNum(r)) return value(r);
  const t = Math.abs(r).toFixed(3);
  return r < 0 && Number(t) > 0 ? `−${t}` : t;
}

function pText(p: unknown): string {
  if (!isNum(p)) return value(p);
  if (p < 1e-4) return "< 0.0001";
  return value(p, 2);
}

/** The heatmap figure, from `summary.correlation` (keys and Pearson matrix). */
function heatmap(ctx: ReportContext, rate: Set<string>): string {
  const c = ctx.summary.correlation;
  if (!isObj(c) || !Array.isArray(c.keys) || !Array.isArray(c.pearson_matrix)) return "";
  const allKeys = c.keys.map((k: unknown) => String(k));
  const m = c.pearson_matrix as unknown[];
  if (allKeys.length < 2 || m.length !== allKeys.length) return "";
  const r = (i: number, j: number): number | null => {
    const row = m[i];
    const v = Array.isArray(row) ? row[j] : null;
    return isNum(v) ? v : null;
  };
  // too many series: keep the workload's, then the most strongly correlated, in their order
  let idx = allKeys.map((_: string, i: number) => i);
  if (idx.length > MAX_KEYS) {
    const strength = idx.map((i: number) => {
      let s = 0;
      for (let j = 0; j < allKeys.length; j++) {
        const v = r(i, j);
        if (j !== i && v !== null) s = Math.max(s, Math.abs(v));
      }
      return splitKey(allKeys[i]).source === "workload" ? 2 + s : s;
    });
    const keep = new Set(
      [...idx].sort((a, b) => strength[b] - strength[a] || a - b).slice(0, MAX_KEYS),
    );
    idx = idx.filter((i: number) => keep.has(i));
  }
  const keys = idx.map((i: number) => allKeys[i]);
  const labels = shortKeys(keys, rate);
  const svg = renderHeatmap({
    title: "Correlation heatmap (Pearson r)",
    labels,
    names: keys,
    matrix: idx.map((i: number) => idx.map((j: number) => r(i, j))),
    values: keys.length <= MAX_VALUE_KEYS,
  });
  const stops = correlationStops();
  const scale =
    `<div class="corr-scale" aria-hidden="true"><span>−1</span><i style="background:linear-gradient(90deg,${
      stops.map((s, i) => `${s} ${i * 25}%`).join(",")
    })"></i><span>+1</span><span class="muted">Pearson r; × not tested</span></div>`;
  const note = idx.length < allKeys.length
    ? `${idx.length} of ${allKeys.length} series: the workload's and the most strongly correlated.`
    : `${keys.length} series${keys.length > MAX_VALUE_KEYS ? "; hover a cell for its value" : ""}.`;
  const hosts = shortHosts([...new Set(keys.map((k: string) => splitKey(k).host).filter(Boolean))]);
  const renamed = [...hosts].filter(([h, s]) => h !== s);
  const hostNote = renamed.length
    ? ` Labels start with the node: ${renamed.map(([h, s]) => `${s} = ${h}`).join(", ")}.`
    : "";
  return fill(TEMPLATES.chart, {
    id: "chart-correlation-heatmap",
    cls: " heatmap",
    title: "Correlation heatmap",
    note: note + hostNote,
    legend: scale,
    svg,
  });
}

export const correlationsSection: Section = {
  id: "correlations",
  title: "Correlations",
  render(ctx: ReportContext, progress: Progress) {
    const c = ctx.summary.correlations;
    const block = isObj(ctx.summary.correlation) ? ctx.summary.correlation : undefined;
    const hasMatrix = Array.isArray(block?.keys) && block.keys.length >= 2;
    if ((!Array.isArray(c) || !c.length) && !hasMatrix) return "";
    // in the analysis' order (pairs with a workload metric first, then the strongest)
    const items = (Array.isArray(c) ? c : []).filter(isObj);
    const rate = new Set<string>();
    for (const x of items) {
      if (x.a_transform === "rate") rate.add(String(x.a));
      if (x.b_transform === "rate") rate.add(String(x.b));
    }
    const bar = (r: unknown) => {
      if (!isNum(r)) return "";
      const w = Math.min(1, Math.abs(r)) * 50;
      return `<span class="corr-bar" aria-hidden="true"><i style="left:${
        r < 0 ? 50 - w : 50
      }%;width:${w.toFixed(1)}%;background:${r < 0 ? "#ca4a45" : "#3d7bb6"}"></i></span>`;
    };
    const rows = items.slice(0, MAX_ROWS).map((x) => [
      keyCell(x.a, x.a_transform),
      keyCell(x.b, x.b_transform),
      `${esc(r3(x.pearson))}${bar(x.pearson)}`,
      esc(r3(x.spearman)),
      esc(value(x.n)),
      esc(isNum(x.n_eff) ? trimZeros(x.n_eff.toFixed(1)) : value(x.n_eff)),
      esc(pText(x.p_value)),
      esc(pText(x.q_value)),
    ]);
    const parts: string[] = [];
    if (hasMatrix) {
      parts.push(heatmap(ctx, rate));
      progress.step("correlation heatmap");
    }
    if (rows.length) {
      parts.push(
        `<h3>Significant pairs</h3>` +
          table(
            [
              { label: "Series A" },
              { label: "Series B" },
              { label: "Pearson", num: true, title: "Pearson r" },
              { label: "Spearman", num: true, title: "Spearman ρ (on ranks)" },
              { label: "n", num: true, title: "common time bins" },
              {
                label: "n eff",
                num: true,
                title: "effective sample size after autocorrelation",
              },
              { label: "p", num: true, title: "two-sided, from n eff" },
              { label: "q", num: true, title: "Benjamini–Hochberg adjusted p across all pairs" },
            ],
            rows,
            { cls: "correlations" },
          ),
      );
    } else if (hasMatrix) {
      parts.push('<p class="muted">No pair is significant after the FDR control.</p>');
    }
    const lead: string[] = [];
    if (block) {
      const tested = isNum(block.pairs_tested) ? block.pairs_tested : undefined;
      const sig = isNum(block.pairs_significant) ? block.pairs_significant : undefined;
      const grid = isNum(block.grid_s) ? `${value(block.grid_s, 3)}\u00a0s` : "";
      if (tested !== undefined) {
        lead.push(
          `${esc(value(sig ?? items.length))} of ${esc(value(tested))} pairs significant` +
            (grid
              ? `, on a grid of ${esc(grid)}${
                isNum(block.bins) ? ` (${esc(value(block.bins))} bins)` : ""
              }`
              : "") +
            ".",
        );
      }
    }
    if (items.length > MAX_ROWS) lead.push(`The table lists the first ${MAX_ROWS}.`);
    if (rate.size) {
      lead.push("Series marked (rate) are cumulative counters turned into rates per second.");
    }
    if (typeof block?.method === "string" && block.method) {
      lead.push(`<b>Method:</b> ${esc(block.method)}`);
    }
    return wrapSection({
      id: "correlations",
      title: "Correlations",
      lead: lead.join(" ") || undefined,
      body: parts.join("\n"),
    });
  },
};
