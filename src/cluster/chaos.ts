/**
 * Chaos tooling, from code and from the shell: partition the cluster into
 * groups, heal it, and put latency or loss on a link — acting from any
 * node on the links of the whole cluster.
 *
 * Cuts are made by the fault agents of `faults.ts` (`weft_faults` on each
 * node: it blocks the other side in its kernel); latency and loss by the
 * chaos agent (`weft_chaos`), which sets `NetKernel.setLinkFault`. Run
 * both on every node under test: `startChaosAgents(runtime)`, or
 * `"chaos": true` in the cluster config.
 *
 * The node driving the chaos must stay able to reach every node to heal
 * them, including nodes on the other side of a partition it is part of.
 * So no node is ever told to block *it*: it blocks the other side itself,
 * last, and on `heal()` unblocks itself first, reconnects, then has the
 * others unblock each other:
 *
 * ```
 * partition([a, X], [b, c])     from X
 *   a  --weft_faults--> block b, c       b, c --weft_faults--> block a
 *   X  blocks b, c itself (one-sided: a blocked link refuses both ways)
 * heal()
 *   X  clears its end of every degraded link, then has the far ends clear theirs
 *   X  unblocks b, c, connects to them
 *   a, b, c --weft_faults--> unblock each other, connect each pair
 * latency(a, b, 200)
 *   a --weft_chaos--> delay what a sends to b by 200 ms; b likewise to a
 * ```
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { Chaos, startChaosAgents } from "./chaos.ts";
 * const opts = { cookie: "c", noEpmd: true, hostname: "127.0.0.1" };
 * const a = await startNode({ name: "a@127.0.0.1", ...opts });
 * const b = await startNode({ name: "b@127.0.0.1", ...opts });
 * startChaosAgents(a.runtime);
 * startChaosAgents(b.runtime);
 * await a.connect(`b@127.0.0.1:${b.port}`);
 * const chaos = new Chaos(a);
 * await chaos.partition(["a@127.0.0.1"], ["b@127.0.0.1"]);
 * console.assert(a.list().length === 0);
 * await chaos.heal();
 * console.assert(a.list().includes("b@127.0.0.1"));
 * chaos.close();
 * await a.stop();
 * await b.stop();
 * ```
 *
 * @module
 */

import { NoConnectionError, NotAliveError, TimeoutError } from "../errors.ts";
import { type LinkFault, NetKernel } from "../distribution/net_kernel.ts";
import { logger } from "../log.ts";
import type { ClusterNode } from "./cluster.ts";
import { ServiceKey } from "../process/node_context.ts";
import type { Runtime } from "../process/runtime.ts";
import type { ProcessContext } from "../process/types.ts";
import { parseNodeName } from "../term/node_name.ts";
import { Pid, type Ref } from "../term/pid.ts";
import { FAULT_AGENT_NAME, Faults, startFaultAgent } from "./faults.ts";

export type { LinkFault } from "../distribution/net_kernel.ts";

const log = logger("cluster");

/** The name of the chaos agent process on a node that runs one. */
export const CHAOS_AGENT_NAME = "weft_chaos";

/** A command to a chaos agent: set (or clear, with `fault: null`) the fault on its links to `nodes`. */
export interface ChaosLinkCommand {
  type: "chaos_link";
  /** The nodes at the other end of the links. */
  nodes: string[];
  /** The fault, or `null` to clear it. */
  fault: LinkFault | null;
  /** Echoed in the reply. */
  ref: Ref;
  /** Who gets the reply. */
  from: Pid;
}

/** A chaos agent's reply. */
export interface ChaosLinkReply {
  type: "chaos_done";
  ref: Ref;
  /** `undefined` when applied, else why not. */
  error?: string;
}

/**
 * Starts the agents chaos needs on a node, unless they run already: the
 * fault agent (`weft_faults`, for partitions) and the chaos agent
 * (`weft_chaos`, for link latency and loss). Run them only on nodes under
 * test: any node with the cookie may then cut this one off.
 *
 * @param runtime the node's runtime
 * @throws {NotAliveError} when the runtime does not run distribution
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { CHAOS_AGENT_NAME, startChaosAgents } from "./chaos.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * startChaosAgents(a.runtime);
 * startChaosAgents(a.runtime);
 * console.assert(a.runtime.whereis(CHAOS_AGENT_NAME) !== undefined);
 * await a.stop();
 * ```
 */
