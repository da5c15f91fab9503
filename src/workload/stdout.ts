/**
 * Metrics from the command's stdout: Hugging Face Trainer log dicts
 * (`{'loss': 0.69, 'grad_norm': 1.2, 'learning_rate': 5e-05, 'epoch': 0.5}`,
 * `{'train_runtime': 12.3, 'train_samples_per_second': 81.2, ...}`) and
 * user regexes (`--metric-regex NAME=REGEX`). The stdout itself is copied to
 * the user unchanged by the recorder; these only read a copy of each line.
 */
import { sanitizeMetricName } from "./names.ts";

export interface StdoutMetrics {
  metrics: [name: string, value: number][];
  /** Set when the line looked like a log dict but held a non-finite number. */
  bad?: string;
}

// 'key': value, where value is a number, nan/inf, or a wrapped number (np.float64(0.5), tensor(0.5))
const PAIR =
  /(['"])([A-Za-z_][\w./-]*)\1\s*:\s*(?:[A-Za-z_][\w.]*\(\s*)?([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf|NaN|Infinity))/g;
// the dict itself: from a `{'` to the last `}` (progress-bar text may precede it on the line)
const DICT = /\{\s*['"][A-Za-z_][^{}]*\}\s*$/;

/** Metrics of a Python-repr log dict on the line (Hugging Face Trainer `logs`), or undefined. */
export function parseHfLogLine(line: string): StdoutMetrics | undefined {
  if (line.length > 64 * 1024 || line.indexOf("{") < 0) return undefined;
  // tqdm redraws with \r: the dict is after the last one
  const seg = line.slice(line.lastIndexOf("\r") + 1);
  const m = DICT.exec(seg);
  if (!m) return undefined;
  const out: StdoutMetrics = { metrics: [] };
  const nonFinite: string[] = [];
  for (const p of m[0].matchAll(PAIR)) {
    const v = Number(p[3].replace(/^([-+]?)inf$/i, "$1Infinity").replace(/^nan$/i, "NaN"));
    if (!Number.isFinite(v)) {
      nonFinite.push(p[2]);
      continue;
    }
    const name = sanitizeMetricName(p[2]);
    if (name) out.metrics.push([name, v]);
  }
  if (nonFinite.length) out.bad = `non-finite number for ${nonFinite.join(", ")} (dropped)`;
  if (!out.metrics.length && !out.bad) return undefined;
  return out;
}

export interface MetricRegex {
  name: string;
  re: RegExp;
}

/**
 * `NAME=REGEX`: the first capture group (or the group named `value`) is the
 * number. Throws an Error with a readable message on a bad spec.
 */
export function parseMetricRegex(spec: string): MetricRegex {
  const eq = spec.indexOf("=");
  if (eq <= 0) throw new Error(`'${spec}' is not NAME=REGEX`);
  const name = sanitizeMetricName(spec.slice(0, eq));
  if (!name) throw new Error(`'${spec.slice(0, eq)}' is not a usable metric name`);
  let re: RegExp;
  try {
    re = new RegExp(spec.slice(eq + 1));
  } catch (e) {
    throw new Error(
      `'${spec.slice(eq + 1)}' is not a valid regular expression (${(e as Error).message})`,
    );
  }
  // count capture groups with a regex that matches the empty string
  const groups = new RegExp(`${re.source}|`).exec("")!.length - 1;
  if (groups < 1) throw new Error(`'${spec.slice(eq + 1)}' has no capture group for the number`);
  return { name, re };
}

/** Apply the user's regexes to a line. */
export function matchMetricRegexes(line: string, res: MetricRegex[]): StdoutMetrics | undefined {
  let out: StdoutMetrics | undefined;
  for (const { name, re } of res) {
    const m = re.exec(line);
    if (!m) continue;
    const raw = m.groups?.value ?? m.slice(1).find((g) => g !== undefined);
    if (raw === undefined) continue;
    const v = Number(raw.trim().replace(/,/g, ""));
    out ??= { metrics: [] };
    if (Number.isFinite(v) && raw.trim() !== "") out.metrics.push([name, v]);
    else out.bad = `${name}: '${raw.slice(0, 40)}' is not a finite number`;
  }
  return out;
}
