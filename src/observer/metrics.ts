/**
 * A node's metrics in Prometheus form, built from its telemetry events and
 * its figures (prom-client). Events become counters and histograms the
 * moment they happen; figures that are a state (memory, processes,
 * connections) are read when Prometheus scrapes.
 *
 * ```
 * telemetry events --handlers--> counts kept here (plain numbers)
 * GET /metrics -> registry.metrics() -> collect(): counts, kernel.connectionStats(),
 *                                        observer.figures() -> text exposition format
 * ```
 *
 * Why prom-client and not the OpenTelemetry SDK: Weft needs one thing, a
 * Prometheus text endpoint; prom-client is that, small (four small
 * dependencies) and long maintained, and its registry renders on demand. The
 * OpenTelemetry SDK needs a meter provider, a reader and a Prometheus
 * exporter package that runs its own HTTP server, for the same text; an
 * OTLP push can be added later from the same telemetry events.
 *
 * Process messages are not counted through their per-message telemetry
 * events: the kernel keeps plain counts per peer (`messageCounts()`), read
 * at scrape time, so metrics cost nothing per message. Rare events are
 * counted into plain maps, not into prom-client (whose `inc` hashes labels).
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { NodeMetrics } from "./metrics.ts";
 * const node = await startNode({ name: "m@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const metrics = new NodeMetrics(node);
 * console.assert((await metrics.text()).includes("weft_processes"));
 * metrics.close();
 * await node.stop();
 * ```
 *
 * @module
 */

import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { WeftNode } from "../node.ts";
import {
  GEN_SERVER_CALL_STOP,
  NODE_DOWN,
  NODE_UP,
  REPLICATOR_DELTA_SENT,
  RPC_CALL_STOP,
  SUPERVISOR_RESTART,
} from "../telemetry/events.ts";

let nextId = 1;

/** Counts by one label value. */
function bump(map: Map<string, number>, key: string, n = 1): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** Sets a counter from a map of counts by one label. */
function setCounts(counter: Counter<string>, label: string, counts: Map<string, number>): void {
  counter.reset();
  for (const [k, n] of counts) counter.inc({ [label]: k }, n);
}

/** The metrics of one node: a prom-client registry fed by telemetry and figures. */
export class NodeMetrics {
  /** The registry (its metrics carry the label `node`). */
  readonly registry: Registry = new Registry();
  readonly #node: WeftNode;
  readonly #ids: string[] = [];
  readonly #ups = new Map<string, number>();
  readonly #downs = new Map<string, number>();
  #restarts = 0;
  #deltas = 0;

