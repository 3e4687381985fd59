/**
 * Who owns which operation codes of the distribution protocol, and which
 * handler serves each code on a node.
 *
 * A message body is a CBOR array `[op, ...fields]` (ops.ts). Codes 0-31
 * are the distribution layer's own (process signals, PEERS, PING/PONG)
 * except SPAWN_REQUEST/SPAWN_REPLY (10, 11), which the kernel carries and
 * rpc serves. Codes 32 and up are handed by the node kernel to the handler
 * a higher layer registered here. {@linkcode OP_RANGES} allocates them in
 * ranges, one owner each; a layer's op constants (`OP_GLOBAL_SYNC`...)
 * live in its `types.ts` and must fall in its range (checked when they are
 * registered, and by `test/distribution/op_registry_test.ts` for all of
 * them).
 *
 * ```
 * service start:  kernel.ops.register("pg", OP_PG_JOIN, handler)
 *                   op outside every range, or in another owner's -> RangeError
 *                   op already registered                         -> OpTakenError (names both owners)
 * peer B -> A:    [77, scope, group, pids]  -> A's kernel: ops.handler(77)(B, fields)
 *                   no handler (service stopped, or not run here) -> dropped, logged at debug
 * service stop:   kernel.ops.unregister("pg")   (all of its codes)
 * ```
 *
 * Registering over a taken code fails rather than replacing the handler,
 * so that two layers given one code, or a service started twice on one
 * kernel, fail at start instead of stealing each other's messages.
 *
 * @example
 * ```ts
 * import { OpRegistry } from "./op_registry.ts";
 * const ops = new OpRegistry();
 * ops.register("pubsub", 80, () => {});
 * console.assert(ops.ownerOf(80) === "pubsub");
 * try {
 *   ops.register("pubsub", 80, () => {}); // pubsub started twice on one node
 * } catch (e) {
 *   console.assert((e as Error).name === "OpTakenError");
 * }
 * ops.unregister("pubsub");
 * console.assert(!ops.has(80));
 * ```
 *
 * @module
 */

import { OpTakenError } from "../errors.ts";

/** The layers that own operation codes above the distribution layer's. */
export type OpOwner =
  | "rpc"
  | "global"
  | "pg"
  | "pubsub"
  | "presence"
  | "chaos"
  | "crdt"
  | "registry"
  | "raft"
  | "event_sourcing"
  | "observer"
  | "multi_region"
  | "erlang_bridge"
  | "application";

/** One range of operation codes and its owner. */
export interface OpRange {
  /** Who registers handlers for these codes (`"distribution"`: the kernel itself). */
  readonly owner: OpOwner | "distribution";
  /** The first code of the range. */
  readonly first: number;
  /** The last code of the range (inclusive). */
  readonly last: number;
  /** What the codes carry. */
  readonly what: string;
}

/**
 * The allocation of operation codes, in order. Codes 40-63 and 208-1023
 * are free: a new layer of Weft takes a range here, in the same commit as
 * its constants. 1024 and up are for services written by applications
 * (owner `"application"`), which Weft itself never uses.
 */
export const OP_RANGES: readonly OpRange[] = Object.freeze([
  { owner: "distribution", first: 0, last: 9, what: "process signals (SEND ... MONITOR_EXIT)" },
  { owner: "rpc", first: 10, last: 11, what: "remote spawn: SPAWN_REQUEST, SPAWN_REPLY" },
  { owner: "distribution", first: 12, last: 31, what: "node kernel: PEERS, PING, PONG; reserved" },
  { owner: "rpc", first: 32, last: 39, what: "calls, casts, spawn go, console output" },
  { owner: "global", first: 64, last: 75, what: "cluster-wide names and locks" },
  { owner: "pg", first: 76, last: 79, what: "process groups" },
  { owner: "pubsub", first: 80, last: 83, what: "topic broadcasts" },
  { owner: "presence", first: 84, last: 87, what: "presence state and deltas" },
  { owner: "chaos", first: 88, last: 95, what: "fault injection" },
  { owner: "crdt", first: 96, last: 111, what: "the CRDT replicator" },
  { owner: "registry", first: 112, last: 127, what: "distributed registry and supervisor" },
  { owner: "raft", first: 128, last: 143, what: "Raft consensus" },
  { owner: "event_sourcing", first: 144, last: 159, what: "event sourcing" },
  { owner: "observer", first: 160, last: 175, what: "observer and telemetry" },
  { owner: "multi_region", first: 176, last: 191, what: "multi-region replication" },
  { owner: "erlang_bridge", first: 192, last: 207, what: "the Erlang distribution bridge" },
  { owner: "application", first: 1024, last: 65535, what: "services of applications on Weft" },
]);

