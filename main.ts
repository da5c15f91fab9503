/**
 * aimeter: measure, analyse and show the energy use, power draw, hardware
 * performance and carbon emissions of AI workloads.
 */
import { main } from "./src/cli/program.ts";

if (import.meta.main) {
  const code = await main(Deno.args);
  Deno.exit(code);
}
