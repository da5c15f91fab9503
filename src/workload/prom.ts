/**
 * The Prometheus text exposition format, the little of it a scraper needs:
 * sample lines `name{labels} value [timestamp]`, comments skipped. Values of
 * one name are summed over their label sets (all models, all GPUs of a server).
 */

/** Counters worth recording from common inference servers, when they are there. */
export const DEFAULT_SCRAPE_METRICS = [
  // vLLM
  "vllm:generation_tokens_total",
  "vllm:prompt_tokens_total",
  "vllm:request_success_total",
  "vllm:num_requests_running",
  // Hugging Face TGI (histograms: _sum is the total, _count the number of requests)
  "tgi_request_generated_tokens_sum",
  "tgi_request_input_length_sum",
  "tgi_request_count",
  "tgi_request_success",
  // NVIDIA Triton
  "nv_inference_count",
  "nv_inference_request_success",
  "nv_inference_exec_count",
  // SGLang
  "sglang:generation_tokens_total",
  "sglang:prompt_tokens_total",
];

/** What a counter counts, for energy per unit of work. */
export type CounterRole = "tokens" | "prompt_tokens" | "requests" | "inferences";

/** The role of a scraped metric by its name; undefined for gauges and unknowns. */
export function counterRole(name: string): CounterRole | undefined {
  const n = name.toLowerCase();
  if (/generation_tokens_total$|generated_tokens_sum$|generated_tokens_total$/.test(n)) {
    return "tokens";
  }
  if (/prompt_tokens_total$|input_length_sum$/.test(n)) return "prompt_tokens";
  if (/request_success(_total)?$|request_count$|requests_total$/.test(n)) return "requests";
  if (/^nv_inference_count$/.test(n)) return "inferences";
  return undefined;
}

/** Parse exposition text; returns name → summed value for the names wanted (all when none given). */
export function parseExposition(text: string, wanted?: Set<string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line[0] === "#") continue;
    let nameEnd = 0;
    while (nameEnd < line.length && !/[\s{]/.test(line[nameEnd])) nameEnd++;
    const name = line.slice(0, nameEnd);
    if (wanted && !wanted.has(name)) continue;
    let rest = line.slice(nameEnd);
    if (rest.startsWith("{")) {
      // skip the label set, minding quoted values that may hold '}'
      let i = 1;
      let inStr = false;
      for (; i < rest.length; i++) {
        const c = rest[i];
        if (inStr) {
          if (c === "\\") i++;
          else if (c === '"') inStr = false;
        } else if (c === '"') inStr = true;
        else if (c === "}") break;
      }
      rest = rest.slice(i + 1);
    }
    const tok = rest.trim().split(/\s+/)[0];
    const v = tok === "+Inf" ? Infinity : tok === "-Inf" ? -Infinity : Number(tok);
    if (!Number.isFinite(v)) continue;
    out.set(name, (out.get(name) ?? 0) + v);
  }
  return out;
}
