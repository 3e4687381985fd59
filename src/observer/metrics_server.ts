/**
 * The metrics endpoint of a node (`--metrics PORT`): Prometheus text at
 * `/metrics`, and the probes `/health/live` and `/health/ready` (200 or
 * 503 with a JSON reason; see health.ts).
 *
 * ```
 * Prometheus --GET /metrics--> node: NodeMetrics.text() (telemetry counts, figures)
 * kubelet    --GET /health/ready--> node: readiness(node): 200 {"status":"ready"} | 503 {..., reason}
 * ```
 *
 * It listens on loopback unless told otherwise (`--metrics-host`); a taken
 * port is a {@linkcode PortInUseError}.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { serveMetrics } from "./metrics_server.ts";
 * const node = await startNode({ name: "ms@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const server = serveMetrics(node, { port: 0 });
 * const res = await fetch(`http://127.0.0.1:${server.port}/health/live`);
 * console.assert(res.status === 200 && (await res.json()).status === "live");
 * await server.close();
 * await node.stop();
 * ```
 *
 * @module
 */

import type { WeftNode } from "../node.ts";
import { type HttpEndpoint, listen } from "./_listen.ts";
import { readiness } from "./health.ts";
import { NodeMetrics } from "./metrics.ts";

/** Options of {@linkcode serveMetrics}. */
export interface MetricsServerOptions {
  /** The port; 0 picks a free one. */
  port: number;
  /** The address to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /** Whether the node was told to connect somewhere (readiness waits for a connection). */
  expectsPeers?: boolean;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });

/**
 * Serves a node's metrics and health probes.
 *
 * @param node the node
 * @param options port and address
 * @returns the running endpoint; close it before stopping the node
 * @throws {PortInUseError} when the port is taken
 */
export function serveMetrics(node: WeftNode, options: MetricsServerOptions): HttpEndpoint {
  const metrics = new NodeMetrics(node);
  const hostname = options.hostname ?? "127.0.0.1";
  let endpoint: HttpEndpoint;
  try {
    endpoint = listen("metrics", hostname, options.port, async (req) => {
      const path = new URL(req.url).pathname;
      if (req.method !== "GET" && req.method !== "HEAD") {
        return new Response("Method not allowed\n", { status: 405 });
      }
      switch (path) {
        case "/metrics":
          return new Response(await metrics.text(), {
            headers: { "content-type": metrics.contentType },
          });
        case "/health/live":
          return node.runtime.closed
            ? json(503, { status: "stopped" })
            : json(200, { status: "live" });
        case "/health/ready": {
          const r = readiness(node, options.expectsPeers ?? false);
          return r.ready
            ? json(200, { status: "ready" })
            : json(503, { status: "not_ready", reason: r.reason });
        }
        default:
          return new Response("Not found: try /metrics, /health/live or /health/ready\n", {
            status: 404,
          });
      }
    });
  } catch (e) {
    metrics.close();
    throw e;
  }
  return {
    port: endpoint.port,
    hostname,
    close: async () => {
      metrics.close();
      await endpoint.close();
    },
  };
}
