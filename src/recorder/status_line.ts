/** `record` on a terminal: one live line (elapsed, power, energy so far), redrawn once a second. */
import type { Sampler } from "../sampler/sampler.ts";
import { formatDuration, formatEnergy } from "../cli/parse.ts";

export class StatusLine {
  #last = 0;
  #start = performance.now();
  #shown = false;

  maybeUpdate(sampler: Sampler, timeUs: number): void {
    const now = performance.now();
    if (now - this.#last < 1000) return;
    this.#last = now;
    let power = 0, energy = 0;
    for (const [key, v] of sampler.latest()) {
      const leaf = key.split("/");
      const inner = leaf.length > 3; // subzones like package-0/core sit inside their parent
      if (inner) continue;
      // a power whose reads have failed for 5 s is not shown as if it were current
      if (v.channel.metric === "power_w" && timeUs - v.timeUs <= 5e6) power += v.value;
      if (v.channel.metric === "energy_j") energy += v.value;
    }
    const line = `aimeter: ${formatDuration((now - this.#start) / 1000)}  ${power.toFixed(1)} W  ${
      formatEnergy(energy)
    }`;
    Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[2K${line}`));
    this.#shown = true;
  }

  clear(): void {
    if (this.#shown) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[2K"));
  }
}
