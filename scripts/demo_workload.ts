/**
 * The built-in demo workload (`deno task demo`): a few seconds of CPU-bound
 * "training" that reports its progress through the aimeter events protocol
 * (AIMETER_EVENTS), with a warm-up, a train and an eval phase.
 */
const events = Deno.env.get("AIMETER_EVENTS");
const seconds = Number(Deno.args[0] ?? 4);
const emit = (o: Record<string, unknown>) => {
  if (events) Deno.writeTextFileSync(events, JSON.stringify(o) + "\n", { append: true });
};

function burn(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) for (let i = 0; i < 10000; i++) x += Math.sqrt(i * x + 1);
  return x;
}

console.log(`demo workload: ${seconds}s of CPU work in phases`);
emit({ phase: "warmup" });
burn(seconds * 100);
emit({ phase: "train" });
let loss = 2.5;
const steps = Math.max(4, Math.round(seconds * 5));
for (let step = 1; step <= steps; step++) {
  const t0 = performance.now();
  burn((seconds * 700) / steps);
  loss *= 0.93;
  const dt = (performance.now() - t0) / 1000;
  emit({ step, loss: Number(loss.toFixed(4)), samples_per_s: Number((64 / dt).toFixed(1)) });
  if (step === Math.floor(steps / 2)) emit({ mark: "checkpoint saved" });
}
emit({ phase: "eval" });
burn(seconds * 200);
console.log(`demo workload: done, final loss ${loss.toFixed(3)}`);
