/**
 * Host CPU and memory, and the wrapped command's process tree, from procfs
 * (proc(5); Documentation/filesystems/proc.rst).
 *
 * - `cpu` / `util_pct`: busy share of all CPUs between two ticks, from the
 *   first line of `/proc/stat` (USER_HZ jiffies): busy = user + nice + system
 *   + irq + softirq; total adds idle + iowait + steal. guest/guest_nice are
 *   already inside user/nice and are not added again.
 * - `mem` / `used_bytes` = MemTotal − MemAvailable, `mem` / `total_bytes`
 *   (`/proc/meminfo`, kB × 1024).
 * - `process` / `cpu_pct` (100 = one core), `rss_bytes`, `threads`: the tree
 *   rooted at `opts.rootPid()` (src/sensors/proctree.ts), refreshed at most
 *   every 0.5 s. Each member's `/proc/<pid>/stat` is kept open and re-read by
 *   position each tick. CPU time per member = utime + stime (its own) plus
 *   cutime + cstime (children it has reaped), as per-pid deltas, so members
 *   that come and go never make the total jump back. When a member exits, its
 *   last seen total is credited to its parent: the parent's cutime/cstime then
 *   grows by the child's final total, of which only the unseen tail is new.
 *   Short-lived children reaped by a member are therefore counted too. A pid
 *   first seen after the sensor opened (by its `starttime` vs `/proc/uptime`)
 *   counts from birth; one that existed before counts from first sight.
 *   RSS = `/proc/<pid>/statm` resident pages × page size, summed over members
 *   (shared pages count once per process, as in ps/top); page size from
 *   `/proc/self/smaps` `KernelPageSize`, else 4096.
 *
 * `cpuTimeShare()` gives the tree's CPU seconds and the host's busy CPU
 * seconds since the sensor opened, so the summary can attribute package
 * energy by CPU-time share.
 *
 * USER_HZ is 100 on every mainstream Linux architecture (the value
 * `getconf CLK_TCK` prints); Deno has no sysconf, so it is a constant here.
 */

import type { Channel, Sensor, SensorFactory, SensorNote, SensorOptions } from "./types.ts";
import { parseIntAscii, PositionedReader, readText } from "./sysfs.ts";
import { processTree } from "./proctree.ts";

const SOURCE = "proc";
/** Clock ticks per second of /proc/stat and /proc/<pid>/stat (USER_HZ). */
export const USER_HZ = 100;
const TREE_REFRESH_US = 500_000;

/** Parse the aggregate `cpu` line of /proc/stat into `out[0..9]`; false when it is not there. */
export function parseCpuLine(buf: Uint8Array, n: number, out: Float64Array): boolean {
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice"
  if (n < 4 || buf[0] !== 0x63 || buf[1] !== 0x70 || buf[2] !== 0x75 || buf[3] !== 0x20) {
    return false;
  }
  let i = 3;
  out.fill(0);
  for (let k = 0; k < 10 && i < n && buf[i] !== 0x0a; k++) {
    while (i < n && buf[i] === 0x20) i++;
    const start = i;
    while (i < n && buf[i] !== 0x20 && buf[i] !== 0x0a) i++;
    if (i > start) out[k] = parseIntAscii(buf, start, i);
  }
  return Number.isFinite(out[3]);
}

/** Busy and total jiffies from a parsed cpu line. */
export function busyAndTotal(f: Float64Array): [busy: number, total: number] {
  const busy = f[0] + f[1] + f[2] + f[5] + f[6];
  return [busy, busy + f[3] + f[4] + f[7]];
}

function matchKey(buf: Uint8Array, at: number, key: string): boolean {
  for (let j = 0; j < key.length; j++) if (buf[at + j] !== key.charCodeAt(j)) return false;
  return true;
}

/** MemTotal and MemAvailable (kB) from /proc/meminfo bytes; NaN where missing. */
export function parseMeminfo(buf: Uint8Array, n: number, out: Float64Array): void {
  out[0] = NaN;
  out[1] = NaN;
  let line = 0;
  while (line < n) {
    let end = line;
    while (end < n && buf[end] !== 0x0a) end++;
    if (matchKey(buf, line, "MemTotal:")) out[0] = parseIntAscii(buf, line + 9, end);
    else if (matchKey(buf, line, "MemAvailable:")) out[1] = parseIntAscii(buf, line + 13, end);
    line = end + 1;
  }
}

/** Indices into the `out` array of `parsePidStat`. */
export const PID_STAT = {
  ppid: 0,
  utime: 1,
  stime: 2,
  cutime: 3,
  cstime: 4,
  threads: 5,
  starttime: 6,
  rss: 7,
} as const;

