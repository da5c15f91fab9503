/**
 * RAPL energy counters through the Linux powercap framework.
 *
 * Source: `<sysfs>/class/powercap/` (Documentation/power/powercap/powercap.rst).
 * - Zones: `intel-rapl:N`, subzones `intel-rapl:N:M`, and the MMIO interface
 *   `intel-rapl-mmio:N[:M]`; N and M are **hex** (`dev_set_name(…, "%s:%x")`,
 *   drivers/powercap/powercap_sys.c). AMD CPUs register under `intel-rapl`
 *   too (package + core only, no DRAM).
 * - Each zone's domain comes from its `name` file (`package-N`,
 *   `package-N-die-M`, `dram`, `core`, `uncore`, `psys`, `psys-N`;
 *   drivers/powercap/intel_rapl_common.c): never from its index.
 * - `energy_uj`: cumulative energy in µJ, a 32-bit hardware counter scaled by
 *   the energy unit, wrapping at `max_energy_range_uj` (≈262,143 J on Intel,
 *   ≈65,533 J on AMD). Wraps are corrected per zone with `CounterAccumulator`
 *   before anything is summed. Sample at least every ~30 s (Intel SDM: the
 *   package counter can wrap in ~60 s at high power).
 * - Since Linux 5.10 (commit 949dd0104c49, CVE-2020-8694) `energy_uj` is
 *   readable by root only: that is a `not-permitted` note with the fix, not a
 *   failure.
 *
 * Channels per zone: `energy_j` (J since the first sample) and `power_w`
 * (energy delta / time between the two samples; NaN on the first tick).
 *
 * Devices and totals (summary.json `energy_j`), so nothing counts twice:
 * - `package-N`, `package-N-die-M` → `cpu` (each socket and die once);
 * - `dram`, as a subzone (`package-0/dram`) or a top-level zone → `dram`;
 * - `core`, `uncore` subzones → `none`: they are inside their package;
 * - `psys` / `psys-N` → `host`: the platform meter covers the packages (and
 *   more), so it is reported beside cpu/dram, never added to them;
 * - `intel-rapl-mmio` zones whose name matches an MSR zone are dropped: they
 *   read the same package counter through another interface;
 * - anything else → `none`, with a note.
 */

import type {
  Channel,
  DeviceInfo,
  EnergyTotal,
  Sensor,
  SensorFactory,
  SensorNote,
  SensorOptions,
} from "./types.ts";
import { CounterAccumulator } from "./energy.ts";
import { listDir, PositionedReader, type ReadError, readNumber, readText } from "./sysfs.ts";

const SOURCE = "rapl";

export type RaplControlType = "intel-rapl" | "intel-rapl-mmio";

/** One powercap zone as found on disk. */
export interface RaplZone {
  /** Entry name under `class/powercap`: `intel-rapl:0`, `intel-rapl:0:1`, `intel-rapl-mmio:0`. */
  dir: string;
  controlType: RaplControlType;
  /** Top-level index (parsed from hex). */
  index: number;
  /** Subzone index (parsed from hex); undefined for a top-level zone. */
  subIndex?: number;
  /** Contents of the zone's `name` file. */
  name: string;
  /** `max_energy_range_uj`, when readable. */
  maxEnergyRangeUj?: number;
}

/** A zone kept for measuring, with its trace device name and summary total. */
export interface RaplDomain {
  zone: RaplZone;
  /** `package-0`, `package-0/dram`, `psys`, ... */
  device: string;
  total: EnergyTotal;
}

export interface RaplDomainTree {
  domains: RaplDomain[];
  /** Zones left out, with the reason in words. */
  dropped: { zone: RaplZone; reason: string }[];
  notes: SensorNote[];
}

/** Parse a powercap entry name (`intel-rapl:a:1f`); undefined for anything else. */
export function parseZoneDir(
  dir: string,
): { controlType: RaplControlType; index: number; subIndex?: number } | undefined {
  const m = /^(intel-rapl|intel-rapl-mmio):([0-9a-f]+)(?::([0-9a-f]+))?$/.exec(dir);
  if (!m) return undefined;
  const controlType = m[1] as RaplControlType;
  const index = parseInt(m[2], 16);
  if (m[3] === undefined) return { controlType, index };
  return { controlType, index, subIndex: parseInt(m[3], 16) };
}

