/**
 * Every hardware source aimeter knows, in the order they are opened. Adding a
 * source means adding its factory here. A source that is absent or unreadable
 * gives notes (reason + fix), never an error.
 */
import type { Sensor, SensorFactory, SensorNote, SensorOptions } from "./types.ts";
import { nvmlFactory } from "./nvml.ts";
import { raplFactory } from "./rapl.ts";
import { amdgpuFactory } from "./amdgpu.ts";
import { hwmonFactory } from "./hwmon.ts";
import { procFactory } from "./proc.ts";
import { cpuEstimateFactory } from "./cpu_estimate.ts";

export const FACTORIES: SensorFactory[] = [
  nvmlFactory,
  raplFactory,
  amdgpuFactory,
  hwmonFactory,
  cpuEstimateFactory,
  procFactory,
];

export interface OpenedSensors {
  sensors: Sensor[];
  notes: SensorNote[];
}

/** Open every source; `only` restricts to the named sources (e.g. for tests or `--sources`). */
export function openSensors(opts: SensorOptions, only?: string[]): OpenedSensors {
  const sensors: Sensor[] = [];
  const notes: SensorNote[] = [];
  for (const f of FACTORIES) {
    if (only && !only.includes(f.source)) continue;
    let r: ReturnType<SensorFactory["open"]>;
    try {
      r = f.open(opts);
    } catch (e) {
      notes.push({
        source: f.source,
        status: "error",
        message: `could not open: ${(e as Error).message}`,
      });
      continue;
    }
    notes.push(...r.notes);
    if (r.sensor) sensors.push(r.sensor);
  }
  return { sensors, notes };
}

/** Close every sensor and wait for work some of them finish in the background (NVML). */
export async function closeSensors(sensors: Sensor[]): Promise<void> {
  for (const s of sensors) {
    try {
      s.close();
      await (s as { settled?: () => Promise<void> }).settled?.();
    } catch {
      // closing is best effort
    }
  }
}

/** Notes without repeats (a sensor's notes may be the same array `open` returned). */
export function dedupeNotes(notes: SensorNote[]): SensorNote[] {
  const seen = new Set<string>();
  return notes.filter((n) => {
    const k = `${n.source}|${n.device}|${n.status}|${n.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
