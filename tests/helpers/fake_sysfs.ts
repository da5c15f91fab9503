/**
 * Builders for fake sysfs/procfs trees in a temp dir, passed to sensors as
 * `sysfsRoot` / `procfsRoot`.
 *
 * Layout follows the kernel: powercap zones live under
 * `devices/virtual/powercap/<control type>/<zone>[/<subzone>]` with symlinks in
 * `class/powercap/`, hwmon devices under `class/hwmon/hwmonN`, DRM cards under
 * `class/drm/cardN/device/...`.
 *
 * Counters are rewritten **in place** (truncate + write, as
 * `Deno.writeTextFileSync` does), never by rename: a sensor keeps the file
 * open and re-reads it by position, which only sees writes to the same inode.
 *
 * Unreadable files: the tests run as root, and root ignores file modes, so a
 * plain `chmod 000` blocks nothing in-process. `unreadable()` therefore offers
 * three ways: `"mode"` (chmod 000, the real kernel situation: EACCES for
 * non-root; tests that need the EACCES path run the sensor in a child as
 * `nobody`, see `runUnprivileged`), `"directory"` (a directory in place of the
 * file: reads fail with EISDIR even for root) and `"dangling"` (a symlink to
 * nothing: ENOENT even for root).
 */

/** A temp directory holding one fake tree; `root` is passed as sysfsRoot/procfsRoot. */
export class FakeTree {
  readonly root: string;

  /** A new temp dir, or (with `root`) a view of an existing directory. */
  constructor(prefix = "aimeter-fake-", root?: string) {
    this.root = root ?? Deno.makeTempDirSync({ prefix });
    Deno.mkdirSync(this.root, { recursive: true });
    // 0755 so an unprivileged child can walk the tree too
    Deno.chmodSync(this.root, 0o755);
  }

  /** A view of the subdirectory `rel` (e.g. `proc`, `sys` of one fake machine); removing it is the parent's job. */
  sub(rel: string): FakeTree {
    const t = new FakeTree("", this.path(rel));
    t.remove = () => {};
    return t;
  }

  path(rel: string): string {
    return `${this.root}/${rel}`;
  }

  /** Write a file (creating parents), content + "\n" like sysfs. */
  write(rel: string, content: string | number): string {
    const p = this.path(rel);
    Deno.mkdirSync(p.slice(0, p.lastIndexOf("/")), { recursive: true, mode: 0o755 });
    Deno.writeTextFileSync(p, `${content}\n`);
    return p;
  }

  /** Write several files under `dir`. */
  writeAll(dir: string, files: Record<string, string | number>): void {
    for (const [name, v] of Object.entries(files)) this.write(`${dir}/${name}`, v);
  }

  symlink(target: string, rel: string): void {
    const p = this.path(rel);
    Deno.mkdirSync(p.slice(0, p.lastIndexOf("/")), { recursive: true, mode: 0o755 });
    Deno.symlinkSync(target, p);
  }

  remove(): void {
    try {
      Deno.removeSync(this.root, { recursive: true });
    } catch {
      // already gone
    }
  }

  [Symbol.dispose](): void {
    this.remove();
  }
}

/** Rewrite a counter file in place (same inode), as the kernel presents a new value. */
export function setValue(path: string, value: number | string): void {
  Deno.writeTextFileSync(path, `${value}\n`);
}

/**
 * Make a file unreadable. `mode`: chmod 000 (EACCES for non-root only);
 * `directory`: replace it by a directory (EISDIR, also for root);
 * `dangling`: replace it by a symlink to nothing (ENOENT, also for root).
 */
export function unreadable(path: string, how: "mode" | "directory" | "dangling" = "mode"): void {
  if (how === "mode") {
    Deno.chmodSync(path, 0o000);
    return;
  }
  Deno.removeSync(path);
  if (how === "directory") Deno.mkdirSync(path);
  else Deno.symlinkSync(`${path}.does-not-exist`, path);
}

// ---------------------------------------------------------------- powercap