const PACKAGE_RE = /^package-\d+(-die-\d+)?$/;
const PSYS_RE = /^psys(-\d+)?$/;

function topLevelTotal(name: string): EnergyTotal | undefined {
  if (PACKAGE_RE.test(name)) return "cpu";
  if (PSYS_RE.test(name)) return "host";
  if (name === "dram") return "dram";
  return undefined;
}

function subzoneTotal(name: string): EnergyTotal | undefined {
  if (name === "dram") return "dram";
  if (name === "core" || name === "uncore") return "none";
  return undefined;
}

function byIndex(a: RaplZone, b: RaplZone): number {
  return a.index - b.index || (a.subIndex ?? -1) - (b.subIndex ?? -1);
}

/**
 * Build the measured domains from a flat list of zones: device names, totals,
 * MMIO duplicates and same-name duplicates dropped. Pure; no file access.
 */
export function buildRaplDomains(zones: readonly RaplZone[]): RaplDomainTree {
  const domains: RaplDomain[] = [];
  const dropped: { zone: RaplZone; reason: string }[] = [];
  const notes: SensorNote[] = [];
  // top-level device per (controlType, index); undefined = parent dropped
  const parents = new Map<string, RaplDomain | undefined>();
  const byDevice = new Map<string, RaplDomain>();
  const key = (z: RaplZone) => `${z.controlType}:${z.index}`;
  const drop = (zone: RaplZone, reason: string, note: boolean) => {
    dropped.push({ zone, reason });
    if (note) notes.push({ source: SOURCE, status: "found", device: zone.name, message: reason });
  };

  const top = zones.filter((z) => z.subIndex === undefined);
  const subs = zones.filter((z) => z.subIndex !== undefined);
  // MSR (intel-rapl) zones first, so an MMIO zone with the same name is the one dropped.
  const ordered = [
    ...top.filter((z) => z.controlType === "intel-rapl").sort(byIndex),
    ...top.filter((z) => z.controlType === "intel-rapl-mmio").sort(byIndex),
  ];
  for (const zone of ordered) {
    const seen = byDevice.get(zone.name);
    if (seen) {
      parents.set(key(zone), undefined);
      const reason = zone.controlType === "intel-rapl-mmio"
        ? `RAPL zone ${zone.dir} ("${zone.name}") is the MMIO view of the same package counter as ${seen.zone.dir}; left out so it is not counted twice`
        : `RAPL zone ${zone.dir} has the same name ("${zone.name}") as ${seen.zone.dir}; left out as a duplicate`;
      drop(zone, reason, true);
      continue;
    }
    let total = topLevelTotal(zone.name);
    if (total === undefined) {
      total = "none";
      notes.push({
        source: SOURCE,
        status: "found",
        device: zone.name,
        message:
          `RAPL zone ${zone.dir} has an unknown domain name "${zone.name}": recorded, but not counted in any energy total`,
      });
    } else if (total === "host") {
      notes.push({
        source: SOURCE,
        status: "found",
        device: zone.name,
        message:
          `RAPL ${zone.name} (platform) counts into the "host" total: it covers the whole SoC/platform including the packages, so it is shown beside cpu and dram, never added to them`,
      });
    }
    const d: RaplDomain = { zone, device: zone.name, total };
    domains.push(d);
    byDevice.set(d.device, d);
    parents.set(key(zone), d);
  }

  for (const zone of subs.sort(byIndex)) {
    const k = key(zone);
    if (!parents.has(k)) {
      drop(zone, `RAPL subzone ${zone.dir} has no parent zone; left out`, true);
      continue;
    }
    const parent = parents.get(k);
    if (!parent) {
      drop(zone, `RAPL subzone ${zone.dir} belongs to a zone that was left out`, false);
      continue;
    }
    const device = `${parent.device}/${zone.name}`;
    if (byDevice.has(device)) {
      drop(zone, `RAPL subzone ${zone.dir} duplicates ${device}; left out`, true);
      continue;
    }
    let total = subzoneTotal(zone.name);
    if (total === undefined) {
      total = "none";
      notes.push({
        source: SOURCE,
        status: "found",
        device,
        message:
          `RAPL subzone ${zone.dir} has an unknown domain name "${zone.name}": recorded, not counted in any total`,
      });
    }
    const d: RaplDomain = { zone, device, total };
    domains.push(d);
    byDevice.set(device, d);
  }
  return { domains, dropped, notes };
}

