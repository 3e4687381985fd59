/**
 * Fault injection for tests: cut the links between named sets of nodes
 * (a network partition) and heal them, for nodes in this process and
 * nodes in other OS processes alike, so partition scenarios are tests
 * rather than hopes.
 *
 * A cut is made by each node refusing the other side (`NetKernel.block`):
 * the connection is closed (both see `nodedown`), connects are refused
 * both ways, and the mesh cannot route around it because every pair
 * across the cut is blocked on both ends. Healing unblocks and connects
 * every pair again, so the mesh is whole at once.
 *
 * A node in this process is driven directly. A node in another process
 * is driven through its fault agent, a process registered as
 * `weft_faults` ({@linkcode startFaultAgent}), by messages from a
 * *controller* node of this process:
 *
 * ```
 * controller ---- {type: "fault_block", nodes, ref, from} ----> weft_faults on C
 *                                      C: block each node, wait until disconnected
 * controller <--- {type: "fault_done", ref, results} ----------
 * (and fault_unblock, fault_connect the same way)
 * ```
 *
 * The controller must stay reachable from every node it drives: make it a
 * hidden node (not meshed, ignored by global/pg/presence) or keep it on
 * the side of the nodes it drives.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { Faults } from "./faults.ts";
 * const opts = { cookie: "c", noEpmd: true, hostname: "127.0.0.1" };
 * const a = await startNode({ name: "a@127.0.0.1", ...opts });
 * const b = await startNode({ name: "b@127.0.0.1", ...opts });
 * await a.connect(`b@127.0.0.1:${b.port}`);
 * const faults = new Faults();
 * await faults.cut([a], [b]);
 * console.assert(!(await a.connect(b.name)));
 * await faults.heal();
 * console.assert(a.list().includes(b.name));
 * await a.stop();
 * await b.stop();
 * ```
 *
 * @module
 */

import { NoConnectionError, NotAliveError, TimeoutError } from "../errors.ts";
import { NetKernel } from "../distribution/net_kernel.ts";
import { logger } from "../log.ts";
import type { ClusterNode } from "./cluster.ts";
import { current } from "../process/current.ts";
import type { Runtime } from "../process/runtime.ts";
import type { ProcessContext } from "../process/types.ts";
import { parseNodeName } from "../term/node_name.ts";
import { Pid, Ref } from "../term/pid.ts";

const log = logger("cluster");

/** The name of the fault agent process on a node that runs one. */
export const FAULT_AGENT_NAME = "weft_faults";

/** A command to a fault agent. */
export interface FaultCommand {
  /** Block (cut off), unblock, or connect to `nodes`. */
  type: "fault_block" | "fault_unblock" | "fault_connect";
  /** The nodes (`name@host`, or `name@host:port` to connect without a port mapper). */
  nodes: string[];
  /** Echoed in the reply. */
  ref: Ref;
  /** Who gets the reply. */
  from: Pid;
}

/** A fault agent's reply: one result per node of the command (`connect`'s outcome, else `true`). */
export interface FaultReply {
  /** Always `"fault_done"`. */
  type: "fault_done";
  /** The command's ref. */
  ref: Ref;
  /** Per node, in order. */
  results: boolean[];
}

/** A node to cut or heal: a node of this process, or the name of a node running a fault agent. */
export type FaultTarget = ClusterNode | string;

/** Options for {@linkcode Faults}. */
export interface FaultsOptions {
  /** The node that drives nodes of other processes (by name); needed only for those. */
  controller?: ClusterNode;
  /** Milliseconds to wait for each node to apply a change. Default 10000. */
  timeout?: number;
}

/**
 * Starts the fault agent of a node, which applies {@linkcode FaultCommand}s
 * from any peer. Run it only on nodes under test: any node with the cookie
 * may cut this one off.
 *
 * @param runtime the node's runtime; default the calling process's
 * @returns the agent's pid (registered as `weft_faults`)
 * @throws {NotAliveError} when the runtime does not run distribution
 * @throws {NameError} when an agent already runs there
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { FAULT_AGENT_NAME, startFaultAgent } from "./faults.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const agent = startFaultAgent(node.runtime);
 * console.assert(node.runtime.whereis(FAULT_AGENT_NAME)?.equals(agent));
 * await node.stop();
 * ```
 */
