/**
 * AMD GPUs through the amdgpu driver's sysfs files.
 *
 * Source (drivers/gpu/drm/amd/pm/amdgpu_pm.c DOC; files are world-readable):
 * `<sysfs>/class/drm/cardN/device/hwmon/hwmonM/` with `name` = `amdgpu`:
 * - `power1_average` ("average power used by the SoC in microWatts. On APUs
 *   this includes the CPU") or `power1_input` (instantaneous µW, newer ASICs);
 *   the average is preferred for integrating;
 * - `temp1_input` (m°C) → `temp_c`; `power1_cap` (µW) → `power_limit_w`;
 * and in `cardN/device/`: `gpu_busy_percent` → `util_pct`,
 * `mem_info_vram_used` / `mem_info_vram_total` (bytes) → `mem_used_bytes` /
 * `mem_total_bytes`.
 *
 * Device = DRM card name (`card1`; connector entries such as `card1-DP-1` and
 * render nodes are skipped), source `amdgpu`, total `gpu`.
 *
 * Energy: amdgpu hwmon has no energy file. When ROCm SMI (src/sensors/
 * rocm_smi.ts) has an energy counter for the card (matched by PCI address) it
 * is used (`counter`); otherwise the trapezoid integral of power
 * (`power-integral`). If the counter stops moving while the power integral
 * grows (a known ROCm SMI pitfall), the card switches to the integral from
 * that point, with a note.
 *
 * Known limit: on an APU `power1_average` includes the CPU, which RAPL may
 * count too; aimeter cannot tell an APU from sysfs alone, so it is noted in
 * the device attributes (`vram_total_bytes`) for the reader to judge.
 */

import type {
  Channel,
  DeviceInfo,
  Sensor,
  SensorFactory,
  SensorNote,
  SensorOptions,
} from "./types.ts";
import { CounterAccumulator, PowerIntegrator } from "./energy.ts";
import { exists, listDir, PositionedReader, readNumber, readText, realPath } from "./sysfs.ts";
import { openRocmEnergy, type RocmEnergySource } from "./rocm_smi.ts";

const SOURCE = "amdgpu";

/** The counter is distrusted when it stands still this long while the power integral grows this much. */
const STUCK_COUNTER_S = 3;
const STUCK_COUNTER_J = 20;

interface Gauge {
  reader: PositionedReader;
  scale: number;
  channel: number;
}

interface Card {
  card: string;
  pci?: string;
  power?: PositionedReader;
  powerChannel: number;
  energyChannel: number;
  gauges: Gauge[];
  integrator: PowerIntegrator;
  rocmIndex?: number;
  counter?: CounterAccumulator;
  /** Counter joules and integral joules when the counter last moved. */
  lastMoveCounterJ: number;
  lastMoveIntegralJ: number;
  lastMoveUs: number;
  /** Offset added to the integral after falling back from the counter. */
  fallbackOffsetJ: number;
  fellBack: boolean;
  info: DeviceInfo;
}

/** One amdgpu card found in sysfs. */
export interface AmdgpuCardFiles {
  card: string;
  /** `…/cardN/device` */
  deviceDir: string;
  /** `…/cardN/device/hwmon/hwmonM` */
  hwmonDir: string;
  /** PCI address from the `device` link (`0000:03:00.0`). */
  pci?: string;
}

/** Find the amdgpu cards under `<sysfsRoot>/class/drm`. */
export function scanAmdgpuCards(sysfsRoot: string): AmdgpuCardFiles[] {
  const base = `${sysfsRoot}/class/drm`;
  const cards: AmdgpuCardFiles[] = [];
  for (const card of listDir(base)) {
    if (!/^card\d+$/.test(card)) continue; // not card1-DP-1, renderD128, version
    const deviceDir = `${base}/${card}/device`;
    for (const hw of listDir(`${deviceDir}/hwmon`)) {
      const hwmonDir = `${deviceDir}/hwmon/${hw}`;
      if (readText(`${hwmonDir}/name`) !== "amdgpu") continue;
      const real = realPath(deviceDir);
      const pci = real?.slice(real.lastIndexOf("/") + 1);
      cards.push({
        card,
        deviceDir,
        hwmonDir,
        ...(pci && /^[0-9a-f]{4}:/.test(pci) ? { pci } : {}),
      });
      break;
    }
  }
  return cards.sort((a, b) => Number(a.card.slice(4)) - Number(b.card.slice(4)));
}

