/**
 * The skeleton shared by the services that keep state replicated across
 * the visible nodes of a cluster (global names, pg scopes, pubsub,
 * presence): a server process of their own on each node, and an exact
 * view of which *connection* to each peer their state came over.
 *
 * Why connections and not just node names: a peer that is cut off and
 * comes back (a partition heals, a node restarts) must be treated as a new
 * peer, whose old contribution is dropped and whose new state is taken in
 * full. `nodeup`/`nodedown` arrive in the server's mailbox, a turn after
 * the fact, while the service's operations from the peer are handled at
 * once as they arrive; so a `nodedown` can be read after the first
 * operations of the next connection. Each connection has its own
 * `PeerInfo` object (from its handshake), and the service compares those:
 *
 * ```
 * op from B on connection #2 ----> observe(B): peer(B) !== known(B) (#1)
 *                                  -> peerDown(B) (drop #1's state), peerUp(B) (send ours)
 *                                  -> handle the op
 * nodedown B (about #1, read late) -> known(B) is #2, still connected: nothing
 * nodeup B                         -> observe(B): already known: nothing
 * ```
 *
 * Hidden peers (or a hidden node itself) take no part, as in OTP.
 *
 * It lives in the distribution layer, below the services built on it
 * (src/global, src/pg, src/pubsub and the state layers above them). Which
 * services a node starts, and in which order, is `src/node_services.ts`.
 *
 * Why the services talk through the node kernel's operations for higher
 * layers (`kernel.sendOp` / `kernel.ops`, op codes 64-87) rather than by
 * messages between registered processes, as OTP's `global_name_server`
 * and `pg` do: an operation is handled the moment its connection delivers
 * it, in the connection's order and without a mailbox round, so a pg JOIN
 * is applied before any message that followed it from the same node, and
 * a pubsub BROADCAST is decoded once and fanned out to every local
 * subscriber in the same turn. The server process is still there for
 * what only a process can do: monitor local processes and receive node
 * events.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { NodeService } from "./node_service.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const ups: string[] = [];
 * const svc = new NodeService(node.runtime, node.kernel, {
 *   name: "my_service",
 *   peerUp: (peer) => ups.push(peer),
 *   peerDown: () => {},
 *   info: () => {},
 * });
 * svc.start();
 * console.assert(node.runtime.whereis("my_service")?.equals(svc.self));
 * await svc.stop();
 * await node.stop();
 * ```
 *
 * @module
 */

import { ProcessExitError } from "../errors.ts";
import type { PeerInfo } from "./handshake.ts";
import type { NetKernel, NodeDownMessage, NodeUpMessage } from "./net_kernel.ts";
import { logger } from "../log.ts";
import type { Runtime } from "../process/runtime.ts";
import type { ProcessContext } from "../process/types.ts";
import type { Pid } from "../term/pid.ts";

const log = logger("cluster");

/** What a service does when its view of the cluster changes. */
export interface NodeServiceHooks {
  /** The name the server process is registered under (unregistered when absent). */
  name?: string;
  /** The label shown by `info()` / `i()`. Default: the name. */
  label?: string;
  /**
   * A new connection to `node` is up (or, with `initial`, was up when the
   * service started): send it this node's state.
   */
  peerUp(node: string, initial: boolean): void;
  /** The connection to `node` whose state the service holds is gone: drop that state. */
  peerDown(node: string): void;
  /** Any other message of the server process (`DOWN` of monitored processes, ...). */
  info(msg: unknown): void;
}

/**
 * A server process plus the connection-exact peer view of one service on
 * one node.
 */
export class NodeService {
  /** The node's runtime. */
  readonly runtime: Runtime;
  /** The node kernel. */
  readonly kernel: NetKernel;
  /** The server process (monitors, node events). */
  readonly ctx: ProcessContext;
  #hooks: NodeServiceHooks;
  /** The connection of each peer the service has sent its state to. */
  #known = new Map<string, PeerInfo>();
  #stopped = false;
  #loop: Promise<void> | undefined;

  /**
   * Opens the server process; {@linkcode NodeService.start} then brings it
   * to life.
   *
   * @param runtime the node's runtime
   * @param kernel the node kernel
   * @param hooks what the service does on node events
   * @throws {NameError} when `hooks.name` is already registered
   */
  constructor(runtime: Runtime, kernel: NetKernel, hooks: NodeServiceHooks) {
    this.runtime = runtime;
    this.kernel = kernel;
    this.#hooks = hooks;
    this.ctx = runtime.open({ label: hooks.label ?? hooks.name ?? "service", trapExit: true });
    if (hooks.name !== undefined) {
      try {
        runtime.register(hooks.name, this.ctx.self);
      } catch (e) {
        this.ctx.exit("normal");
        throw e;
      }
    }
  }

