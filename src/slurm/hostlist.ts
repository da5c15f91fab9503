/**
 * SLURM host lists: `n[1-3,7],gpu07,rack[1-2]-n[01-02]` to the node names, in
 * SLURM's order (a bracket group expands left to right; several groups in one
 * name expand as a cartesian product, the last group varying fastest). Ranges
 * keep the zero padding of their first bound (`[08-10]` gives 08, 09, 10).
 */

/** Split at commas that are not inside brackets. */
function splitTop(list: string): string[] {
  const out: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === "[") depth++;
    else if (c === "]") {
      depth--;
      if (depth < 0) throw new Error(`host list "${list}": unbalanced ']'`);
    } else if (c === "," && depth === 0) {
      out.push(list.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw new Error(`host list "${list}": unbalanced '['`);
  out.push(list.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== "");
}

/** The values of one bracket body: `1-3,07,10-11` (with padding). */
function expandRange(body: string, whole: string): string[] {
  const out: string[] = [];
  for (const part of body.split(",")) {
    const p = part.trim();
    const m = /^(\d+)(?:-(\d+))?$/.exec(p);
    if (!m) throw new Error(`host list "${whole}": bad range "${p}"`);
    if (m[2] === undefined) {
      out.push(m[1]);
      continue;
    }
    const lo = Number(m[1]), hi = Number(m[2]);
    if (hi < lo) throw new Error(`host list "${whole}": range ${p} runs backwards`);
    if (hi - lo > 100_000) throw new Error(`host list "${whole}": range ${p} is too large`);
    const width = m[1].length;
    for (let v = lo; v <= hi; v++) out.push(String(v).padStart(width, "0"));
  }
  return out;
}

function expandOne(name: string, whole: string): string[] {
  const open = name.indexOf("[");
  if (open < 0) return [name];
  const close = name.indexOf("]", open);
  if (close < 0) throw new Error(`host list "${whole}": unbalanced '['`);
  const prefix = name.slice(0, open);
  const values = expandRange(name.slice(open + 1, close), whole);
  const rests = expandOne(name.slice(close + 1), whole);
  const out: string[] = [];
  for (const v of values) for (const r of rests) out.push(prefix + v + r);
  return out;
}

/** Expand a SLURM host list; throws on malformed input. Duplicates are kept once. */
export function expandHostlist(list: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const item of splitTop(list.trim())) {
    for (const h of expandOne(item, list)) {
      if (!seen.has(h)) {
        seen.add(h);
        out.push(h);
      }
    }
  }
  return out;
}