export function startFaultAgent(runtime?: Runtime): Pid {
  const rt = runtime ?? current().runtime;
  const kernel = rt.router;
  if (!(kernel instanceof NetKernel)) {
    throw new NotAliveError(`Cannot start a fault agent: ${rt.node} does not run distribution`);
  }
  return rt.spawn(async (ctx) => {
    for (;;) {
      const cmd = await ctx.receive<FaultCommand>();
      if (typeof cmd !== "object" || cmd === null || !Array.isArray(cmd.nodes)) continue;
      let results: boolean[];
      try {
        results = await apply(kernel, cmd.type, cmd.nodes.map(String));
      } catch (e) {
        log.warning("Fault agent cannot apply {type}: {error}", { type: cmd.type, error: e });
        results = cmd.nodes.map(() => false);
      }
      if (cmd.from instanceof Pid) {
        ctx.send(cmd.from, { type: "fault_done", ref: cmd.ref, results } satisfies FaultReply);
      }
    }
  }, { name: FAULT_AGENT_NAME, label: FAULT_AGENT_NAME });
}

/** Applies one command on `kernel`'s node. */
async function apply(
  kernel: NetKernel,
  type: FaultCommand["type"],
  nodes: string[],
): Promise<boolean[]> {
  switch (type) {
    case "fault_block": {
      for (const n of nodes) kernel.block(n);
      const names = nodes.map((n) => parseNodeName(n).full);
      await until(() => !kernel.nodes("all").some((n) => names.includes(n)), 5000);
      return nodes.map(() => true);
    }
    case "fault_unblock":
      return nodes.map((n) => (kernel.unblock(n), true));
    case "fault_connect":
      return await Promise.all(nodes.map((n) => kernel.connect(n)));
    default:
      throw new TypeError(`Unknown fault command: ${type}`);
  }
}

/**
 * Cuts and heals links between sets of nodes; remembers its cuts so that
 * `heal()` undoes them all.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { Faults } from "./faults.ts";
 * const opts = { cookie: "c", noEpmd: true, hostname: "127.0.0.1" };
 * const [a, b, c] = await Promise.all(["a", "b", "c"].map((n) => startNode({ name: `${n}@127.0.0.1`, ...opts })));
 * await a!.connect(`b@127.0.0.1:${b!.port}`);
 * await a!.connect(`c@127.0.0.1:${c!.port}`);
 * const faults = new Faults();
 * await faults.partition([a!], [b!, c!]);
 * console.assert(a!.list().length === 0);
 * await faults.heal();
 * console.assert(a!.list().length === 2);
 * await Promise.all([a!.stop(), b!.stop(), c!.stop()]);
 * ```
 */
export class Faults {
  #controller: ClusterNode | undefined;
  #timeout: number;
  /** The cuts in force: pairs of targets. */
  #cuts: Array<[FaultTarget, FaultTarget]> = [];
  #ctx: ProcessContext | undefined;

  /** @param options the controller (for nodes of other processes) and the timeout */
  constructor(options: FaultsOptions = {}) {
    this.#controller = options.controller;
    this.#timeout = options.timeout ?? 10_000;
  }

  /**
   * Cuts every link between nodes of different sides.
   *
   * @param sides two or more sets of nodes
   * @throws {TimeoutError} when a node of another process does not answer in time
   * @throws {TypeError} when a node of another process is given without a controller
   */
  async partition(...sides: FaultTarget[][]): Promise<void> {
    for (let i = 0; i < sides.length; i++) {
      for (let j = i + 1; j < sides.length; j++) await this.cut(sides[i]!, sides[j]!);
    }
  }