export interface FakeRaplZone {
  /** `intel-rapl:0`, `intel-rapl:0:1`, `intel-rapl-mmio:0` */
  dir: string;
  name: string;
  energyUj?: number;
  maxEnergyRangeUj?: number;
}

/**
 * Add a powercap zone; returns the path of its `energy_uj`. Subzones need
 * their parent added first.
 */
export function addRaplZone(tree: FakeTree, z: FakeRaplZone): string {
  const control = z.dir.slice(0, z.dir.indexOf(":"));
  const parts = z.dir.split(":");
  const devBase = `devices/virtual/powercap/${control}`;
  const devDir = parts.length === 3
    ? `${devBase}/${parts[0]}:${parts[1]}/${z.dir}`
    : `${devBase}/${z.dir}`;
  tree.writeAll(devDir, {
    name: z.name,
    energy_uj: z.energyUj ?? 0,
    max_energy_range_uj: z.maxEnergyRangeUj ?? 262143328850,
    enabled: 1,
  });
  tree.symlink(`../../${devDir}`, `class/powercap/${z.dir}`);
  return tree.path(`${devDir}/energy_uj`);
}

/** A typical one-socket Intel machine: package-0 with core, uncore, dram, plus psys. */
export function typicalIntel(tree: FakeTree): Record<string, string> {
  return {
    pkg: addRaplZone(tree, { dir: "intel-rapl:0", name: "package-0" }),
    core: addRaplZone(tree, { dir: "intel-rapl:0:0", name: "core" }),
    uncore: addRaplZone(tree, { dir: "intel-rapl:0:1", name: "uncore" }),
    dram: addRaplZone(tree, { dir: "intel-rapl:0:2", name: "dram" }),
    psys: addRaplZone(tree, { dir: "intel-rapl:1", name: "psys" }),
  };
}

/**
 * A child process that keeps rewriting `path` concurrently: each write adds
 * `stepUj` to a running total and writes `total mod maxRange`, about once a
 * millisecond. It starts when `start()` is called and, once `stop()` is
 * called, writes its last value and reports the exact total it added.
 */
export class ConcurrentCounterWriter {
  readonly #proc: Deno.ChildProcess;
  readonly #go: string;
  readonly #stop: string;
  readonly #done: string;
  readonly #dir: string;

