/**
 * The shell's `crdt` namespace: replicated data types (CRDTs) by key, kept
 * on every node by the node's replicator, with their `h()` docs.
 *
 * @example
 * ```ts
 * import { CRDT_PROVIDER } from "./crdt_scope.ts";
 * console.assert("crdt.open" in CRDT_PROVIDER.docs);
 * ```
 *
 * @module
 */

import { crdt } from "../src/replicator/namespace.ts";
import type { Doc } from "./docs.ts";
import type { ScopeProvider } from "./scope.ts";

/** `h()` docs of `crdt`. */
export const CRDT_DOCS: Readonly<Record<string, Doc>> = {
  crdt: {
    signature: "crdt",
    summary: "replicated data types by key, on every node (counters, sets, maps, registers)",
    detail: "Types: g-counter, pn-counter, g-set, or-set, lww-register, mv-register, flag, " +
      "or-map, lww-map (docs/crdt.md says which to choose). Updates apply here at once and " +
      "spread as deltas; anti-entropy repairs what a partition or a restart missed.",
  },
  "crdt.open": {
    signature: "crdt.open(key, type, { durable? })",
    summary: "open key with a type (created when new); returns a handle",
    detail: "The handle has update(fn, opts), get(opts), value(), subscribe(), delete(). " +
      "durable: true keeps the key in the node's --data-dir: a restart brings it back. " +
      "Opening a key another node holds with another type throws CrdtTypeConflictError.",
    example: 'const cart = await crdt.open("cart:42", "or-map")',
  },
  "crdt.update": {
    signature: "crdt.update(key, fn, { write?, timeout? })",
    summary: "change key through its type's handle; write: local | majority | all | n",
    detail: 'write "majority" waits until a majority of replicas have it (default timeout ' +
      "5000 ms), else ConsistencyError; the change stays applied here either way.",
    example: 'await cart.update((m) => m.counter("apples").increment(2), { write: "majority" })',
  },
  "crdt.get": {
    signature: "crdt.get(key, { read?, timeout? })",
    summary: "the value of key; read: local | majority | all | n joins that many replicas first",
    example: "await cart.get()",
  },
  "crdt.subscribe": {
    signature: "crdt.subscribe(key, pid?)",
    summary: "{type: 'crdt_changed', key, value} to self() on every change of key",
    example: 'crdt.subscribe("cart:42"); flush()',
  },
  "crdt.unsubscribe": {
    signature: "crdt.unsubscribe(key, pid?)",
    summary: "stop the messages of subscribe",
  },
  "crdt.delete": {
    signature: "crdt.delete(key, { write? })",
    summary: "delete key on every replica (wins over concurrent updates; the key is not reused)",
  },
  "crdt.keys": { signature: "crdt.keys()", summary: "every key this node holds" },
  "crdt.info": {
    signature: "crdt.info()",
    summary: "this replica: its id, peers, peers away, keys, durable keys",
  },
};

/** The `crdt` namespace with its docs. */
export const CRDT_PROVIDER: ScopeProvider = {
  title: "crdt (replicated data types)",
  docs: CRDT_DOCS,
  names: () => ({ crdt }),
};
