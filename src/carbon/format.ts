/**
 * Words and HTML for a carbon block: the CLI's text and the report's section
 * (figure, source and year, basis, comparisons with their sources, embodied
 * apart).
 */
import type { CarbonBlock } from "./carbon.ts";
import { J_PER_KWH } from "./emissions.ts";

/** 1234 g → "1.23 kg"; 0.5 g → "0.500 g". */
export function formatGrams(g: number): string {
  const a = Math.abs(g);
  if (a >= 1e6) return `${sig(g / 1e6)} t`;
  if (a >= 1e3) return `${sig(g / 1e3)} kg`;
  if (a >= 1) return `${sig(g)} g`;
  if (a === 0) return "0 g";
  return `${sig(g * 1e3)} mg`;
}

/** Joules → "3.20 kWh" / "512 Wh". */
export function formatEnergy(j: number): string {
  const kwh = j / J_PER_KWH;
  if (Math.abs(kwh) >= 1000) return `${sig(kwh / 1000)} MWh`;
  if (Math.abs(kwh) >= 1) return `${sig(kwh)} kWh`;
  return `${sig(kwh * 1000)} Wh`;
}

/** Three significant digits, no exponent. */
export function sig(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const d = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))));
  return x.toFixed(Math.min(d, 6));
}

const BASIS_WORDS: Record<string, string> = {
  lifecycle: "lifecycle (includes fuel supply and plant construction)",
  "direct-combustion": "direct combustion only (stack emissions; lower than lifecycle)",
  "grid-average": "grid average (Google, hourly-weighted, location-based)",
  user: "user-supplied",
};

export function basisWords(b: string): string {
  return BASIS_WORDS[b] ?? b;
}

/** Plain-text lines for the terminal (and the report's fallback). */
export function carbonTextLines(c: CarbonBlock): string[] {
  const out: string[] = [];
  const where = c.region ? `${c.region_name ?? c.region} [${c.region}]` : "user intensity";
  out.push(
    `carbon: ${formatGrams(c.emissions_g)} CO2e  (${formatEnergy(c.energy_j)} × PUE ${c.pue} × ` +
      `${sig(c.intensity_g_per_kwh)} g/kWh, ${where}${c.guess ? ", GUESSED" : ""})`,
  );
  out.push(`  source: ${c.intensity_source}; basis: ${basisWords(c.basis)}`);
  if (c.hint) out.push(`  note: ${c.hint}`);
  for (const n of c.notes) out.push(`  note: ${n}`);
  if (c.water_l !== null) {
    out.push(`  water: ${sig(c.water_l)} L (WUE ${c.wue_l_per_kwh} L/kWh)`);
  }
  if (c.cost) {
    out.push(
      `  cost: ${c.cost.amount.toFixed(c.cost.amount < 1 ? 4 : 2)} ${c.cost.currency} ` +
        `(${c.cost.price_per_kwh} ${c.cost.currency}/kWh × ${
          formatEnergy(c.grid_energy_j)
        } from the grid)`,
    );
  }
  for (const cmp of c.comparisons) {
    out.push(
      `  ≈ ${sig(cmp.value)} ${cmp.label} [${cmp.factor}; ${cmp.source}${
        cmp.year ? `, ${cmp.year}` : ""
      }]`,
    );
  }
  if (c.embodied) {
    const e = c.embodied;
    out.push(
      `  embodied (apart, not in the total above): ${
        formatGrams(e.emissions_g)
      } CO2e — ${e.method}`,
    );
    for (const g of e.per_gpu) {
      out.push(
        g.kg_co2e === null
          ? `    ${g.device} ${g.name ?? ""}: no cited manufacturing figure`
          : `    ${g.device} ${g.name ?? ""}: ${g.kg_co2e} kg CO2e (${g.source}) → ${
            formatGrams(g.emissions_g ?? 0)
          }`,
      );
    }
  }
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

/** A self-contained `<section>` for report.html. */
export function carbonReportHtml(c: CarbonBlock): string {
  const rows: string[] = [];
  const row = (k: string, v: string) => rows.push(`<tr><th>${esc(k)}</th><td>${v}</td></tr>`);
  row("Operational emissions", `<strong>${esc(formatGrams(c.emissions_g))} CO2e</strong>`);
  row(
    "Grid intensity",
    `${esc(sig(c.intensity_g_per_kwh))} g CO2e/kWh — ${
      esc(c.region ? `${c.region_name} [${c.region}]` : "user value")
    }${c.guess ? " <em>(guessed from the time zone)</em>" : ""}`,
  );
  row("Source", `${esc(c.intensity_source)}; basis: ${esc(basisWords(c.basis))}`);
  row("PUE", esc(String(c.pue)));
  row(
    "Energy",
    `${esc(formatEnergy(c.energy_j))} measured, ${
      esc(formatEnergy(c.grid_energy_j))
    } from the grid`,
  );
  if (c.water_l !== null) row("Water", `${esc(sig(c.water_l))} L (WUE ${c.wue_l_per_kwh} L/kWh)`);
  if (c.cost) {
    row(
      "Cost",
      `${esc(c.cost.amount.toFixed(2))} ${esc(c.cost.currency)} at ${c.cost.price_per_kwh}/kWh`,
    );
  }
  const devices = c.per_device.map((d) =>
    `<tr><td>${esc(d.source)}/${esc(d.device)}${d.counted ? "" : " (inside another device)"}</td>` +
    `<td>${esc(formatEnergy(d.energy_j))}</td><td>${esc(formatGrams(d.emissions_g))}</td></tr>`
  ).join("");
  const phases = c.per_phase.map((p) =>
    `<tr><td>${esc(p.name)}</td><td>${esc(formatEnergy(p.energy_j))}</td><td>${
      esc(formatGrams(p.emissions_g))
    }</td></tr>`
  ).join("");
  const cmps = c.comparisons.map((x) =>
    `<li>≈ ${esc(sig(x.value))} ${esc(x.label)} <small>(${esc(x.factor)}; ${esc(x.source)}${
      x.year ? `, ${x.year}` : ""
    })</small></li>`
  ).join("");
  const notes = [...(c.hint ? [c.hint] : []), ...c.notes].map((n) => `<li>${esc(n)}</li>`).join("");
  let embodied = "";
  if (c.embodied) {
    const e = c.embodied;
    embodied = `<h3>Embodied emissions (apart from the operational figure)</h3><p>${
      esc(formatGrams(e.emissions_g))
    } CO2e — ${esc(e.method)}</p><ul>${
      e.per_gpu.map((g) =>
        `<li>${esc(g.device)} ${esc(g.name ?? "")}: ${
          g.kg_co2e === null
            ? "no cited manufacturing figure"
            : `${g.kg_co2e} kg CO2e (${esc(g.source ?? "")}) → ${
              esc(formatGrams(g.emissions_g ?? 0))
            }`
        }</li>`
      ).join("")
    }</ul>`;
  }
  return `<section class="carbon"><h2>Carbon</h2><table>${rows.join("")}</table>` +
    (devices
      ? `<h3>Per device</h3><table><tr><th>device</th><th>energy</th><th>CO2e</th></tr>${devices}</table>`
      : "") +
    (phases
      ? `<h3>Per phase</h3><table><tr><th>phase</th><th>energy</th><th>CO2e</th></tr>${phases}</table>`
      : "") +
    (cmps ? `<h3>Everyday equivalents</h3><ul>${cmps}</ul>` : "") +
    embodied +
    (notes ? `<h3>Notes</h3><ul>${notes}</ul>` : "") +
    `</section>`;
}
