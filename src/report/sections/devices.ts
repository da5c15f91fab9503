/** Per-device table: energy with its method, average and peak power, utilization. Full data. */
import { esc, table } from "../html.ts";
import { joules, pct, sig, watts } from "../format.ts";
import { max, mean, powerFromEnergy } from "../series_math.ts";
import type { ReportContext } from "../context.ts";
import { dot, energyWithMethod, type Section, wrapSection } from "./common.ts";

export const devicesSection: Section = {
  id: "devices",
  title: "Devices",
  render(ctx: ReportContext) {
    const devs = [...(ctx.summary.devices ?? [])];
    if (!devs.length) return "";
    const total = ctx.summary.energy_j?.total ?? 0;
    const metric = (host: string, source: string, device: string, m: string) =>
      ctx.series.find((s) =>
        s.host === host && s.source === source && s.device === device && s.metric === m
      );
    const hostIdx = (h: string) => ctx.hosts.indexOf(h);
    devs.sort((a, b) =>
      hostIdx(a.host) - hostIdx(b.host) ||
      (a.total === "none" ? 1 : 0) - (b.total === "none" ? 1 : 0) ||
      a.source.localeCompare(b.source) || a.device.localeCompare(b.device, "en", { numeric: true })
    );
    const rows = devs.map((d) => {
      const util = metric(d.host, d.source, d.device, "util_pct");
      const temp = metric(d.host, d.source, d.device, "temp_c");
      // a device with only an energy counter: its peak from the counter's steps (full data)
      let peak = d.peak_power_w;
      const counter = peak == null ? metric(d.host, d.source, d.device, "energy_j") : undefined;
      if (counter) peak = max(powerFromEnergy(counter).y);
      const est = d.energy_method === "estimate";
      const inside = d.total === "none";
      const name = `${dot(ctx.colorOf(d.source, d.device), est)}<b>${
        esc(ctx.label(d.source, d.device))
      }</b>${d.name ? `<br><span class="muted">${esc(d.name)}</span>` : ""}${
        d.note ? `<br><span class="est">${esc(d.note)}</span>` : ""
      }${
        inside ? '<br><span class="muted">inside another meter, not added to the total</span>' : ""
      }`;
      const cells = [
        name,
        ...(ctx.multiNode ? [`<code>${esc(d.host)}</code>`] : []),
        esc(d.source),
        d.energy_j === null
          ? '<span class="muted">—</span>'
          : energyWithMethod(d.energy_j, d.energy_method),
        !inside && d.energy_j !== null && total > 0 ? esc(pct((d.energy_j / total) * 100, 1)) : "",
        esc(watts(d.avg_power_w)),
        esc(watts(peak)),
        util ? esc(pct(util.stats?.n ? util.stats.sum / util.stats.n : mean(util.values), 0)) : "",
        temp ? esc(`${sig(max(temp.values) ?? NaN)}\u00a0°C`) : "",
      ];
      return cells;
    });
    const cols = [
      { label: "Device" },
      ...(ctx.multiNode ? [{ label: "Node" }] : []),
      { label: "Source" },
      { label: "Energy", num: true, title: "with how it was obtained" },
      { label: "Share", num: true },
      { label: "Avg power", num: true },
      { label: "Peak power", num: true },
      { label: "Mean util.", num: true },
      { label: "Max temp.", num: true },
    ];
    const e = ctx.summary.energy_j;
    const foot = [
      "<b>Total</b>",
      ...(ctx.multiNode ? [""] : []),
      "",
      e ? esc(joules(e.total)) : "",
      "",
      esc(watts(ctx.summary.power_w?.avg)),
      ctx.summary.power_w?.peak != null ? esc(watts(ctx.summary.power_w.peak)) : "",
      "",
      "",
    ];
    return wrapSection({
      id: "devices",
      title: "Devices",
      lead:
        "From every sample of the trace. Average power is energy over the device's sampled time.",
      body: table(cols, rows, { foot, cls: "devices" }),
    });
  },
};
