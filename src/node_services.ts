/**
 * The services a node runs, in one place: which start, in which order, and
 * how they stop (in reverse). `startNode` (node.ts) calls these two
 * functions; each service puts itself in the node's context
 * (`runtime.context`, see `process/node_context.ts`) under its key, where
 * the code acting for a process of the node finds it.
 *
 * ```
 * start (before the node accepts or dials its first connection):
 *   1 rpc        RPC_SERVICE           first, so every handshake announces remote spawn
 *   2 global     GLOBAL_NAMES          cluster-wide names, and GLOBAL_NAME_REGISTRY: {global: name}
 *   3 pg         PG_SCOPES ("pg")      the default process group scope
 *   4 pubsub     PUBSUB                topics (with its own pg scope)
 *   5 presence   PRESENCE              presences, carried by pubsub
 *   6 replicator REPLICATOR            replicated CRDT keys; durable ones in the data directory
 *   7 distributed DISTRIBUTED          distributed registries and supervisors (on the replicator)
 *   8 raft       RAFT                  Raft groups; resumes those kept in the data directory
 *   9 event sourcing EVENT_SOURCING    event store (opened on first use), router, projections
 *  10 cluster    CLUSTER               only with `cluster` options, once the node is up
 * stop:
 *   cluster, event sourcing, raft, distributed (hands children over), replicator, presence,
 *   pubsub, pg, global
 *                                           each tells its peers it leaves
 *   the node's processes                    runtime shutdown: links and monitors fire
 *   rpc                                     last: a call the shutdown ends still answers
 * ```
 *
 * A service that fails to start stops the ones started before it, and the
 * error reaches `startNode`'s caller.
 *
 * @example
 * ```ts
 * import { startNode } from "./node.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * console.assert(node.runtime.context.keys().includes("presence"));
 * await node.stop();
 * console.assert(node.runtime.context.keys().length === 0);
 * ```
 *
 * @module
 */

import type { Cluster } from "./cluster/cluster.ts";
import type { NetKernel } from "./distribution/net_kernel.ts";
import { EventSourcing, type EventSourcingOptions } from "./event_sourcing/event_sourcing.ts";
import { GlobalNames } from "./global/name_server.ts";
import { PgScope } from "./pg/scope.ts";
import type { Runtime } from "./process/runtime.ts";
import { Distributed } from "./distributed/service.ts";
import { Presence } from "./pubsub/presence.ts";
import { RaftService } from "./raft/raft_service.ts";
import { PubSub } from "./pubsub/pubsub.ts";
import { Replicator } from "./replicator/replicator.ts";
import { type RpcService, startRpc } from "./rpc/service.ts";
import type { CircuitBreakerOptions } from "./rpc/circuit_breaker.ts";

/** The services every node runs. */
export interface NodeServices {
  /** The node's rpc service: its modules and policy, calls and spawns from it and to it. */
  readonly rpc: RpcService;
  /** Cluster-wide unique names (OTP's `global`). */
  readonly global: GlobalNames;
  /** The default process group scope, `pg`. */
  readonly pg: PgScope;
  /** Topics across the cluster (Phoenix.PubSub). */
  readonly pubsub: PubSub;
  /** Presences on topics, replicated (Phoenix.Presence). */
  readonly presence: Presence;
  /**
   * Replicated data types (CRDTs) by key, Akka Distributed Data's
   * Replicator (`node.replicator.open("cart", "or-map")`).
   */
  readonly replicator: Replicator;
  /**
   * Distributed registries and supervisors, Horde's
   * (`node.distributed.registry("workers")`, `node.distributed.supervisor("jobs")`).
   */
  readonly distributed: Distributed;
  /** Raft groups (clusters) this node is a member of or a client of, ra's API (`node.raft.command`). */
  readonly raft: RaftService;
  /** Event sourcing: the node's event store, command router and projections (commanded). */
  readonly eventSourcing: EventSourcing;
}

/** The replicator's timings and replicas (`NodeOptions.replicator`). */
export interface ReplicatorSettings {
  /** Milliseconds between two delta batches. Default 100. */
  deltaInterval?: number;
  /** Milliseconds between two anti-entropy rounds. Default 1000. */
  antiEntropyInterval?: number;
  /** Only these nodes are replicas (default: every visible node). */
  nodes?: string[];
  /** Milliseconds a node stays away before it is pruned. Default 300000. */
  pruneAfter?: number;
}