// field numbers after the comm, counting the state as 0 (proc(5) field − 3)
const WANTED = [1, 11, 12, 13, 14, 17, 19, 21];

/** Parse a `/proc/<pid>/stat` line (comm may hold spaces and parens) into `out` (see `PID_STAT`). */
export function parsePidStat(buf: Uint8Array, n: number, out: Float64Array): boolean {
  let close = n - 1;
  while (close >= 0 && buf[close] !== 0x29) close--;
  if (close < 0) return false;
  let i = close + 2;
  let field = 0;
  let w = 0;
  while (i < n && w < WANTED.length) {
    const start = i;
    while (i < n && buf[i] !== 0x20 && buf[i] !== 0x0a) i++;
    if (field === WANTED[w]) out[w++] = parseIntAscii(buf, start, i);
    field++;
    i++;
  }
  return w === WANTED.length;
}

/** CPU time of the process tree and of the host since the sensor opened. */
export interface CpuTimeShare {
  /** CPU seconds used by the wrapped command's process tree. */
  treeCpuS: number;
  /** Busy CPU seconds of the whole host (all CPUs) over the same time. */
  hostBusyCpuS: number;
  /** treeCpuS / hostBusyCpuS, within [0, 1]; NaN when the host was not busy or there is no tree. */
  share: number;
}

/** The proc sensor, with CPU-time attribution. */
export interface ProcSensor extends Sensor {
  cpuTimeShare(): CpuTimeShare;
}

/** True for the sensor made by `procFactory`. */
export function isProcSensor(s: Sensor | null | undefined): s is ProcSensor {
  return !!s && typeof (s as Partial<ProcSensor>).cpuTimeShare === "function";
}

interface Member {
  pid: number;
  stat: PositionedReader;
  statm: PositionedReader | undefined;
  ppid: number;
  own: number;
  children: number;
  /** This tick's parsed stat (see `PID_STAT`). */
  cur: Float64Array;
}

/** Page size from `KernelPageSize:` in `<procfs>/self/smaps`, else 4096. */
export function pageSize(procfsRoot: string): number {
  const r = PositionedReader.open(`${procfsRoot}/self/smaps`, 4096);
  if ("error" in r) return 4096;
  const n = r.reader.read();
  const text = new TextDecoder().decode(r.reader.buf.subarray(0, n));
  r.reader.close();
  const m = /KernelPageSize:\s+(\d+) kB/.exec(text);
  return m ? Number(m[1]) * 1024 : 4096;
}

class ProcSensorImpl implements ProcSensor {
  readonly source = SOURCE;
  readonly channels: Channel[] = [];
  readonly devices = [
    { source: SOURCE, device: "cpu", name: "host CPUs" },
    { source: SOURCE, device: "mem", name: "host memory" },
  ];
  readonly notes: SensorNote[];
  readonly #procfs: string;
  readonly #stat: PositionedReader | undefined;
  readonly #meminfo: PositionedReader | undefined;
  readonly #rootPid: (() => number | undefined) | undefined;
  readonly #processPids: (() => Set<number>) | undefined;
  readonly #pageSize: number;
  readonly #bootTicksAtOpen: number | undefined;
  readonly #cpu = new Float64Array(10);
  readonly #mem = new Float64Array(2);
  readonly #pidStat = new Float64Array(8); // scratch for refresh
  #ch = { util: -1, memUsed: -1, memTotal: -1, cpuPct: -1, rss: -1, threads: -1 };
  #prevBusy = NaN;
  #prevTotal = NaN;
  #hostBusyAtOpen = NaN;
  #hostBusyNow = NaN;
  // process tree
  #root: number | undefined;
  #members = new Map<number, Member>();
  #credit = new Map<number, number>();
  #scanned = false;
  #lastRefreshUs = -Infinity;
  #treeTicks = 0;
  #prevTreeTicks = NaN;
  #prevTreeUs = NaN;

