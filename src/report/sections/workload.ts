/**
 * The workload: its metrics over time (with phases shaded and marks numbered),
 * a metrics table, phases with their energy, marks, energy per unit of work.
 * From `summary.workload` when present, else from the trace itself
 * (`source=workload` series, `meta.extra.workload` phases and marks).
 */
import { esc, facts, generic, table } from "../html.ts";
import {
  duration,
  grams,
  joules,
  kwh,
  sig,
  toMicros,
  trimZeros,
  utc,
  value,
  watts,
} from "../format.ts";
import type { Line } from "../charts.ts";
import type { ReportContext } from "../context.ts";
import { resampleAt } from "../downsample.ts";
import { cumulativeEnergy } from "../series_math.ts";
import { countedDevices } from "./power.ts";
import { perUnitJ, UNITS } from "./key_numbers.ts";
import { figure, idPart } from "./figure.ts";
import { isNum, isObj, type Progress, type Section, wrapSection } from "./common.ts";

const MAX_CHARTS = 8;
const KNOWN = new Set(["metrics", "phases", "marks", "per_unit", "baseline", "bad_lines"]);
const PARTS = [
  ["gpu", "GPU"],
  ["cpu", "CPU"],
  ["dram", "DRAM"],
  ["host", "Host (platform meter)"],
  ["other", "Other"],
] as const;

/** Measured energy of all counted devices between two times (µs), from the full data. */
function energyBetween(ctx: ReportContext, a: number, b: number): number {
  let j = 0;
  for (const host of ctx.hosts) {
    for (const d of countedDevices(ctx, host)) {
      const c = cumulativeEnergy(d.energy, d.power);
      if (!c) continue;
      const v = resampleAt(c.x, c.y, [a, b], 0);
      j += v[1] - v[0];
    }
  }
  return j;
}

