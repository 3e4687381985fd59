/**
 * The shell's cluster-wide names, groups and topics: `global`, `pg`,
 * `pubsub` and `presence`. Each acts for the node of the process running
 * the code, so they work at the prompt, in spawned processes, in `--eval`,
 * `--script` and remote shells alike. (Deno defines a global `global`;
 * the shell's binding shadows it, as Erlang users expect.)
 *
 * Their `h()` docs are here, one table per namespace: the shell's text
 * lives in the shell, not in the layers it drives
 * (`test/repl/shell_docs_test.ts` checks each table against its namespace).
 *
 * @example
 * ```ts
 * import { GROUPS_PROVIDERS } from "./groups_scope.ts";
 * console.assert(GROUPS_PROVIDERS.some((p) => "global.register" in p.docs));
 * ```
 *
 * @module
 */

import { global } from "../src/global/mod.ts";
import { pg } from "../src/pg/mod.ts";
import { presence, pubsub } from "../src/pubsub/mod.ts";
import type { Doc } from "./docs.ts";
import type { ScopeProvider } from "./scope.ts";

/** Shell help for {@linkcode global} in the shell. */
export const GLOBAL_DOCS: Readonly<Record<string, Doc>> = {
  global: { signature: "global", summary: "cluster-wide unique names (OTP's global)" },
  "global.register": {
    signature: "global.register(name, pid?, {resolve?})",
    summary: "register pid (default self()) under name everywhere; false when taken",
    detail: "Resolves once every connected node knows the name, as :global.register_name: a " +
      "GenServer.call({global: name}) from any node right after finds it. A resolve(name, pid1, pid2) " +
      "function decides a conflict after a partition heals; by default the earlier " +
      'registration stays and the other process gets {type: "global_name_conflict", name, other}.',
    example: 'await global.register("db")',
  },
  "global.unregister": {
    signature: "global.unregister(name)",
    summary: "remove the registration of name everywhere",
    example: 'await global.unregister("db")',
  },
  "global.whereis": {
    signature: "global.whereis(name)",
    summary: "the pid registered as name, or undefined (answered locally)",
    example: 'global.whereis("db")',
  },
  "global.send": {
    signature: "global.send(name, msg)",
    summary: "send msg to the process registered as name",
    example: 'global.send("db", {from: self(), get: "k"})',
  },
  "global.registered": {
    signature: "global.registered()",
    summary: "every globally registered name",
    example: "global.registered()",
  },
  "global.trans": {
    signature: "global.trans(lockId, fn, {retries?})",
    summary: "run fn holding the cluster-wide lock lockId",
    example: 'await global.trans("counter", () => 42)',
  },
  "global.sync": {
    signature: "global.sync()",
    summary: "wait until names are exchanged with every connected node",
    example: "await global.sync()",
  },
};

/** Shell help for {@linkcode pg} in the shell. */
export const PG_DOCS: Readonly<Record<string, Doc>> = {
  pg: { signature: "pg", summary: "process groups across the cluster (OTP's pg)" },
  "pg.join": {
    signature: "pg.join(group, pids?)",
    summary: "add local processes (default self()) to group",
    example: 'pg.join("workers")',
  },
  "pg.leave": {
    signature: "pg.leave(group, pids?)",
    summary: "remove local processes (default self()) from group",
    example: 'pg.leave("workers")',
  },
  "pg.getMembers": {
    signature: "pg.getMembers(group)",
    summary: "every member of group on every node",
    example: 'pg.getMembers("workers")',
  },
  "pg.getLocalMembers": {
    signature: "pg.getLocalMembers(group)",
    summary: "the members of group on this node",
  },
  "pg.whichGroups": { signature: "pg.whichGroups()", summary: "every group with members" },
  "pg.monitor": {
    signature: "pg.monitor(group)",
    summary: "get {type: join|leave, ref, group, pids} for group; returns {ref, members}",
  },
  "pg.monitorScope": {
    signature: "pg.monitorScope()",
    summary: "join/leave events of every group; returns {ref, groups}",
  },
  "pg.demonitor": { signature: "pg.demonitor(ref)", summary: "end a monitor" },
  "pg.scope": { signature: "pg.scope(name)", summary: "another scope started on this node" },
};

