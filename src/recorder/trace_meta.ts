/**
 * The trace metadata of a recording, at its start and at its end: shared by
 * `run`/`record` (session.ts) and `serve --out` so both write the same facts.
 */
import type { Sampler } from "../sampler/sampler.ts";
import type { DeviceInfo, Sensor, SensorNote } from "../sensors/types.ts";
import type { TraceMeta } from "../trace/schema.ts";
import { dedupeNotes } from "../sensors/registry.ts";
import { VERSION } from "../version.ts";
import { cpuModel, slurmEnv } from "./host_info.ts";
import { sensorExtras } from "./sensor_extras.ts";

/** Driver and library versions the devices report (`nvml.driver_version`, ...). */
export function driverVersions(devices: readonly DeviceInfo[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of devices) {
    for (const [k, v] of Object.entries(d.attributes ?? {})) {
      if (/version/i.test(k)) out[`${d.source}.${k}`] = String(v);
    }
  }
  return out;
}

export interface StartFacts {
  mode: TraceMeta["mode"];
  host: string;
  start: Date;
  command: string[];
  intervalS: number;
  procfsRoot: string;
  sensors: Sensor[];
  notes: SensorNote[];
  extra: Record<string, unknown>;
}

export function startMeta(f: StartFacts): TraceMeta {
  const devices = f.sensors.flatMap((s) => s.devices);
  return {
    schema: "aimeter/trace@1",
    aimeter_version: VERSION,
    host: f.host,
    command: f.command,
    start: f.start.toISOString(),
    interval_s: f.intervalS,
    mode: f.mode,
    cpu_model: cpuModel(f.procfsRoot),
    gpu_models: devices.filter((d) => d.total === "gpu" && d.name).map((d) => d.name!),
    driver_versions: driverVersions(devices),
    slurm: slurmEnv(),
    devices,
    notes: f.notes,
    extra: f.extra,
  };
}

/** What `TraceWriter.finalize` adds at the end: end time, exit code, every note, the sampler's and sensors' facts. */
export function endMeta(
  meta: TraceMeta,
  sensors: Sensor[],
  notes: SensorNote[],
  sampler: Sampler,
  exitCode: number | null,
  extra: Record<string, unknown> = {},
): Partial<TraceMeta> {
  return {
    end: new Date().toISOString(),
    exit_code: exitCode,
    notes: dedupeNotes([...notes, ...sensors.flatMap((s) => s.notes)]),
    extra: {
      ...meta.extra,
      ...extra,
      sampler: sampler.stats.toJSON(),
      ...sensorExtras(sensors),
    },
  };
}
