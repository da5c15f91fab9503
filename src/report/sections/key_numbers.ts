/** The key numbers first: energy (kWh and J, split, method), power, time, emissions, energy per unit of work. */
import { esc, fill } from "../html.ts";
import { TEMPLATES } from "../templates.ts";
import {
  duration,
  grams,
  joules,
  joulesExact,
  kwh,
  pct,
  sig,
  trimZeros,
  utc,
  watts,
} from "../format.ts";
import { isNum, isObj, methodBadge, type Section } from "./common.ts";
import type { ReportContext } from "../context.ts";

const SPLIT = [
  { key: "gpu", label: "GPU", color: "#4269d0" },
  { key: "cpu", label: "CPU", color: "#ff725c" },
  { key: "dram", label: "DRAM", color: "#efb118" },
  { key: "host", label: "Host (platform meter)", color: "#9c6b4e" },
  { key: "other", label: "Other", color: "#9498a0" },
] as const;

function card(label: string, value: string, detail: string, cls = ""): string {
  return fill(TEMPLATES.card, { label, value, detail, cls });
}

/** Units of work in the order they say most (a token is finer than a step). */
export const UNITS = [
  { key: "tokens", one: "token" },
  { key: "samples", one: "sample" },
  { key: "requests", one: "request" },
  { key: "steps", one: "step" },
] as const;

/** Energy per unit in a unit that suits it: J, mJ, µJ (kJ above 10 kJ). */
export function perUnitJ(j: number): string {
  const a = Math.abs(j);
  if (a === 0 || a >= 1) return joules(j);
  if (a >= 1e-3) return `${trimZeros(sig(j * 1e3))}\u00a0mJ`;
  return `${trimZeros(sig(j * 1e6))}\u00a0µJ`;
}

/** Energy per unit of work and throughput per watt, from `workload.per_unit`. */
function perUnitCards(perUnit: unknown): string[] {
  const out: string[] = [];
  if (!isObj(perUnit)) return out;
  const present = UNITS.filter((u) => isNum(perUnit[`energy_per_${u.one}_j`]));
  if (!present.length) return legacyPerUnitCards(perUnit);
  const methods = isObj(perUnit.methods) ? perUnit.methods : {};
  const card1 = (u: (typeof UNITS)[number]) => {
    const e = perUnit[`energy_per_${u.one}_j`] as number;
    const net = perUnit[`net_energy_per_${u.one}_j`];
    const count = perUnit[u.key];
    return card(
      `Energy per ${u.one}`,
      esc(perUnitJ(e)),
      [
        isNum(net) ? `net ${esc(perUnitJ(net))} above idle` : "",
        isNum(count)
          ? `${esc(trimZeros(sig(count, 4)))} ${u.key}${
            typeof methods[u.key] === "string"
              ? ` <span class="muted">(${esc(methods[u.key])})</span>`
              : ""
          }`
          : "",
      ].filter(Boolean).join(" · "),
      "c-work",
    );
  };
  const main = present[0];
  out.push(card1(main));
  const perW = perUnit[`${main.key}_per_s_per_w`];
  if (isNum(perW)) {
    const rate = perUnit[`${main.key}_per_s`];
    const avgW = isNum(perUnit.energy_j) && isNum(perUnit.duration_s) && perUnit.duration_s > 0
      ? perUnit.energy_j / perUnit.duration_s
      : undefined;
    out.push(card(
      "Throughput per watt",
      `${esc(trimZeros(sig(perW)))}<small> ${esc(main.key)}/J</small>`,
      `${esc(main.key)}/s per W${
        isNum(rate)
          ? `: ${esc(trimZeros(sig(rate)))} ${esc(main.key)}/s${
            avgW !== undefined ? ` at ${esc(watts(avgW))}` : ""
          }`
          : ""
      }`,
      "c-work",
    ));
  }
  return out;
}

/** Energy per unit of work from a `per_unit` of another shape (older or foreign summaries). */
function legacyPerUnitCards(perUnit: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(perUnit)) {
    if (out.length >= 3) break;
    let val: number | undefined, unit = "";
    let detail = "";
    if (isNum(v)) {
      const m = /_(j|wh|kwh|g|mj|kj)$/i.exec(k);
      if (!m) continue;
      val = v;
      unit = ({ j: "J", wh: "Wh", kwh: "kWh", g: "g CO₂e", mj: "MJ", kj: "kJ" } as Record<
        string,
        string
      >)[m[1].toLowerCase()];
    } else if (isObj(v)) {
      const num = [v.value, v.energy_j, v.j, v.per_unit].find(isNum);
      if (num === undefined) continue;
      val = num;
      unit = typeof v.unit === "string" ? v.unit : (num === v.energy_j || num === v.j ? "J" : "");
      if (typeof v.per === "string") unit += ` / ${v.per}`;
      if (typeof v.method === "string") detail = methodBadge(v.method);
      else if (typeof v.note === "string") detail = esc(v.note);
    } else continue;
    out.push(
      card(
        `Energy per unit · ${k.replace(/_/g, " ")}`,
        `${esc(sig(val!))}${unit ? `<small> ${esc(unit)}</small>` : ""}`,
        detail,
        "c-work",
      ),
    );
  }
  return out;
}

