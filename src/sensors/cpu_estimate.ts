/**
 * A CPU power **estimate**, used only when nothing measures the CPU (no
 * readable RAPL package zone, no hwmon meter counting into `cpu`).
 *
 * Model (the common linear utilisation model; Fan, Weber & Barroso, "Power
 * provisioning for a warehouse-sized computer", ISCA 2007; used by Cloud
 * Carbon Footprint, https://www.cloudcarbonfootprint.org/docs/methodology/
 * "Average Watts = Min Watts + Avg vCPU Utilization × (Max Watts − Min Watts)"):
 *
 *   P = sockets × (P_idle + (TDP − P_idle) × u),   P_idle = IDLE_FRACTION × TDP
 *
 * - u: busy share of all CPUs over the tick, from `/proc/stat` (as the proc
 *   source computes `cpu/util_pct`);
 * - TDP per socket: `--cpu-tdp W` (`opts.cpuTdpW`), else the built-in table
 *   below, keyed by `/proc/cpuinfo` "model name";
 * - sockets: distinct `physical id`s in `/proc/cpuinfo`, else distinct
 *   `<sysfs>/devices/system/cpu/cpu*\/topology/physical_package_id`, else 1;
 * - IDLE_FRACTION = 0.2: our stated assumption, close to Cloud Carbon
 *   Footprint's SPECpower-derived averages (0.61 W idle vs 3.15 W max per
 *   vCPU, ratio 0.19).
 * Energy = Σ P × tick length (u is the tick's average, so this is exact for
 * the model). Device `cpu-estimate`, source `estimate`, method `estimate`,
 * total `cpu`. TDP is a thermal design figure, not a measured power: real
 * package power can be above it (turbo) or well below it.
 */

import type {
  Channel,
  DeviceInfo,
  Sensor,
  SensorFactory,
  SensorNote,
  SensorOptions,
} from "./types.ts";
import { listDir, PositionedReader, readText } from "./sysfs.ts";
import { busyAndTotal, parseCpuLine } from "./proc.ts";
import { raplPermissionFix, readableRaplPackages, scanRaplZones } from "./rapl.ts";
import { hwmonFactory } from "./hwmon.ts";

const SOURCE = "estimate";
const DEVICE = "cpu-estimate";

/** Idle power as a fraction of TDP (see the top-of-file comment). */
export const IDLE_FRACTION = 0.2;

export interface CpuTdpEntry {
  /** Matched as whole words in the normalised `model name` ("Xeon Platinum 8480+"). */
  model: string;
  /** Vendor default TDP per socket, W. */
  tdpW: number;
  /** Where the figure comes from. */
  source: string;
}

const ARK = "Intel ARK specifications, https://ark.intel.com/content/www/us/en/ark/search.html?q=";
const AMD =
  "AMD EPYC specifications, https://www.amd.com/en/products/specifications/server-processor.html";

/**
 * Default TDPs of common server CPUs, per socket, as published by the vendor
 * on the page named in `source` (transcribed from those pages; this machine
 * cannot fetch them, so check a surprising figure there).
 */
export const CPU_TDP_TABLE: readonly CpuTdpEntry[] = [
  { model: "Xeon 6980P", tdpW: 500, source: `${ARK}6980P` },
  { model: "Xeon Platinum 8592+", tdpW: 350, source: `${ARK}8592%2B` },
  { model: "Xeon Platinum 8480+", tdpW: 350, source: `${ARK}8480%2B` },
  { model: "Xeon Platinum 8468", tdpW: 350, source: `${ARK}8468` },
  { model: "Xeon Platinum 8462Y+", tdpW: 300, source: `${ARK}8462Y%2B` },
  { model: "Xeon Platinum 8380", tdpW: 270, source: `${ARK}8380` },
  { model: "Xeon Platinum 8358", tdpW: 250, source: `${ARK}8358` },
  { model: "Xeon Gold 6338", tdpW: 205, source: `${ARK}6338` },
  { model: "Xeon Platinum 8280", tdpW: 205, source: `${ARK}8280` },
  { model: "Xeon Gold 6248R", tdpW: 205, source: `${ARK}6248R` },
  { model: "Xeon Gold 6248", tdpW: 150, source: `${ARK}6248` },
  { model: "Xeon Gold 6148", tdpW: 150, source: `${ARK}6148` },
  { model: "Xeon E5-2698 v4", tdpW: 135, source: `${ARK}E5-2698%20v4` },
  { model: "EPYC 7742", tdpW: 225, source: AMD },
  { model: "EPYC 7H12", tdpW: 280, source: AMD },
  { model: "EPYC 7763", tdpW: 280, source: AMD },
  { model: "EPYC 7713", tdpW: 225, source: AMD },
  { model: "EPYC 7543", tdpW: 225, source: AMD },
  { model: "EPYC 9654", tdpW: 360, source: AMD },
  { model: "EPYC 9554", tdpW: 360, source: AMD },
  { model: "EPYC 9754", tdpW: 360, source: AMD },
  { model: "EPYC 9965", tdpW: 500, source: AMD },
  {
    // arm64 /proc/cpuinfo has no model name: matched by `describeCpu` from
    // CPU implementer 0x41 / part 0xd4f (Neoverse V2) with 72 cores per socket.
    model: "NVIDIA Grace",
    tdpW: 250,
    source:
      "half of the Grace CPU Superchip's 500 W (two Grace CPUs, LPDDR5X memory included), https://www.nvidia.com/en-us/data-center/grace-cpu-superchip/",
  },
];