/** Read every zone under `<sysfsRoot>/class/powercap` (names and ranges; no energy yet). */
export function scanRaplZones(sysfsRoot: string): RaplZone[] {
  const base = `${sysfsRoot}/class/powercap`;
  const zones: RaplZone[] = [];
  for (const dir of listDir(base)) {
    const parsed = parseZoneDir(dir);
    if (!parsed) continue;
    const name = readText(`${base}/${dir}/name`);
    if (!name) continue;
    const maxEnergyRangeUj = readNumber(`${base}/${dir}/max_energy_range_uj`);
    zones.push({ dir, ...parsed, name, ...(maxEnergyRangeUj ? { maxEnergyRangeUj } : {}) });
  }
  return zones;
}

/** The exact ways to make `energy_uj` readable, for `not-permitted` notes. */
export function raplPermissionFix(sysfsRoot = "/sys"): string {
  return [
    "energy_uj is root-only since Linux 5.10 (CVE-2020-8694). Either run aimeter as root (sudo),",
    `or allow reads until the next reboot: sudo chmod o+r ${sysfsRoot}/class/powercap/intel-rapl:*/energy_uj,`,
    "or permanently with a udev rule in /etc/udev/rules.d/99-aimeter-rapl.rules:",
    'SUBSYSTEM=="powercap", ACTION=="add", RUN+="/bin/chmod o+r /sys%p/energy_uj"',
    "then: sudo udevadm control --reload && sudo udevadm trigger --subsystem-match=powercap --action=add",
  ].join(" ");
}

const NOT_FOUND_FIX =
  "Bare-metal Intel or AMD CPU: load the driver (sudo modprobe intel_rapl_msr). In a container, bind-mount /sys/devices/virtual/powercap. Most VMs do not expose RAPL.";

interface OpenedDomain {
  domain: RaplDomain;
  reader: PositionedReader;
}

/**
 * Open every domain's `energy_uj`; sort the failures into notes
 * (one `not-permitted` note for all zones, with the fix).
 */
function openDomains(sysfsRoot: string, tree: RaplDomainTree) {
  const opened: OpenedDomain[] = [];
  const notes: SensorNote[] = [];
  const denied: string[] = [];
  for (const domain of tree.domains) {
    const path = `${sysfsRoot}/class/powercap/${domain.zone.dir}/energy_uj`;
    const r = PositionedReader.openChecked(path, 32);
    if ("reader" in r) {
      opened.push({ domain, reader: r.reader });
    } else if (r.error.kind === "not-permitted") {
      denied.push(domain.device);
    } else {
      notes.push(readFailureNote(domain.device, path, r.error));
    }
  }
  if (denied.length) {
    notes.push({
      source: SOURCE,
      status: "not-permitted",
      message: `Cannot read RAPL energy_uj (permission denied) for ${denied.join(", ")}`,
      fix: raplPermissionFix(sysfsRoot),
    });
  }
  return { opened, notes };
}

function readFailureNote(device: string, path: string, e: ReadError): SensorNote {
  return {
    source: SOURCE,
    status: e.kind,
    device,
    message: `Cannot read "${path}": ${e.code} (${e.message})`,
  };
}

/** How many RAPL domains counting into `cpu` (packages) can be read right now. */
export function readableRaplPackages(sysfsRoot: string): number {
  const tree = buildRaplDomains(scanRaplZones(sysfsRoot));
  tree.domains = tree.domains.filter((d) => d.total === "cpu");
  const { opened } = openDomains(sysfsRoot, tree);
  for (const o of opened) o.reader.close();
  return opened.length;
}