  constructor(
    opts: SensorOptions,
    stat: PositionedReader | undefined,
    meminfo: PositionedReader | undefined,
    notes: SensorNote[],
  ) {
    this.#procfs = opts.procfsRoot;
    this.#stat = stat;
    this.#meminfo = meminfo;
    // a set of pids (a SLURM job's cgroup) stands in for one tree, as root -1
    this.#processPids = opts.processPids;
    this.#rootPid = opts.processPids ? () => -1 : opts.rootPid;
    this.notes = notes;
    this.#pageSize = pageSize(opts.procfsRoot);
    const uptime = Number(readText(`${opts.procfsRoot}/uptime`)?.split(" ")[0]);
    this.#bootTicksAtOpen = uptime > 0 ? Math.floor(uptime * USER_HZ) : undefined;
    const add = (device: string, metric: string) =>
      this.channels.push({ source: SOURCE, device, metric }) - 1;
    if (stat) {
      this.#ch.util = add("cpu", "util_pct");
      if (this.#readHost() !== false) this.#hostBusyAtOpen = this.#prevBusy;
    }
    if (meminfo) {
      this.#ch.memUsed = add("mem", "used_bytes");
      this.#ch.memTotal = add("mem", "total_bytes");
    }
    if (opts.rootPid || opts.processPids) {
      this.#ch.cpuPct = add("process", "cpu_pct");
      this.#ch.rss = add("process", "rss_bytes");
      this.#ch.threads = add("process", "threads");
      this.devices.push({
        source: SOURCE,
        device: "process",
        name: opts.processPids ? "the job's processes" : "the wrapped command's process tree",
      });
    }
  }

  /** Read /proc/stat; returns the util % since the previous call (NaN the first time). */
  #readHost(): number | false {
    const r = this.#stat!;
    const n = r.read();
    if (!parseCpuLine(r.buf, n, this.#cpu)) return false;
    const [busy, total] = busyAndTotal(this.#cpu);
    const dTotal = total - this.#prevTotal;
    const util = dTotal > 0 ? 100 * (busy - this.#prevBusy) / dTotal : NaN;
    this.#prevBusy = busy;
    this.#prevTotal = total;
    this.#hostBusyNow = busy;
    return util;
  }

  read(values: Float64Array, timeUs: number): void {
    if (this.#ch.util >= 0) {
      const u = this.#readHost();
      values[this.#ch.util] = u === false ? NaN : u;
    }
    if (this.#meminfo) {
      const n = this.#meminfo.read();
      parseMeminfo(this.#meminfo.buf, n, this.#mem);
      values[this.#ch.memUsed] = (this.#mem[0] - this.#mem[1]) * 1024;
      values[this.#ch.memTotal] = this.#mem[0] * 1024;
    }
    if (this.#ch.cpuPct >= 0) this.#readTree(values, timeUs);
  }

  #readTree(values: Float64Array, timeUs: number): void {
    const root = this.#rootPid?.();
    if (root !== this.#root) {
      this.#dropAll();
      this.#root = root;
      this.#lastRefreshUs = -Infinity;
    }
    if (root === undefined) {
      values[this.#ch.cpuPct] = values[this.#ch.rss] = values[this.#ch.threads] = NaN;
      return;
    }
    if (timeUs - this.#lastRefreshUs >= TREE_REFRESH_US) {
      this.#refresh(root);
      this.#lastRefreshUs = timeUs;
    }
    // Pass 1: read every member, so exits are credited to their parents
    // before any parent's cutime/cstime is looked at.
    for (const m of this.#members.values()) {
      const n = m.stat.read();
      if (n === 0 || !parsePidStat(m.stat.buf, n, m.cur)) this.#vanished(m);
    }
    // Pass 2: add up.
    let delta = 0;
    let rssPages = 0;
    let threads = 0;
    for (const m of this.#members.values()) {
      delta += this.#advance(m, m.cur);
      threads += m.cur[PID_STAT.threads];
      if (m.statm) {
        const k = m.statm.read();
        // statm: size resident shared text lib data dt; resident is the 2nd number
        let i = 0;
        while (i < k && m.statm.buf[i] !== 0x20) i++;
        const res = parseIntAscii(m.statm.buf, i, k);
        rssPages += Number.isNaN(res) ? m.cur[PID_STAT.rss] : res;
      } else {
        rssPages += m.cur[PID_STAT.rss];
      }
    }
    this.#treeTicks += delta;
    if (this.#members.size === 0) {
      values[this.#ch.cpuPct] = values[this.#ch.rss] = values[this.#ch.threads] = NaN;
      return;
    }
    const dt = (timeUs - this.#prevTreeUs) / 1e6;
    values[this.#ch.cpuPct] = dt > 0
      ? 100 * (this.#treeTicks - this.#prevTreeTicks) / USER_HZ / dt
      : NaN;
    values[this.#ch.rss] = rssPages * this.#pageSize;
    values[this.#ch.threads] = threads;
    this.#prevTreeTicks = this.#treeTicks;
    this.#prevTreeUs = timeUs;
  }

  /** New ticks of one member since its last reading (never negative). */
  #advance(m: Member, f: Float64Array): number {
    const own = f[PID_STAT.utime] + f[PID_STAT.stime];
    const children = f[PID_STAT.cutime] + f[PID_STAT.cstime];
    m.ppid = f[PID_STAT.ppid];
    let dc = children - m.children;
    if (dc > 0) {
      const credit = this.#credit.get(m.pid) ?? 0;
      const use = Math.min(credit, dc);
      dc -= use;
      if (credit - use > 0) this.#credit.set(m.pid, credit - use);
      else this.#credit.delete(m.pid);
    }
    const d = Math.max(0, own - m.own) + Math.max(0, dc);
    m.own = own;
    m.children = children;
    return d;
  }

  /** A member is gone: its parent will collect its total in cutime/cstime; only the unseen tail is new. */
  #vanished(m: Member): void {
    if (this.#members.has(m.ppid)) {
      this.#credit.set(m.ppid, (this.#credit.get(m.ppid) ?? 0) + m.own + m.children);
    }
    this.#credit.delete(m.pid);
    this.#forget(m);
  }

  #forget(m: Member): void {
    m.stat.close();
    m.statm?.close();
    this.#members.delete(m.pid);
  }

  #dropAll(): void {
    for (const m of [...this.#members.values()]) this.#forget(m);
    this.#credit.clear();
    this.#scanned = false;
    this.#prevTreeTicks = NaN;
    this.#prevTreeUs = NaN;
  }

  #refresh(root: number): void {
    const tree = this.#processPids ? this.#processPids() : processTree(this.#procfs, root);
    for (const m of [...this.#members.values()]) {
      if (tree.has(m.pid)) continue;
      // left the tree: gone (credit the parent) or re-parented away (stop counting)
      const n = m.stat.read();
      if (n === 0) this.#vanished(m);
      else this.#forget(m);
    }
    const f = this.#pidStat;
    for (const pid of tree) {
      if (this.#members.has(pid)) continue;
      const r = PositionedReader.open(`${this.#procfs}/${pid}/stat`, 1024);
      if ("error" in r) continue;
      const n = r.reader.read();
      if (n === 0 || !parsePidStat(r.reader.buf, n, f)) {
        r.reader.close();
        continue;
      }
      const statm = PositionedReader.open(`${this.#procfs}/${pid}/statm`, 128);
      const bornAfterOpen = this.#bootTicksAtOpen !== undefined
        ? f[PID_STAT.starttime] >= this.#bootTicksAtOpen
        : this.#scanned;
      const m: Member = {
        pid,
        stat: r.reader,
        statm: "reader" in statm ? statm.reader : undefined,
        ppid: f[PID_STAT.ppid],
        // born during the run: count everything it used; else count from now
        own: bornAfterOpen ? 0 : f[PID_STAT.utime] + f[PID_STAT.stime],
        children: bornAfterOpen ? 0 : f[PID_STAT.cutime] + f[PID_STAT.cstime],
        cur: new Float64Array(8),
      };
      this.#members.set(pid, m);
    }
    this.#scanned = true;
  }

  cpuTimeShare(): CpuTimeShare {
    const treeCpuS = this.#treeTicks / USER_HZ;
    const hostBusyCpuS = (this.#hostBusyNow - this.#hostBusyAtOpen) / USER_HZ;
    const share = hostBusyCpuS > 0 && this.#rootPid
      ? Math.min(1, Math.max(0, treeCpuS / hostBusyCpuS))
      : NaN;
    return { treeCpuS, hostBusyCpuS: Number.isNaN(hostBusyCpuS) ? 0 : hostBusyCpuS, share };
  }

  close(): void {
    this.#dropAll();
    this.#stat?.close();
    this.#meminfo?.close();
  }
}

/** Host CPU utilisation and memory, and the wrapped command's process tree. */
export const procFactory: SensorFactory = {
  source: SOURCE,
  open(opts: SensorOptions) {
    const notes: SensorNote[] = [];
    const openOne = (name: string, size: number) => {
      const path = `${opts.procfsRoot}/${name}`;
      const r = PositionedReader.openChecked(path, size);
      if ("reader" in r) return r.reader;
      notes.push({
        source: SOURCE,
        status: r.error.kind,
        message: `Cannot read "${path}": ${r.error.code} (${r.error.message})`,
        ...(opts.procfsRoot !== "/proc"
          ? {}
          : { fix: "Is /proc mounted? (mount -t proc proc /proc)" }),
      });
      return undefined;
    };
    try {
      const stat = openOne("stat", 512);
      const meminfo = openOne("meminfo", 512);
      if (!stat && !meminfo && !opts.rootPid && !opts.processPids) return { sensor: null, notes };
      const sensor = new ProcSensorImpl(opts, stat, meminfo, notes);
      return { sensor, notes: sensor.notes };
    } catch (e) {
      notes.push({
        source: SOURCE,
        status: "error",
        message: `procfs could not be opened: ${(e as Error).message ?? e}`,
      });
      return { sensor: null, notes };
    }
  },
};