  /**
   * Subscribes the server process to node events and takes the nodes
   * already connected as peers (`peerUp(node, true)`). Call it once the
   * service is ready to send its state.
   */
  start(): void {
    if (this.#loop !== undefined || this.#stopped) return;
    this.kernel.monitorNodes(this.ctx.self);
    this.#loop = this.#run();
    for (const node of this.kernel.nodes()) this.observe(node, true);
  }

  /** The server process's pid. */
  get self(): Pid {
    return this.ctx.self;
  }

  /** Whether {@linkcode NodeService.stop} was called (or the server process died). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Called before handling an operation from `node`: makes sure the
   * service knows the connection it came over (a new one is `peerDown`
   * then `peerUp`).
   *
   * @param node the sending node
   * @param initial passed on to `peerUp`
   * @returns `false` when the operation must be ignored (a hidden peer,
   *   no connection, or the service stopped)
   */
  observe(node: string, initial = false): boolean {
    if (this.#stopped || this.#loop === undefined || this.kernel.hidden) return false;
    const peer = this.kernel.peer(node);
    if (peer === undefined || peer.hidden) return false;
    const known = this.#known.get(node);
    if (known === peer) return true;
    if (known !== undefined) this.#down(node);
    this.#known.set(node, peer);
    this.#hooks.peerUp(node, initial);
    return true;
  }

  /** The peers whose connection the service knows, i.e. that have this node's state. */
  peers(): string[] {
    return [...this.#known.keys()];
  }

  /** Whether `node` is a current peer. */
  isPeer(node: string): boolean {
    return this.#known.has(node);
  }

  /**
   * Sends an operation to `node` if it is a current peer (never dials).
   *
   * @returns whether it was sent
   * @throws {TypeError} when a field cannot cross the wire
   */
  send(node: string, op: number, fields: readonly unknown[], key?: unknown): boolean {
    if (!this.#known.has(node)) return false;
    this.kernel.sendOp(node, op, fields, key);
    return true;
  }

  /**
   * Sends an operation to every current peer.
   *
   * @throws {TypeError} when a field cannot cross the wire
   */
  sendAll(op: number, fields: readonly unknown[], key?: unknown): void {
    for (const node of this.#known.keys()) this.kernel.sendOp(node, op, fields, key);
  }

  /** Stops the server process and forgets the peers; idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.kernel.monitorNodes(this.ctx.self, false);
    this.#known.clear();
    this.ctx.exit("normal");
    await this.#loop;
  }

  #down(node: string): void {
    this.#known.delete(node);
    this.#hooks.peerDown(node);
  }

  async #run(): Promise<void> {
    try {
      for (;;) {
        const msg = await this.ctx.receive();
        if (this.#stopped) return;
        try {
          this.#dispatch(msg);
        } catch (e) {
          log.error("Service {name} failed to handle {msg}: {error}", {
            name: this.#hooks.label ?? this.#hooks.name ?? "service",
            msg,
            error: e,
          });
        }
      }
    } catch (e) {
      if (!(e instanceof ProcessExitError)) throw e;
      if (!this.#stopped) {
        log.error("Service {name} stopped: its server process exited ({reason})", {
          name: this.#hooks.label ?? this.#hooks.name ?? "service",
          reason: e.reason,
        });
        this.#stopped = true;
        this.kernel.monitorNodes(this.ctx.self, false);
        for (const node of [...this.#known.keys()]) this.#down(node);
      }
    }
  }

  #dispatch(msg: unknown): void {
    const m = msg as NodeUpMessage | NodeDownMessage;
    if (typeof msg === "object" && msg !== null && typeof m.node === "string") {
      if (m.type === "nodeup") {
        this.observe(m.node);
        return;
      }
      if (m.type === "nodedown") {
        const known = this.#known.get(m.node);
        if (known !== undefined && this.kernel.peer(m.node) !== known) this.#down(m.node);
        // Connected again already: that connection is a new peer.
        this.observe(m.node);
        return;
      }
    }
    this.#hooks.info(msg);
  }
}