/** Gross and net energy of the command when an idle baseline was taken. */
function baselineCard(b: unknown): string {
  if (!isObj(b) || !isNum(b.net_energy_j) || !isNum(b.gross_energy_j)) return "";
  const idleW = isNum(b.idle_power_w) ? b.idle_power_w : undefined;
  const cmdS = isObj(b.command) && isNum(b.command.duration_s) ? b.command.duration_s : undefined;
  return card(
    "Energy above idle",
    esc(kwh(b.net_energy_j)),
    `gross ${esc(joules(b.gross_energy_j))} − idle ${esc(joules(b.idle_energy_j))}${
      idleW !== undefined && cmdS !== undefined
        ? ` <span class="nowrap">(${esc(watts(idleW))} × ${esc(duration(cmdS))})</span>`
        : ""
    }`,
    "c-net",
  );
}

export const keyNumbersSection: Section = {
  id: "key-numbers",
  title: "",
  render(ctx: ReportContext) {
    const s = ctx.summary;
    const e = s.energy_j ??
      { total: 0, gpu: 0, cpu: 0, dram: 0, host: 0, other: 0, measured: 0, estimated: 0 };
    const devices = s.devices ?? [];
    const cards: string[] = [];
    const methods = [
      ...new Set(
        devices.filter((d) => d.energy_j !== null && d.total !== "none").map((d) =>
          d.energy_method
        ),
      ),
    ].filter(Boolean) as string[];
    const estimated = isNum(e.estimated) && e.estimated > 0;
    cards.push(card(
      "Energy",
      devices.length ? esc(kwh(e.total)) : '<span class="muted">not measured</span>',
      devices.length
        ? `${esc(joulesExact(e.total))} ${methods.sort().map(methodBadge).join(" ")}${
          estimated
            ? `<br><span class="est">of which ${esc(joules(e.estimated))} estimated</span>`
            : ""
        }`
        : "no energy source could be read",
    ));
    const bl = baselineCard(s.workload?.baseline);
    if (bl) cards.push(bl);
    cards.push(card(
      "Average power",
      esc(watts(s.power_w?.avg)),
      `over ${esc(duration(s.run?.duration_s))}`,
      "c-power",
    ));
    cards.push(card(
      "Peak power",
      s.power_w?.peak != null ? esc(watts(s.power_w.peak)) : "—",
      s.power_w?.peak_method === "coincident"
        ? "highest total at one instant"
        : s.power_w?.peak_method
        ? esc(s.power_w.peak_method)
        : "",
      "c-power",
    ));
    cards.push(card(
      "Duration",
      esc(duration(s.run?.duration_s)),
      `from ${esc(utc(s.run?.start))}`,
      "c-time",
    ));
    const c = s.carbon;
    if (isObj(c) && isNum(c.emissions_g)) {
      const where = [
        c.region_name ?? c.region,
        isNum(c.intensity_g_per_kwh) ? `${sig(c.intensity_g_per_kwh)} g/kWh` : "",
      ]
        .filter(Boolean).join(" · ");
      cards.push(card(
        "Emissions",
        esc(grams(c.emissions_g)),
        `${esc(where)}${c.guess ? ' <span class="est">region guessed</span>' : ""}${
          isNum(c.pue) && c.pue !== 1 ? ` · PUE ${esc(trimZeros(sig(c.pue)))}` : ""
        }`,
        "c-carbon",
      ));
    }
    cards.push(...perUnitCards(s.workload?.per_unit));

    // the split bar
    let split = "";
    if (isNum(e.total) && e.total > 0) {
      const parts = SPLIT.map((p) => {
        const j = Number((e as unknown as Record<string, number>)[p.key]) || 0;
        const devs = devices.filter((d) => d.total === p.key && d.energy_j !== null);
        const ms = [...new Set(devs.map((d) => d.energy_method))].filter(Boolean) as string[];
        return { ...p, j, ms, estimate: ms.length > 0 && ms.every((m) => m === "estimate") };
      }).filter((p) => p.j > 0);
      // inside a platform meter (psys), cpu+dram are shown but not added
      const base = parts.reduce((a, p) => a + p.j, 0) || 1;
      split = `<div class="split" aria-label="Energy by part"><div class="split-bar">${
        parts.map((p) =>
          `<span class="${p.estimate ? "estimate" : ""}" style="width:${
            (p.j / base * 100).toFixed(2)
          }%;background-color:${p.color}" title="${esc(`${p.label}: ${joules(p.j)}`)}"></span>`
        ).join("")
      }</div><ul class="split-legend">${
        parts.map((p) =>
          `<li><i style="background:${p.color}"></i><b>${esc(p.label)}</b> ${esc(kwh(p.j))} · ${
            esc(joules(p.j))
          } · ${esc(pct(p.j / e.total * 100, 1))} ${p.ms.map(methodBadge).join(" ")}</li>`
        ).join("")
      }</ul></div>`;
    }
    const notes: string[] = [];
    if (e.host > 0) {
      notes.push(
        "A platform meter (RAPL psys) covers CPU and DRAM: the total counts it instead of them, never both.",
      );
    }
    if (s.run && s.run.complete === false) {
      notes.push(
        "This trace comes from a run that did not finish (crash or kill): numbers cover what was written.",
      );
    }
    if (isNum(s.measured_fraction) && s.measured_fraction < 1) {
      notes.push(
        `${pct(s.measured_fraction * 100, 1)} of the energy is measured; the rest is estimated.`,
      );
    }
    return fill(TEMPLATES.keyNumbers, {
      cards: cards.join("\n"),
      split,
      notes: notes.length
        ? `<ul class="notes">${notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>`
        : "",
    });
  },
};
