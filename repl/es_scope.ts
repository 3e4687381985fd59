/**
 * The shell's `es` namespace: event sourcing on the node (its event store,
 * aggregates and their command router, projections, process managers,
 * singleton subscriptions), with its `h()` docs.
 *
 * @example
 * ```ts
 * import { ES_PROVIDER } from "./es_scope.ts";
 * console.assert("es.dispatch" in ES_PROVIDER.docs);
 * ```
 *
 * @module
 */

import { es } from "../src/event_sourcing/namespace.ts";
import type { Doc } from "./docs.ts";
import type { ScopeProvider } from "./scope.ts";

/** `h()` docs of `es`. */
export const ES_DOCS: Readonly<Record<string, Doc>> = {
  es: {
    signature: "es",
    summary: "event sourcing: an event store, aggregates and commands, projections (commanded)",
    detail: "The store is SQLite in the node's --data-dir (events.db), or PostgreSQL when the " +
      "node was started with eventSourcing: { eventStore: 'postgres://...' }. docs/event_sourcing.md " +
      "walks through the seed's BankAccount.",
  },
  "es.append": {
    signature: "es.append(stream, events, { expectedVersion? })",
    summary:
      "append [{type, data, metadata?}] atomically; expectedVersion: any | no_stream | stream_exists | n",
    detail: "A wrong expected version throws WrongExpectedVersionError naming the stream, the " +
      "expected and the actual version, and writes nothing. Returns {streamVersion, globalPosition}.",
    example:
      'await es.append("account-1", [{ type: "Deposited", data: { amount: 10 } }], { expectedVersion: 0 })',
  },
  "es.read": {
    signature: "es.read(stream, { from?, direction?, limit? })",
    summary: "the events of a stream, forward (default) or backward from a version",
    example: 'await es.read("account-1", { direction: "backward", limit: 1 })',
  },
  "es.readAll": {
    signature: "es.readAll({ from?, direction?, limit? })",
    summary: "the events of $all, by global position (gap-free, in commit order)",
  },
  "es.register": {
    signature: "es.register(aggregate, { commands, identity })",
    summary: "route these command types to aggregate ({name, initial, execute, apply})",
    detail: "identity: the command's field holding the instance id, or a function. " +
      "aggregate.snapshotEvery: n saves a snapshot every n events.",
    example: 'await es.register(BankAccount, { commands: ["Deposit"], identity: "accountId" })',
  },
  "es.dispatch": {
    signature: "es.dispatch(command, { consistency?, projections?, metadata?, timeout? })",
    summary: "run a command in its aggregate's process (one per instance in the cluster)",
    detail: 'consistency "strong" returns once the projections have the events. A refused ' +
      "command throws CommandRejectedError; an unknown type UnregisteredCommandError.",
    example: 'await es.dispatch({ type: "Deposit", accountId: "a1", amount: 10 })',
  },
  "es.project": {
    signature: "es.project({ name, init?, handle(event, tx), reset? })",
    summary: "start a projection: its read model and checkpoint commit in one transaction",
    detail: "Returns a Projector: position, status, reached(p), rebuild(), stop().",
  },
  "es.manage": {
    signature: "es.manage({ name, interested, initial, handle, apply, done? })",
    summary: "start a process manager (saga): events in, commands out, state per instance",
  },
  "es.subscribe": {
    signature: "es.subscribe(name, (events) => ..., { batchSize? })",
    summary: "a named subscription with a checkpoint that runs on one node of the cluster",
    detail: "Start it on every node: one runs it, the others take over when that node is lost.",
  },
  "es.store": {
    signature: "es.store()",
    summary: "the node's EventStore (snapshots, checkpoints, deleteStream)",
  },
  "es.info": {
    signature: "es.info()",
    summary: "the store, commands, aggregate instances, projections and subscriptions of this node",
  },
};

/** The `es` namespace with its docs. */
export const ES_PROVIDER: ScopeProvider = {
  title: "es (event sourcing)",
  docs: ES_DOCS,
  names: () => ({ es }),
};