export function startChaosAgents(runtime: Runtime): void {
  const kernel = runtime.router;
  if (!(kernel instanceof NetKernel)) {
    throw new NotAliveError(`Cannot start chaos agents: ${runtime.node} does not run distribution`);
  }
  if (runtime.whereis(FAULT_AGENT_NAME) === undefined) startFaultAgent(runtime);
  if (runtime.whereis(CHAOS_AGENT_NAME) !== undefined) return;
  runtime.spawn(async (ctx) => {
    for (;;) {
      const cmd = await ctx.receive<ChaosLinkCommand>();
      if (cmd?.type !== "chaos_link" || !Array.isArray(cmd.nodes)) continue;
      const error = checkLinkCommand(cmd);
      if (error !== undefined) {
        log.warning("Chaos agent cannot set a link fault: {error}", { error });
      }
      const apply = () => {
        if (error !== undefined) return;
        for (const n of cmd.nodes) kernel.setLinkFault(String(n), cmd.fault ?? undefined);
      };
      // The reply must not be held back or dropped by the fault it sets:
      // it goes out before a fault is set, and after one is cleared.
      if (cmd.fault === null) apply();
      if (cmd.from instanceof Pid) {
        ctx.send(
          cmd.from,
          {
            type: "chaos_done",
            ref: cmd.ref,
            ...(error !== undefined ? { error } : {}),
          } satisfies ChaosLinkReply,
        );
      }
      if (cmd.fault !== null) apply();
    }
  }, { name: CHAOS_AGENT_NAME, label: CHAOS_AGENT_NAME });
}

/** Options for {@linkcode Chaos}. */
export interface ChaosOptions {
  /** Milliseconds to wait for each node to apply a change. Default 10000. */
  timeout?: number;
}

/** What {@linkcode Chaos.status} tells. */
export interface ChaosStatus {
  /** Links cut, as pairs of node names. */
  cuts: [string, string][];
  /** Links with latency or loss. */
  links: { a: string; b: string; fault: LinkFault }[];
}

/**
 * Partitions, heals and degrades links of a cluster, driven from one node.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { Chaos, startChaosAgents } from "./chaos.ts";
 * const opts = { cookie: "c", noEpmd: true, hostname: "127.0.0.1" };
 * const a = await startNode({ name: "a@127.0.0.1", ...opts });
 * const b = await startNode({ name: "b@127.0.0.1", ...opts });
 * for (const n of [a, b]) startChaosAgents(n.runtime);
 * await a.connect(`b@127.0.0.1:${b.port}`);
 * const chaos = new Chaos(a);
 * await chaos.latency("a@127.0.0.1", "b@127.0.0.1", 50);
 * console.assert(chaos.status().links[0]?.fault.delay === 50);
 * await chaos.heal();
 * chaos.close();
 * await a.stop();
 * await b.stop();
 * ```
 */
export class Chaos {
  #node: ClusterNode;
  #faults: Faults;
  #timeout: number;
  /** Nodes this node blocked itself (its side of a partition it is part of). */
  #ownBlocks = new Set<string>();
  /** Link faults set, by `a\nb` (a < b). */
  #links = new Map<string, { a: string; b: string; fault: LinkFault }>();
  #ctx: ProcessContext | undefined;

  /**
   * @param node the node that drives the chaos
   * @param options the timeout
   */
  constructor(node: ClusterNode, options: ChaosOptions = {}) {
    this.#node = node;
    this.#timeout = options.timeout ?? 10_000;
    this.#faults = new Faults({ controller: node, timeout: this.#timeout });
  }

  /**
   * Cuts every link between nodes of different groups; nodes in no group
   * keep their links. Resolves once every cut is in place.
   *
   * @param groups two or more disjoint lists of node names
   * @throws {TypeError} when fewer than two groups are given, a name is malformed, or groups overlap
   * @throws {TimeoutError} when a node's fault agent does not answer in time
   * @throws {NoConnectionError} when a node cannot be reached to apply its side
   */
  async partition(...groups: string[][]): Promise<void> {
    const sides = checkGroups(groups);
    const self = this.#node.name;
    const others = sides.map((g) => g.filter((n) => n !== self));
    for (let i = 0; i < others.length; i++) {
      for (let j = i + 1; j < others.length; j++) {
        if (others[i]!.length > 0 && others[j]!.length > 0) {
          await this.#faults.cut(others[i]!, others[j]!);
        }
      }
    }
    const mine = sides.findIndex((g) => g.includes(self));
    if (mine >= 0) {
      // Last, so that the commands above could still reach the other side.
      sides.forEach((g, j) => {
        if (j === mine) return;
        for (const n of g) {
          this.#node.kernel.block(n);
          this.#ownBlocks.add(n);
        }
      });
    }
    log.info("Chaos: partitioned {groups}", {
      groups: sides.map((g) => `[${g.join(", ")}]`).join(" | "),
    });
  }

