import assert from "node:assert/strict";
import { formatEnergy, parseDuration, parseInterval } from "../src/cli/parse.ts";
import { UsageError } from "../src/cli/errors.ts";

Deno.test("durations in the units users type", () => {
  assert.equal(parseDuration("10ms", "--x"), 0.01);
  assert.equal(parseDuration("0.5s", "--x"), 0.5);
  assert.equal(parseDuration("2m", "--x"), 120);
  assert.equal(parseDuration("1h", "--x"), 3600);
  assert.equal(parseDuration("90", "--x"), 90);
  assert.equal(parseDuration("250us", "--x"), 0.00025);
});

Deno.test("bad durations name the flag", () => {
  assert.throws(() => parseDuration("soon", "--duration"), (e: Error) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /^--duration: 'soon'/);
    return true;
  });
  assert.throws(() => parseDuration("-1s", "--x"), UsageError);
  assert.throws(() => parseDuration("3 parsecs", "--x"), UsageError);
  assert.throws(() => parseInterval("1ms"), /10ms minimum/);
});

Deno.test("energy is printed with its unit", () => {
  assert.equal(formatEnergy(12.34), "12.3 J");
  assert.equal(formatEnergy(4560), "4.56 kJ (1.27 Wh)");
  assert.equal(formatEnergy(7.2e6), "7.20 MJ (2.000 kWh)");
  assert.equal(formatEnergy(null), "n/a");
});
