/**
 * Power and energy meters exposed through the generic hwmon ABI.
 *
 * Source: `<sysfs>/class/hwmon/hwmon*` (Documentation/hwmon/sysfs-interface.rst):
 * `powerN_average` / `powerN_input` in µW, `energyN_input` in µJ (cumulative),
 * labels in `powerN_label` / `energyN_label`. The ACPI power meter
 * (drivers/hwmon/acpi_power_meter.c, NVIDIA Grace) puts its attributes in
 * `hwmonN/device/` and names the meter in `power1_oem_info` ("Module Power
 * Socket 0", "Grace Power Socket 0", "CPU Power Socket 0", "SysIO Power
 * Socket 0"; NVIDIA/edk2-nvidia BpmpSsdtSocket0_TH500.asl). Intel dGPUs:
 * i915 `energy1_input` (device, 6.2; `i915_gtN` = one GT), xe `energy1_input`
 * "card" and `energy2_input` "pkg" (Documentation/ABI/testing/
 * sysfs-driver-intel-{i915,xe}-hwmon).
 *
 * Skipped: `amdgpu` (the amdgpu source reads it) and `nvidia` (NVML).
 *
 * Device `<hwmon name>/<label or powerN|energyN>`, source `hwmon`, channels
 * `power_w` and `energy_j`. Energy: an `energyN_input` counter when there is
 * one (`counter`), else the trapezoid integral of the power file
 * (`power-integral`). Power without a power file: energy delta over the tick.
 *
 * Totals, chosen so nothing counts twice (each choice is also a note):
 * - Grace "Module Power Socket N" → `host`: it contains CPU, DRAM, GPU, HBM and
 *   regulator losses, i.e. what NVML (gpu) and the Grace socket meter (cpu)
 *   already count; it is the node-level figure shown beside them, like RAPL psys.
 * - Grace "Grace Power Socket N" → `cpu` (the socket: CPU rail + SysIO; Grace
 *   has no RAPL, so nothing else counts the CPU). "CPU Power Socket N" and
 *   "SysIO Power Socket N" → `none`: they are inside the Grace socket meter.
 * - Any other ACPI `power_meter` → `host` (a whole-system meter).
 * - i915 / xe card-level `energy1_input` → `gpu`; GT-level (`i915_gtN`) and
 *   xe "pkg" when a "card" meter exists → `none` (inside the card).
 * - `amd_energy` / `zenergy` "EsocketN" → `cpu` only when no RAPL package zone
 *   is readable (they read the same MSR), else `none`; "EcoreN" → `none`.
 * - Anything else → `none` ("recorded, not counted": we cannot tell what it covers).
 */

import type {
  Channel,
  DeviceInfo,
  EnergyMethod,
  EnergyTotal,
  Sensor,
  SensorFactory,
  SensorNote,
  SensorOptions,
} from "./types.ts";
import { CounterAccumulator, PowerIntegrator } from "./energy.ts";
import { listDir, PositionedReader, readText } from "./sysfs.ts";
import { readableRaplPackages } from "./rapl.ts";

const SOURCE = "hwmon";

/** hwmon drivers read by another source. */
export const HWMON_OWNED_ELSEWHERE: Readonly<Record<string, string>> = {
  amdgpu: "amdgpu",
  nvidia: "nvml",
};

/** One meter: a power file, an energy file, or both (same index and label). */
export interface HwmonMeter {
  /** `hwmon3` */
  hwmon: string;
  /** Contents of `name` (`power_meter`, `i915`, `xe`, `amd_energy`, ...). */
  chip: string;
  index: number;
  label?: string;
  /** Path of `powerN_average` or `powerN_input`. */
  powerPath?: string;
  /** Path of `energyN_input`. */
  energyPath?: string;
  /** `powerN_average_interval` (ms), when present. */
  averageIntervalMs?: number;
}

export interface HwmonClassification {
  total: EnergyTotal;
  /** Why, in words, when worth a note. */
  why?: string;
}

const GRACE_RE = /^(Module|Grace|CPU|SysIO) Power Socket (\d+)$/i;

/**
 * Which summary total a meter counts into; pure. `siblings` are the labels of
 * the other meters of the same hwmon chip, `raplPackages` how many RAPL
 * package zones are readable.
 */
