/**
 * The wrapped command: started with stdin/stdout/stderr passed through,
 * SIGINT/SIGTERM forwarded, exit code returned (128+N when killed by signal N).
 * When an attachment parses stdout, aimeter copies the command's stdout
 * bytes to its own stdout unchanged and splits a copy into lines.
 */
import { signalExitCode } from "./signals.ts";

export interface ChildOptions {
  command: string[];
  env: Record<string, string>;
  onStdoutLine?: (line: string) => void;
}

export interface RunningChild {
  pid: number;
  /** Resolves with the exit code (128+N for signal N). */
  done: Promise<number>;
  kill(signal: Deno.Signal): void;
}

export class CommandNotFound extends Error {}

export function startChild(opts: ChildOptions): RunningChild {
  const [cmd, ...args] = opts.command;
  const tee = opts.onStdoutLine !== undefined;
  let proc: Deno.ChildProcess;
  try {
    proc = new Deno.Command(cmd, {
      args,
      env: opts.env,
      stdin: "inherit",
      stdout: tee ? "piped" : "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new CommandNotFound(`command not found: ${cmd}`);
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new CommandNotFound(`permission denied: ${cmd}`);
    }
    throw e;
  }
  const pump = tee ? pumpStdout(proc.stdout, opts.onStdoutLine!) : Promise.resolve();
  const done = (async () => {
    const status = await proc.status;
    await pump;
    return status.signal ? signalExitCode(status.signal) : status.code;
  })();
  return {
    pid: proc.pid,
    done,
    kill(signal) {
      try {
        proc.kill(signal);
      } catch {
        // already gone
      }
    },
  };
}

async function pumpStdout(stream: ReadableStream<Uint8Array>, onLine: (l: string) => void) {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    // the user's stdout first, byte for byte
    let off = 0;
    while (off < chunk.length) off += Deno.stdout.writeSync(chunk.subarray(off));
    rest += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      try {
        onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
      } catch {
        // a parser never breaks the pass-through
      }
    }
    if (rest.length > 1 << 20) rest = rest.slice(-4096); // a huge line without newline: keep the tail
  }
  if (rest) onLine(rest);
}
