/**
 * The shell's `horde` namespace: distributed registries and supervisors
 * (processes that outlive their node), with their `h()` docs.
 *
 * @example
 * ```ts
 * import { HORDE_PROVIDER } from "./distributed_scope.ts";
 * console.assert("horde.supervisor" in HORDE_PROVIDER.docs);
 * ```
 *
 * @module
 */

import { horde } from "../src/distributed/namespace.ts";
import type { Doc } from "./docs.ts";
import type { ScopeProvider } from "./scope.ts";

/** `h()` docs of `horde`. */
export const HORDE_DOCS: Readonly<Record<string, Doc>> = {
  horde: {
    signature: "horde",
    summary: "distributed registries and supervisors: processes that outlive their node",
    detail: "Open them by name on every node that takes part (docs/distributed_supervision.md). " +
      "Children start from modules every member has loaded (--load, c()): functions cannot " +
      "travel between nodes.",
  },
  "horde.registry": {
    signature: 'horde.registry(name, { keys?: "unique" | "duplicate", quorum?, members? })',
    summary: "this node's part of a cluster-wide registry; lookups are local",
    detail: "register(key, value) registers the calling process; lookup, whereis, match, " +
      "select, dispatch, count read this node's replica. {via: name, key} names a GenServer " +
      "or a send destination. After a heal, one holder of a unique key stays; the other is " +
      "asked {handoff: 'begin'} for its state, then exits with {name_conflict}.",
    example: 'await horde.registry("names").register("db", { role: "primary" })',
  },
  "horde.supervisor": {
    signature: "horde.supervisor(name, { strategy?, members?, quorum?, rebalance? })",
    summary: "this node's member of a distributed dynamic supervisor",
    detail: 'strategy: "ring" (default, consistent hash), "uniform", "least-loaded" or ' +
      "(id, members, load) => member. startChild({id, module, function, args}) places the " +
      "child; a lost member's children restart on the survivors, once each; q() or SIGTERM " +
      "hands this node's children over with their state. quorum: true runs children only " +
      "on the side of a split that sees a majority; rebalance: true moves children to a " +
      "member that joins.",
    example:
      'await horde.supervisor("jobs").startChild({ id: "j1", module: "jobs", function: "start", args: ["j1"] })',
  },
  "horde.info": {
    signature: "horde.info()",
    summary: "the registries and supervisors open on this node",
  },
};

/** The `horde` namespace with its docs. */
export const HORDE_PROVIDER: ScopeProvider = {
  title: "horde (distributed registry and supervisor)",
  docs: HORDE_DOCS,
  names: () => ({ horde }),
};
