/**
 * A cluster of real Weft nodes, each its own OS process, for a user's own
 * `Deno.test` (Elixir's LocalCluster, Erlang's `peer` + `ct_slave`):
 * start, stop, `kill -9`, restart, partition and heal them, and act on
 * them from the test through a hidden controller node.
 *
 * ```
 * test process                                 node1, node2, ... (child processes)
 *   port mapper (private port) <---- ALIVE ---- each node registers its name
 *   controller (hidden node) ------ connect ---> each node; never meshed, so it
 *                                                survives the partitions it makes
 *   each node: static topology of all names + fault agent (cluster config file)
 *   node1 <-----------------------------------> node2: meshed by discovery,
 *                                                again after a heal or a restart
 *   partition([a], [b]): controller ---- fault_block ----> agents on a and b
 * ```
 *
 * A node that does not start in time fails `start` (every node started so
 * far is killed). `close()` kills every node, stops the controller and
 * the port mapper and removes the config file, so Deno's sanitizers stay
 * quiet.
 *
 * @example
 * ```ts
 * import { LocalCluster } from "./local_cluster.ts";
 * const cluster = await LocalCluster.start(["lc_doc1", "lc_doc2"]);
 * try {
 *   const there = await cluster.list("lc_doc1@127.0.0.1");
 *   console.assert(JSON.stringify(there) === '["lc_doc2@127.0.0.1"]');
 *   console.assert((await cluster.call("lc_doc2@127.0.0.1", (x: number) => x + 1, [41])) === 42);
 * } finally {
 *   await cluster.close();
 * }
 * ```
 *
 * @module
 */

import { startEpmdServer } from "../distribution/epmd/server.ts";
import type { EpmdServer } from "../distribution/epmd/server.ts";
import { Faults } from "../cluster/faults.ts";
import { startNode, type WeftNode } from "../node.ts";
import { rpc } from "../rpc/namespace.ts";
import type { RpcCallOptions } from "../rpc/service.ts";
import { TimeoutError } from "../errors.ts";
import { type Peer, startPeer } from "./peer.ts";

/** Options of {@linkcode LocalCluster.start}. */
export interface LocalClusterOptions {
  /** The cookie of every node. Default: a random one. */
  cookie?: string;
  /**
   * A script every node runs (`--script`, with the shell's names in
   * scope): the application under test. It should end with a wait.
   */
  script?: string | URL;
  /** A line each node prints once its script is ready (waited for on start and restart). */
  readyLine?: RegExp;
  /** More command-line flags for every node, e.g. `["--net-ticktime", "2"]`. */
  args?: string[];
  /**
   * More of the nodes' cluster configuration (the JSON of `--cluster-config`),
   * e.g. `{ splitBrainResolver: { strategy: "keep-majority", stableAfter: 1000 } }`.
   * The topology (every node, static) and `chaos` are the cluster's own.
   */
  cluster?: Record<string, unknown>;
  /** Milliseconds to wait for each node to start and for the mesh. Default 30000. */
  timeout?: number;
}

const NAME = /^[A-Za-z0-9_-]+$/;

/**
 * Real nodes `NAME@127.0.0.1` in child processes, meshed, with a hidden
 * controller node in this process.
 *
 * @example
 * ```ts
 * import { LocalCluster } from "./local_cluster.ts";
 * const cluster = await LocalCluster.start(["lc_a", "lc_b", "lc_c"]);
 * try {
 *   await cluster.partition(["lc_a@127.0.0.1"], ["lc_b@127.0.0.1", "lc_c@127.0.0.1"]);
 *   console.assert((await cluster.list("lc_a@127.0.0.1")).length === 0);
 *   await cluster.heal();
 *   await cluster.kill("lc_c@127.0.0.1");
 *   console.assert((await cluster.list("lc_a@127.0.0.1")).length === 1);
 * } finally {
 *   await cluster.close();
 * }
 * ```
 */
export class LocalCluster {
  /** The hidden controller node in this process: act on the cluster from it. */
  readonly controller: WeftNode;
  readonly #epmd: EpmdServer;
  readonly #config: string;
  readonly #options: LocalClusterOptions;
  readonly #cookie: string;
  readonly #names: string[];
  readonly #peers = new Map<string, Peer>();
  readonly #faults: Faults;
  #closed = false;

  private constructor(
    controller: WeftNode,
    epmd: EpmdServer,
    config: string,
    names: string[],
    cookie: string,
    options: LocalClusterOptions,
  ) {
    this.controller = controller;
    this.#epmd = epmd;
    this.#config = config;
    this.#names = names;
    this.#cookie = cookie;
    this.#options = options;
    this.#faults = new Faults({ controller });
  }