export function classifyHwmonMeter(
  m: Pick<HwmonMeter, "chip" | "label">,
  ctx: { siblings: readonly (string | undefined)[]; raplPackages: number },
): HwmonClassification {
  const label = m.label ?? "";
  if (m.chip === "power_meter") {
    const g = GRACE_RE.exec(label);
    if (!g) {
      return {
        total: "host",
        why: `ACPI power meter${
          label ? ` "${label}"` : ""
        } measures the whole system: counted into host, never added to cpu/gpu`,
      };
    }
    switch (g[1].toLowerCase()) {
      case "module":
        return {
          total: "host",
          why:
            `"${label}" covers the whole Grace Hopper module (CPU, DRAM, GPU, HBM, regulator losses), which the GPU and Grace socket meters already count: counted into host, never added to them`,
        };
      case "grace":
        return {
          total: "cpu",
          why: `"${label}" is the Grace CPU socket (CPU rail + SysIO): counted into cpu`,
        };
      default:
        return {
          total: "none",
          why: `"${label}" is inside the Grace socket meter: recorded, not counted again`,
        };
    }
  }
  if (m.chip === "i915" || m.chip === "xe") {
    if (label.toLowerCase() === "pkg" && ctx.siblings.some((s) => s?.toLowerCase() === "card")) {
      return { total: "none", why: `${m.chip} "pkg" is inside the "card" meter` };
    }
    return { total: "gpu" };
  }
  if (/^i915_gt\d+$/.test(m.chip)) {
    return { total: "none", why: `${m.chip} is one GT of an Intel GPU, inside the device meter` };
  }
  if (m.chip === "amd_energy" || m.chip === "zenergy") {
    if (/^Esocket/i.test(label)) {
      return ctx.raplPackages > 0
        ? {
          total: "none",
          why:
            `${m.chip} ${label} reads the same counter as RAPL, which is readable: not counted again`,
        }
        : { total: "cpu", why: `${m.chip} ${label} counts into cpu (no readable RAPL package)` };
    }
    return { total: "none" };
  }
  return {
    total: "none",
    why: `hwmon ${m.chip}${
      label ? ` "${label}"` : ""
    }: recorded, not counted in any total (aimeter cannot tell what it covers)`,
  };
}

const FILE_RE = /^(power|energy)(\d+)_(average|input)$/;

/** Find every meter of one hwmon directory (files in it and in its `device/`). */
export function scanHwmonDir(dir: string, hwmon: string, chip: string): HwmonMeter[] {
  const meters = new Map<number, HwmonMeter>();
  for (const sub of [dir, `${dir}/device`]) {
    for (const f of listDir(sub)) {
      const m = FILE_RE.exec(f);
      if (!m) continue;
      const index = Number(m[2]);
      let meter = meters.get(index);
      if (!meter) meters.set(index, meter = { hwmon, chip, index });
      if (m[1] === "energy") {
        meter.energyPath ??= `${sub}/${f}`;
      } else if (
        !meter.powerPath || (m[3] === "average" && !meter.powerPath.endsWith("_average"))
      ) {
        // powerN_average is preferred over the instantaneous powerN_input for integrating
        meter.powerPath = `${sub}/${f}`;
      }
      const label = readText(`${sub}/${m[1]}${index}_label`) ??
        readText(`${sub}/power${index}_oem_info`) ??
        readText(`${sub}/${m[1] === "energy" ? "power" : "energy"}${index}_label`);
      if (label && !meter.label) meter.label = label;
      const interval = Number(readText(`${sub}/power${index}_average_interval`));
      if (interval > 0) meter.averageIntervalMs = interval;
    }
  }
  return [...meters.values()].sort((a, b) => a.index - b.index);
}

interface OpenMeter {
  meter: HwmonMeter;
  device: string;
  method: EnergyMethod;
  power?: PositionedReader;
  energy?: PositionedReader;
  counter?: CounterAccumulator;
  integrator?: PowerIntegrator;
  prevJ: number;
  prevT: number;
  noted: boolean;
}

class HwmonSensor implements Sensor {
  readonly source = SOURCE;
  readonly channels: Channel[] = [];
  readonly devices: DeviceInfo[] = [];
  readonly notes: SensorNote[];
  #meters: OpenMeter[];

  constructor(meters: OpenMeter[], totals: EnergyTotal[], notes: SensorNote[]) {
    this.#meters = meters;
    this.notes = notes;
    meters.forEach((m, i) => {
      this.channels.push(
        { source: SOURCE, device: m.device, metric: "power_w" },
        { source: SOURCE, device: m.device, metric: "energy_j" },
      );
      const attributes: Record<string, string | number> = {
        hwmon: m.meter.hwmon,
        chip: m.meter.chip,
      };
      if (m.meter.label) attributes.label = m.meter.label;
      if (m.meter.averageIntervalMs) attributes.average_interval_ms = m.meter.averageIntervalMs;
      if (m.power) attributes.power_file = m.power.path.slice(m.power.path.lastIndexOf("/") + 1);
      this.devices.push({
        source: SOURCE,
        device: m.device,
        name: m.meter.label ?? m.meter.chip,
        energyMethod: m.method,
        total: totals[i],
        attributes,
      });
    });
  }

