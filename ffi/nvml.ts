/**
 * NVML (NVIDIA Management Library) over Deno FFI.
 *
 * Source of every signature, layout and constant below: nvml.h as vendored in
 * NVIDIA/go-nvml `gen/nvml/nvml.h` (13.3.29 unless noted; GPM from 12.2.140,
 * commit 075f45f), summarised in the project's hardware notes §1. Line numbers
 * in comments refer to the 13.3.29 header.
 *
 * Rules of this binding:
 * - bind the versioned symbol names (`nvmlInit_v2`, ...): the unversioned `_v1`
 *   forms stay in the .so for binary compatibility and behave differently
 *   (nvml.h lines 118-139, 4553-4571);
 * - symbols newer than the oldest driver we support are `optional: true`, so a
 *   missing one is `null` instead of a failed load; calling it throws
 *   NVML_ERROR_FUNCTION_NOT_FOUND;
 * - out-params are preallocated typed arrays passed as `"buffer"`; hot-path
 *   methods allocate nothing (u64 values are read as two u32 halves, not BigInt);
 * - slow calls (process lists, PCIe throughput) are `nonblocking: true` and
 *   return Promises, so they never stall a sampling tick.
 *
 * Permissions: `--allow-ffi=/abs/path` does not cover a bare-name load of
 * `libnvidia-ml.so.1`; use plain `--allow-ffi`.
 */

/** The library name the NVIDIA driver installs on Linux. */
export const NVML_DEFAULT_LIB = "libnvidia-ml.so.1";

// ---- return codes (nvmlReturn_t, nvml.h lines 1295-1330) ----

export const NVML_SUCCESS = 0;
export const NVML_ERROR_UNINITIALIZED = 1;
export const NVML_ERROR_INVALID_ARGUMENT = 2;
export const NVML_ERROR_NOT_SUPPORTED = 3;
export const NVML_ERROR_NO_PERMISSION = 4;
export const NVML_ERROR_INSUFFICIENT_SIZE = 7;
export const NVML_ERROR_DRIVER_NOT_LOADED = 9;
export const NVML_ERROR_LIBRARY_NOT_FOUND = 12;
export const NVML_ERROR_FUNCTION_NOT_FOUND = 13;
export const NVML_ERROR_GPU_IS_LOST = 15;

/** Symbolic names of nvmlReturn_t (nvml.h lines 1295-1330). */
const RETURN_NAMES: Record<number, string> = {
  0: "SUCCESS",
  1: "UNINITIALIZED",
  2: "INVALID_ARGUMENT",
  3: "NOT_SUPPORTED",
  4: "NO_PERMISSION",
  5: "ALREADY_INITIALIZED",
  6: "NOT_FOUND",
  7: "INSUFFICIENT_SIZE",
  8: "INSUFFICIENT_POWER",
  9: "DRIVER_NOT_LOADED",
  10: "TIMEOUT",
  11: "IRQ_ISSUE",
  12: "LIBRARY_NOT_FOUND",
  13: "FUNCTION_NOT_FOUND",
  14: "CORRUPTED_INFOROM",
  15: "GPU_IS_LOST",
  16: "RESET_REQUIRED",
  17: "OPERATING_SYSTEM",
  18: "LIB_RM_VERSION_MISMATCH",
  19: "IN_USE",
  20: "MEMORY",
  21: "NO_DATA",
  22: "VGPU_ECC_NOT_SUPPORTED",
  23: "INSUFFICIENT_RESOURCES",
  24: "FREQ_NOT_SUPPORTED",
  25: "ARGUMENT_VERSION_MISMATCH",
  26: "DEPRECATED",
  27: "NOT_READY",
  28: "GPU_NOT_FOUND",
  29: "INVALID_STATE",
  30: "RESET_TYPE_NOT_SUPPORTED",
  999: "UNKNOWN",
};

/** `NVML_SUCCESS`, `NVML_ERROR_DRIVER_NOT_LOADED`, ... for a return code. */
export function returnName(code: number): string {
  const n = RETURN_NAMES[code];
  if (n === undefined) return `NVML_ERROR_${code}`;
  return code === 0 ? "NVML_SUCCESS" : `NVML_ERROR_${n}`;
}

/**
 * Words for a return code when the library has no `nvmlErrorString`: the
 * symbolic name in title case ("DRIVER_NOT_LOADED" → "Driver Not Loaded").
 */
export function fallbackErrorWords(code: number): string {
  const n = RETURN_NAMES[code];
  if (n === undefined) return `Unknown Error ${code}`;
  return n.split("_").map((w) =>
    w === "GPU" || w === "RM" || w === "IRQ" || w === "VGPU" || w === "ECC"
      ? w
      : w[0] + w.slice(1).toLowerCase()
  ).join(" ");
}