  /**
   * Cuts every link between a node of `a` and a node of `b`, and waits
   * until those connections are gone on both ends.
   *
   * @param a one side
   * @param b the other side
   * @throws {TimeoutError} when a node does not apply it in time
   * @throws {TypeError} when a node of another process is given without a controller
   */
  async cut(a: FaultTarget[], b: FaultTarget[]): Promise<void> {
    const pairs: Array<[FaultTarget, FaultTarget]> = [];
    for (const x of a) for (const y of b) pairs.push([x, y]);
    this.#cuts.push(...pairs);
    await Promise.all([
      ...a.map((x) => this.#command(x, "fault_block", b.map(nameOf))),
      ...b.map((y) => this.#command(y, "fault_block", a.map(nameOf))),
    ]);
  }

  /**
   * Heals cuts: between `a` and `b`, or every cut this object made when
   * called without arguments. Each pair is unblocked on both ends, then
   * connected again.
   *
   * @param a one side
   * @param b the other side
   * @throws {NoConnectionError} when a pair cannot connect again
   * @throws {TimeoutError} when a node does not answer in time
   */
  async heal(a?: FaultTarget[], b?: FaultTarget[]): Promise<void> {
    let pairs: Array<[FaultTarget, FaultTarget]>;
    if (a === undefined || b === undefined) {
      pairs = this.#cuts;
      this.#cuts = [];
    } else {
      const names = (side: FaultTarget[]) => new Set(side.map(nameOf));
      const an = names(a);
      const bn = names(b);
      pairs = [];
      for (const x of a) for (const y of b) pairs.push([x, y]);
      this.#cuts = this.#cuts.filter(([x, y]) =>
        !((an.has(nameOf(x)) && bn.has(nameOf(y))) || (bn.has(nameOf(x)) && an.has(nameOf(y))))
      );
    }
    if (pairs.length === 0) return;
    const unblock = new Map<FaultTarget, string[]>();
    const add = (node: FaultTarget, other: FaultTarget) => {
      const key = [...unblock.keys()].find((k) => nameOf(k) === nameOf(node)) ?? node;
      unblock.set(key, [...(unblock.get(key) ?? []), nameOf(other)]);
    };
    for (const [x, y] of pairs) {
      add(x, y);
      add(y, x);
    }
    await Promise.all(
      [...unblock].map(([node, others]) => this.#command(node, "fault_unblock", others)),
    );
    await Promise.all(pairs.map(async ([x, y]) => {
      const [ok] = await this.#command(x, "fault_connect", [addressOf(y)]);
      if (!ok) {
        throw new NoConnectionError(
          nameOf(y),
          `Cannot heal: ${nameOf(x)} could not connect to ${nameOf(y)}`,
        );
      }
    }));
  }

  /** Ends the controller's process used to talk to fault agents (it is made again when needed). */
  close(): void {
    this.#ctx?.exit("normal");
    this.#ctx = undefined;
  }

  /** The cuts in force, as pairs of node names. */
  cuts(): [string, string][] {
    return this.#cuts.map(([x, y]) => [nameOf(x), nameOf(y)]);
  }

  /** Runs a command on `target`: directly for a node of this process, else through its agent. */
  async #command(
    target: FaultTarget,
    type: FaultCommand["type"],
    nodes: string[],
  ): Promise<boolean[]> {
    if (typeof target !== "string") {
      const kernel = target.kernel;
      if (type !== "fault_block") return await apply(kernel, type, nodes);
      for (const n of nodes) kernel.block(n);
      // Our end closes at once; wait for the other end to see it too when it is ours to watch.
      return nodes.map(() => true);
    }
    const controller = this.#controller;
    if (controller === undefined) {
      throw new TypeError(
        `Cannot drive ${target}: a node of another process needs a controller (new Faults({ controller }))`,
      );
    }
    const node = parseNodeName(target).full;
    if (!(await controller.kernel.connect(target))) {
      throw new NoConnectionError(node, `Cannot reach the fault agent of ${node}`);
    }
    const ctx = this.#ctx ??= controller.runtime.open({ label: "faults" });
    const ref = controller.runtime.makeRef();
    ctx.send(
      { name: FAULT_AGENT_NAME, node },
      { type, nodes, ref, from: ctx.self } satisfies FaultCommand,
    );
    let reply: FaultReply;
    try {
      reply = await ctx.receive<FaultReply>(
        (m) => (m as FaultReply)?.type === "fault_done" && ref.equals((m as FaultReply).ref),
        { timeout: this.#timeout },
      );
    } catch (e) {
      if (e instanceof TimeoutError) {
        throw new TimeoutError(
          `No answer from the fault agent of ${node} within ${this.#timeout} ms (is it running?)`,
          { cause: e },
        );
      }
      throw e;
    }
    return reply.results;
  }
}

function nameOf(target: FaultTarget): string {
  return typeof target === "string" ? parseNodeName(target).full : target.name;
}

/** How to reach a target: `name@host:port` for a node of this process, as given otherwise. */
function addressOf(target: FaultTarget): string {
  return typeof target === "string" ? target : `${target.name}:${target.port}`;
}

async function until(predicate: () => boolean, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!predicate() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
