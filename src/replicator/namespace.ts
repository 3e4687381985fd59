/**
 * `crdt`: the replicator of the node of the calling process, as the shell
 * and user code call it (`crdt.open("cart:42", "or-map")`). Each function
 * finds the node's replicator when called, so the same code works at the
 * prompt, in spawned processes, in `--eval` and `--script`.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { runInProcess } from "../process/current.ts";
 * import { crdt } from "./namespace.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * await runInProcess(node.runtime.open(), async () => {
 *   const views = crdt.open("page:/home", "g-counter");
 *   await views.update((c) => c.increment());
 *   console.assert((await crdt.get("page:/home")) === 1);
 * });
 * await node.stop();
 * ```
 *
 * @module
 */

import type { CrdtTypeName } from "../crdt/crdt_type.ts";
import { current } from "../process/current.ts";
import type { Pid } from "../term/pid.ts";
import type { ReadOptions, WriteOptions } from "./replica.ts";
import {
  type CrdtHandleOf,
  type CrdtKey,
  type CrdtOpenOptions,
  type CrdtValueOf,
  type ReplicatorInfo,
  replicatorOf,
} from "./replicator.ts";

/** The shape of {@linkcode crdt}. */
export interface CrdtNamespace {
  /** Opens `key` with a type on this node; see `Replicator.open`. */
  open<N extends CrdtTypeName>(
    key: string,
    type: N,
    options?: CrdtOpenOptions,
  ): CrdtKey<CrdtValueOf<N>, CrdtHandleOf<N>>;
  /** Changes `key`; see `Replicator.update`. */
  // deno-lint-ignore no-explicit-any
  update(key: string, fn: (handle: any) => void, options?: WriteOptions): Promise<void>;
  /** The value of `key`; see `Replicator.get`. */
  get(key: string, options?: ReadOptions): Promise<unknown>;
  /** `{type: "crdt_changed", key, value}` to the calling process (or `pid`) on every change. */
  subscribe(key: string, pid?: Pid): void;
  /** Stops those messages. */
  unsubscribe(key: string, pid?: Pid): void;
  /** Deletes `key` on every replica. */
  delete(key: string, options?: WriteOptions): Promise<void>;
  /** Every key this node holds. */
  keys(): string[];
  /** This node's replica: its peers, keys and durable keys. */
  info(): ReplicatorInfo;
}

function here() {
  return replicatorOf(current().runtime);
}

/**
 * The replicator of the calling process's node.
 *
 * @example
 * ```ts
 * import { crdt } from "./namespace.ts";
 * console.assert(typeof crdt.open === "function");
 * ```
 */
export const crdt: CrdtNamespace = Object.freeze({
  open: <N extends CrdtTypeName>(key: string, type: N, options?: CrdtOpenOptions) =>
    here().open(key, type, options),
  update: (
    key: string,
    // deno-lint-ignore no-explicit-any
    fn: (handle: any) => void,
    options?: WriteOptions,
  ) => here().update(key, fn, options),
  get: (key: string, options?: ReadOptions) => here().get(key, options),
  subscribe: (key: string, pid?: Pid) => here().subscribe(key, pid),
  unsubscribe: (key: string, pid?: Pid) => here().unsubscribe(key, pid),
  delete: (key: string, options?: WriteOptions) => here().delete(key, options),
  keys: () => here().keys(),
  info: () => here().info(),
});