/** A failed NVML call: `code` (nvmlReturn_t), `name` (NVML_ERROR_...), `message` (words), `fn`. */
export class NvmlError extends Error {
  constructor(
    readonly code: number,
    /** The C function that failed. */
    readonly fn: string,
    words: string,
  ) {
    super(words);
    this.name = returnName(code);
  }

  /** NOT_SUPPORTED or a symbol this library does not have: the feature is absent, not broken. */
  get unsupported(): boolean {
    return this.code === NVML_ERROR_NOT_SUPPORTED || this.code === NVML_ERROR_FUNCTION_NOT_FOUND;
  }
}

// ---- constants (enums are C ints, 4 bytes) ----

/** nvmlClockType_t (line 1109). */
export const NVML_CLOCK_GRAPHICS = 0;
export const NVML_CLOCK_SM = 1;
export const NVML_CLOCK_MEM = 2;
/** nvmlTemperatureSensors_t (line 962). */
export const NVML_TEMPERATURE_GPU = 0;
/** nvmlPcieUtilCounter_t (line 636). */
export const NVML_PCIE_UTIL_TX_BYTES = 0;
export const NVML_PCIE_UTIL_RX_BYTES = 1;
/** nvmlValueType_t (lines 648-660). */
export const NVML_VALUE_TYPE_DOUBLE = 0;
export const NVML_VALUE_TYPE_UNSIGNED_INT = 1;
export const NVML_VALUE_TYPE_UNSIGNED_LONG = 2;
export const NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3;
export const NVML_VALUE_TYPE_SIGNED_LONG_LONG = 4;
export const NVML_VALUE_TYPE_SIGNED_INT = 5;
export const NVML_VALUE_TYPE_UNSIGNED_SHORT = 6;
/** Field ids (lines 2475-2957). */
export const NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION = 83;
export const NVML_FI_DEV_POWER_AVERAGE = 185;
export const NVML_FI_DEV_POWER_INSTANT = 186;

/** nvmlDeviceArchitecture_t (lines 1544-1557). */
export const NVML_ARCHITECTURES: Record<number, string> = {
  2: "Kepler",
  3: "Maxwell",
  4: "Pascal",
  5: "Volta",
  6: "Turing",
  7: "Ampere",
  8: "Ada",
  9: "Hopper",
  10: "Blackwell",
  13: "Rubin",
};
export const NVML_DEVICE_ARCH_HOPPER = 9;

/** nvmlGpmMetricId_t (nvml.h 12.2.140, GPM Enums). Units: % or MiB/sec. */
export const NVML_GPM_METRIC_GRAPHICS_UTIL = 1;
export const NVML_GPM_METRIC_SM_UTIL = 2;
export const NVML_GPM_METRIC_SM_OCCUPANCY = 3;
export const NVML_GPM_METRIC_ANY_TENSOR_UTIL = 5;
export const NVML_GPM_METRIC_DRAM_BW_UTIL = 10;
export const NVML_GPM_METRIC_PCIE_TX_PER_SEC = 20;
export const NVML_GPM_METRIC_PCIE_RX_PER_SEC = 21;
export const NVML_GPM_METRIC_NVLINK_TOTAL_RX_PER_SEC = 60;
export const NVML_GPM_METRIC_NVLINK_TOTAL_TX_PER_SEC = 61;
/** `NVML_GPM_METRICS_GET_VERSION` and `NVML_GPM_SUPPORT_VERSION` are both 1 (12.2.140 … 13.x). */
export const NVML_GPM_METRICS_GET_VERSION = 1;
export const NVML_GPM_SUPPORT_VERSION = 1;
/**
 * `NVML_GPM_METRIC_MAX`: 98 in the 12.2.140 header, 333 in later ones (version
 * unchanged). We allocate the larger array so the struct is big enough for either.
 */
export const NVML_GPM_METRIC_MAX = 333;

// ---- buffer sizes (nvml.h) ----
const SYSTEM_DRIVER_VERSION_BUFFER_SIZE = 80; // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE
const SYSTEM_NVML_VERSION_BUFFER_SIZE = 80; // NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE
const DEVICE_NAME_V2_BUFFER_SIZE = 96; // NVML_DEVICE_NAME_V2_BUFFER_SIZE
const DEVICE_UUID_V2_BUFFER_SIZE = 96; // NVML_DEVICE_UUID_V2_BUFFER_SIZE

// ---- struct layouts (LP64; offsets checked with gcc offsetof on the 13.3.29 header) ----

/**
 * nvmlPciInfo_t (for `_v3`), 68 bytes / align 4:
 * 0 char busIdLegacy[16]; 16 u32 domain; 20 u32 bus; 24 u32 device;
 * 28 u32 pciDeviceId; 32 u32 pciSubSystemId; 36 char busId[32].
 */
