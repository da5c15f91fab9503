/**
 * How far the numbers can be trusted (`summary.quality`): per device the
 * energy counter against integrated power and the sample coverage, the
 * recorder's own timing and cost, how often the power and energy channels
 * really change, counter wraps, and every problem found.
 */
import { esc, generic, table } from "../html.ts";
import { bytes, duration, joules, pct, sig, trimZeros, value } from "../format.ts";
import type { ReportContext } from "../context.ts";
import { dot, isNum, isObj, type Section, wrapSection } from "./common.ts";

const KNOWN = new Set(["devices", "recorder", "update_periods_s", "counters", "problems"]);

const SOURCE_NAME: Record<string, string> = {
  nvml: "NVML",
  amdgpu: "AMD GPU",
  rocm_smi: "ROCm SMI",
  rapl: "RAPL",
  hwmon: "hwmon",
  estimate: "Estimate",
};

/** Signed percentage with a real minus sign. */
function signedPct(x: number): string {
  const p = x * 100;
  const digits = Math.abs(p) < 10 ? 2 : 1;
  const t = pct(Math.abs(p), digits);
  return p > 0 ? `+${t}` : p < 0 && Number(Math.abs(p).toFixed(digits)) > 0 ? `−${t}` : t;
}

function msText(v: unknown): string {
  return isNum(v) ? `${trimZeros(sig(v, 3))}\u00a0ms` : "—";
}

function deviceTable(ctx: ReportContext, devices: unknown[]): string {
  const rows = devices.filter(isObj).map((d) => {
    const cvi = isObj(d.counter_vs_integral) ? d.counter_vs_integral : undefined;
    const rel = cvi && isNum(cvi.rel_diff) ? cvi.rel_diff : undefined;
    const problems = Array.isArray(d.problems) ? d.problems : [];
    const source = String(d.source ?? ""), device = String(d.device ?? "");
    return [
      `<span class="nowrap">${dot(ctx.colorOf(source, device), source === "estimate")}<b>${
        esc(ctx.label(source, device))
      }</b></span>`,
      ...(ctx.multiNode ? [`<code class="nowrap">${esc(d.host ?? "")}</code>`] : []),
      esc(source),
      cvi
        ? esc(joules(cvi.counter_j))
        : '<span class="muted" title="needs both an energy counter and power samples">not compared</span>',
      cvi ? esc(joules(cvi.integral_j)) : "",
      rel === undefined
        ? ""
        : `<span class="${
          Math.abs(rel) > 0.1 ? "bad-text" : Math.abs(rel) > 0.02 ? "warn-text" : ""
        }">${esc(signedPct(rel))}</span>`,
      isNum(d.coverage)
        ? `<span class="${d.coverage < 0.95 ? "warn-text" : ""}">${
          esc(pct(d.coverage * 100, d.coverage < 1 ? 1 : 0))
        }</span>`
        : "",
      problems.length
        ? problems.map((p: unknown) => `<span class="bad-text">${esc(p)}</span>`).join("<br>")
        : '<span class="ok-text">none</span>',
    ];
  });
  if (!rows.length) return "";
  return table(
    [
      { label: "Device" },
      ...(ctx.multiNode ? [{ label: "Node" }] : []),
      { label: "Source" },
      { label: "Counter", num: true, title: "energy from the device's own counter" },
      {
        label: "Integrated power",
        num: true,
        title: "power samples integrated over the same time",
      },
      { label: "Difference", num: true, title: "(counter − integral) / counter" },
      { label: "Coverage", num: true, title: "samples written / samples expected at the interval" },
      { label: "Problems" },
    ],
    rows,
    { cls: "quality-devices" },
  );
}

function recorderTable(ctx: ReportContext, recorder: unknown[]): string {
  const runS = ctx.summary.run?.duration_s;
  const recs = recorder.filter(isObj).filter((r) =>
    Object.keys(r).some((k) => k !== "host" && r[k] !== undefined)
  );
  if (!recs.length) return "";
  const rows = recs.map((r) => [
    `<code>${esc(r.host ?? "")}</code>`,
    esc(value(r.ticks)),
    isNum(r.skipped_ticks)
      ? `<span class="${r.skipped_ticks > 0 ? "warn-text" : ""}">${
        esc(value(r.skipped_ticks))
      }</span>`
      : "—",
    `${esc(msText(r.jitter_p50_ms))} / ${esc(msText(r.jitter_p99_ms))}`,
    `${esc(msText(r.read_mean_ms))} / ${esc(msText(r.read_max_ms))}`,
    isNum(r.cpu_s)
      ? `${esc(duration(r.cpu_s))}${
        isNum(runS) && runS > 0
          ? ` <span class="muted">(${esc(pct((r.cpu_s / runS) * 100, 2))} of one core)</span>`
          : ""
      }`
      : "—",
    esc(bytes(r.rss_bytes)),
  ]);
  return "<h3>Recorder</h3>" + table(
    [
      { label: "Host" },
      { label: "Ticks", num: true, title: "sampling rounds" },
      { label: "Skipped", num: true, title: "ticks skipped because the previous one overran" },
      { label: "Jitter p50 / p99", num: true, title: "lateness of a tick against its deadline" },
      { label: "Read mean / max", num: true, title: "time spent reading the sensors per tick" },
      { label: "aimeter CPU", num: true, title: "the recorder's own CPU time" },
      { label: "RSS", num: true, title: "the recorder's memory" },
    ],
    rows,
    { cls: "quality-recorder" },
  );
}

/** What an update period means for a channel (p: the period in s, as text). */
const CHANNEL: Record<string, (p: string) => string> = {
  power_w: (p) => `a ${p}-s average; sampling faster only repeats values`,
  power_instant_w: () => "instantaneous power, not averaged",
  energy_j: () => "the energy counter's time resolution",
};

