/**
 * Small helpers shared by the sysfs/procfs sensors.
 *
 * - One-shot reads (`readText`, `readNumber`, `listDir`) for discovery at open
 *   time: they never throw, they return `undefined` (or `[]`) and, through
 *   `tryReadText`, say why (`not-found`, `not-permitted`, `error`).
 * - `PositionedReader` keeps a file open and re-reads it from offset 0
 *   (`Deno.FsFile` `seekSync(0)` + one `readSync`): sysfs and procfs attributes
 *   are regenerated on every read at offset 0, so no open/close per tick
 *   (DESIGN "Facts measured": re-opening each time costs more). The buffer is
 *   allocated once; `readNumber()` parses ASCII digits in place, so a tick
 *   allocates nothing. (`node:fs` `readSync` with a position was measured at
 *   738 bytes of garbage per read in Deno 2.9; `FsFile` at 0, and faster.)
 *
 * Pseudo-files are read in one call, as procfs' CONTRIBUTING asks: their
 * `stat` size is meaningless, and some hwmon drivers answer EAGAIN, which we
 * treat as "no value this tick".
 */

/** Why a file could not be read, in the words of `ProbeStatus`. */
export type ReadErrorKind = "not-found" | "not-permitted" | "error";

export interface ReadError {
  kind: ReadErrorKind;
  /** errno name when known (`ENOENT`, `EACCES`, `EISDIR`, ...). */
  code: string;
  message: string;
}

/** Map an exception from Deno or `node:fs` to a `ReadError`. */
export function classifyError(e: unknown): ReadError {
  const err = e as { code?: unknown; message?: unknown; name?: unknown };
  const message = typeof err?.message === "string" ? err.message : String(e);
  let code = typeof err?.code === "string" ? err.code : "";
  if (!code && e instanceof Deno.errors.NotFound) code = "ENOENT";
  if (!code && e instanceof Deno.errors.PermissionDenied) code = "EACCES";
  if (e instanceof Deno.errors.NotCapable) {
    return { kind: "not-permitted", code: code || "ENOTCAPABLE", message };
  }
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
    case "ENODEV":
    case "ENXIO":
      return { kind: "not-found", code, message };
    case "EACCES":
    case "EPERM":
      return { kind: "not-permitted", code, message };
    default:
      return { kind: "error", code: code || "EUNKNOWN", message };
  }
}

export type ReadResult<T> = { ok: true; value: T } | ({ ok: false } & ReadError);

/** Read a whole (small) file as trimmed text, saying why when it cannot. */
export function tryReadText(path: string): ReadResult<string> {
  try {
    return { ok: true, value: Deno.readTextFileSync(path).trim() };
  } catch (e) {
    return { ok: false, ...classifyError(e) };
  }
}

/** A file's trimmed text, or undefined when it cannot be read. */
export function readText(path: string): string | undefined {
  const r = tryReadText(path);
  return r.ok ? r.value : undefined;
}

/** A file holding one number (sysfs style), or undefined. */
export function readNumber(path: string): number | undefined {
  const t = readText(path);
  if (t === undefined || t === "") return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** Entry names of a directory, sorted; [] when it cannot be listed. */
export function listDir(path: string): string[] {
  try {
    const names: string[] = [];
    for (const e of Deno.readDirSync(path)) names.push(e.name);
    return names.sort();
  } catch {
    return [];
  }
}

/** True when `path` exists (following symlinks). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The canonical path, or undefined. */
export function realPath(path: string): string | undefined {
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Parse a signed decimal integer from ASCII bytes `buf[start, end)`, skipping
 * leading blanks and stopping at the first non-digit. NaN when there are no
 * digits. Exact up to 2^53 (RAPL's 32-bit counters in µJ fit easily).
 */
export function parseIntAscii(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0x09 || buf[i] === 0x0a)) i++;
  let neg = false;
  if (i < end && buf[i] === 0x2d) {
    neg = true;
    i++;
  }
  let v = 0;
  let digits = 0;
  while (i < end) {
    const c = buf[i] - 0x30;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    digits++;
    i++;
  }
  if (digits === 0) return NaN;
  return neg ? -v : v;
}

/**
 * A file kept open and re-read from offset 0. Never throws after `open`:
 * a failed read gives NaN / 0 bytes and sets `lastError` (for a note).
 */
export class PositionedReader {
  readonly path: string;
  readonly buf: Uint8Array;
  #file: Deno.FsFile | undefined;
  /** The error of the last failed read, cleared by a good read. */
  lastError: ReadError | undefined;

  private constructor(path: string, file: Deno.FsFile, size: number) {
    this.path = path;
    this.#file = file;
    this.buf = new Uint8Array(size);
  }

  /** Open `path` for reading; `size` is the most bytes one read returns. */
  static open(path: string, size = 64): { reader: PositionedReader } | { error: ReadError } {
    try {
      const file = Deno.openSync(path, { read: true });
      return { reader: new PositionedReader(path, file, size) };
    } catch (e) {
      return { error: classifyError(e) };
    }
  }

  /** Open and read once, so an unreadable file (EACCES on read, EISDIR) is found at open time. */
  static openChecked(
    path: string,
    size = 64,
  ): { reader: PositionedReader } | { error: ReadError } {
    const r = PositionedReader.open(path, size);
    if ("error" in r) return r;
    r.reader.read();
    if (r.reader.lastError) {
      const error = r.reader.lastError;
      r.reader.close();
      return { error };
    }
    return r;
  }

  /** Re-read the file into `buf`; returns the byte count (0 on failure). */
  read(): number {
    const file = this.#file;
    if (file === undefined) return 0;
    try {
      // One read from offset 0: sysfs and seq_file-backed procfs files hand
      // over as much as fits in the buffer in one call.
      file.seekSync(0, Deno.SeekMode.Start);
      const n = file.readSync(this.buf);
      this.lastError = undefined;
      return n ?? 0;
    } catch (e) {
      this.lastError = classifyError(e);
      return 0;
    }
  }

  /** Re-read and parse the leading integer; NaN when unreadable or empty. */
  readNumber(): number {
    const n = this.read();
    return n === 0 ? NaN : parseIntAscii(this.buf, 0, n);
  }

  close(): void {
    if (this.#file === undefined) return;
    try {
      this.#file.close();
    } catch {
      // already gone
    }
    this.#file = undefined;
  }
}