const PCI_INFO_SIZE = 68;
/** nvmlMemory_t, 24 bytes: 0 u64 total; 8 u64 free; 16 u64 used. */
const MEMORY_SIZE = 24;
/**
 * nvmlFieldValue_t, 40 bytes / align 8: 0 u32 fieldId (in); 4 u32 scopeId (in);
 * 8 i64 timestamp (µs); 16 i64 latencyUsec; 24 u32 valueType; 28 u32 nvmlReturn
 * (per field: the caller "must check the nvmlReturn field of each value",
 * lines 10225-10230); 32 nvmlValue_t value (8-byte union).
 */
export const FIELD_VALUE_SIZE = 40;
/**
 * nvmlProcessInfo_t (= nvmlProcessInfo_v2_t, used by the `_v3` symbol), 24 bytes:
 * 0 u32 pid; 8 u64 usedGpuMemory; 16 u32 gpuInstanceId; 20 u32 computeInstanceId.
 */
export const PROCESS_INFO_SIZE = 24;
/**
 * nvmlGpmMetric_t, 40 bytes: 0 u32 metricId (in); 4 nvmlReturn_t nvmlReturn (out);
 * 8 double value (out); 16 struct { char *shortName; char *longName; char *unit; } metricInfo.
 * nvmlGpmMetricsGet_t: 0 u32 version; 4 u32 numMetrics; 8 nvmlGpmSample_t sample1;
 * 16 nvmlGpmSample_t sample2; 24 nvmlGpmMetric_t metrics[NVML_GPM_METRIC_MAX].
 * nvmlGpmSupport_t, 8 bytes: 0 u32 version (in); 4 u32 isSupportedDevice (out).
 */
const GPM_METRIC_SIZE = 40;
const GPM_METRICS_HEADER = 24;

/** A u64 out-param read as two u32 halves (little endian): no BigInt allocation. */
function u64(halves: Uint32Array, i = 0): number {
  return halves[i] + halves[i + 1] * 4294967296;
}

const DEV = "pointer" as const; // nvmlDevice_t: `typedef struct nvmlDevice_st* nvmlDevice_t` (line 154)

/** The symbols we bind, with the header line of each signature (13.3.29). */
export const NVML_SYMBOLS = {
  nvmlInit_v2: { parameters: [], result: "i32" }, // 4002
  nvmlShutdown: { parameters: [], result: "i32" }, // 4036
  nvmlErrorString: { parameters: ["i32"], result: "pointer", optional: true }, // 4057
  nvmlSystemGetDriverVersion: { parameters: ["buffer", "u32"], result: "i32", optional: true }, // 4194
  nvmlSystemGetNVMLVersion: { parameters: ["buffer", "u32"], result: "i32", optional: true }, // 4212
  nvmlDeviceGetCount_v2: { parameters: ["buffer"], result: "i32" }, // 4573
  nvmlDeviceGetHandleByIndex_v2: { parameters: ["u32", "buffer"], result: "i32" }, // 4641
  nvmlDeviceGetName: { parameters: [DEV, "buffer", "u32"], result: "i32", optional: true }, // 4784
  nvmlDeviceGetUUID: { parameters: [DEV, "buffer", "u32"], result: "i32", optional: true }, // 5186
  nvmlDeviceGetPciInfo_v3: { parameters: [DEV, "buffer"], result: "i32", optional: true }, // 5471
  nvmlDeviceGetArchitecture: { parameters: [DEV, "buffer"], result: "i32", optional: true }, // 8462
  nvmlDeviceGetPowerUsage: { parameters: [DEV, "buffer"], result: "i32", optional: true }, // 6558 mW
  nvmlDeviceGetTotalEnergyConsumption: {
    parameters: [DEV, "buffer"],
    result: "i32",
    optional: true,
  }, // 6617 mJ
  nvmlDeviceGetEnforcedPowerLimit: { parameters: [DEV, "buffer"], result: "i32", optional: true }, // 6638 mW
  nvmlDeviceGetUtilizationRates: { parameters: [DEV, "buffer"], result: "i32", optional: true }, // 7088
  nvmlDeviceGetMemoryInfo: { parameters: [DEV, "buffer"], result: "i32", optional: true }, // 6708
  // DEPRECATED(13.0) but still exported; nvmlDeviceGetTemperatureV is only in 12.8+ headers.
  nvmlDeviceGetTemperature: { parameters: [DEV, "i32", "buffer"], result: "i32", optional: true }, // 5958
  nvmlDeviceGetClockInfo: { parameters: [DEV, "i32", "buffer"], result: "i32", optional: true }, // 5629 MHz
  nvmlDeviceGetFieldValues: { parameters: [DEV, "i32", "buffer"], result: "i32", optional: true }, // 10230
  nvmlDeviceGetCurrentClocksEventReasons: {
    parameters: [DEV, "buffer"],
    result: "i32",
    optional: true,
  }, // 6121 (12.2+)
  nvmlDeviceGetCurrentClocksThrottleReasons: {
    parameters: [DEV, "buffer"],
    result: "i32",
    optional: true,
  }, // 6126 (deprecated)
  // Process lists take milliseconds on real drivers (4.5 ms measured, hardware notes §2.4).
  nvmlDeviceGetComputeRunningProcesses_v3: {
    parameters: [DEV, "buffer", "buffer"],
    result: "i32",
    optional: true,
    nonblocking: true,
  }, // 7402
  // "querying a byte counter over a 20ms interval" (lines 5569-5590): it blocks ~20 ms. KB/s.
  nvmlDeviceGetPcieThroughput: {
    parameters: [DEV, "i32", "buffer"],
    result: "i32",
    optional: true,
    nonblocking: true,
  }, // 5590
  // Deno 2.9.6: an absent symbol declared `optional` AND `nonblocking` is not null but a
  // function throwing "Invalid FFI symbol name". These blocking aliases (never called)
  // tell whether the two nonblocking symbols above exist.
  hasComputeRunningProcesses_v3: {
    name: "nvmlDeviceGetComputeRunningProcesses_v3",
    parameters: [DEV, "buffer", "buffer"],
    result: "i32",
    optional: true,
  },
  hasPcieThroughput: {
    name: "nvmlDeviceGetPcieThroughput",
    parameters: [DEV, "i32", "buffer"],
    result: "i32",
    optional: true,
  },
  // GPM, Hopper+ (12.2.140 header, GPM Functions).
  nvmlGpmQueryDeviceSupport: { parameters: [DEV, "buffer"], result: "i32", optional: true },
  nvmlGpmSampleAlloc: { parameters: ["buffer"], result: "i32", optional: true },
  nvmlGpmSampleFree: { parameters: ["pointer"], result: "i32", optional: true },
  nvmlGpmSampleGet: { parameters: [DEV, "pointer"], result: "i32", optional: true },
  nvmlGpmMetricsGet: { parameters: ["buffer"], result: "i32", optional: true },
} as const satisfies Deno.ForeignLibraryInterface;