/** Drop vendor marks and clock text: "Intel(R) Xeon(R) CPU E5-2698 v4 @ 2.20GHz" → "Intel Xeon E5-2698 v4". */
export function normaliseModel(name: string): string {
  return name.replace(/\((R|TM)\)/gi, "")
    .replace(/@.*$/, "")
    .replace(/\b(CPU|Processor)\b/gi, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** The table entry for a model name, matched on whole words. */
export function lookupTdp(modelName: string): CpuTdpEntry | undefined {
  const norm = ` ${normaliseModel(modelName)} `;
  return CPU_TDP_TABLE.find((e) => norm.includes(` ${e.model} `));
}

export interface CpuDescription {
  /** "model name", or "NVIDIA Grace" for a Grace CPU, or undefined. */
  model?: string;
  sockets: number;
  cpus: number;
}

/** Model name, socket count and logical CPU count from cpuinfo text (+ sysfs topology). */
export function describeCpu(cpuinfo: string, sysfsRoot?: string): CpuDescription {
  const ids = new Set<string>();
  let model: string | undefined;
  let cpus = 0;
  let implementer: string | undefined;
  let part: string | undefined;
  for (const line of cpuinfo.split("\n")) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const key = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (key === "processor") cpus++;
    else if (key === "model name") model ??= value;
    else if (key === "physical id") ids.add(value);
    else if (key === "CPU implementer") implementer ??= value;
    else if (key === "CPU part") part ??= value;
  }
  let sockets = ids.size;
  if (!sockets && sysfsRoot) {
    const pkgs = new Set<string>();
    const base = `${sysfsRoot}/devices/system/cpu`;
    for (const c of listDir(base)) {
      if (!/^cpu\d+$/.test(c)) continue;
      const id = readText(`${base}/${c}/topology/physical_package_id`);
      if (id !== undefined) pkgs.add(id);
    }
    sockets = pkgs.size;
  }
  sockets ||= 1;
  if (!model && implementer === "0x41" && part === "0xd4f" && cpus / sockets === 72) {
    model = "NVIDIA Grace";
  }
  return { ...(model ? { model } : {}), sockets, cpus };
}

class CpuEstimateSensor implements Sensor {
  readonly source = SOURCE;
  readonly channels: Channel[] = [
    { source: SOURCE, device: DEVICE, metric: "power_w" },
    { source: SOURCE, device: DEVICE, metric: "energy_j" },
  ];
  readonly devices: DeviceInfo[];
  readonly notes: SensorNote[];
  readonly #stat: PositionedReader;
  readonly #cpu = new Float64Array(10);
  readonly #idleW: number;
  readonly #rangeW: number;
  #prevBusy = NaN;
  #prevTotal = NaN;
  #prevT = NaN;
  #joules = 0;

  constructor(
    stat: PositionedReader,
    tdpW: number,
    sockets: number,
    info: DeviceInfo,
    notes: SensorNote[],
  ) {
    this.#stat = stat;
    this.#idleW = sockets * IDLE_FRACTION * tdpW;
    this.#rangeW = sockets * (1 - IDLE_FRACTION) * tdpW;
    this.devices = [info];
    this.notes = notes;
  }

  /** Model power for a utilisation in [0, 1]. */
  powerAt(u: number): number {
    return this.#idleW + this.#rangeW * Math.min(1, Math.max(0, u));
  }

  read(values: Float64Array, timeUs: number): void {
    const n = this.#stat.read();
    let watts = NaN;
    if (parseCpuLine(this.#stat.buf, n, this.#cpu)) {
      const [busy, total] = busyAndTotal(this.#cpu);
      const dTotal = total - this.#prevTotal;
      if (dTotal > 0) watts = this.powerAt((busy - this.#prevBusy) / dTotal);
      this.#prevBusy = busy;
      this.#prevTotal = total;
    }
    if (!Number.isNaN(watts) && timeUs > this.#prevT) {
      this.#joules += watts * (timeUs - this.#prevT) / 1e6;
    }
    if (!Number.isNaN(watts) || Number.isNaN(this.#prevT)) this.#prevT = timeUs;
    values[0] = watts;
    values[1] = this.#joules;
  }

  close(): void {
    this.#stat.close();
  }
}

/** Something else measures the CPU: readable RAPL packages or a hwmon meter counted into `cpu`. */
function cpuMeasuredElsewhere(opts: SensorOptions): string | undefined {
  if (readableRaplPackages(opts.sysfsRoot) > 0) return "RAPL";
  const { sensor } = hwmonFactory.open(opts);
  if (!sensor) return undefined;
  const found = sensor.devices.find((d) => d.total === "cpu");
  sensor.close();
  return found ? `hwmon ${found.device}` : undefined;
}

/** CPU power estimate from utilisation and TDP, only when the CPU is not measured. */
export const cpuEstimateFactory: SensorFactory = {
  source: SOURCE,
  open(opts: SensorOptions) {
    const notes: SensorNote[] = [];
    try {
      if (cpuMeasuredElsewhere(opts)) return { sensor: null, notes };
      const raplPresent = scanRaplZones(opts.sysfsRoot).length > 0;
      const howToMeasure = raplPresent
        ? `For a measurement, make RAPL readable: ${raplPermissionFix(opts.sysfsRoot)}`
        : "For a measurement, run on bare metal with RAPL (sudo modprobe intel_rapl_msr); VMs rarely expose it.";
      const cpu = describeCpu(readText(`${opts.procfsRoot}/cpuinfo`) ?? "", opts.sysfsRoot);
      const entry = cpu.model ? lookupTdp(cpu.model) : undefined;
      const given = opts.cpuTdpW !== undefined && opts.cpuTdpW > 0 ? opts.cpuTdpW : undefined;
      const tdpW = given ?? entry?.tdpW;
      const modelText = cpu.model ? `"${cpu.model}"` : "this CPU (no model name in cpuinfo)";
      if (tdpW === undefined) {
        notes.push({
          source: SOURCE,
          status: "not-found",
          device: DEVICE,
          message:
            `CPU energy is not measured (no readable RAPL) and the TDP of ${modelText} is not in aimeter's table, so it cannot be estimated either`,
          fix:
            `Give the TDP per socket from the vendor's spec page: --cpu-tdp W (e.g. --cpu-tdp 205). ${howToMeasure}`,
        });
        return { sensor: null, notes };
      }
      const stat = PositionedReader.openChecked(`${opts.procfsRoot}/stat`, 512);
      if ("error" in stat) {
        notes.push({
          source: SOURCE,
          status: stat.error.kind,
          device: DEVICE,
          message: `Cannot estimate CPU power: ${opts.procfsRoot}/stat: ${stat.error.code}`,
        });
        return { sensor: null, notes };
      }
      const tdpSource = given !== undefined ? "--cpu-tdp" : entry!.source;
      notes.push({
        source: SOURCE,
        status: "estimated",
        device: DEVICE,
        message: `CPU energy is an ESTIMATE, not a measurement: ${cpu.sockets} socket(s) × (${
          IDLE_FRACTION * 100
        }% of TDP at idle + the rest × CPU utilisation), TDP ${tdpW} W per socket (${
          given !== undefined ? "from --cpu-tdp" : `${entry!.model}, ${entry!.source}`
        })`,
        fix: howToMeasure,
      });
      const info: DeviceInfo = {
        source: SOURCE,
        device: DEVICE,
        ...(cpu.model ? { name: cpu.model } : {}),
        energyMethod: "estimate",
        total: "cpu",
        attributes: {
          tdp_w_per_socket: tdpW,
          sockets: cpu.sockets,
          idle_fraction: IDLE_FRACTION,
          tdp_source: tdpSource,
          model: "P = sockets × TDP × (idle_fraction + (1 − idle_fraction) × utilisation)",
        },
      };
      const sensor = new CpuEstimateSensor(stat.reader, tdpW, cpu.sockets, info, notes);
      return { sensor, notes: sensor.notes };
    } catch (e) {
      notes.push({
        source: SOURCE,
        status: "error",
        message: `CPU estimate could not be set up: ${(e as Error).message ?? e}`,
      });
      return { sensor: null, notes };
    }
  },
};
