/** Several nodes of one job: per-node breakdown, job totals, power and energy per node. */
import { esc, table } from "../html.ts";
import { joules, kwh, pct } from "../format.ts";
import type { Line } from "../charts.ts";
import type { ReportContext } from "../context.ts";
import { cumulativeLines, energyScale, scaleLines } from "./power.ts";
import { grid, meanPowerOnGrid } from "../series_math.ts";
import { dot, methodsOf, type Progress, type Section, wrapSection } from "./common.ts";
import { figure } from "./figure.ts";

export const nodesSection: Section = {
  id: "nodes",
  title: "Nodes",
  render(ctx: ReportContext, progress: Progress) {
    if (!ctx.multiNode) return "";
    const s = ctx.summary;
    const total = s.energy_j?.total ?? 0;
    const hostBlocks = new Map((s.hosts ?? []).map((h) => [h.host, h]));
    const rows = ctx.hosts.map((h) => {
      const b = hostBlocks.get(h);
      const e = b?.energy_j;
      const devs = (s.devices ?? []).filter((d) => d.host === h);
      return [
        `${dot(ctx.hostColor(h))}<code>${esc(h)}</code>`,
        e ? esc(kwh(e.total)) : "—",
        e ? esc(joules(e.total)) : "—",
        e ? esc(joules(e.gpu)) : "—",
        e ? esc(joules(e.cpu)) : "—",
        e ? esc(joules(e.dram)) : "—",
        e ? esc(joules((e.other ?? 0) + (e.host ?? 0))) : "—",
        e && total > 0 ? esc(pct((e.total / total) * 100, 1)) : "",
        String(b?.devices ?? devs.length),
        methodsOf(devs),
      ];
    });
    const e = s.energy_j;
    const foot = [
      `<b>Job (${ctx.hosts.length} nodes)</b>`,
      esc(kwh(e?.total)),
      esc(joules(e?.total)),
      esc(joules(e?.gpu)),
      esc(joules(e?.cpu)),
      esc(joules(e?.dram)),
      esc(joules((e?.other ?? 0) + (e?.host ?? 0))),
      "100\u00a0%",
      String((s.devices ?? []).length),
      methodsOf(s.devices ?? []),
    ];
    const tbl = table(
      [
        { label: "Node" },
        { label: "Energy", num: true },
        { label: "Joules", num: true },
        { label: "GPU", num: true },
        { label: "CPU", num: true },
        { label: "DRAM", num: true },
        { label: "Other", num: true },
        { label: "Share", num: true },
        { label: "Devices", num: true },
        { label: "Methods" },
      ],
      rows,
      { foot, cls: "nodes" },
    );

    // per node: total cumulative energy and mean power on a common grid
    const g = grid(ctx.t0, ctx.t1, 240);
    const cum: Line[] = [];
    const pow: Line[] = [];
    for (const h of ctx.hosts) {
      const ls = cumulativeLines(ctx, h);
      if (!ls.length) continue;
      const y = new Float64Array(g.length);
      for (const l of ls) for (let i = 0; i < y.length; i++) y[i] += l.y[i];
      cum.push({ label: h, color: ctx.hostColor(h), x: g, y });
      pow.push({ label: h, color: ctx.hostColor(h), ...meanPowerOnGrid(y, g) });
    }
    const step = (ctx.t1 - ctx.t0) / 1e6 / (g.length - 1);
    const charts = [
      figure(ctx, {
        id: "chart-node-power",
        title: "Power per node",
        note: `sum of the node's devices, mean over ${
          step < 10 ? step.toFixed(1) : Math.round(step)
        } s steps`,
        yLabel: "Power (W)",
        lines: pow,
        phases: true,
      }),
    ];
    progress.step("node power");
    let maxJ = 0;
    for (const l of cum) maxJ += l.y[l.y.length - 1] || 0;
    const sc = energyScale(maxJ);
    charts.push(figure(ctx, {
      id: "chart-node-energy",
      title: "Cumulative energy of the job",
      note: "stacked by node; the top edge is the job total",
      yLabel: `Energy (${sc.unit})`,
      lines: scaleLines(cum, sc.div),
      stacked: true,
      phases: true,
    }));
    progress.step("node energy");
    return wrapSection({
      id: "nodes",
      title: "Nodes",
      lead: `${ctx.hosts.length} nodes of one job; the job total is the sum of the nodes.`,
      body: tbl + charts.join("\n"),
    });
  },
};
