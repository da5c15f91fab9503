import assert from "node:assert/strict";
import { expandHostlist } from "../src/slurm/hostlist.ts";

Deno.test("hostlist: plain names and single ranges", () => {
  assert.deepEqual(expandHostlist("n1"), ["n1"]);
  assert.deepEqual(expandHostlist("n1,n2"), ["n1", "n2"]);
  assert.deepEqual(expandHostlist("n[1-3],gpu07"), ["n1", "n2", "n3", "gpu07"]);
  assert.deepEqual(expandHostlist(" n[1-2,5] "), ["n1", "n2", "n5"]);
});

Deno.test("hostlist: zero padding is kept", () => {
  assert.deepEqual(expandHostlist("gpu[08-11]"), ["gpu08", "gpu09", "gpu10", "gpu11"]);
  assert.deepEqual(expandHostlist("c[001-002,010]"), ["c001", "c002", "c010"]);
});

Deno.test("hostlist: several groups in one name, suffixes, commas inside brackets", () => {
  assert.deepEqual(expandHostlist("r[1-2]-n[1-2]"), ["r1-n1", "r1-n2", "r2-n1", "r2-n2"]);
  assert.deepEqual(expandHostlist("n[1,3]-ib,login"), ["n1-ib", "n3-ib", "login"]);
  assert.deepEqual(expandHostlist("a[1-2],b[3-4]"), ["a1", "a2", "b3", "b4"]);
});

Deno.test("hostlist: duplicates once, empty list empty", () => {
  assert.deepEqual(expandHostlist("n1,n[1-2]"), ["n1", "n2"]);
  assert.deepEqual(expandHostlist(""), []);
});

Deno.test("hostlist: malformed input throws", () => {
  assert.throws(() => expandHostlist("n[1-3"), /unbalanced/);
  assert.throws(() => expandHostlist("n1-3]"), /unbalanced/);
  assert.throws(() => expandHostlist("n[3-1]"), /backwards/);
  assert.throws(() => expandHostlist("n[a-b]"), /bad range/);
});