export const workloadSection: Section = {
  id: "workload",
  title: "Workload",
  render(ctx: ReportContext, progress: Progress) {
    const wl = isObj(ctx.summary.workload) ? ctx.summary.workload : {};
    const wseries = ctx.series.filter((s) => s.source === "workload" && s.times.length);
    const names = [...new Set(wseries.map((s) => s.metric))];
    if (!names.length && !ctx.phases.length && !ctx.marks.length && !Object.keys(wl).length) {
      return "";
    }
    const parts: string[] = [];

    // charts: one per metric, a line per node
    for (const m of names.slice(0, MAX_CHARTS)) {
      const lines: Line[] = wseries.filter((s) => s.metric === m).map((s) => ({
        label: ctx.multiNode
          ? `${s.host} ${s.device}`
          : s.device === "main"
          ? m
          : `${s.device} ${m}`,
        color: ctx.multiNode ? ctx.hostColor(s.host) : "#4269d0",
        x: s.times,
        y: s.values,
      }));
      parts.push(
        figure(ctx, {
          id: `chart-wl-${idPart(m)}`,
          title: m,
          yLabel: m,
          lines,
          phases: true,
          height: 180,
          zero: false,
          noLegend: lines.length === 1,
        }),
      );
      progress.step(`workload ${m}`);
    }
    if (names.length > MAX_CHARTS) {
      parts.push(
        `<p class="muted">${names.length - MAX_CHARTS} more metrics are in the table below.</p>`,
      );
    }

    // metrics table: the summary's statistics, else computed from the series
    const metrics = isObj(wl.metrics) ? wl.metrics : Object.fromEntries(names.map((m) => {
      const v = wseries.filter((s) => s.metric === m).flatMap((s) => Array.from(s.values));
      let sum = 0, lo = Infinity, hi = -Infinity;
      for (const x of v) {
        sum += x;
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
      return [m, { last: v.at(-1), mean: sum / v.length, min: lo, max: hi, samples: v.length }];
    }));
    const mNames = Object.keys(metrics);
    if (mNames.length) {
      const keys: string[] = [];
      for (const n of mNames) {
        const st = metrics[n];
        if (isObj(st)) { for (const k of Object.keys(st)) if (!keys.includes(k)) keys.push(k); }
      }
      const rows = mNames.map((n) => {
        const st = metrics[n];
        return [
          `<code>${esc(n)}</code>`,
          ...(isObj(st)
            ? keys.map((k) =>
              isObj(st[k]) || Array.isArray(st[k]) ? generic(st[k]) : esc(value(st[k]))
            )
            : keys.map(() => "")),
        ];
      });
      parts.push(
        "<h3>Metrics</h3>" +
          table([{ label: "Metric" }, ...keys.map((k) => ({ label: k, num: true }))], rows),
      );
    }

    // phases: summary's when given, else the trace's; energy from the full data when not given
    // deno-lint-ignore no-explicit-any
    const phases: Record<string, any>[] = Array.isArray(wl.phases) && wl.phases.length
      ? wl.phases.filter(isObj)
      : ctx.phases.map((p) => ({ name: p.name, start: p.start, end: p.end }));
    const perPhaseCarbon = isObj(ctx.summary.carbon) && Array.isArray(ctx.summary.carbon.per_phase)
      ? ctx.summary.carbon.per_phase.filter(isObj)
      : [];
    // the carbon block's phase of the same name and start (names may repeat)
    const emissionsOf = (p: Record<string, unknown>): number | undefined => {
      const a = toMicros(p.start_us ?? p.start);
      const hit =
        perPhaseCarbon.find((c) => c.name === p.name && Math.abs(toMicros(c.start) - a) < 1e6) ??
          perPhaseCarbon.find((c) => c.name === p.name);
      return hit && isNum(hit.emissions_g) ? hit.emissions_g : undefined;
    };
    const withNet = phases.some((p) => isNum(p.net_energy_j));
    const withCo2 = perPhaseCarbon.length > 0;
    const phaseRows = phases.map((p) => {
      const a = toMicros(p.start_us ?? p.start);
      const b = toMicros(p.end_us ?? p.end ?? ctx.summary.run?.end);
      const dur = isNum(p.duration_s) ? p.duration_s : (b - a) / 1e6;
      const computed = !isNum(p.energy_j) && Number.isFinite(a) && Number.isFinite(b);
      const ej = isNum(p.energy_j) ? p.energy_j : computed ? energyBetween(ctx, a, b) : null;
      return [
        esc(p.name ?? ""),
        esc(Number.isFinite(a) ? utc(new Date(a / 1000).toISOString()) : String(p.start ?? "")),
        esc(duration(dur)),
        `${esc(joules(ej))}${
          computed ? ' <span class="muted" title="from the trace by the report">*</span>' : ""
        }`,
        ...(withNet ? [isNum(p.net_energy_j) ? esc(joules(p.net_energy_j)) : ""] : []),
        isNum(ej) && isNum(dur) && dur > 0 ? esc(watts(ej / dur)) : "",
        ...(withCo2 ? [esc(grams(emissionsOf(p)))] : []),
      ];
    });
    if (phaseRows.length) {
      parts.push(
        "<h3>Phases</h3>" +
          table([
            { label: "Phase" },
            { label: "Start" },
            { label: "Duration", num: true },
            { label: "Energy", num: true },
            ...(withNet ? [{ label: "Net energy", num: true, title: "above the idle power" }] : []),
            { label: "Avg power", num: true },
            ...(withCo2 ? [{ label: "Emissions", num: true }] : []),
          ], phaseRows),
      );
      if (phaseRows.some((r) => r[3].includes("*"))) {
        parts.push(
          '<p class="muted">* computed by the report from the trace (measured devices only).</p>',
        );
      }
    }
    if (ctx.marks.length) {
      parts.push(
        `<h3>Marks</h3><ol class="marks">${
          ctx.marks.map((m) =>
            `<li value="${m.n}"><span class="muted">${
              esc(duration((m.time - ctx.t0) / 1e6))
            }</span> ${esc(m.text)}</li>`
          ).join("")
        }</ol>`,
      );
    }
    if (wl.baseline !== undefined) parts.push(baselineBlock(wl.baseline));
    if (wl.per_unit !== undefined) parts.push(perUnitBlock(wl.per_unit));
    if (isObj(wl.bad_lines) && isNum(wl.bad_lines.count) && wl.bad_lines.count > 0) {
      const ex = Array.isArray(wl.bad_lines.examples) ? wl.bad_lines.examples : [];
      parts.push(
        `<p class="est">${esc(value(wl.bad_lines.count))} line${
          wl.bad_lines.count === 1 ? "" : "s"
        } from the workload could not be read.</p>${ex.length ? generic(ex) : ""}`,
      );
    } else if (wl.bad_lines !== undefined && !isObj(wl.bad_lines)) {
      parts.push(generic({ bad_lines: wl.bad_lines }));
    }
    const extra = Object.fromEntries(Object.entries(wl).filter(([k]) => !KNOWN.has(k)));
    if (Object.keys(extra).length) parts.push(generic(extra));
    return wrapSection({
      id: "workload",
      title: "Workload",
      lead: "What the workload reported. Shaded bands are phases; numbered dashed lines are marks.",
      body: parts.join("\n"),
    });
  },
};

/** Gross and net energy side by side, by part, with the idle window and the method. */
function baselineBlock(b: unknown): string {
  if (!isObj(b)) return "<h3>Idle baseline</h3>" + generic(b);
  const gross = isObj(b.gross_energy_by) ? b.gross_energy_by : {};
  const net = isObj(b.net_energy_by) ? b.net_energy_by : {};
  const idleBy = isObj(b.idle_power_by) ? b.idle_power_by : {};
  const cmdS = isObj(b.command) && isNum(b.command.duration_s) ? b.command.duration_s : undefined;
  const rows = PARTS.filter(([k]) => isNum(gross[k]) && (gross[k] !== 0 || net[k] !== 0)).map((
    [k, label],
  ) => [
    esc(label),
    esc(joules(gross[k])),
    isNum(idleBy[k]) ? esc(watts(idleBy[k])) : "",
    isNum(idleBy[k]) && cmdS !== undefined ? esc(joules(idleBy[k] * cmdS)) : "",
    esc(joules(net[k])),
  ]);
  const win = isObj(b.window) ? b.window : {};
  const info = facts([
    [
      "Idle window",
      isNum(win.duration_s)
        ? `${esc(duration(win.duration_s))} before the command, from ${esc(utc(win.start))}`
        : "",
    ],
    ["Idle power", isNum(b.idle_power_w) ? `<b>${esc(watts(b.idle_power_w))}</b>` : ""],
    ["Command", cmdS !== undefined ? esc(duration(cmdS)) : ""],
    [
      "Gross → net",
      isNum(b.gross_energy_j) && isNum(b.net_energy_j)
        ? `${esc(kwh(b.gross_energy_j))} → <b>${esc(kwh(b.net_energy_j))}</b>${
          b.gross_energy_j > 0
            ? ` <span class="muted">(${
              esc(trimZeros(sig((b.net_energy_j / b.gross_energy_j) * 100, 3)))
            }\u00a0% of gross)</span>`
            : ""
        }`
        : "",
    ],
  ]);
  const tbl = rows.length
    ? table(
      [
        { label: "Part" },
        { label: "Gross", num: true, title: "measured while the command ran" },
        { label: "Idle power", num: true },
        { label: "Idle energy", num: true, title: "idle power × the command's duration" },
        { label: "Net", num: true, title: "gross − idle energy: what the work added" },
      ],
      rows,
      {
        cls: "baseline",
        foot: [
          "<b>Total</b>",
          esc(joules(b.gross_energy_j)),
          isNum(b.idle_power_w) ? esc(watts(b.idle_power_w)) : "",
          esc(joules(b.idle_energy_j)),
          `<b>${esc(joules(b.net_energy_j))}</b>`,
        ],
      },
    )
    : "";
  return "<h3>Idle baseline: gross and net energy</h3>" + info + tbl +
    (typeof b.method === "string" ? `<p class="muted small">${esc(b.method)}</p>` : "");
}

/** Units of work over the command: count, energy per unit (gross and net), rate, per watt. */
function perUnitBlock(pu: unknown): string {
  const head = "<h3>Energy per unit of work</h3>";
  if (!isObj(pu)) return head + generic(pu);
  const present = UNITS.filter((u) => isNum(pu[u.key]) || isNum(pu[`energy_per_${u.one}_j`]));
  if (!present.length) return head + generic(pu);
  const methods = isObj(pu.methods) ? pu.methods : {};
  const withNet = present.some((u) => isNum(pu[`net_energy_per_${u.one}_j`]));
  const num = (v: unknown) => (isNum(v) ? esc(trimZeros(sig(v, 4))) : "—");
  const rows = present.map((u) => [
    esc(u.key),
    num(pu[u.key]),
    typeof methods[u.key] === "string" ? `<span class="muted">${esc(methods[u.key])}</span>` : "",
    isNum(pu[`energy_per_${u.one}_j`]) ? esc(perUnitJ(pu[`energy_per_${u.one}_j`])) : "—",
    ...(withNet
      ? [
        isNum(pu[`net_energy_per_${u.one}_j`])
          ? esc(perUnitJ(pu[`net_energy_per_${u.one}_j`]))
          : "—",
      ]
      : []),
    num(pu[`${u.key}_per_s`]),
    num(pu[`${u.key}_per_s_per_w`]),
  ]);
  const known = new Set(["energy_j", "duration_s", "basis", "methods"]);
  for (const u of UNITS) {
    for (const k of [u.key, `${u.key}_per_s`, `${u.key}_per_s_per_w`]) known.add(k);
    for (const k of [`energy_per_${u.one}_j`, `net_energy_per_${u.one}_j`]) known.add(k);
  }
  const extra = Object.fromEntries(Object.entries(pu).filter(([k]) => !known.has(k)));
  return head + table(
    [
      { label: "Unit" },
      { label: "Count", num: true },
      { label: "Counted from" },
      { label: "Energy / unit", num: true, title: "gross" },
      ...(withNet ? [{ label: "Net / unit", num: true, title: "above the idle power" }] : []),
      { label: "Per second", num: true },
      { label: "Per s per W", num: true, title: "throughput per watt = units per joule" },
    ],
    rows,
    { cls: "per-unit" },
  ) +
    (isNum(pu.energy_j) || typeof pu.basis === "string"
      ? `<p class="muted small">${
        isNum(pu.energy_j)
          ? `${esc(joules(pu.energy_j))}${
            isNum(pu.duration_s) ? ` in ${esc(duration(pu.duration_s))}` : ""
          }. `
          : ""
      }${typeof pu.basis === "string" ? `Basis: ${esc(pu.basis)}.` : ""}</p>`
      : "") +
    (Object.keys(extra).length ? generic(extra) : "");
}
