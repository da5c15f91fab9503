/** Helpers shared by the report's sections. */
import { esc, fill } from "../html.ts";
import { TEMPLATES } from "../templates.ts";
import type { DeviceEnergy } from "../../analysis/energy.ts";
import type { ReportContext } from "../context.ts";
import { joules, kwh } from "../format.ts";

/** One section of the report. `render` returns "" when it has nothing to show. */
export interface Section {
  id: string;
  /** Title in the table of contents ("" = not listed). */
  title: string;
  render(ctx: ReportContext, progress: Progress): string | Promise<string>;
}

/** Counts planned work (charts) for the progress line. */
export interface Progress {
  step(what: string): void;
}

export function wrapSection(
  o: { id: string; title: string; body: string; lead?: string; cls?: string },
): string {
  return fill(TEMPLATES.section, {
    id: o.id,
    title: o.title,
    cls: o.cls ?? o.id,
    lead: o.lead ? `<p class="lead">${o.lead}</p>` : "",
    body: o.body,
  });
}

const METHODS = new Set(["counter", "power-integral", "estimate"]);

/** The method badge that goes with every energy figure. */
export function methodBadge(method: string | null | undefined): string {
  if (!method) return '<span class="method m-none">no data</span>';
  const m = METHODS.has(method) ? method : "other";
  return `<span class="method m-${m}" title="${esc(methodHelp(method))}">${esc(method)}</span>`;
}

export function methodHelp(method: string): string {
  switch (method) {
    case "counter":
      return "read from the device's own cumulative energy counter";
    case "power-integral":
      return "power samples integrated over time";
    case "estimate":
      return "estimated from a model, not measured";
    default:
      return method;
  }
}

/** An energy figure with its method; estimates in italics, marked. */
export function energyWithMethod(
  j: number | null | undefined,
  method: string | null | undefined,
): string {
  const v = esc(joules(j));
  const cls = method === "estimate" ? ' class="estimate-value"' : "";
  return `<span${cls}>${v}</span> ${methodBadge(method)}`;
}

/** The methods behind a group of devices, as badges. */
export function methodsOf(devices: DeviceEnergy[]): string {
  const ms = [
    ...new Set(devices.filter((d) => d.energy_j !== null).map((d) => d.energy_method ?? "")),
  ]
    .filter(Boolean).sort();
  return ms.map(methodBadge).join(" ");
}

export function kwhAndJ(j: number): string {
  return `${esc(kwh(j))}`;
}

/** A coloured dot for a device or host in a table. */
export function dot(color: string, dashed = false): string {
  return `<i class="dot${dashed ? " dashed" : ""}" style="${dashed ? "color" : "background"}:${
    esc(color)
  }"></i>`;
}

// deno-lint-ignore no-explicit-any
export function isObj(v: unknown): v is Record<string, any> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}