  /**
   * Cuts the one link between `a` and `b`.
   *
   * @param a one node
   * @param b the other
   */
  cut(a: string, b: string): Promise<void> {
    return this.partition([a], [b]);
  }

  /**
   * Clears every link fault and lifts every cut this object made, then
   * connects the pairs again (a pair that cannot connect at once is left
   * to its topologies).
   *
   * Heal's own requests must not be delayed or lost by the faults they
   * undo, so it goes in the order that keeps its path clear: this node's
   * end of each degraded link first, then the far ends (whose agents clear
   * before they answer), then its own blocks, then the other nodes' cuts.
   * Every step is tried even when one fails; the first failure is thrown
   * at the end.
   *
   * @throws {TimeoutError} when a node's agent does not answer in time
   */
  async heal(): Promise<void> {
    const failures: unknown[] = [];
    const attempt = async (step: () => Promise<void>) => {
      try {
        await step();
      } catch (e) {
        failures.push(e);
      }
    };
    const self = this.#node.name;
    for (const { a, b } of this.#links.values()) {
      if (a === self || b === self) this.#node.kernel.setLinkFault(a === self ? b : a, undefined);
    }
    await attempt(() => this.clearLinks());
    const own = [...this.#ownBlocks];
    this.#ownBlocks.clear();
    for (const n of own) this.#node.kernel.unblock(n);
    await Promise.all(own.map((n) => this.#node.kernel.connect(n)));
    await attempt(async () => {
      try {
        await this.#faults.heal();
      } catch (e) {
        if (!(e instanceof NoConnectionError)) throw e;
        log.info("Chaos: healed, but {error}; the topologies will reconnect it", {
          error: e.message,
        });
      }
    });
    if (failures.length > 0) throw failures[0];
    log.info("Chaos: healed");
  }

  /**
   * Delays what `a` and `b` send each other by `ms` (plus up to `jitter`).
   *
   * @param a one node
   * @param b the other
   * @param ms milliseconds added to each message
   * @param options random extra delay
   * @throws {RangeError} when a delay is negative
   */
  latency(a: string, b: string, ms: number, options: { jitter?: number } = {}): Promise<void> {
    return this.#setLink(a, b, { delay: ms, jitter: options.jitter ?? 0 });
  }

  /**
   * Drops a share of what `a` and `b` send each other.
   *
   * @param a one node
   * @param b the other
   * @param rate the share dropped, 0-1
   * @throws {RangeError} when the rate is not in 0-1
   */
  drop(a: string, b: string, rate: number): Promise<void> {
    return this.#setLink(a, b, { drop: rate });
  }

  /**
   * Clears every link fault this object set.
   *
   * @throws {TimeoutError} when a node's agent does not answer in time (the link stays listed)
   */
  async clearLinks(): Promise<void> {
    // A link stays listed until both its ends are cleared, so that a failed clear shows in
    // status() and the next heal() tries it again.
    const results = await Promise.allSettled(
      [...this.#links].map(async ([key, { a, b }]) => {
        await this.#applyLink(a, b, null);
        this.#links.delete(key);
      }),
    );
    const failed = results.find((r) => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }

  /** The cuts and link faults in force. */
  status(): ChaosStatus {
    const self = this.#node.name;
    return {
      cuts: [
        ...this.#faults.cuts(),
        ...[...this.#ownBlocks].map((n): [string, string] => [self, n]),
      ],
      links: [...this.#links.values()].map((l) => ({ ...l, fault: { ...l.fault } })),
    };
  }

  /** Ends the process used to talk to the agents. */
  close(): void {
    this.#faults.close();
    this.#ctx?.exit("normal");
    this.#ctx = undefined;
  }

  async #setLink(a: string, b: string, fault: LinkFault): Promise<void> {
    const [x, y] = [parseNodeName(a).full, parseNodeName(b).full].sort() as [string, string];
    if (x === y) throw new TypeError(`Cannot degrade a link: both ends are ${x}`);
    const key = `${x}\n${y}`;
    const merged = { ...this.#links.get(key)?.fault, ...fault };
    const { delay = 0, jitter = 0, drop = 0 } = merged;
    if (!(delay >= 0 && jitter >= 0 && drop >= 0 && drop <= 1)) {
      throw new RangeError(
        `Cannot degrade a link: delay and jitter must be >= 0 ms and drop 0-1, received ${
          JSON.stringify(fault)
        }`,
      );
    }
    await this.#applyLink(x, y, merged);
    this.#links.set(key, { a: x, b: y, fault: merged });
  }

  /**
   * Sets the fault on both ends of a link. An end on this node is set
   * after the other (so the command and its reply are not themselves
   * dropped or delayed), and cleared before it.
   */
  async #applyLink(a: string, b: string, fault: LinkFault | null): Promise<void> {
    const self = this.#node.name;
    const local = [a, b].includes(self) ? (a === self ? [a, b] : [b, a]) : undefined;
    if (local === undefined) {
      await Promise.all([this.#command(a, b, fault), this.#command(b, a, fault)]);
      return;
    }
    const [, other] = local as [string, string];
    if (fault === null) this.#node.kernel.setLinkFault(other, undefined);
    await this.#command(other, self, fault);
    if (fault !== null) this.#node.kernel.setLinkFault(other, fault);
  }

  async #command(on: string, other: string, fault: LinkFault | null): Promise<void> {
    if (on === this.#node.name) {
      this.#node.kernel.setLinkFault(other, fault ?? undefined);
      return;
    }
    if (!(await this.#node.kernel.connect(on))) {
      throw new NoConnectionError(on, `Cannot reach the chaos agent of ${on}`);
    }
    const ctx = this.#ctx ??= this.#node.runtime.open({ label: "chaos" });
    const ref = this.#node.runtime.makeRef();
    ctx.send(
      { name: CHAOS_AGENT_NAME, node: on },
      { type: "chaos_link", nodes: [other], fault, ref, from: ctx.self } satisfies ChaosLinkCommand,
    );
    let reply: ChaosLinkReply;
    try {
      reply = await ctx.receive<ChaosLinkReply>(
        (m) =>
          (m as ChaosLinkReply)?.type === "chaos_done" && ref.equals((m as ChaosLinkReply).ref),
        { timeout: this.#timeout },
      );
    } catch (e) {
      if (e instanceof TimeoutError) {
        throw new TimeoutError(
          `No answer from the chaos agent of ${on} within ${this.#timeout} ms (is it running?)`,
          { cause: e },
        );
      }
      throw e;
    }
    if (reply.error !== undefined) {
      throw new RangeError(`Cannot degrade a link on ${on}: ${reply.error}`);
    }
  }
}

/** The chaos a node drives (made on first use), in its context. */
export const CHAOS: ServiceKey<Chaos> = new ServiceKey("chaos");

/**
 * The node's own {@linkcode Chaos} (made on first use), so that the shell's
 * `Chaos.heal()` lifts what its `Chaos.partition()` did.
 *
 * @param node the node that drives the chaos
 * @returns its chaos
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { chaosOf } from "./chaos.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * console.assert(chaosOf(a) === chaosOf(a));
 * chaosOf(a).close();
 * await a.stop();
 * ```
 */
export function chaosOf(node: ClusterNode): Chaos {
  let chaos = node.runtime.context.get(CHAOS);
  if (chaos === undefined) node.runtime.context.provide(CHAOS, chaos = new Chaos(node));
  return chaos;
}

/** Why a link command cannot be applied, or `undefined`. */
function checkLinkCommand(cmd: ChaosLinkCommand): string | undefined {
  for (const n of cmd.nodes) {
    try {
      parseNodeName(String(n));
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (cmd.fault === null) return undefined;
  if (typeof cmd.fault !== "object") return "the fault must be an object or null";
  const { delay = 0, jitter = 0, drop = 0 } = cmd.fault;
  if (!(delay >= 0 && jitter >= 0 && drop >= 0 && drop <= 1)) {
    return `delay and jitter must be >= 0 ms and drop 0-1, received ${JSON.stringify(cmd.fault)}`;
  }
  return undefined;
}

function checkGroups(groups: unknown[]): string[][] {
  if (groups.length < 2) {
    throw new TypeError(
      `Cannot partition: give two or more groups of nodes, received ${groups.length}`,
    );
  }
  const seen = new Map<string, number>();
  return groups.map((g, i) => {
    if (!Array.isArray(g)) {
      throw new TypeError(`Cannot partition: group ${i + 1} must be a list of node names`);
    }
    return g.map((n) => {
      if (typeof n !== "string") {
        throw new TypeError(`Cannot partition: group ${i + 1} holds a non-name: ${String(n)}`);
      }
      const full = parseNodeName(n).full;
      const before = seen.get(full);
      if (before !== undefined && before !== i) {
        throw new TypeError(`Cannot partition: ${full} is in groups ${before + 1} and ${i + 1}`);
      }
      seen.set(full, i);
      return full;
    });
  });
}