export type NvmlSymbolName = keyof typeof NVML_SYMBOLS;

/** Nonblocking symbols whose presence is read from a blocking alias (see NVML_SYMBOLS). */
const PRESENCE_ALIAS: Partial<Record<NvmlSymbolName, NvmlSymbolName>> = {
  nvmlDeviceGetComputeRunningProcesses_v3: "hasComputeRunningProcesses_v3",
  nvmlDeviceGetPcieThroughput: "hasPcieThroughput",
};
type NvmlSymbols = Deno.DynamicLibrary<typeof NVML_SYMBOLS>["symbols"];

/** An `nvmlDevice_t` handle. */
export type NvmlDevice = Deno.PointerValue;

export interface PciInfo {
  /** `domain:bus:device.function`, e.g. `00000000:17:00.0`. */
  busId: string;
  domain: number;
  bus: number;
  device: number;
  /** `device << 16 | vendor`. */
  pciDeviceId: number;
}

/** A GPM sample buffer (`nvmlGpmSample_t`) from `nvmlGpmSampleAlloc`. */
export interface GpmSample {
  readonly ptr: Deno.PointerValue;
  readonly addr: bigint;
}

const decoder = new TextDecoder();
function cString(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return decoder.decode(end < 0 ? buf : buf.subarray(0, end));
}

/**
 * `nvmlFieldValue_t[]` for `nvmlDeviceGetFieldValues`, allocated once and reused
 * every call. After a call, `value(i)` is the i-th field as a number (NaN when
 * that field's own nvmlReturn is not success), `ret(i)` its nvmlReturn.
 */