/** The options of a node's services (part of `NodeOptions`). */
export interface NodeServicesOptions {
  /** `module.function` patterns peers may call by rpc (`--rpc-allow`); default: everything. */
  rpcAllow?: string[];
  /**
   * Whether peers may send function source to run here (`--no-remote-eval`
   * turns it off). Default: `true`, or `false` when `rpcAllow` is given.
   */
  remoteEval?: boolean;
  /** Modules to expose to rpc from the start: name -> object of functions. */
  modules?: Record<string, object>;
  /** Milliseconds a lost node's presences stay listed. Default 30000. */
  presenceDownPeriod?: number;
  /** The replicator's timings and replicas. */
  replicator?: ReplicatorSettings;
  /** Where durable replicated keys are kept (`--data-dir`). */
  dataDir?: string;
  /** The event store (PostgreSQL URL; default SQLite in the data directory) and router options. */
  eventSourcing?: EventSourcingOptions;
  /** The rpc circuit breaker per called node, or `false` for none (default: 5 failures in 10 s). */
  circuitBreaker?: CircuitBreakerOptions | false;
}

/**
 * Starts a node's services, in order (see the module doc). Call it before
 * the node's kernel serves or dials, so that every service sees every
 * peer come up.
 *
 * @param runtime the node's runtime
 * @param kernel the node's kernel
 * @param options the rpc policy and modules, the presence down period
 * @returns the running services
 * @throws {TypeError} when an rpc allow pattern or module is malformed (nothing is left running)
 * @throws {ServiceAlreadyRunningError} when a service already runs on the node
 *
 * @example
 * ```ts
 * import { startNodeServices, stopNodeServices } from "./node_services.ts";
 * import { NetKernel } from "./distribution/net_kernel.ts";
 * import { importCookie } from "./distribution/handshake.ts";
 * import { MemoryNetwork } from "./distribution/memory.ts";
 * import { Runtime } from "./process/runtime.ts";
 * const runtime = new Runtime({ node: "a@h" });
 * const kernel = new NetKernel({ runtime, cookie: importCookie("c"), transport: new MemoryNetwork(), listenPort: 0 });
 * const services = await startNodeServices(runtime, kernel, {});
 * console.assert(runtime.context.keys().includes("presence"));
 * await stopNodeServices(services, runtime);
 * await kernel.stop();
 * ```
 */
export async function startNodeServices(
  runtime: Runtime,
  kernel: NetKernel,
  options: NodeServicesOptions,
): Promise<NodeServices> {
  const started: { stop(): void | Promise<void> }[] = [];
  try {
    const rpc = startRpc(runtime, kernel, {
      allow: options.rpcAllow,
      remoteEval: options.remoteEval,
      ...(options.modules !== undefined ? { modules: options.modules } : {}),
      ...(options.circuitBreaker !== undefined ? { circuitBreaker: options.circuitBreaker } : {}),
    });
    started.push(rpc);
    const global = new GlobalNames({ runtime, kernel });
    started.push(global);
    const pg = new PgScope({ runtime, kernel });
    started.push(pg);
    const pubsub = new PubSub({ runtime, kernel });
    started.push(pubsub);
    const presence = new Presence({
      runtime,
      kernel,
      pubsub,
      ...(options.presenceDownPeriod !== undefined
        ? { downPeriod: options.presenceDownPeriod }
        : {}),
    });
    started.push(presence);
    const replicator = new Replicator({
      runtime,
      kernel,
      ...options.replicator,
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    });
    started.push(replicator);
    const distributed = new Distributed(runtime, kernel, replicator, rpc);
    started.push(distributed);
    const raft = new RaftService({
      runtime,
      kernel,
      rpc,
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    });
    started.push(raft);
    const eventSourcing = new EventSourcing(runtime, options.dataDir, options.eventSourcing);
    return { rpc, global, pg, pubsub, presence, replicator, distributed, raft, eventSourcing };
  } catch (e) {
    for (const service of started.reverse()) await service.stop();
    throw e;
  }
}

/**
 * Stops a node's services in reverse of their start, and the node's
 * processes before rpc (see the module doc). The kernel is the caller's to
 * stop afterwards.
 *
 * @param services what {@linkcode startNodeServices} returned
 * @param runtime the node's runtime
 * @param cluster the node's cluster membership, when it runs one
 *
 * @example
 * ```ts
 * import { startNode } from "./node.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * await node.stop(); // stopNodeServices, then the kernel and the listener
 * console.assert(node.runtime.closed);
 * ```
 */
export async function stopNodeServices(
  services: NodeServices,
  runtime: Runtime,
  cluster?: Cluster,
): Promise<void> {
  await cluster?.stop();
  await services.eventSourcing.stop();
  await services.raft.stop();
  await services.distributed.stop();
  await services.replicator.stop();
  await services.presence.stop();
  await services.pubsub.stop();
  await services.pg.stop();
  await services.global.stop();
  await runtime.shutdown();
  services.rpc.stop();
}