  read(values: Float64Array, timeUs: number): void {
    for (let i = 0; i < this.#meters.length; i++) {
      const m = this.#meters[i];
      const watts = m.power ? m.power.readNumber() / 1e6 : NaN;
      let joules = NaN;
      if (m.energy && m.counter) {
        const raw = m.energy.readNumber();
        if (!Number.isNaN(raw)) joules = m.counter.add(raw);
      } else if (m.integrator && !Number.isNaN(watts)) {
        joules = m.integrator.add(timeUs, watts);
      }
      let power = watts;
      if (!m.power && !Number.isNaN(joules)) {
        power = timeUs > m.prevT ? (joules - m.prevJ) / ((timeUs - m.prevT) / 1e6) : NaN;
      }
      if (!Number.isNaN(joules)) {
        m.prevJ = joules;
        m.prevT = timeUs;
      }
      values[2 * i] = power;
      values[2 * i + 1] = joules;
      if (!m.noted && (Number.isNaN(joules) || Number.isNaN(power))) {
        const err = m.power?.lastError ?? m.energy?.lastError;
        if (err) {
          m.noted = true;
          this.notes.push({
            source: SOURCE,
            status: err.kind,
            device: m.device,
            message: `Cannot read ${m.device}: ${err.code} (${err.message})`,
          });
        }
      }
    }
  }

  close(): void {
    for (const m of this.#meters) {
      m.power?.close();
      m.energy?.close();
    }
  }
}

/** Power/energy meters of the generic hwmon class (Grace, Intel dGPU, amd_energy, ...). */
export const hwmonFactory: SensorFactory = {
  source: SOURCE,
  open(opts: SensorOptions) {
    const notes: SensorNote[] = [];
    try {
      const base = `${opts.sysfsRoot}/class/hwmon`;
      const all: HwmonMeter[][] = [];
      for (const hwmon of listDir(base)) {
        if (!/^hwmon\d+$/.test(hwmon)) continue;
        const dir = `${base}/${hwmon}`;
        const chip = readText(`${dir}/name`) ?? readText(`${dir}/device/name`) ?? hwmon;
        const meters = scanHwmonDir(dir, hwmon, chip);
        if (!meters.length) continue;
        if (HWMON_OWNED_ELSEWHERE[chip]) {
          notes.push({
            source: SOURCE,
            status: "found",
            device: `${chip}/${hwmon}`,
            message: `hwmon ${hwmon} (${chip}) is read by the ${
              HWMON_OWNED_ELSEWHERE[chip]
            } source, not here`,
          });
          continue;
        }
        all.push(meters);
      }
      if (!all.length) {
        notes.push({
          source: SOURCE,
          status: "not-found",
          message: `No hwmon power or energy meters under ${base}`,
        });
        return { sensor: null, notes };
      }
      const needRapl = all.flat().some((m) => m.chip === "amd_energy" || m.chip === "zenergy");
      const raplPackages = needRapl ? readableRaplPackages(opts.sysfsRoot) : 0;

      const opened: OpenMeter[] = [];
      const totals: EnergyTotal[] = [];
      const used = new Set<string>();
      for (const meters of all) {
        const siblings = meters.map((m) => m.label);
        for (const meter of meters) {
          let sub = meter.label ??
            (meter.powerPath ? `power${meter.index}` : `energy${meter.index}`);
          sub = sub.replaceAll("/", "_");
          let device = `${meter.chip}/${sub}`;
          if (used.has(device)) device = `${meter.chip}@${meter.hwmon}/${sub}`;
          const om: OpenMeter = {
            meter,
            device,
            method: "counter",
            prevJ: NaN,
            prevT: NaN,
            noted: false,
          };
          for (const kind of ["power", "energy"] as const) {
            const path = kind === "power" ? meter.powerPath : meter.energyPath;
            if (!path) continue;
            const r = PositionedReader.openChecked(path, 32);
            if ("reader" in r) {
              om[kind] = r.reader;
            } else {
              notes.push({
                source: SOURCE,
                status: r.error.kind,
                device,
                message: `Cannot read "${path}": ${r.error.code} (${r.error.message})`,
              });
            }
          }
          if (!om.power && !om.energy) continue;
          if (om.energy) {
            om.counter = new CounterAccumulator(1e-6);
          } else {
            om.method = "power-integral";
            om.integrator = new PowerIntegrator();
          }
          const cls = classifyHwmonMeter(meter, { siblings, raplPackages });
          if (cls.why) notes.push({ source: SOURCE, status: "found", device, message: cls.why });
          used.add(device);
          opened.push(om);
          totals.push(cls.total);
        }
      }
      if (!opened.length) return { sensor: null, notes };
      const sensor = new HwmonSensor(opened, totals, notes);
      return { sensor, notes: sensor.notes };
    } catch (e) {
      notes.push({
        source: SOURCE,
        status: "error",
        message: `hwmon could not be opened: ${(e as Error).message ?? e}`,
      });
      return { sensor: null, notes };
    }
  },
};
