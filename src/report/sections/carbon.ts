/**
 * Carbon: region and intensity (with its source and year), PUE, emissions,
 * per device and per phase, water, cost, embodied emissions, comparisons.
 * Rendered from `summary.carbon` of whatever shape; unknown fields are shown generically.
 */
import { esc, facts, generic, table } from "../html.ts";
import { grams, joules, kwh, sig, trimZeros } from "../format.ts";
import type { ReportContext } from "../context.ts";
import { isNum, isObj, type Section, wrapSection } from "./common.ts";

const KNOWN = new Set([
  "region",
  "region_name",
  "region_kind",
  "intensity_g_per_kwh",
  "intensity_source",
  "year",
  "basis",
  "guess",
  "pue",
  "emissions_g",
  "per_device",
  "per_phase",
  "water_l",
  "wue_l_per_kwh",
  "cost",
  "embodied",
  "comparisons",
  "notes",
  "hint",
  "energy_j",
  "grid_energy_j",
  "resolved_by",
  "via",
  "intensity_series",
]);

export const carbonSection: Section = {
  id: "carbon",
  title: "Carbon",
  render(ctx: ReportContext) {
    const c = ctx.summary.carbon;
    if (!isObj(c)) return "";
    const region = [
      c.region ? `<code>${esc(c.region)}</code>` : "",
      c.region_name ? esc(c.region_name) : "",
    ]
      .filter(Boolean).join(" ");
    const intensity = isNum(c.intensity_g_per_kwh)
      ? `${esc(sig(c.intensity_g_per_kwh))}\u00a0g\u00a0CO₂e/kWh${
        c.basis ? ` (${esc(c.basis)})` : ""
      }`
      : "";
    const parts: string[] = [];
    parts.push(facts([
      ["Emissions", isNum(c.emissions_g) ? `<b>${esc(grams(c.emissions_g))}</b>` : ""],
      [
        "Region",
        region +
        (c.guess
          ? ` <span class="est">guessed${c.resolved_by ? ` from ${esc(c.resolved_by)}` : ""}</span>`
          : ""),
      ],
      ["Intensity", intensity],
      [
        "Source",
        [
          c.intensity_source,
          String(c.intensity_source ?? "").includes(String(c.year)) ? null : c.year,
        ]
          .filter((v) => v !== undefined && v !== null && v !== "").map(esc).join(", "),
      ],
      ["PUE", isNum(c.pue) ? esc(trimZeros(sig(c.pue))) : ""],
      [
        "IT energy",
        isNum(c.energy_j) ? `${esc(kwh(c.energy_j))} (${esc(joules(c.energy_j))})` : "",
      ],
      ["Grid energy", isNum(c.grid_energy_j) ? `${esc(kwh(c.grid_energy_j))} (IT × PUE)` : ""],
      ["Water", isNum(c.water_l) ? `${esc(sig(c.water_l))}\u00a0L` : ""],
      [
        "Cost",
        isObj(c.cost) && isNum(c.cost.amount)
          ? `${esc(sig(c.cost.amount))}\u00a0${esc(c.cost.currency ?? "")}${
            isNum(c.cost.price_per_kwh) ? ` at ${esc(sig(c.cost.price_per_kwh))}/kWh` : ""
          }`
          : c.cost != null
          ? generic(c.cost)
          : "",
      ],
      ["Embodied", c.embodied != null ? generic(c.embodied) : ""],
      ["How to set", c.hint ? esc(c.hint) : ""],
    ]));
    if (Array.isArray(c.comparisons) && c.comparisons.length) {
      parts.push(
        `<h3>In everyday terms</h3><ul class="comparisons">${
          c.comparisons.filter(isObj).map((x) =>
            `<li>≈ <b>${esc(isNum(x.value) ? sig(x.value) : x.value ?? "")} ${
              esc(x.unit ?? "")
            }</b> ${esc(x.label ?? "")}${
              x.source ? ` <span class="muted">(${esc(x.source)})</span>` : ""
            }</li>`
          ).join("")
        }</ul>`,
      );
    }
    if (Array.isArray(c.per_device) && c.per_device.length) {
      const rows = c.per_device.filter(isObj).map((d) => [
        esc([d.host, d.source, d.device].filter(Boolean).join(" ")),
        esc(joules(d.energy_j)),
        esc(grams(d.emissions_g)),
        d.counted === false ? '<span class="muted">inside another meter</span>' : "",
      ]);
      parts.push(
        "<h3>Per device</h3>" +
          table([{ label: "Device" }, { label: "Energy", num: true }, {
            label: "Emissions",
            num: true,
          }, {
            label: "",
          }], rows),
      );
    }
    if (Array.isArray(c.per_phase) && c.per_phase.length) {
      const rows = c.per_phase.filter(isObj).map((p) => [
        esc(p.name ?? ""),
        esc(joules(p.energy_j)),
        esc(grams(p.emissions_g)),
      ]);
      parts.push(
        "<h3>Per phase</h3>" +
          table([{ label: "Phase" }, { label: "Energy", num: true }, {
            label: "Emissions",
            num: true,
          }], rows),
      );
    }
    if (Array.isArray(c.notes) && c.notes.length) {
      parts.push(
        `<ul class="notes">${c.notes.map((n: unknown) => `<li>${esc(n)}</li>`).join("")}</ul>`,
      );
    }
    const extra = Object.fromEntries(Object.entries(c).filter(([k]) => !KNOWN.has(k)));
    if (Object.keys(extra).length) parts.push(generic(extra));
    return wrapSection({
      id: "carbon",
      title: "Carbon",
      lead: "Operational emissions: measured energy × PUE × grid carbon intensity.",
      body: parts.join("\n"),
    });
  },
};
