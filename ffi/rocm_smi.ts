/**
 * Deno FFI binding of AMD's ROCm SMI library (`librocm_smi64.so`), the few
 * calls aimeter needs. Signatures from ROCm/rocm_smi_lib
 * include/rocm_smi/rocm_smi.h (see the HARDWARE notes §4):
 *
 *   rsmi_status_t rsmi_init(uint64_t init_flags);
 *   rsmi_status_t rsmi_shut_down(void);
 *   rsmi_status_t rsmi_num_monitor_devices(uint32_t *num_devices);
 *   rsmi_status_t rsmi_dev_power_get(uint32_t dv_ind, uint64_t *power, RSMI_POWER_TYPE *type); // µW, ROCm ≥ 6
 *   rsmi_status_t rsmi_dev_power_ave_get(uint32_t dv_ind, uint32_t sensor_ind, uint64_t *power); // µW, deprecated
 *   rsmi_status_t rsmi_dev_energy_count_get(uint32_t dv_ind, uint64_t *power,
 *                                           float *counter_resolution, uint64_t *timestamp);
 *   rsmi_status_t rsmi_dev_pci_id_get(uint32_t dv_ind, uint64_t *bdfid);
 *   rsmi_status_t rsmi_status_string(rsmi_status_t status, const char **status_string);
 *
 * `rsmi_status_t` and `RSMI_POWER_TYPE` are C enums (32-bit). The energy
 * counter is a raw accumulator: multiply by `counter_resolution` to get µJ
 * (15.3 µJ hard-coded in rocm_smi.cc; ROCm/rocm-systems#6654). Every call but
 * the four basic ones is `optional`: older libraries (Debian's 5.x has no
 * `rsmi_dev_power_get`) still load, and a missing symbol is `null`.
 *
 * This is the only file that touches ROCm SMI pointers.
 */

/** Where the library is looked for, in order, when no path is given. */
export const ROCM_SMI_CANDIDATES = [
  "librocm_smi64.so.1",
  "librocm_smi64.so",
  "/opt/rocm/lib/librocm_smi64.so",
] as const;

const SYMBOLS = {
  rsmi_init: { parameters: ["u64"], result: "u32" },
  rsmi_shut_down: { parameters: [], result: "u32" },
  rsmi_num_monitor_devices: { parameters: ["buffer"], result: "u32" },
  rsmi_status_string: { parameters: ["u32", "buffer"], result: "u32" },
  rsmi_dev_power_get: { parameters: ["u32", "buffer", "buffer"], result: "u32", optional: true },
  rsmi_dev_power_ave_get: { parameters: ["u32", "u32", "buffer"], result: "u32", optional: true },
  rsmi_dev_energy_count_get: {
    parameters: ["u32", "buffer", "buffer", "buffer"],
    result: "u32",
    optional: true,
  },
  rsmi_dev_pci_id_get: { parameters: ["u32", "buffer"], result: "u32", optional: true },
} as const;

/** `rsmi_status_t` values 0..17 (rocm_smi.h lines 87–136); 0xFFFFFFFF is UNKNOWN_ERROR. */
export const RSMI_STATUS_NAMES = [
  "RSMI_STATUS_SUCCESS",
  "RSMI_STATUS_INVALID_ARGS",
  "RSMI_STATUS_NOT_SUPPORTED",
  "RSMI_STATUS_FILE_ERROR",
  "RSMI_STATUS_PERMISSION",
  "RSMI_STATUS_OUT_OF_RESOURCES",
  "RSMI_STATUS_INTERNAL_EXCEPTION",
  "RSMI_STATUS_INPUT_OUT_OF_BOUNDS",
  "RSMI_STATUS_INIT_ERROR",
  "RSMI_STATUS_NOT_YET_IMPLEMENTED",
  "RSMI_STATUS_NOT_FOUND",
  "RSMI_STATUS_INSUFFICIENT_SIZE",
  "RSMI_STATUS_INTERRUPT",
  "RSMI_STATUS_UNEXPECTED_SIZE",
  "RSMI_STATUS_NO_DATA",
  "RSMI_STATUS_UNEXPECTED_DATA",
  "RSMI_STATUS_BUSY",
  "RSMI_STATUS_REFCOUNT_OVERFLOW",
] as const;

export const RSMI_STATUS_SUCCESS = 0;

/** The enum name of a status code. */
export function rsmiStatusName(code: number): string {
  if (code === 0xffffffff) return "RSMI_STATUS_UNKNOWN_ERROR";
  return RSMI_STATUS_NAMES[code] ?? `RSMI_STATUS_${code}`;
}

