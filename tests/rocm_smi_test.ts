import assert from "node:assert/strict";
import { bdfidToPci, rsmiStatusName } from "../ffi/rocm_smi.ts";
import { probeRocmSmi } from "../src/sensors/rocm_smi.ts";

/** The Debian package librocm-smi64-1 puts the library in /usr/lib; CI installs it. */
const LIB_PATHS = [
  "/usr/lib/librocm_smi64.so.1",
  "/usr/lib/x86_64-linux-gnu/librocm_smi64.so.1",
  "/opt/rocm/lib/librocm_smi64.so",
];
const libPath = LIB_PATHS.find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

function hasAmdGpu(): boolean {
  try {
    for (const e of Deno.readDirSync("/sys/class/drm")) {
      if (!/^card\d+$/.test(e.name)) continue;
      const vendor = Deno.readTextFileSync(`/sys/class/drm/${e.name}/device/vendor`).trim();
      if (vendor === "0x1002") return true;
    }
  } catch {
    // no /sys/class/drm
  }
  return false;
}

Deno.test("bdfidToPci() formats rsmi_dev_pci_id_get's BDFID like sysfs", () => {
  // domain 0, bus 0x83, device 0, function 0
  assert.equal(bdfidToPci(0x8300n), "0000:83:00.0");
  // domain 1, bus 3, device 0x1f, function 7
  assert.equal(bdfidToPci((1n << 32n) | (3n << 8n) | (0x1fn << 3n) | 7n), "0001:03:1f.7");
});

Deno.test("rsmiStatusName() names status codes", () => {
  assert.equal(rsmiStatusName(0), "RSMI_STATUS_SUCCESS");
  assert.equal(rsmiStatusName(8), "RSMI_STATUS_INIT_ERROR");
  assert.equal(rsmiStatusName(0xffffffff), "RSMI_STATUS_UNKNOWN_ERROR");
});

Deno.test("probeRocmSmi() says in words when the library is missing", () => {
  const p = probeRocmSmi("/nonexistent/librocm_smi64.so");
  assert.equal(p.loaded, false);
  assert.equal(p.deviceCount, 0);
  assert.match(p.error!, /ROCm SMI library not found/);
  assert.match(p.error!, /\/nonexistent\/librocm_smi64\.so/);
});

Deno.test({
  name: "probeRocmSmi() loads the real Debian library and reports no AMD GPU in words",
  ignore: libPath === undefined || hasAmdGpu(),
  fn() {
    const p = probeRocmSmi(libPath);
    assert.equal(p.loaded, true, JSON.stringify(p));
    assert.equal(p.path, libPath);
    assert.equal(p.deviceCount, 0);
    assert.match(p.error!, /no AMD GPU/);
    // twice in one process: init/shut-down/unload leave nothing behind
    assert.deepEqual(probeRocmSmi(libPath), p);
  },
});

Deno.test({
  name: "probeRocmSmi() with no path finds the library by its soname",
  ignore: libPath === undefined || hasAmdGpu(),
  fn() {
    const p = probeRocmSmi();
    assert.equal(p.loaded, true, JSON.stringify(p));
    assert.match(p.error!, /no AMD GPU/);
  },
});

Deno.test({
  name: "probeRocmSmi() counts the AMD GPUs of this machine",
  ignore: libPath === undefined || !hasAmdGpu(),
  fn() {
    const p = probeRocmSmi(libPath);
    assert.equal(p.loaded, true);
    assert.ok(p.deviceCount > 0, JSON.stringify(p));
  },
});
