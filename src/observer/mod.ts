/**
 * Seeing the cluster: the metrics endpoint (`--metrics PORT`: Prometheus
 * text, health probes) and the web observer (`--observer PORT`).
 *
 * @example
 * ```ts
 * import { observerToken, serveMetrics, serveObserver } from "./mod.ts";
 * import { startNode } from "../node.ts";
 * const node = await startNode({ name: "om@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const metrics = serveMetrics(node, { port: 0 });
 * const observer = serveObserver(node, { port: 0, token: await observerToken("c") });
 * await observer.close();
 * await metrics.close();
 * await node.stop();
 * ```
 *
 * @module
 */

export type { HttpEndpoint } from "./_listen.ts";
export { type Readiness, readiness } from "./health.ts";
export { NodeMetrics } from "./metrics.ts";
export { type MetricsServerOptions, serveMetrics } from "./metrics_server.ts";
export { type ObserverServerOptions, serveObserver } from "./observer_server.ts";
export { observerToken } from "./token.ts";
export { type ClusterSnapshot, ClusterView, type LinkView, type NodeView } from "./cluster_view.ts";
