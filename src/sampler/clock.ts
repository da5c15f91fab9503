/** The one clock of a recording: unix time in microseconds, from a monotonic source. */
export function nowUs(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}