class RaplSensor implements Sensor {
  readonly source = SOURCE;
  readonly channels: Channel[] = [];
  readonly devices: DeviceInfo[] = [];
  readonly notes: SensorNote[];
  #zones: OpenedDomain[];
  #acc: CounterAccumulator[];
  #prevJ: Float64Array;
  #prevT: Float64Array;
  #noted: boolean[];

  constructor(zones: OpenedDomain[], notes: SensorNote[]) {
    this.#zones = zones;
    this.notes = notes;
    for (const { domain } of zones) {
      this.channels.push(
        { source: SOURCE, device: domain.device, metric: "energy_j" },
        { source: SOURCE, device: domain.device, metric: "power_w" },
      );
      const attributes: Record<string, string | number> = {
        zone: domain.zone.dir,
        control_type: domain.zone.controlType,
      };
      if (domain.zone.maxEnergyRangeUj) {
        attributes.max_energy_range_uj = domain.zone.maxEnergyRangeUj;
      }
      this.devices.push({
        source: SOURCE,
        device: domain.device,
        name: `RAPL ${domain.zone.name}`,
        energyMethod: "counter",
        total: domain.total,
        attributes,
      });
    }
    this.#acc = zones.map(({ domain }) =>
      new CounterAccumulator(1e-6, domain.zone.maxEnergyRangeUj)
    );
    this.#prevJ = new Float64Array(zones.length).fill(NaN);
    this.#prevT = new Float64Array(zones.length).fill(NaN);
    this.#noted = zones.map(() => false);
  }

  read(values: Float64Array, timeUs: number): void {
    for (let i = 0; i < this.#zones.length; i++) {
      const reader = this.#zones[i].reader;
      const raw = reader.readNumber();
      if (Number.isNaN(raw)) {
        values[2 * i] = NaN;
        values[2 * i + 1] = NaN;
        if (reader.lastError && !this.#noted[i]) {
          this.#noted[i] = true;
          this.notes.push(
            readFailureNote(this.#zones[i].domain.device, reader.path, reader.lastError),
          );
        }
        continue;
      }
      const joules = this.#acc[i].add(raw);
      const pj = this.#prevJ[i];
      const pt = this.#prevT[i];
      values[2 * i] = joules;
      values[2 * i + 1] = timeUs > pt ? (joules - pj) / ((timeUs - pt) / 1e6) : NaN;
      this.#prevJ[i] = joules;
      this.#prevT[i] = timeUs;
    }
  }

  /** Wraps seen so far, per device (for the run's quality notes). */
  wraps(): Record<string, number> {
    const out: Record<string, number> = {};
    this.#zones.forEach((z, i) => out[z.domain.device] = this.#acc[i].wraps);
    return out;
  }

  close(): void {
    for (const z of this.#zones) z.reader.close();
  }
}

/** RAPL through powercap: per zone `energy_j` and `power_w`. */
export const raplFactory: SensorFactory = {
  source: SOURCE,
  open(opts: SensorOptions) {
    try {
      const zones = scanRaplZones(opts.sysfsRoot);
      if (!zones.length) {
        const notes: SensorNote[] = [{
          source: SOURCE,
          status: "not-found",
          message: `No RAPL zones under ${opts.sysfsRoot}/class/powercap`,
          fix: NOT_FOUND_FIX,
        }];
        return { sensor: null, notes };
      }
      const tree = buildRaplDomains(zones);
      const { opened, notes } = openDomains(opts.sysfsRoot, tree);
      notes.unshift(...tree.notes);
      if (opts.intervalS > 30) {
        notes.push({
          source: SOURCE,
          status: "found",
          message:
            `Sampling every ${opts.intervalS} s: a RAPL counter can wrap more than once between samples at high power (Intel SDM: ~60 s)`,
          fix: "Use --interval 30s or less",
        });
      }
      if (!opened.length) return { sensor: null, notes };
      const sensor = new RaplSensor(opened, notes);
      return { sensor, notes: sensor.notes };
    } catch (e) {
      const notes: SensorNote[] = [{
        source: SOURCE,
        status: "error",
        message: `RAPL could not be opened: ${(e as Error).message ?? e}`,
      }];
      return { sensor: null, notes };
    }
  },
};
