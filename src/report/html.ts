/**
 * HTML building blocks of the report: escaping and filling the templates.
 *
 * Every string that comes from a trace, a summary or the command line goes
 * through `esc` (or a `{{name}}` slot, which escapes); only HTML this
 * generator made itself goes into a `{{{name}}}` slot.
 */

const ESC: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escape text for an HTML text node or a quoted attribute value. */
export function esc(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ESC[c]);
}

/** A template slot value: plain values are escaped by `{{x}}`, HTML goes raw into `{{{x}}}`. */
export type Slots = Record<string, string | number | undefined | null>;

/**
 * Fill a template: `{{name}}` is replaced by the escaped value, `{{{name}}}`
 * by the value as HTML. A slot with no value becomes empty; a slot name that
 * the template does not use is ignored.
 */
export function fill(template: string, slots: Slots): string {
  return template.replace(/\{\{(\{)?\s*([a-zA-Z0-9_]+)\s*\}?\}\}/g, (_m, raw, name) => {
    const v = slots[name];
    if (v === undefined || v === null) return "";
    return raw ? String(v) : esc(v);
  });
}

/** A table from rows of already-built cell HTML. `num` marks right-aligned numeric columns. */
export interface Column {
  /** Header text (escaped). */
  label: string;
  /** Right-align (numbers with units). */
  num?: boolean;
  /** Header tooltip (escaped). */
  title?: string;
}

export function table(
  columns: Column[],
  rows: string[][],
  opts: { cls?: string; foot?: string[] } = {},
): string {
  const th = columns.map((c) =>
    `<th${c.num ? ' class="num"' : ""}${c.title ? ` title="${esc(c.title)}"` : ""}>${
      esc(c.label)
    }</th>`
  ).join("");
  const tr = (cells: string[], tag = "td") =>
    `<tr>${
      cells.map((v, i) => `<${tag}${columns[i]?.num ? ' class="num"' : ""}>${v}</${tag}>`).join("")
    }</tr>`;
  const body = rows.map((r) => tr(r)).join("\n");
  const foot = opts.foot ? `<tfoot>${tr(opts.foot)}</tfoot>` : "";
  return `<div class="table-wrap"><table${opts.cls ? ` class="${esc(opts.cls)}"` : ""}>` +
    `<thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody>${foot}</table></div>`;
}

/** A definition list of label → HTML value pairs; pairs with an empty value are left out. */
export function facts(pairs: [string, string | undefined | null][], cls = "facts"): string {
  const items = pairs.filter(([, v]) => v !== undefined && v !== null && v !== "");
  if (!items.length) return "";
  return `<dl class="${esc(cls)}">${
    items.map(([k, v]) =>
      `<div${String(v).replace(/<[^>]*>/g, "").length > 64 ? ' class="wide"' : ""}><dt>${
        esc(k)
      }</dt><dd>${v}</dd></div>`
    ).join("")
  }</dl>`;
}

/**
 * Any JSON-like value as HTML, for blocks whose shape is free-form or not yet
 * known (`summary.quality`, extension fields): objects become definition
 * lists, arrays of objects tables, everything else escaped text. Never throws.
 */
export function generic(value: unknown, depth = 0): string {
  try {
    if (value === null || value === undefined) return '<span class="muted">—</span>';
    if (typeof value === "number") return esc(fmtGenericNumber(value));
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (typeof value === "string") return esc(value);
    if (depth > 4) return esc(JSON.stringify(value));
    if (Array.isArray(value)) {
      if (!value.length) return '<span class="muted">none</span>';
      if (value.every((v) => v && typeof v === "object" && !Array.isArray(v))) {
        const keys: string[] = [];
        for (const v of value) for (const k of Object.keys(v)) if (!keys.includes(k)) keys.push(k);
        const numeric = keys.map((k) =>
          value.every((v) => typeof v[k] === "number" || v[k] == null)
        );
        return table(
          keys.map((k, i) => ({ label: k, num: numeric[i] })),
          value.map((v) => keys.map((k) => generic(v[k], depth + 1))),
          { cls: "generic" },
        );
      }
      return value.map((v) => generic(v, depth + 1)).join(", ");
    }
    if (typeof value === "object") {
      return facts(
        Object.entries(value as Record<string, unknown>).map((
          [k, v],
        ) => [k, generic(v, depth + 1)]),
        "facts generic",
      ) || '<span class="muted">none</span>';
    }
    return esc(String(value));
  } catch {
    return '<span class="muted">(unreadable)</span>';
  }
}

function fmtGenericNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  const a = Math.abs(v);
  if (a >= 1000) return v.toLocaleString("en-US", { maximumFractionDigits: 1 });
  if (a >= 1) return v.toLocaleString("en-US", { maximumSignificantDigits: 4 });
  return v.toPrecision(3);
}