/** "NVML power_w changes every ~1.0 s (gpu0, gpu1): a 1-s average". */
function updatePeriods(ctx: ReportContext, list: unknown[]): string {
  const interval = ctx.summary.run?.interval_s;
  // one entry per trace that had them: name the host when that mapping is sure
  const hosts = list.length === ctx.traces.length
    ? ctx.traces.map((t) => t.meta?.host ?? "")
    : list.map(() => "");
  const groups = new Map<string, { text: string; devices: { host: string; device: string }[] }>();
  list.forEach((entry, i) => {
    if (!isObj(entry)) return;
    for (const [source, devs] of Object.entries(entry)) {
      if (!isObj(devs)) continue;
      for (const [device, metrics] of Object.entries(devs)) {
        if (!isObj(metrics)) continue;
        for (const [metric, period] of Object.entries(metrics)) {
          const known = isNum(period) && period > 0;
          const p = known ? trimZeros(sig(period, 2)) : "";
          const key = `${source}\u0000${metric}\u0000${p}`;
          const name = { host: ctx.multiNode ? hosts[i] : "", device };
          const g = groups.get(key);
          if (g) {
            g.devices.push(name);
            continue;
          }
          const src = `<b>${esc(SOURCE_NAME[source] ?? source)}</b> <code>${esc(metric)}</code>`;
          let text: string;
          if (!known) text = `${src} did not change often enough to tell how often it updates`;
          else {
            const every = p.includes(".") ? p : `${p}.0`;
            const what = CHANNEL[metric]?.(p);
            text = `${src} changes every ~${esc(every)}\u00a0s${what ? `: ${esc(what)}` : ""}`;
            if (isNum(interval) && interval > 0 && period > interval * 1.5) {
              text += ` <span class="est">(slower than the ${
                esc(duration(interval))
              } sampling interval: consecutive samples repeat)</span>`;
            }
          }
          groups.set(key, { text, devices: [name] });
        }
      }
    }
  });
  if (!groups.size) return "";
  return `<h3>How often the sensors update</h3><ul class="periods">${
    [...groups.values()].map((g) =>
      `<li>${g.text} <span class="muted">(${esc(deviceList(g.devices))})</span></li>`
    ).join("")
  }</ul>`;
}

/** `gpu0, gpu1` or, on several nodes, `gpu0, gpu1 on each of 2 nodes` / `a: gpu0; b: gpu1`. */
function deviceList(devs: { host: string; device: string }[]): string {
  const byHost = new Map<string, string[]>();
  for (const d of devs) byHost.set(d.host, [...(byHost.get(d.host) ?? []), d.device]);
  const lists = [...byHost.values()].map((l) => l.join(", "));
  if (byHost.size === 1) {
    return `${[...byHost.keys()][0] ? `${[...byHost.keys()][0]}: ` : ""}${lists[0]}`;
  }
  if (new Set(lists).size === 1) return `${lists[0]} on each of ${byHost.size} nodes`;
  return [...byHost].map(([h, l]) => `${h || "?"}: ${l.join(", ")}`).join("; ");
}

function counters(list: unknown[]): string {
  const items: string[] = [];
  for (const entry of list) {
    if (!isObj(entry)) continue;
    for (const [k, v] of Object.entries(entry)) {
      const what = k.replace(/_wraps$/, "");
      if (isObj(v)) {
        for (const [dev, n] of Object.entries(v)) {
          if (isNum(n) && n > 0) {
            items.push(
              `<li><b>${esc(SOURCE_NAME[what] ?? what)}</b> ${esc(dev)}: ${
                esc(value(n))
              } counter wrap${n === 1 ? "" : "s"} (corrected)</li>`,
            );
          } else if (!isNum(n)) items.push(`<li>${esc(k)} ${esc(dev)}: ${generic(n)}</li>`);
        }
      } else items.push(`<li>${esc(k)}: ${generic(v)}</li>`);
    }
  }
  return items.length ? `<h3>Counters</h3><ul class="notes">${items.join("")}</ul>` : "";
}

export const qualitySection: Section = {
  id: "quality",
  title: "Data quality",
  render(ctx: ReportContext) {
    const q = ctx.summary.quality;
    if (q === undefined || q === null || (isObj(q) && !Object.keys(q).length)) return "";
    if (!isObj(q)) {
      return wrapSection({ id: "quality", title: "Data quality", body: generic(q) });
    }
    const parts: string[] = [];
    const problems = Array.isArray(q.problems) ? q.problems : [];
    parts.push(
      problems.length
        ? `<h3>Problems</h3><ul class="problems">${
          problems.map((p: unknown) => `<li>${isObj(p) ? generic(p) : esc(p)}</li>`).join("")
        }</ul>`
        : '<p class="ok-note">No problems found.</p>',
    );
    if (Array.isArray(q.devices) && q.devices.length) {
      parts.push("<h3>Per device</h3>" + deviceTable(ctx, q.devices));
    }
    if (Array.isArray(q.recorder)) parts.push(recorderTable(ctx, q.recorder));
    if (Array.isArray(q.update_periods_s)) parts.push(updatePeriods(ctx, q.update_periods_s));
    if (Array.isArray(q.counters)) parts.push(counters(q.counters));
    const extra = Object.fromEntries(Object.entries(q).filter(([k]) => !KNOWN.has(k)));
    if (Object.keys(extra).length) parts.push(generic(extra));
    return wrapSection({
      id: "quality",
      title: "Data quality",
      lead:
        "How far the numbers can be trusted: energy counters checked against integrated power, " +
        "samples written against samples expected, and the recorder's own timing and cost.",
      body: parts.filter(Boolean).join("\n"),
    });
  },
};