/** Shell help for {@linkcode pubsub} in the shell. */
export const PUBSUB_DOCS: Readonly<Record<string, Doc>> = {
  pubsub: { signature: "pubsub", summary: "topics across the cluster (Phoenix.PubSub)" },
  "pubsub.subscribe": {
    signature: "pubsub.subscribe(topic, target?)",
    summary: "subscribe self() (or a local pid, or a callback (msg, topic) => ...) to topic",
    example: 'pubsub.subscribe("room:lobby")',
  },
  "pubsub.unsubscribe": {
    signature: "pubsub.unsubscribe(topic, target?)",
    summary: "end a subscription",
  },
  "pubsub.broadcast": {
    signature: "pubsub.broadcast(topic, msg)",
    summary: "send msg to every subscriber of topic on every node",
    detail: "One network message per node with subscribers, fanned out there; " +
      "messages from one publisher arrive in order.",
    example: 'pubsub.broadcast("room:lobby", {from: Node.self(), text: "hi"})',
  },
  "pubsub.broadcastFrom": {
    signature: "pubsub.broadcastFrom(topic, msg, from?)",
    summary: "broadcast to every subscriber but from (default self())",
  },
  "pubsub.localBroadcast": {
    signature: "pubsub.localBroadcast(topic, msg)",
    summary: "broadcast to the subscribers on this node only",
  },
  "pubsub.directBroadcast": {
    signature: "pubsub.directBroadcast(node, topic, msg)",
    summary: "broadcast to the subscribers on node only",
  },
  "pubsub.subscribers": {
    signature: "pubsub.subscribers(topic)",
    summary: "the processes subscribed to topic on this node",
  },
  "pubsub.subscriberNodes": {
    signature: "pubsub.subscriberNodes(topic)",
    summary: "the nodes with subscribers of topic",
  },
};

/** Shell help for {@linkcode presence} in the shell. */
export const PRESENCE_DOCS: Readonly<Record<string, Doc>> = {
  presence: { signature: "presence", summary: "who is present on a topic (Phoenix.Presence)" },
  "presence.track": {
    signature: "presence.track(topic, key, meta?, {pid?})",
    summary: "track self() (or pid) on topic under key with meta; returns its ref",
    detail: 'Subscribers of topic get {type: "presence_diff", topic, joins, leaves}. ' +
      "Tracking the same key twice throws AlreadyTrackedError: presence.update changes the meta.",
    example: 'presence.track("room:lobby", "ann", {status: "online"})',
  },
  "presence.untrack": {
    signature: "presence.untrack(topic, key, {pid?})",
    summary: "stop tracking self() (or pid)",
  },
  "presence.update": {
    signature: "presence.update(topic, key, meta | (old) => meta, {pid?})",
    summary: "replace the meta of a tracked presence; returns its new ref",
  },
  "presence.list": {
    signature: "presence.list(topic)",
    summary: "{[key]: {metas}} of topic, on every node",
    example: 'presence.list("room:lobby")',
  },
  "presence.get": {
    signature: "presence.get(topic, key)",
    summary: "the metas of one key on topic",
  },
};

/** `global`, `pg`, `pubsub` and `presence`, each with its `h()` docs. */
export const GROUPS_PROVIDERS: readonly ScopeProvider[] = [
  {
    title: "global (names unique across the cluster)",
    docs: GLOBAL_DOCS,
    names: () => ({ global }),
  },
  {
    title: "pg (process groups across nodes)",
    docs: PG_DOCS,
    names: () => ({ pg }),
  },
  {
    title: "pubsub and presence (topics across nodes)",
    docs: { ...PUBSUB_DOCS, ...PRESENCE_DOCS },
    names: () => ({ pubsub, presence }),
  },
];