  constructor(path: string, opts: { stepUj: number; maxRangeUj: number; startUj?: number }) {
    const dir = Deno.makeTempDirSync({ prefix: "aimeter-writer-" });
    this.#dir = dir;
    this.#go = `${dir}/go`;
    this.#stop = `${dir}/stop`;
    this.#done = `${dir}/done`;
    setValue(path, opts.startUj ?? 0);
    const script = `
      const [path, go, stop, done, step, range, start] = Deno.args;
      const exists = (p) => { try { Deno.statSync(p); return true; } catch { return false; } };
      while (!exists(go)) await new Promise((r) => setTimeout(r, 1));
      let added = 0;
      const st = Number(step), mod = Number(range), s0 = Number(start);
      while (!exists(stop)) {
        added += st;
        Deno.writeTextFileSync(path, ((s0 + added) % mod) + "\\n");
        await new Promise((r) => setTimeout(r, 1));
      }
      Deno.writeTextFileSync(done, String(added));
    `;
    this.#proc = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        script,
        path,
        this.#go,
        this.#stop,
        this.#done,
        String(opts.stepUj),
        String(opts.maxRangeUj),
        String(opts.startUj ?? 0),
      ],
      stdout: "null",
      stderr: "inherit",
    }).spawn();
  }

  start(): void {
    Deno.writeTextFileSync(this.#go, "");
  }

  /** Stop writing; resolves to the exact µJ added since `start()`. */
  async stop(): Promise<number> {
    Deno.writeTextFileSync(this.#stop, "");
    await this.#proc.status;
    const added = Number(Deno.readTextFileSync(this.#done));
    Deno.removeSync(this.#dir, { recursive: true });
    return added;
  }
}

// ---------------------------------------------------------------- hwmon

export interface FakeHwmon {
  /** `hwmon3` */
  hwmon: string;
  name: string;
  /** Files in `hwmonN/` (`power1_average`, `power1_label`, ...). */
  files?: Record<string, string | number>;
  /** Files in `hwmonN/device/` (the ACPI power meter puts its attributes there). */
  deviceFiles?: Record<string, string | number>;
}

/** Add `class/hwmon/hwmonN`; returns its directory path. */
export function addHwmon(tree: FakeTree, h: FakeHwmon): string {
  const dir = `devices/platform/fake-${h.hwmon}/hwmon/${h.hwmon}`;
  tree.writeAll(dir, { name: h.name, ...h.files });
  if (h.deviceFiles) tree.writeAll(`${dir}/device`, h.deviceFiles);
  tree.symlink(`../../${dir}`, `class/hwmon/${h.hwmon}`);
  return tree.path(dir);
}

/** A Grace-like node: four ACPI power meters per socket (mW×1000 = µW, attributes in device/). */
export function graceSocket(tree: FakeTree, socket: number, firstHwmon: number, watts: number[]) {
  const labels = ["Module", "Grace", "CPU", "SysIO"];
  return labels.map((l, i) =>
    addHwmon(tree, {
      hwmon: `hwmon${firstHwmon + i}`,
      name: "power_meter",
      deviceFiles: {
        power1_average: Math.round(watts[i] * 1e6),
        power1_oem_info: `${l} Power Socket ${socket}`,
        power1_average_interval: 50,
      },
    })
  );
}

// ---------------------------------------------------------------- drm / amdgpu

export interface FakeDrmCard {
  card: string;
  /** PCI address the `device` link points at. */
  pci?: string;
  hwmon?: string;
  hwmonName?: string;
  /** Files in `device/hwmon/hwmonN/`. */
  hwmonFiles?: Record<string, string | number>;
  /** Files in `device/`. */
  deviceFiles?: Record<string, string | number>;
  /** Connector entries such as `DP-1` (listed as `class/drm/cardN-DP-1`). */
  connectors?: string[];
}

/** Add a DRM card (`class/drm/cardN` → its PCI device); returns the hwmon directory path. */
export function addDrmCard(tree: FakeTree, c: FakeDrmCard): string {
  const pci = c.pci ?? "0000:03:00.0";
  const pciDir = `devices/pci0000:00/0000:00:01.1/${pci}`;
  const cardDir = `${pciDir}/drm/${c.card}`;
  Deno.mkdirSync(tree.path(cardDir), { recursive: true, mode: 0o755 });
  tree.symlink(`../..`, `${cardDir}/device`);
  tree.symlink(`../../${cardDir}`, `class/drm/${c.card}`);
  if (c.deviceFiles) tree.writeAll(pciDir, c.deviceFiles);
  for (const conn of c.connectors ?? []) {
    const connDir = `${cardDir}/${c.card}-${conn}`;
    tree.write(`${connDir}/status`, "connected");
    tree.symlink(`../../${connDir}`, `class/drm/${c.card}-${conn}`);
  }
  const hw = `${pciDir}/hwmon/${c.hwmon ?? "hwmon2"}`;
  tree.writeAll(hw, { name: c.hwmonName ?? "amdgpu", ...c.hwmonFiles });
  return tree.path(hw);
}

// ---------------------------------------------------------------- procfs

export interface FakeProc {
  pid: number;
  ppid: number;
  comm?: string;
  /** clock ticks (USER_HZ = 100) */
  utime?: number;
  stime?: number;
  cutime?: number;
  cstime?: number;
  threads?: number;
  /** clock ticks since boot */
  starttime?: number;
  rssPages?: number;
}

/** One `/proc/<pid>/stat` line (fields as in proc(5)). */
export function procStatLine(p: FakeProc): string {
  const f = [
    p.pid,
    `(${p.comm ?? "proc"})`,
    "R",
    p.ppid,
    p.pid,
    p.pid,
    0,
    -1,
    4194304,
    100,
    0,
    0,
    0,
    p.utime ?? 0,
    p.stime ?? 0,
    p.cutime ?? 0,
    p.cstime ?? 0,
    20,
    0,
    p.threads ?? 1,
    0,
    p.starttime ?? 0,
    123456789,
    p.rssPages ?? 0,
  ];
  return `${f.join(" ")} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0`;
}

export function writeProc(tree: FakeTree, p: FakeProc): void {
  tree.write(`${p.pid}/stat`, procStatLine(p));
  const rss = p.rssPages ?? 0;
  tree.write(`${p.pid}/statm`, `${rss * 3} ${rss} ${Math.floor(rss / 2)} 10 0 ${rss} 0`);
}

/**
 * Remove a process (it exited and was reaped). Its files are emptied first:
 * on real procfs a `/proc/<pid>/stat` kept open fails with ESRCH once the
 * process is gone, while an unlinked regular file would still read fine.
 */
export function removeProc(tree: FakeTree, pid: number): void {
  for (const f of ["stat", "statm"]) Deno.writeTextFileSync(tree.path(`${pid}/${f}`), "");
  Deno.removeSync(tree.path(`${pid}`), { recursive: true });
}

export interface FakeCpuTimes {
  user: number;
  nice?: number;
  system: number;
  idle: number;
  iowait?: number;
  irq?: number;
  softirq?: number;
  steal?: number;
}

export function writeProcStat(tree: FakeTree, t: FakeCpuTimes): void {
  const f = [
    t.user,
    t.nice ?? 0,
    t.system,
    t.idle,
    t.iowait ?? 0,
    t.irq ?? 0,
    t.softirq ?? 0,
    t.steal ?? 0,
    0,
    0,
  ];
  tree.write(
    "stat",
    `cpu  ${f.join(" ")}\ncpu0 ${f.join(" ")}\nintr 1 2 3\nctxt 12345\nbtime 1767225600\n`,
  );
}

export function writeMeminfo(tree: FakeTree, totalKb: number, availableKb: number): void {
  tree.write(
    "meminfo",
    `MemTotal:       ${totalKb} kB\nMemFree:        ${
      Math.floor(availableKb / 2)
    } kB\nMemAvailable:   ${availableKb} kB\nBuffers:          1024 kB\n`,
  );
}

export function writeUptime(tree: FakeTree, seconds: number): void {
  tree.write("uptime", `${seconds.toFixed(2)} 1000.00`);
}

export function writeCpuinfo(tree: FakeTree, model: string, sockets: number, coresPerSocket = 4) {
  const blocks: string[] = [];
  let n = 0;
  for (let s = 0; s < sockets; s++) {
    for (let c = 0; c < coresPerSocket; c++) {
      blocks.push(
        `processor\t: ${n++}\nvendor_id\t: GenuineIntel\nmodel name\t: ${model}\nphysical id\t: ${s}\ncore id\t\t: ${c}\n`,
      );
    }
  }
  tree.write("cpuinfo", blocks.join("\n"));
}

// ---------------------------------------------------------------- running unprivileged

/**
 * Run `code` (an ES module body) in a child `deno` as user `nobody`, so file
 * modes apply (root ignores them). Returns stdout, or `undefined` when this
 * cannot be done here (not root and not able to drop privileges, or no
 * `setpriv`): callers then run in-process when not root, or skip.
 */
export async function runUnprivileged(code: string): Promise<string | undefined> {
  if (Deno.uid() !== 0) {
    const out = await new Deno.Command(Deno.execPath(), { args: ["eval", code] }).output();
    return new TextDecoder().decode(out.stdout);
  }
  const home = Deno.makeTempDirSync({ prefix: "aimeter-nobody-" });
  Deno.chmodSync(home, 0o777);
  try {
    const out = await new Deno.Command("setpriv", {
      args: [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "env",
        `DENO_DIR=${home}`,
        `HOME=${home}`,
        Deno.execPath(),
        "eval",
        code,
      ],
    }).output();
    if (!out.success) {
      throw new Error(`unprivileged child failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return new TextDecoder().decode(out.stdout);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
}