/** Format an `rsmi_dev_pci_id_get` BDFID as a sysfs PCI address (`0000:03:00.0`). */
export function bdfidToPci(bdfid: bigint): string {
  const domain = Number((bdfid >> 32n) & 0xffffffffn);
  const bus = Number((bdfid >> 8n) & 0xffn);
  const dev = Number((bdfid >> 3n) & 0x1fn);
  const fn = Number(bdfid & 0x7n);
  const hex = (v: number, w: number) => v.toString(16).padStart(w, "0");
  return `${hex(domain, 4)}:${hex(bus, 2)}:${hex(dev, 2)}.${fn}`;
}

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>;

/** A loaded ROCm SMI library. Calls return NaN/undefined on failure and keep the status in `lastStatus`. */
export class RocmSmiLib {
  readonly path: string;
  #lib: Lib | undefined;
  #initialized = false;
  /** Status of the last call. */
  lastStatus = 0;
  // preallocated out-parameters
  readonly #u64 = new BigUint64Array(1);
  readonly #u64b = new BigUint64Array(1);
  readonly #u32 = new Uint32Array(1);
  readonly #f32 = new Float32Array(1);

  private constructor(path: string, lib: Lib) {
    this.path = path;
    this.#lib = lib;
  }

  /**
   * Load the library from `path`, or from the first of `ROCM_SMI_CANDIDATES`
   * that loads. Throws an Error naming every path tried.
   */
  static load(path?: string): RocmSmiLib {
    const tries = path ? [path] : [...ROCM_SMI_CANDIDATES];
    const failures: string[] = [];
    for (const p of tries) {
      try {
        return new RocmSmiLib(p, Deno.dlopen(p, SYMBOLS));
      } catch (e) {
        failures.push(`${p}: ${(e as Error).message}`);
      }
    }
    throw new Error(`Cannot load ROCm SMI (${failures.join("; ")})`);
  }

  get #s() {
    if (!this.#lib) throw new Error("ROCm SMI library is closed");
    return this.#lib.symbols;
  }

  /** `rsmi_init(0)`; returns the status. */
  init(): number {
    this.lastStatus = this.#s.rsmi_init(0n);
    this.#initialized = this.lastStatus === RSMI_STATUS_SUCCESS;
    return this.lastStatus;
  }

  /** Number of monitored devices, or NaN when the call fails. */
  numDevices(): number {
    this.lastStatus = this.#s.rsmi_num_monitor_devices(this.#u32);
    return this.lastStatus === RSMI_STATUS_SUCCESS ? this.#u32[0] : NaN;
  }

  /** The library's own words for a status (`rsmi_status_string`), with the enum name. */
  statusString(code: number): string {
    const name = rsmiStatusName(code);
    const st = this.#s.rsmi_status_string(code, this.#u64);
    if (st !== RSMI_STATUS_SUCCESS || this.#u64[0] === 0n) return name;
    const ptr = Deno.UnsafePointer.create(this.#u64[0]);
    if (!ptr) return name;
    return `${name}: ${Deno.UnsafePointerView.getCString(ptr)}`;
  }

  /** Board power in W (`rsmi_dev_power_get`, else `rsmi_dev_power_ave_get` sensor 0); NaN on failure. */
  powerW(index: number): number {
    const s = this.#s;
    if (s.rsmi_dev_power_get) {
      this.lastStatus = s.rsmi_dev_power_get(index, this.#u64, this.#u32);
    } else if (s.rsmi_dev_power_ave_get) {
      this.lastStatus = s.rsmi_dev_power_ave_get(index, 0, this.#u64);
    } else {
      this.lastStatus = 2; // NOT_SUPPORTED
    }
    return this.lastStatus === RSMI_STATUS_SUCCESS ? Number(this.#u64[0]) / 1e6 : NaN;
  }

  /** Cumulative energy in µJ (accumulator × counter_resolution); NaN on failure. */
  energyUj(index: number): number {
    const f = this.#s.rsmi_dev_energy_count_get;
    if (!f) {
      this.lastStatus = 2;
      return NaN;
    }
    this.lastStatus = f(index, this.#u64, this.#f32, this.#u64b);
    return this.lastStatus === RSMI_STATUS_SUCCESS ? Number(this.#u64[0]) * this.#f32[0] : NaN;
  }

  /** The device's PCI address (`0000:03:00.0`), or undefined. */
  pciAddress(index: number): string | undefined {
    const f = this.#s.rsmi_dev_pci_id_get;
    if (!f) return undefined;
    this.lastStatus = f(index, this.#u64);
    return this.lastStatus === RSMI_STATUS_SUCCESS ? bdfidToPci(this.#u64[0]) : undefined;
  }

  /** `rsmi_shut_down` (when initialized) and unload. Safe to call twice. */
  close(): void {
    if (!this.#lib) return;
    if (this.#initialized) this.#lib.symbols.rsmi_shut_down();
    this.#initialized = false;
    this.#lib.close();
    this.#lib = undefined;
  }
}