  /**
   * Attaches to the node's telemetry and registers the metrics.
   *
   * @param node the node
   */
  constructor(node: WeftNode) {
    this.#node = node;
    const registry = this.registry;
    registry.setDefaultLabels({ node: node.name });
    const t = node.runtime.telemetry;
    const id = (what: string) => {
      const name = `weft-metrics-${nextId++}-${what}`;
      this.#ids.push(name);
      return name;
    };
    const str = (v: unknown) => (typeof v === "string" ? v : String(v));
    t.attach(id("up"), NODE_UP, (_e, _m, md) => bump(this.#ups, str(md.peer)));
    t.attach(id("down"), NODE_DOWN, (_e, _m, md) => bump(this.#downs, str(md.reason)));
    t.attach(id("restart"), SUPERVISOR_RESTART, () => this.#restarts++);
    t.attach(id("delta"), REPLICATOR_DELTA_SENT, (_e, m) => (this.#deltas += m.keys ?? 0));
    const rpcDuration = new Histogram({
      name: "weft_rpc_call_duration_seconds",
      help: "Duration of rpc calls this node made, by outcome (ok, error, timeout, noconnection)",
      labelNames: ["outcome"],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    });
    t.attach(id("rpc"), RPC_CALL_STOP, (_e, m, md) => {
      rpcDuration.observe({ outcome: str(md.outcome) }, (m.duration ?? 0) / 1000);
    });
    const callDuration = new Histogram({
      name: "weft_gen_server_call_duration_seconds",
      help: "Duration of GenServer calls made on this node, by outcome (ok, error, timeout)",
      labelNames: ["outcome"],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    });
    t.attach(id("call"), GEN_SERVER_CALL_STOP, (_e, m, md) => {
      callDuration.observe({ outcome: str(md.outcome) }, (m.duration ?? 0) / 1000);
    });

    const ups = this.#ups, downs = this.#downs;
    const kernel = node.kernel;
    new Counter({
      name: "weft_node_up_total",
      help: "Connections to peer nodes that came up, by peer",
      labelNames: ["peer"],
      registers: [registry],
      collect() {
        setCounts(this, "peer", ups);
      },
    });
    new Counter({
      name: "weft_node_down_total",
      help: "Connections to peer nodes that went down, by reason",
      labelNames: ["reason"],
      registers: [registry],
      collect() {
        setCounts(this, "reason", downs);
      },
    });
    new Counter({
      name: "weft_dist_messages_sent_total",
      help: "Process messages sent to other nodes, by peer",
      labelNames: ["peer"],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of kernel.messageCounts()) if (c.sent > 0) this.inc({ peer: c.node }, c.sent);
      },
    });
    new Counter({
      name: "weft_dist_messages_received_total",
      help: "Process messages received from other nodes, by peer",
      labelNames: ["peer"],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of kernel.messageCounts()) {
          if (c.received > 0) this.inc({ peer: c.node }, c.received);
        }
      },
    });
    const restarts = () => this.#restarts;
    const deltas = () => this.#deltas;
    new Counter({
      name: "weft_supervisor_restarts_total",
      help: "Children restarted by supervisors on this node",
      registers: [registry],
      collect() {
        this.reset();
        this.inc(restarts());
      },
    });
    new Counter({
      name: "weft_replicator_deltas_sent_total",
      help: "Replicated keys whose deltas this node sent",
      registers: [registry],
      collect() {
        this.reset();
        this.inc(deltas());
      },
    });
    const perConnection = (
      name: string,
      help: string,
      pick: (c: ReturnType<typeof kernel.connectionStats>[number]) => number,
    ) =>
      new Counter({
        name,
        help,
        labelNames: ["peer"],
        registers: [registry],
        collect() {
          this.reset();
          for (const c of kernel.connectionStats()) this.inc({ peer: c.node }, pick(c));
        },
      });
    perConnection(
      "weft_dist_bytes_sent_total",
      "Bytes written to each connected peer",
      (c) => c.bytesOut,
    );
    perConnection(
      "weft_dist_bytes_received_total",
      "Bytes read from each connected peer",
      (c) => c.bytesIn,
    );
    new Gauge({
      name: "weft_dist_queue_bytes",
      help: "Bytes queued to each connected peer, not yet written",
      labelNames: ["peer"],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of kernel.connectionStats()) this.set({ peer: c.node }, c.bytesQueued);
      },
    });
    new Gauge({
      name: "weft_connected_nodes",
      help: "Visible nodes connected now",
      registers: [registry],
      collect() {
        this.set(kernel.nodes("visible").length);
      },
    });
    const figures = () => node.rpc.observer.figures();
    new Gauge({
      name: "weft_processes",
      help: "Live processes on the node",
      registers: [registry],
      collect() {
        this.set(node.runtime.list().length);
      },
    });
    new Gauge({
      name: "weft_memory_bytes",
      help: "Memory of the node's OS process, by kind (rss, heap_used, heap_total)",
      labelNames: ["kind"],
      registers: [registry],
      collect() {
        const m = Deno.memoryUsage();
        this.set({ kind: "rss" }, m.rss);
        this.set({ kind: "heap_used" }, m.heapUsed);
        this.set({ kind: "heap_total" }, m.heapTotal);
      },
    });
    new Gauge({
      name: "weft_event_loop_delay_seconds",
      help: "Event-loop delay over the last seconds (mean, max), sampled while metrics are served",
      labelNames: ["stat"],
      registers: [registry],
      collect() {
        const d = figures().eventLoopDelay;
        this.set({ stat: "mean" }, d.meanMs / 1000);
        this.set({ stat: "max" }, d.maxMs / 1000);
      },
    });
    figures(); // starts the event-loop sampler
  }

  /** The metrics in Prometheus text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of {@linkcode NodeMetrics.text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Detaches from the node's telemetry. */
  close(): void {
    for (const id of this.#ids) this.#node.runtime.telemetry.detach(id);
    this.#ids.length = 0;
  }
}
