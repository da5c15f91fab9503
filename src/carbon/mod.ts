/**
 * Carbon accounting, offline: embedded grid-intensity table, region
 * resolution, emissions (fixed or time-varying intensity, PUE), water, cost,
 * everyday comparisons and embodied GPU emissions. See the README (Carbon section).
 */
export * from "./carbon.ts";
export * from "./comparisons.ts";
export * from "./embodied.ts";
export * from "./emissions.ts";
export * from "./errors.ts";
export * from "./format.ts";
export * from "./resolve.ts";
export * from "./table.ts";
export * from "./timezone.ts";
export * from "./from_trace.ts";