export class FieldValues {
  readonly buf: Uint8Array<ArrayBuffer>;
  readonly #view: DataView;
  constructor(readonly fieldIds: readonly number[], scopeId = 0) {
    this.buf = new Uint8Array(FIELD_VALUE_SIZE * fieldIds.length);
    this.#view = new DataView(this.buf.buffer);
    fieldIds.forEach((id, i) => {
      this.#view.setUint32(i * FIELD_VALUE_SIZE, id, true);
      this.#view.setUint32(i * FIELD_VALUE_SIZE + 4, scopeId, true);
    });
  }
  get length(): number {
    return this.fieldIds.length;
  }
  ret(i: number): number {
    return this.#view.getUint32(i * FIELD_VALUE_SIZE + 28, true);
  }
  /** Driver-side latency of field i in µs (`latencyUsec`). */
  latencyUs(i: number): number {
    return Number(this.#view.getBigInt64(i * FIELD_VALUE_SIZE + 16, true));
  }
  value(i: number): number {
    const o = i * FIELD_VALUE_SIZE;
    const v = this.#view;
    if (v.getUint32(o + 28, true) !== NVML_SUCCESS) return NaN;
    switch (v.getUint32(o + 24, true)) {
      case NVML_VALUE_TYPE_DOUBLE:
        return v.getFloat64(o + 32, true);
      case NVML_VALUE_TYPE_UNSIGNED_INT:
        return v.getUint32(o + 32, true);
      case NVML_VALUE_TYPE_UNSIGNED_LONG: // unsigned long: 8 bytes on LP64
      case NVML_VALUE_TYPE_UNSIGNED_LONG_LONG:
        return v.getUint32(o + 32, true) + v.getUint32(o + 36, true) * 4294967296;
      case NVML_VALUE_TYPE_SIGNED_LONG_LONG:
        return v.getUint32(o + 32, true) + v.getInt32(o + 36, true) * 4294967296;
      case NVML_VALUE_TYPE_SIGNED_INT:
        return v.getInt32(o + 32, true);
      case NVML_VALUE_TYPE_UNSIGNED_SHORT:
        return v.getUint16(o + 32, true);
      default:
        return NaN;
    }
  }
}

/** `nvmlProcessInfo_t[]` for the process-list query; grows when the driver says INSUFFICIENT_SIZE. */
export class ProcessList {
  buf: Uint8Array<ArrayBuffer>;
  readonly countBuf: Uint32Array<ArrayBuffer> = new Uint32Array(1);
  /** Entries filled by the last successful call. */
  count = 0;
  #view: DataView;
  constructor(capacity = 16) {
    this.buf = new Uint8Array(PROCESS_INFO_SIZE * capacity);
    this.#view = new DataView(this.buf.buffer);
  }
  get capacity(): number {
    return this.buf.length / PROCESS_INFO_SIZE;
  }
  grow(capacity: number): void {
    this.buf = new Uint8Array(PROCESS_INFO_SIZE * capacity);
    this.#view = new DataView(this.buf.buffer);
  }
  pid(i: number): number {
    return this.#view.getUint32(i * PROCESS_INFO_SIZE, true);
  }
  /** Bytes of GPU memory, or NaN when the driver says NVML_VALUE_NOT_AVAILABLE. */
  usedGpuMemory(i: number): number {
    const o = i * PROCESS_INFO_SIZE + 8;
    const lo = this.#view.getUint32(o, true), hi = this.#view.getUint32(o + 4, true);
    if (lo === 0xffffffff && hi === 0xffffffff) return NaN; // (unsigned long long)-1
    return lo + hi * 4294967296;
  }
}

/**
 * An `nvmlGpmMetricsGet_t` for a fixed list of metric ids, allocated once.
 * Set the two samples with `setSamples`, call `Nvml.gpmMetricsGet`, then read
 * `value(i)` (NaN where that metric's nvmlReturn is not success).
 */
export class GpmMetricsRequest {
  readonly buf: Uint8Array<ArrayBuffer>;
  readonly #view: DataView;
  readonly #words: BigUint64Array;
  constructor(readonly metricIds: readonly number[]) {
    if (metricIds.length > NVML_GPM_METRIC_MAX) throw new RangeError("too many GPM metrics");
    this.buf = new Uint8Array(GPM_METRICS_HEADER + GPM_METRIC_SIZE * NVML_GPM_METRIC_MAX);
    this.#view = new DataView(this.buf.buffer);
    this.#words = new BigUint64Array(this.buf.buffer, 0, 3);
    this.#view.setUint32(0, NVML_GPM_METRICS_GET_VERSION, true);
    this.#view.setUint32(4, metricIds.length, true);
    metricIds.forEach((id, i) =>
      this.#view.setUint32(GPM_METRICS_HEADER + i * GPM_METRIC_SIZE, id, true)
    );
  }
  setSamples(s1: GpmSample, s2: GpmSample): void {
    this.#words[1] = s1.addr; // offset 8: sample1
    this.#words[2] = s2.addr; // offset 16: sample2
  }
  ret(i: number): number {
    return this.#view.getInt32(GPM_METRICS_HEADER + i * GPM_METRIC_SIZE + 4, true);
  }
  value(i: number): number {
    const o = GPM_METRICS_HEADER + i * GPM_METRIC_SIZE;
    return this.#view.getInt32(o + 4, true) === NVML_SUCCESS
      ? this.#view.getFloat64(o + 8, true)
      : NaN;
  }
}

/**
 * One loaded NVML library. Methods return values or throw `NvmlError`.
 * Methods used every tick write into buffers owned by this object (not
 * re-entrant across overlapping async calls, which use their own buffers).
 */
export class Nvml {
  readonly #lib: Deno.DynamicLibrary<typeof NVML_SYMBOLS>;
  readonly sym: NvmlSymbols;
  #closed = false;
  #initialized = false;
  readonly #words = new Map<number, string>();
  // out-params, allocated once
  readonly #u32 = new Uint32Array(2);
  readonly #u64 = new Uint32Array(2); // one u64 as two u32 halves
  readonly #ptr = new BigUint64Array(1);
  readonly #mem = new Uint32Array(MEMORY_SIZE / 4);
  readonly #pci = new Uint8Array(PCI_INFO_SIZE);
  readonly #str = new Uint8Array(128);
  readonly #gpmSupport = new Uint32Array(2);