/**
 * The range an operation code falls in.
 *
 * @param op the code
 * @returns its range, or `undefined` when the code is not allocated
 *
 * @example
 * ```ts
 * import { opRangeOf } from "./op_registry.ts";
 * console.assert(opRangeOf(64)?.owner === "global");
 * console.assert(opRangeOf(50) === undefined);
 * ```
 */
export function opRangeOf(op: number): OpRange | undefined {
  return OP_RANGES.find((r) => op >= r.first && op <= r.last);
}

/**
 * Checks that `op` is one of `owner`'s codes.
 *
 * @param owner the layer
 * @param op the code
 * @throws {RangeError} when `op` is not an allocated code, or belongs to another owner
 *
 * @example
 * ```ts
 * import { checkOpCode } from "./op_registry.ts";
 * checkOpCode("pg", 77);
 * let threw = false;
 * try { checkOpCode("pg", 80); } catch (e) { threw = e instanceof RangeError; }
 * console.assert(threw);
 * ```
 */
export function checkOpCode(owner: OpOwner, op: number): void {
  const range = Number.isInteger(op) ? opRangeOf(op) : undefined;
  if (range === undefined) {
    throw new RangeError(
      `Cannot register operation ${op} for ${owner}: it is in no allocated range (${
        rangesOf(owner)
      } belong to ${owner}; see OP_RANGES in distribution/op_registry.ts)`,
    );
  }
  if (range.owner !== owner) {
    throw new RangeError(
      `Cannot register operation ${op} for ${owner}: ${range.first}-${range.last} belong to ${range.owner}`,
    );
  }
}

function rangesOf(owner: OpOwner): string {
  const mine = OP_RANGES.filter((r) => r.owner === owner).map((r) => `${r.first}-${r.last}`);
  return mine.length === 0 ? "no codes" : mine.join(", ");
}

/**
 * Serves one operation of a higher layer; called with the sending node
 * and the fields after the op code. A throw is logged and the message
 * dropped; the connection stays up.
 */
export type OpHandler = (node: string, fields: unknown[]) => void;

/**
 * The handlers of one node's operation codes (`kernel.ops`).
 *
 * @example
 * ```ts
 * import { OpRegistry } from "./op_registry.ts";
 * const ops = new OpRegistry();
 * const seen: unknown[] = [];
 * ops.register("raft", 128, (_node, fields) => seen.push(fields));
 * ops.handler(128)?.("b@h", [1]);
 * console.assert(seen.length === 1);
 * ```
 */
export class OpRegistry {
  #entries = new Map<number, { owner: OpOwner; handler: OpHandler }>();

  /**
   * Installs the handler of one of `owner`'s codes.
   *
   * @param owner the layer registering
   * @param op the code, in `owner`'s range
   * @param handler its handler
   * @throws {RangeError} when `op` is not one of `owner`'s codes
   * @throws {OpTakenError} when `op` already has a handler (of any owner)
   * @throws {TypeError} when `handler` is not a function
   */
  register(owner: OpOwner, op: number, handler: OpHandler): void {
    checkOpCode(owner, op);
    if (typeof handler !== "function") {
      throw new TypeError(
        `Cannot register operation ${op} for ${owner}: the handler must be a function`,
      );
    }
    const taken = this.#entries.get(op);
    if (taken !== undefined) throw new OpTakenError(op, owner, taken.owner);
    this.#entries.set(op, { owner, handler });
  }

  /**
   * Removes `owner`'s handler of `op`, or with no `op` all of `owner`'s
   * handlers. A code another owner holds is left alone.
   *
   * @param owner the layer stopping
   * @param op one code, or every code of the owner
   */
  unregister(owner: OpOwner, op?: number): void {
    for (const [code, entry] of this.#entries) {
      if (entry.owner === owner && (op === undefined || code === op)) this.#entries.delete(code);
    }
  }

  /** The handler of `op`, if one is registered. */
  handler(op: number): OpHandler | undefined {
    return this.#entries.get(op)?.handler;
  }

  /** Whether `op` has a handler. */
  has(op: number): boolean {
    return this.#entries.has(op);
  }

  /** The owner whose handler serves `op`, if any. */
  ownerOf(op: number): OpOwner | undefined {
    return this.#entries.get(op)?.owner;
  }

  /** The registered codes and their owners, in code order (for the observer). */
  list(): { op: number; owner: OpOwner }[] {
    return [...this.#entries].map(([op, e]) => ({ op, owner: e.owner })).sort((a, b) =>
      a.op - b.op
    );
  }
}