class AmdgpuSensor implements Sensor {
  readonly source = SOURCE;
  readonly channels: Channel[];
  readonly devices: DeviceInfo[];
  readonly notes: SensorNote[];
  #cards: Card[];
  #rocm: RocmEnergySource | null;

  constructor(
    cards: Card[],
    channels: Channel[],
    rocm: RocmEnergySource | null,
    notes: SensorNote[],
  ) {
    this.#cards = cards;
    this.channels = channels;
    this.devices = cards.map((c) => c.info);
    this.#rocm = rocm;
    this.notes = notes;
  }

  read(values: Float64Array, timeUs: number): void {
    for (const c of this.#cards) {
      for (const g of c.gauges) values[g.channel] = g.reader.readNumber() * g.scale;
      const watts = c.power ? c.power.readNumber() / 1e6 : NaN;
      if (c.powerChannel >= 0) values[c.powerChannel] = watts;
      const integralJ = c.integrator.add(timeUs, watts);
      let joules = integralJ + c.fallbackOffsetJ;
      if (c.counter && this.#rocm && c.rocmIndex !== undefined && !c.fellBack) {
        const counterJ = c.counter.add(this.#rocm.energyUj(c.rocmIndex));
        joules = counterJ;
        if (counterJ !== c.lastMoveCounterJ) {
          c.lastMoveCounterJ = counterJ;
          c.lastMoveIntegralJ = integralJ;
          c.lastMoveUs = timeUs;
        } else if (Number.isNaN(c.lastMoveUs)) {
          c.lastMoveUs = timeUs;
        } else if (
          integralJ - c.lastMoveIntegralJ > STUCK_COUNTER_J &&
          timeUs - c.lastMoveUs > STUCK_COUNTER_S * 1e6
        ) {
          // the counter stood still while the board drew power: distrust it from here on
          c.fellBack = true;
          c.fallbackOffsetJ = counterJ - integralJ;
          joules = integralJ + c.fallbackOffsetJ;
          c.info.energyMethod = "power-integral";
          this.notes.push({
            source: SOURCE,
            status: "error",
            device: c.card,
            message:
              `The ROCm SMI energy counter of ${c.card} stood still for ${STUCK_COUNTER_S}+ s while the board drew power (ROCm/rocm_smi_lib#180): energy from the power integral from here on`,
          });
        }
      }
      values[c.energyChannel] = joules;
    }
  }

  close(): void {
    for (const c of this.#cards) {
      c.power?.close();
      for (const g of c.gauges) g.reader.close();
    }
    this.#cards = [];
    this.#rocm?.close();
    this.#rocm = null;
  }
}

export interface AmdgpuFactoryOptions {
  /**
   * Where the energy counters come from: `"auto"` (ROCm SMI when the sensor
   * reads the real `/sys`), `"off"`, or a function that opens a source (tests).
   */
  rocm?:
    | "auto"
    | "off"
    | ((opts: SensorOptions) => { source: RocmEnergySource | null; notes: SensorNote[] });
}

/** Make an amdgpu factory; `amdgpuFactory` is the default one. */
export function makeAmdgpuFactory(options: AmdgpuFactoryOptions = {}): SensorFactory {
  const rocmMode = options.rocm ?? "auto";
  return {
    source: SOURCE,
    open(opts: SensorOptions) {
      const notes: SensorNote[] = [];
      try {
        const found = scanAmdgpuCards(opts.sysfsRoot);
        if (!found.length) {
          notes.push({
            source: SOURCE,
            status: "not-found",
            message: `No amdgpu card under ${opts.sysfsRoot}/class/drm`,
          });
          return { sensor: null, notes };
        }
        let rocm: RocmEnergySource | null = null;
        if (typeof rocmMode === "function") {
          const r = rocmMode(opts);
          rocm = r.source;
          notes.push(...r.notes);
        } else if (rocmMode === "auto" && realPath(opts.sysfsRoot) === "/sys") {
          const r = openRocmEnergy();
          rocm = r.source;
          notes.push(...r.notes);
        }
        const channels: Channel[] = [];
        const cards: Card[] = [];
        for (const f of found) cards.push(openCard(f, channels, rocm, notes));
        if (rocm && !cards.some((c) => c.rocmIndex !== undefined)) {
          rocm.close();
          rocm = null;
        }
        return { sensor: new AmdgpuSensor(cards, channels, rocm, notes), notes };
      } catch (e) {
        notes.push({
          source: SOURCE,
          status: "error",
          message: `amdgpu could not be opened: ${(e as Error).message ?? e}`,
        });
        return { sensor: null, notes };
      }
    },
  };
}

function openCard(
  f: AmdgpuCardFiles,
  channels: Channel[],
  rocm: RocmEnergySource | null,
  notes: SensorNote[],
): Card {
  const add = (metric: string) => channels.push({ source: SOURCE, device: f.card, metric }) - 1;
  const tryOpen = (path: string) => {
    if (!exists(path)) return undefined;
    const r = PositionedReader.openChecked(path, 32);
    if ("reader" in r) return r.reader;
    notes.push({
      source: SOURCE,
      status: r.error.kind,
      device: f.card,
      message: `Cannot read "${path}": ${r.error.code} (${r.error.message})`,
    });
    return undefined;
  };
  let powerFile = "power1_average";
  let power = tryOpen(`${f.hwmonDir}/power1_average`);
  if (!power) {
    powerFile = "power1_input";
    power = tryOpen(`${f.hwmonDir}/power1_input`);
  }
  const powerChannel = power ? add("power_w") : -1;
  const energyChannel = add("energy_j");
  const gauges: Gauge[] = [];
  const gauge = (path: string, metric: string, scale: number) => {
    const reader = tryOpen(path);
    if (reader) gauges.push({ reader, scale, channel: add(metric) });
  };
  gauge(`${f.deviceDir}/gpu_busy_percent`, "util_pct", 1);
  gauge(`${f.deviceDir}/mem_info_vram_used`, "mem_used_bytes", 1);
  gauge(`${f.deviceDir}/mem_info_vram_total`, "mem_total_bytes", 1);
  gauge(`${f.hwmonDir}/temp1_input`, "temp_c", 1e-3);
  gauge(`${f.hwmonDir}/power1_cap`, "power_limit_w", 1e-6);

  const rocmIndex = f.pci !== undefined ? rocm?.byPci.get(f.pci) : undefined;
  const attributes: Record<string, string | number> = {};
  if (f.pci) attributes.pci_bus = f.pci;
  if (power) attributes.power_file = powerFile;
  const vram = readNumber(`${f.deviceDir}/mem_info_vram_total`);
  if (vram !== undefined) attributes.vram_total_bytes = vram;
  if (rocmIndex !== undefined) attributes.energy_counter = "rocm_smi rsmi_dev_energy_count_get";
  const info: DeviceInfo = {
    source: SOURCE,
    device: f.card,
    name: readText(`${f.deviceDir}/product_name`) || "AMD GPU",
    energyMethod: rocmIndex !== undefined ? "counter" : "power-integral",
    total: "gpu",
    attributes,
  };
  if (!power && rocmIndex === undefined) {
    notes.push({
      source: SOURCE,
      status: "unsupported",
      device: f.card,
      message: `${f.card} has neither power1_average nor power1_input: no power or energy`,
    });
  }
  return {
    card: f.card,
    ...(f.pci ? { pci: f.pci } : {}),
    ...(power ? { power } : {}),
    powerChannel,
    energyChannel,
    gauges,
    integrator: new PowerIntegrator(),
    ...(rocmIndex !== undefined ? { rocmIndex, counter: new CounterAccumulator(1e-6) } : {}),
    lastMoveCounterJ: 0,
    lastMoveIntegralJ: 0,
    lastMoveUs: NaN,
    fallbackOffsetJ: 0,
    fellBack: false,
    info,
  };
}

/** amdgpu cards: power, energy, utilisation, VRAM, temperature, power cap. */
export const amdgpuFactory: SensorFactory = makeAmdgpuFactory();