  private constructor(readonly path: string, lib: Deno.DynamicLibrary<typeof NVML_SYMBOLS>) {
    this.#lib = lib;
    this.sym = lib.symbols;
  }

  /**
   * `dlopen` the library (bare name searched on the loader path, or a path).
   * Throws NvmlError(NVML_ERROR_LIBRARY_NOT_FOUND) with the loader's reason
   * when it cannot be loaded; permission errors (`--allow-ffi`) pass through.
   */
  static load(path: string = NVML_DEFAULT_LIB): Nvml {
    let lib: Deno.DynamicLibrary<typeof NVML_SYMBOLS>;
    try {
      lib = Deno.dlopen(path, NVML_SYMBOLS);
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) throw e;
      // Deno's message repeats its prefix: "Could not open library: Could not open library: x.so: ..."
      const reason = (e instanceof Error ? e.message : String(e)).replace(
        /^(Could not open library: )+/,
        "",
      );
      throw new NvmlError(NVML_ERROR_LIBRARY_NOT_FOUND, "dlopen", reason);
    }
    return new Nvml(path, lib);
  }

  /** Whether the loaded library exports this (optional) symbol. */
  has(name: NvmlSymbolName): boolean {
    const alias = PRESENCE_ALIAS[name];
    return this.sym[alias ?? name] !== null;
  }

  /** Words for a return code: `nvmlErrorString`, else a table from nvml.h. Cached. */
  errorString(code: number): string {
    let w = this.#words.get(code);
    if (w !== undefined) return w;
    w = fallbackErrorWords(code);
    const fn = this.sym.nvmlErrorString;
    if (fn !== null && !this.#closed) {
      const p = fn(code);
      if (p !== null) w = Deno.UnsafePointerView.getCString(p) || w;
    }
    this.#words.set(code, w);
    return w;
  }

  /** Throw NvmlError for a non-success return code. */
  check(rc: number, fn: string): void {
    if (rc !== NVML_SUCCESS) throw new NvmlError(rc, fn, this.errorString(rc));
  }