  /**
   * Starts the nodes `NAME@127.0.0.1` for each bare name, and waits until
   * every one is connected to every other.
   *
   * @param names bare node names
   * @param options cookie, the application's script, flags, deadline
   * @returns the cluster
   * @throws {TypeError} when a name is not a bare node name, or names repeat
   * @throws {TimeoutError} when a node does not start or the mesh does not form in time
   */
  static async start(names: string[], options: LocalClusterOptions = {}): Promise<LocalCluster> {
    if (!Array.isArray(names) || names.length === 0) {
      throw new TypeError("Cannot start a local cluster: expected a non-empty array of node names");
    }
    for (const n of names) {
      if (typeof n !== "string" || !NAME.test(n)) {
        throw new TypeError(
          `Cannot start a local cluster: a name must be letters, digits, _ and - (the host is 127.0.0.1), received ${
            JSON.stringify(n)
          }`,
        );
      }
    }
    if (new Set(names).size !== names.length) {
      throw new TypeError("Cannot start a local cluster: node names repeat");
    }
    const full = names.map((n) => `${n}@127.0.0.1`);
    const cookie = options.cookie ?? crypto.randomUUID();
    const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
    const config = await Deno.makeTempFile({ prefix: "weft_local_cluster_", suffix: ".json" });
    let controller: WeftNode | undefined;
    try {
      await Deno.writeTextFile(
        config,
        JSON.stringify({
          ...options.cluster,
          topologies: { local: { strategy: "static", config: { nodes: full } } },
          chaos: true,
        }),
      );
      controller = await startNode({
        name: `weft_test_${crypto.randomUUID().slice(0, 8)}@127.0.0.1`,
        cookie,
        hostname: "127.0.0.1",
        epmdPort: epmd.port,
        startEpmd: false,
        hidden: true,
      });
    } catch (e) {
      await controller?.stop();
      await epmd.close();
      await Deno.remove(config).catch(() => {});
      throw e;
    }
    const cluster = new LocalCluster(controller, epmd, config, full, cookie, options);
    try {
      await Promise.all(full.map((n) => cluster.#startPeer(n)));
      await cluster.waitForMesh();
      return cluster;
    } catch (e) {
      await cluster.close();
      throw e;
    }
  }

  /** Every node of the cluster (`name@127.0.0.1`), running or not. */
  get names(): string[] {
    return [...this.#names];
  }

  /** The nodes running now. */
  running(): string[] {
    return this.#names.filter((n) => this.#peers.get(n)?.exited === false);
  }

  /**
   * The child process of a node (its output, its OS pid).
   *
   * @throws {TypeError} when the name is not a node of this cluster
   */
  peer(name: string): Peer {
    const peer = this.#peers.get(this.#check(name));
    if (peer === undefined) throw new TypeError(`Cannot find node ${name}: it was never started`);
    return peer;
  }

  /**
   * Runs a self-contained function on `node` (`rpc.call` from the
   * controller) and returns its result.
   */
  call<A extends unknown[], R>(
    node: string,
    fn: (...args: A) => R,
    args?: A,
    options: Omit<RpcCallOptions, "runtime"> = {},
  ): Promise<Awaited<R>> {
    return rpc.call(this.#check(node), fn, args ?? ([] as unknown as A), {
      ...options,
      runtime: this.controller.runtime,
    });
  }

  /** The nodes `node` is connected to now (its `Node.list()`), asked from the controller. */
  list(node: string, options: Omit<RpcCallOptions, "runtime"> = {}): Promise<string[]> {
    return rpc.call<string[]>(this.#check(node), "node", "list", [], {
      ...options,
      runtime: this.controller.runtime,
    });
  }

  /** Stops a node gracefully (SIGTERM): its peers see `nodedown`. */
  async stop(node: string): Promise<void> {
    await this.peer(node).stop();
  }

  /** Kills a node at once (SIGKILL, `kill -9`): no goodbye; its peers see `nodedown`. */
  async kill(node: string): Promise<void> {
    await this.peer(node).kill();
  }

  /** Starts a stopped or killed node again (a new incarnation) and waits until it is meshed. */
  async restart(node: string): Promise<void> {
    const peer = this.#peers.get(this.#check(node));
    if (peer !== undefined && !peer.exited) await peer.stop();
    await this.#startPeer(node);
    await this.waitForMesh();
  }

  /** Cuts the links between two sides (each node refuses the other side); see `Faults`. */
  partition(a: string[], b: string[]): Promise<void> {
    return this.#faults.cut(a.map((n) => this.#check(n)), b.map((n) => this.#check(n)));
  }

  /** Heals every cut and waits until the running nodes are meshed again. */
  async heal(): Promise<void> {
    await this.#faults.heal();
    await this.waitForMesh();
  }

  /**
   * Waits until every running node is connected to every other running node.
   *
   * @throws {TimeoutError} naming what each node sees
   */
  async waitForMesh(): Promise<void> {
    const timeout = this.#options.timeout ?? 30_000;
    const deadline = Date.now() + timeout;
    let views: string[] = [];
    for (;;) {
      const up = this.running();
      views = await Promise.all(up.map(async (n) => {
        try {
          if (!this.controller.list("hidden").includes(n)) await this.controller.connect(n);
          const seen = await this.list(n, { timeout: 2000 });
          return up.every((m) => m === n || seen.includes(m)) ? "" : `${n} sees [${seen}]`;
        } catch (e) {
          return `${n}: ${(e as Error).message}`;
        }
      }));
      if (views.every((v) => v === "")) return;
      if (Date.now() > deadline) {
        throw new TimeoutError(
          `Cannot form the local cluster within ${timeout} ms: ${
            views.filter((v) => v).join("; ")
          }`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Kills every node and stops the controller and the port mapper; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#faults.close();
    await Promise.all([...this.#peers.values()].map((p) => p.kill()));
    await this.controller.stop();
    await this.#epmd.close();
    await Deno.remove(this.#config).catch(() => {});
  }

  async #startPeer(name: string): Promise<void> {
    const o = this.#options;
    const peer = await startPeer(name.slice(0, name.indexOf("@")), {
      cookie: this.#cookie,
      epmdPort: this.#epmd.port,
      clusterConfig: this.#config,
      ...(o.script !== undefined ? { script: o.script } : {}),
      ...(o.readyLine !== undefined ? { readyLine: o.readyLine } : {}),
      ...(o.args !== undefined ? { args: o.args } : {}),
      ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
    });
    this.#peers.set(name, peer);
  }

  #check(name: string): string {
    if (!this.#names.includes(name)) {
      throw new TypeError(
        `Cannot find node ${JSON.stringify(name)} in the local cluster (nodes: ${
          this.#names.join(", ")
        })`,
      );
    }
    return name;
  }
}
