/**
 * The web observer of a node (`--observer PORT`): a page that shows the
 * whole cluster live, and the JSON API behind it. Every node of the
 * cluster answers through its `observer` rpc module, so the page of any
 * node shows them all.
 *
 * ```
 * browser --GET /?token=T--> set cookie (HttpOnly, SameSite=Strict), redirect to /
 * browser --GET /----------> the page (page.ts)
 * browser --GET /api/events (SSE)--> a cluster snapshot every second (cluster_view.ts)
 * browser --GET /api/processes?node=N------------> rpc N observer.processes()
 * browser --GET /api/process?node=N&id=I&serial=S -> rpc N observer.process(I, S)
 * browser --POST /api/kill {node, id, serial}----> rpc N observer.kill(I, S)
 * browser --GET /api/supervision?node=N----------> rpc N observer.supervision()
 * ```
 *
 * Access. It listens on loopback unless told otherwise, and every request
 * needs the token (from the cookie, `Authorization: Bearer T`, or `?token=T`
 * once): without it, 401 and nothing else. The default token is derived
 * from the cluster cookie (token.ts). A POST must also carry JSON, which a
 * cross-site form cannot send without a preflight.
 *
 * Failure. A node that does not answer is shown with its error; a bad
 * request is a 400 with the reason; the node itself is never at risk.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { serveObserver } from "./observer_server.ts";
 * const node = await startNode({ name: "ob@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const obs = serveObserver(node, { port: 0, token: "0123456789abcdef" });
 * const denied = await fetch(`http://127.0.0.1:${obs.port}/api/processes`);
 * console.assert(denied.status === 401);
 * await denied.body?.cancel();
 * const ok = await fetch(`http://127.0.0.1:${obs.port}/api/processes`, {
 *   headers: { authorization: "Bearer 0123456789abcdef" },
 * });
 * console.assert(ok.status === 200 && (await ok.json()).length > 0);
 * await obs.close();
 * await node.stop();
 * ```
 *
 * @module
 */

import type { WeftNode } from "../node.ts";
import { type HttpEndpoint, listen } from "./_listen.ts";
import { ClusterView } from "./cluster_view.ts";
import { OBSERVER_PAGE } from "./page.ts";
import { sameToken } from "./token.ts";

/** Options of {@linkcode serveObserver}. */
export interface ObserverServerOptions {
  /** The port; 0 picks a free one. */
  port: number;
  /** The token every request must carry (see observerToken for the default). */
  token: string;
  /** The address to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /** Milliseconds between two snapshots on the event stream. Default 1000. */
  interval?: number;
}

const COOKIE = "weft_observer";

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const text = (body: string, status: number) =>
  new Response(`${body}\n`, { status, headers: { "content-type": "text/plain" } });

function tokenOf(req: Request): string | undefined {
  const auth = req.headers.get("authorization");
  if (auth?.startsWith("Bearer ")) return auth.slice("Bearer ".length);
  for (const part of (req.headers.get("cookie") ?? "").split(";")) {
    const [k, v] = part.trim().split("=");
    if (k === COOKIE && v !== undefined) return decodeURIComponent(v);
  }
  return undefined;
}

function intParam(url: URL, name: string): number {
  const v = url.searchParams.get(name);
  const n = Number(v);
  if (v === null || !Number.isInteger(n) || n < 0) {
    throw new TypeError(`Invalid ${name}: expected an integer, received ${JSON.stringify(v)}`);
  }
  return n;
}

/**
 * Serves the web observer of `node`.
 *
 * @param node the node
 * @param options port, token and address
 * @returns the running endpoint; close it before stopping the node
 * @throws {PortInUseError} when the port is taken
 * @throws {TypeError} when the token is shorter than 8 characters
 */
export function serveObserver(node: WeftNode, options: ObserverServerOptions): HttpEndpoint {
  if (typeof options.token !== "string" || options.token.length < 8) {
    throw new TypeError("Cannot serve the observer: the token must have at least 8 characters");
  }
  const token = options.token;
  const interval = options.interval ?? 1000;
  const view = new ClusterView(node);
  const streams = new Set<() => void>();
  const hostname = options.hostname ?? "127.0.0.1";
  const nodeParam = (url: URL): string => {
    const n = url.searchParams.get("node") ?? node.name;
    if (n !== node.name && !node.list("visible").includes(n)) {
      throw new TypeError(`Unknown node: ${n} is not connected`);
    }
    return n;
  };

  const events = (): Response => {
    let stop = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const enc = new TextEncoder();
        let busy = false;
        let closed = false;
        const push = async () => {
          if (busy || closed) return;
          busy = true;
          try {
            const s = await view.snapshot();
            if (!closed) controller.enqueue(enc.encode(`data: ${JSON.stringify(s)}\n\n`));
          } catch {
            // The node is stopping: the stream ends with close().
          } finally {
            busy = false;
          }
        };
        const timer = setInterval(push, interval);
        stop = () => {
          if (closed) return;
          closed = true;
          clearInterval(timer);
          streams.delete(stop);
          try {
            controller.close();
          } catch {
            // Already closed by the client.
          }
        };
        streams.add(stop);
        push();
      },
      cancel() {
        stop();
      },
    });
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
    });
  };

  const endpoint = listen("the observer", hostname, options.port, async (req) => {
    const url = new URL(req.url);
    const given = url.searchParams.get("token");
    if (given !== null && sameToken(given, token) && req.method === "GET") {
      url.searchParams.delete("token");
      return new Response(null, {
        status: 303,
        headers: {
          location: url.pathname + url.search,
          "set-cookie": `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
        },
      });
    }
    const presented = tokenOf(req);
    if (presented === undefined || !sameToken(presented, token)) {
      return text("Unauthorized: open the observer with ?token=<token>", 401);
    }
    try {
      switch (`${req.method} ${url.pathname}`) {
        case "GET /":
          return new Response(OBSERVER_PAGE, {
            headers: { "content-type": "text/html; charset=utf-8" },
          });
        case "GET /api/events":
          return events();
        case "GET /api/cluster":
          return json(await view.snapshot());
        case "GET /api/supervision":
          return json(await node.rpc.call(nodeParam(url), "observer", "supervision", []));
        case "GET /api/processes":
          return json(await node.rpc.call(nodeParam(url), "observer", "processes", []));
        case "GET /api/process":
          return json(
            await node.rpc.call(nodeParam(url), "observer", "process", [
              intParam(url, "id"),
              intParam(url, "serial"),
            ]),
          );
        case "POST /api/kill": {
          if (!(req.headers.get("content-type") ?? "").startsWith("application/json")) {
            return text("Bad request: send JSON", 400);
          }
          const body = await req.json() as { node?: unknown; id?: unknown; serial?: unknown };
          const target = typeof body.node === "string" ? body.node : node.name;
          if (target !== node.name && !node.list("visible").includes(target)) {
            return text(`Bad request: ${target} is not connected`, 400);
          }
          const killed = await node.rpc.call(target, "observer", "kill", [body.id, body.serial]);
          return json({ killed });
        }
        default:
          return text("Not found", 404);
      }
    } catch (e) {
      const status = e instanceof TypeError || e instanceof SyntaxError ? 400 : 502;
      return text(`${status === 400 ? "Bad request" : "Failed"}: ${(e as Error).message}`, status);
    }
  });
  return {
    port: endpoint.port,
    hostname,
    close: async () => {
      for (const stop of [...streams]) stop();
      await endpoint.close();
    },
  };
}
