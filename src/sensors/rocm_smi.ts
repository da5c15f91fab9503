/**
 * AMD GPU energy counters through ROCm SMI (ffi/rocm_smi.ts).
 *
 * amdgpu's hwmon has power but **no energy file** (drivers/gpu/drm/amd/pm/
 * amdgpu_pm.c); ROCm SMI's `rsmi_dev_energy_count_get` reads the
 * `energy_accumulator` of the card's binary `gpu_metrics` (15.3 µJ units,
 * rocm_smi_lib src/rocm_smi.cc). When it works, the amdgpu source uses it for
 * that card's `energy_j` (method `counter`) instead of integrating
 * `power1_average`. Cards are matched by PCI address (`rsmi_dev_pci_id_get`
 * vs. the card's `device` link in sysfs), so there is one device per card and
 * nothing is counted twice. This module does not make a sensor of its own.
 *
 * ROCm SMI always reads the real `/sys`, so it is only used when the amdgpu
 * source looks at `/sys` itself.
 *
 * Known pitfall (ROCm/rocm_smi_lib#180, AMDResearch/hpcfund#21): the counter
 * can stay constant within one process; the amdgpu sensor then falls back to
 * the power integral with a note.
 */

import { RocmSmiLib, RSMI_STATUS_SUCCESS } from "../../ffi/rocm_smi.ts";
import type { SensorNote } from "./types.ts";

export interface RocmSmiProbe {
  /** The library file loaded. */
  loaded: boolean;
  /** Path or name that loaded. */
  path?: string;
  /** Devices ROCm SMI monitors (0 when init failed). */
  deviceCount: number;
  /** Why there is nothing to measure, in words. */
  error?: string;
}

/** Load ROCm SMI, initialise it, count devices, shut it down; says what it saw in words. */
export function probeRocmSmi(libPath?: string): RocmSmiProbe {
  let lib: RocmSmiLib;
  try {
    lib = RocmSmiLib.load(libPath);
  } catch (e) {
    return {
      loaded: false,
      deviceCount: 0,
      error: `ROCm SMI library not found: ${(e as Error).message}`,
    };
  }
  try {
    const st = lib.init();
    if (st !== RSMI_STATUS_SUCCESS) {
      return {
        loaded: true,
        path: lib.path,
        deviceCount: 0,
        error: `no AMD GPU: rsmi_init failed (${
          lib.statusString(st)
        }); the amdgpu driver shows no GPU on this machine`,
      };
    }
    const n = lib.numDevices();
    if (!(n > 0)) {
      return {
        loaded: true,
        path: lib.path,
        deviceCount: 0,
        error: Number.isNaN(n)
          ? `rsmi_num_monitor_devices failed (${lib.statusString(lib.lastStatus)})`
          : "no AMD GPU: ROCm SMI found 0 devices",
      };
    }
    return { loaded: true, path: lib.path, deviceCount: n };
  } finally {
    lib.close();
  }
}

/** ROCm SMI energy counters of the cards it can read, by PCI address. */
export interface RocmEnergySource {
  /** PCI address (`0000:03:00.0`) → ROCm SMI device index. */
  readonly byPci: ReadonlyMap<string, number>;
  /** Cumulative energy in µJ; NaN when it cannot be read this tick. */
  energyUj(index: number): number;
  close(): void;
}

/**
 * Open ROCm SMI for energy: every device whose counter answers now is in
 * `byPci`. `source` is null (with a note) when the library, the init or the
 * counters are not available.
 */
export function openRocmEnergy(libPath?: string): {
  source: RocmEnergySource | null;
  notes: SensorNote[];
} {
  const notes: SensorNote[] = [];
  const note = (status: SensorNote["status"], message: string, fix?: string) =>
    notes.push({ source: "amdgpu", status, message, ...(fix ? { fix } : {}) });
  let lib: RocmSmiLib;
  try {
    lib = RocmSmiLib.load(libPath);
  } catch (e) {
    note(
      "not-found",
      `AMD GPU energy from the power integral: ${(e as Error).message}`,
      "Install ROCm SMI (Debian/Ubuntu: apt install librocm-smi64-1; or ROCm in /opt/rocm) for the hardware energy counter",
    );
    return { source: null, notes };
  }
  const st = lib.init();
  if (st !== RSMI_STATUS_SUCCESS) {
    note("error", `ROCm SMI init failed (${lib.statusString(st)}); using the power integral`);
    lib.close();
    return { source: null, notes };
  }
  const n = lib.numDevices();
  const byPci = new Map<string, number>();
  for (let i = 0; i < (n > 0 ? n : 0); i++) {
    const pci = lib.pciAddress(i);
    if (pci === undefined) continue;
    if (Number.isNaN(lib.energyUj(i))) {
      note(
        "unsupported",
        `ROCm SMI has no energy counter for GPU ${pci} (${
          lib.statusString(lib.lastStatus)
        }); using the power integral`,
      );
      continue;
    }
    byPci.set(pci, i);
  }
  if (!byPci.size) {
    lib.close();
    return { source: null, notes };
  }
  return {
    source: {
      byPci,
      energyUj: (i) => lib.energyUj(i),
      close: () => lib.close(),
    },
    notes,
  };
}
