/**
 * Workload metric names: whatever the workload calls a number (`trainLoss`,
 * `eval/accuracy`, `vllm:generation_tokens_total`) becomes a snake-case trace
 * metric (`train_loss`, `eval_accuracy`, `vllm_generation_tokens_total`).
 */

/** Longest metric name kept (longer names are cut). */
export const MAX_NAME = 80;

/** Snake case: camelCase split, every run of other characters one `_`; "" when nothing is left. */
export function sanitizeMetricName(name: string): string {
  let s = name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (s.length > MAX_NAME) s = s.slice(0, MAX_NAME).replace(/_+$/, "");
  if (/^[0-9]/.test(s)) s = `m_${s}`;
  return s;
}