  #missing(fn: string): never {
    throw new NvmlError(
      NVML_ERROR_FUNCTION_NOT_FOUND,
      fn,
      `${fn} is not in this NVML library (old driver)`,
    );
  }

  init(): void {
    this.check(this.sym.nvmlInit_v2(), "nvmlInit_v2");
    this.#initialized = true;
  }

  /** nvmlShutdown (ref-counted with init) if initialized, then dlclose. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    if (this.#initialized) {
      this.sym.nvmlShutdown();
      this.#initialized = false;
    }
    this.#closed = true;
    this.#lib.close();
  }

  #string(fnName: "nvmlSystemGetDriverVersion" | "nvmlSystemGetNVMLVersion", size: number): string {
    const fn = this.sym[fnName];
    if (fn === null) this.#missing(fnName);
    const buf = this.#str.subarray(0, size);
    this.check(fn(buf, size), fnName);
    return cString(buf);
  }

  #deviceString(
    fnName: "nvmlDeviceGetName" | "nvmlDeviceGetUUID",
    dev: NvmlDevice,
    size: number,
  ): string {
    const fn = this.sym[fnName];
    if (fn === null) this.#missing(fnName);
    const buf = this.#str.subarray(0, size);
    this.check(fn(dev, buf, size), fnName);
    return cString(buf);
  }

  driverVersion(): string {
    return this.#string("nvmlSystemGetDriverVersion", SYSTEM_DRIVER_VERSION_BUFFER_SIZE);
  }

  nvmlVersion(): string {
    return this.#string("nvmlSystemGetNVMLVersion", SYSTEM_NVML_VERSION_BUFFER_SIZE);
  }

  deviceCount(): number {
    this.check(this.sym.nvmlDeviceGetCount_v2(this.#u32), "nvmlDeviceGetCount_v2");
    return this.#u32[0];
  }

  deviceHandleByIndex(index: number): NvmlDevice {
    this.check(
      this.sym.nvmlDeviceGetHandleByIndex_v2(index, this.#ptr),
      "nvmlDeviceGetHandleByIndex_v2",
    );
    return Deno.UnsafePointer.create(this.#ptr[0]);
  }

  deviceName(dev: NvmlDevice): string {
    return this.#deviceString("nvmlDeviceGetName", dev, DEVICE_NAME_V2_BUFFER_SIZE);
  }

  deviceUuid(dev: NvmlDevice): string {
    return this.#deviceString("nvmlDeviceGetUUID", dev, DEVICE_UUID_V2_BUFFER_SIZE);
  }

  devicePciInfo(dev: NvmlDevice): PciInfo {
    const fn = this.sym.nvmlDeviceGetPciInfo_v3;
    if (fn === null) this.#missing("nvmlDeviceGetPciInfo_v3");
    this.check(fn(dev, this.#pci), "nvmlDeviceGetPciInfo_v3");
    const v = new DataView(this.#pci.buffer);
    return {
      busId: cString(this.#pci.subarray(36, 68)),
      domain: v.getUint32(16, true),
      bus: v.getUint32(20, true),
      device: v.getUint32(24, true),
      pciDeviceId: v.getUint32(28, true),
    };
  }

  /** nvmlDeviceArchitecture_t (see NVML_ARCHITECTURES). */
  deviceArchitecture(dev: NvmlDevice): number {
    const fn = this.sym.nvmlDeviceGetArchitecture;
    if (fn === null) this.#missing("nvmlDeviceGetArchitecture");
    this.check(fn(dev, this.#u32), "nvmlDeviceGetArchitecture");
    return this.#u32[0];
  }

  // ---- per-tick reads: no allocation on success ----

  /** Board power in mW (a 1-s average on Ampere except GA100 and newer; instantaneous before). */
  powerUsageMw(dev: NvmlDevice): number {
    const fn = this.sym.nvmlDeviceGetPowerUsage;
    if (fn === null) this.#missing("nvmlDeviceGetPowerUsage");
    const rc = fn(dev, this.#u32);
    if (rc !== NVML_SUCCESS) this.check(rc, "nvmlDeviceGetPowerUsage");
    return this.#u32[0];
  }

  /** Energy in mJ since the driver was last reloaded (Volta+). */
  totalEnergyMj(dev: NvmlDevice): number {
    const fn = this.sym.nvmlDeviceGetTotalEnergyConsumption;
    if (fn === null) this.#missing("nvmlDeviceGetTotalEnergyConsumption");
    const rc = fn(dev, this.#u64);
    if (rc !== NVML_SUCCESS) this.check(rc, "nvmlDeviceGetTotalEnergyConsumption");
    return u64(this.#u64);
  }

  enforcedPowerLimitMw(dev: NvmlDevice): number {
    const fn = this.sym.nvmlDeviceGetEnforcedPowerLimit;
    if (fn === null) this.#missing("nvmlDeviceGetEnforcedPowerLimit");
    const rc = fn(dev, this.#u32);
    if (rc !== NVML_SUCCESS) this.check(rc, "nvmlDeviceGetEnforcedPowerLimit");
    return this.#u32[0];
  }

  /** `[gpu %, memory %]`; the returned array is reused by the next call. */
  utilization(dev: NvmlDevice): Uint32Array {
    const fn = this.sym.nvmlDeviceGetUtilizationRates;
    if (fn === null) this.#missing("nvmlDeviceGetUtilizationRates");
    const rc = fn(dev, this.#u32);
    if (rc !== NVML_SUCCESS) this.check(rc, "nvmlDeviceGetUtilizationRates");
    return this.#u32;
  }

  /** Device memory; `out` receives [total, free, used] bytes. */
  memoryInfo(dev: NvmlDevice, out: Float64Array): void {
    const fn = this.sym.nvmlDeviceGetMemoryInfo;
    if (fn === null) this.#missing("nvmlDeviceGetMemoryInfo");
    const rc = fn(dev, this.#mem);
    if (rc !== NVML_SUCCESS) this.check(rc, "nvmlDeviceGetMemoryInfo");
    out[0] = u64(this.#mem, 0);
    out[1] = u64(this.#mem, 2);
    out[2] = u64(this.#mem, 4);
  }

  /** GPU die temperature in °C. */
  temperatureC(dev: NvmlDevice): number {
    const fn = this.sym.nvmlDeviceGetTemperature;
    if (fn === null) this.#missing("nvmlDeviceGetTemperature");
    const rc = fn(dev, NVML_TEMPERATURE_GPU, this.#u32);
    if (rc !== NVML_SUCCESS) this.check(rc, "nvmlDeviceGetTemperature");
    return this.#u32[0];
  }

  /** Current clock in MHz for an nvmlClockType_t. */
  clockMhz(dev: NvmlDevice, type: number): number {
    const fn = this.sym.nvmlDeviceGetClockInfo;
    if (fn === null) this.#missing("nvmlDeviceGetClockInfo");
    const rc = fn(dev, type, this.#u32);
    if (rc !== NVML_SUCCESS) this.check(rc, "nvmlDeviceGetClockInfo");
    return this.#u32[0];
  }

  /**
   * Clock event (throttle) reason bitmask: `nvmlDeviceGetCurrentClocksEventReasons`
   * (12.2+), else the deprecated `nvmlDeviceGetCurrentClocksThrottleReasons`.
   * Bits (lines 3322-3410) are all below 2^53, so a number holds them exactly.
   */
  clocksEventReasons(dev: NvmlDevice): number {
    const fn = this.sym.nvmlDeviceGetCurrentClocksEventReasons ??
      this.sym.nvmlDeviceGetCurrentClocksThrottleReasons;
    if (fn === null) this.#missing("nvmlDeviceGetCurrentClocksEventReasons");
    const rc = fn(dev, this.#u64);
    if (rc !== NVML_SUCCESS) this.check(rc, "nvmlDeviceGetCurrentClocksEventReasons");
    return u64(this.#u64);
  }

  /** Fill `fv` (per-field results: check `fv.ret(i)` / `fv.value(i)`). */
  fieldValues(dev: NvmlDevice, fv: FieldValues): void {
    const fn = this.sym.nvmlDeviceGetFieldValues;
    if (fn === null) this.#missing("nvmlDeviceGetFieldValues");
    const rc = fn(dev, fv.length, fv.buf);
    if (rc !== NVML_SUCCESS) this.check(rc, "nvmlDeviceGetFieldValues");
  }

  // ---- slow queries: run on a blocking thread, return Promises ----

  /**
   * Compute processes on a device into `list` (`list.count` entries). Grows the
   * list and retries when the driver says INSUFFICIENT_SIZE. Do not start a
   * second call with the same list before this one settles.
   */
  async computeRunningProcesses(dev: NvmlDevice, list: ProcessList): Promise<void> {
    const fn = this.sym.nvmlDeviceGetComputeRunningProcesses_v3;
    if (fn === null || !this.has("nvmlDeviceGetComputeRunningProcesses_v3")) {
      this.#missing("nvmlDeviceGetComputeRunningProcesses_v3");
    }
    for (let attempt = 0; attempt < 4; attempt++) {
      list.countBuf[0] = list.capacity;
      const rc = await fn(dev, list.countBuf, list.buf);
      if (this.#closed) {
        throw new NvmlError(
          NVML_ERROR_UNINITIALIZED,
          "nvmlDeviceGetComputeRunningProcesses_v3",
          "closed",
        );
      }
      if (rc === NVML_ERROR_INSUFFICIENT_SIZE) {
        list.grow(Math.max(list.countBuf[0] + 8, list.capacity * 2));
        continue;
      }
      this.check(rc, "nvmlDeviceGetComputeRunningProcesses_v3");
      list.count = Math.min(list.countBuf[0], list.capacity);
      return;
    }
    throw new NvmlError(
      NVML_ERROR_INSUFFICIENT_SIZE,
      "nvmlDeviceGetComputeRunningProcesses_v3",
      this.errorString(NVML_ERROR_INSUFFICIENT_SIZE),
    );
  }

  /** PCIe throughput in KB/s over a 20 ms window (blocks ~20 ms on a worker thread). */
  async pcieThroughputKBps(dev: NvmlDevice, counter: number): Promise<number> {
    const fn = this.sym.nvmlDeviceGetPcieThroughput;
    if (fn === null || !this.has("nvmlDeviceGetPcieThroughput")) {
      this.#missing("nvmlDeviceGetPcieThroughput");
    }
    const out = new Uint32Array(1);
    this.check(await fn(dev, counter, out), "nvmlDeviceGetPcieThroughput");
    return out[0];
  }

  // ---- GPM (Hopper+) ----

  /** Whether the device supports GPM (`nvmlGpmQueryDeviceSupport`). */
  gpmSupported(dev: NvmlDevice): boolean {
    const fn = this.sym.nvmlGpmQueryDeviceSupport;
    if (fn === null) this.#missing("nvmlGpmQueryDeviceSupport");
    this.#gpmSupport[0] = NVML_GPM_SUPPORT_VERSION;
    this.#gpmSupport[1] = 0;
    this.check(fn(dev, this.#gpmSupport), "nvmlGpmQueryDeviceSupport");
    return this.#gpmSupport[1] !== 0;
  }

  gpmSampleAlloc(): GpmSample {
    const fn = this.sym.nvmlGpmSampleAlloc;
    if (fn === null) this.#missing("nvmlGpmSampleAlloc");
    this.check(fn(this.#ptr), "nvmlGpmSampleAlloc");
    const addr = this.#ptr[0];
    return { ptr: Deno.UnsafePointer.create(addr), addr };
  }

  gpmSampleFree(sample: GpmSample): void {
    const fn = this.sym.nvmlGpmSampleFree;
    if (fn === null || this.#closed) return;
    fn(sample.ptr);
  }

  gpmSampleGet(dev: NvmlDevice, sample: GpmSample): void {
    const fn = this.sym.nvmlGpmSampleGet;
    if (fn === null) this.#missing("nvmlGpmSampleGet");
    const rc = fn(dev, sample.ptr);
    if (rc !== NVML_SUCCESS) this.check(rc, "nvmlGpmSampleGet");
  }

  gpmMetricsGet(req: GpmMetricsRequest): void {
    const fn = this.sym.nvmlGpmMetricsGet;
    if (fn === null) this.#missing("nvmlGpmMetricsGet");
    const rc = fn(req.buf);
    if (rc !== NVML_SUCCESS) this.check(rc, "nvmlGpmMetricsGet");
  }
}
