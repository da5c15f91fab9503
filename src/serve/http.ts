/**
 * The HTTP side of `aimeter serve`: `/metrics` with content negotiation
 * (OpenMetrics when asked through `Accept`, else the Prometheus text format),
 * a small index at `/`, and `--listen` parsing. Loopback unless told otherwise.
 */
import { UsageError } from "../cli/errors.ts";
import type { Exporter } from "./exporter.ts";
import { CONTENT_TYPE, negotiate } from "./exposition.ts";

export interface ListenAddress {
  hostname: string;
  port: number;
}

export const DEFAULT_LISTEN = "127.0.0.1:9400";

/**
 * `HOST:PORT`, `[IPv6]:PORT`, or a bare `PORT` / `:PORT` (loopback: a
 * missing host never means "every interface" here).
 */
export function parseListen(text: string): ListenAddress {
  const t = text.trim();
  let host: string;
  let port: string;
  const v6 = /^\[([0-9a-fA-F:.%a-zA-Z]+)\]:(\d+)$/.exec(t);
  if (v6) {
    host = v6[1];
    port = v6[2];
  } else if (/^:?\d+$/.test(t)) {
    host = "127.0.0.1";
    port = t.replace(/^:/, "");
  } else {
    const i = t.lastIndexOf(":");
    if (i <= 0 || t.indexOf(":") !== i) {
      throw new UsageError(
        `--listen: '${text}' is not HOST:PORT (e.g. 127.0.0.1:9400, [::1]:9400, 0.0.0.0:9400)`,
      );
    }
    host = t.slice(0, i);
    port = t.slice(i + 1);
  }
  const n = Number(port);
  if (!/^\d+$/.test(port) || n > 65535) {
    throw new UsageError(`--listen: '${port}' in '${text}' is not a port (0-65535)`);
  }
  return { hostname: host, port: n };
}

/** Reachable only from this machine. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === "localhost" || /^127\./.test(h) || h === "::1" || /^::ffff:127\./.test(h);
}

export function urlOf(hostname: string, port: number, path = "/metrics"): string {
  const h = hostname.includes(":") ? `[${hostname}]` : hostname;
  return `http://${h}:${port}${path}`;
}

const INDEX = (version: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>aimeter ${version}</title></head>
<body><h1>aimeter exporter</h1><p><a href="/metrics">/metrics</a></p></body></html>
`;

/** The request handler (exported for tests). */
export function handler(exporter: Exporter): (req: Request) => Response {
  return (req) => {
    const url = new URL(req.url);
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    if (url.pathname === "/metrics") {
      const format = negotiate(req.headers.get("accept"));
      const body = exporter.scrape(format);
      return new Response(req.method === "HEAD" ? null : body, {
        headers: { "content-type": CONTENT_TYPE[format], "cache-control": "no-store" },
      });
    }
    if (url.pathname === "/") {
      return new Response(INDEX(exporter.opts.version), {
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    }
    return new Response("not found; metrics are at /metrics\n", { status: 404 });
  };
}

/** Bind and serve; throws a readable error when the address cannot be bound. */
export function startHttp(exporter: Exporter, addr: ListenAddress): Deno.HttpServer<Deno.NetAddr> {
  try {
    return Deno.serve({
      hostname: addr.hostname,
      port: addr.port,
      onListen: () => {},
      onError: (e) => {
        console.error(`aimeter: serve: ${(e as Error)?.message ?? e}`);
        return new Response("internal error\n", { status: 500 });
      },
    }, handler(exporter));
  } catch (e) {
    const why = e instanceof Deno.errors.AddrInUse
      ? "the address is in use (another exporter on this port? pick another with --listen)"
      : (e as Error).message;
    throw new Error(`cannot listen on ${urlOf(addr.hostname, addr.port, "")}: ${why}`);
  }
}
