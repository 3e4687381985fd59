/**
 * The Raft service's wire protocol (op codes 128-143): Raft's own messages between the servers
 * of a group, batched per peer node, and the client requests that `raft.command`, the queries
 * and the management calls send to a member node.
 *
 * ```
 * RAFT_MSGS   [v, [[group, message]...]]            A -> B: every Raft message A's servers have
 *                                                   for B's servers, gathered over one event-loop
 *                                                   turn (many groups, one frame)
 * RAFT_CALL   [v, id, group, kind, args]            client node -> member node
 * RAFT_REPLY  [id, status, value]                   member node -> client node
 *
 * message = [type, from, to, term, ...]             see encodeRaftMessage (a tuple, not an object:
 *                                                   AppendEntries is the hot path)
 * kind    = "command" | "consistent_query" | "leader_query" | "local_query" | "members"
 *         | "leader" | "config" | "add_member" | "remove_member" | "delete" | "transfer" | "start" | "restart"
 * status  = "ok" | "error" (value: the Error) | "not_leader" (value: leader node or null)
 *         | "unknown_cluster"
 * ```
 *
 * Failure: a frame that does not decode is dropped with a logged reason by the service, and the
 * connection and every group go on; Raft itself tolerates the loss.
 *
 * @example
 * ```ts
 * import { decodeRaftMessage, encodeRaftMessage } from "./wire.ts";
 * const m = { type: "vote_response", from: "a@h", to: "b@h", term: 3, granted: true } as const;
 * console.assert(JSON.stringify(decodeRaftMessage(encodeRaftMessage(m))) === JSON.stringify(m));
 * ```
 *
 * @module
 */

import type { LogEntry, RaftConfig, RaftMessage } from "./types.ts";

/** The protocol version, first field of RAFT_MSGS and RAFT_CALL. */
export const RAFT_WIRE_VERSION = 1;

/** Raft messages between servers, batched per node. */
export const OP_RAFT_MSGS = 128;
/** A client request to a member node. */
export const OP_RAFT_CALL = 129;
/** The answer to a RAFT_CALL. */
export const OP_RAFT_REPLY = 130;

/** Every op code of the Raft service. */
export const RAFT_OPS: readonly number[] = [OP_RAFT_MSGS, OP_RAFT_CALL, OP_RAFT_REPLY];

/** What a client asks a member node. */
export type RaftCallKind =
  | "command"
  | "consistent_query"
  | "leader_query"
  | "local_query"
  | "members"
  | "leader"
  | "config"
  | "add_member"
  | "remove_member"
  | "delete"
  | "transfer"
  | "start"
  | "restart";

/** Every {@linkcode RaftCallKind}, for checking a peer's request. */
export const RAFT_CALL_KINDS: ReadonlySet<string> = new Set<RaftCallKind>([
  "command",
  "consistent_query",
  "leader_query",
  "local_query",
  "members",
  "leader",
  "config",
  "add_member",
  "remove_member",
  "delete",
  "transfer",
  "start",
  "restart",
]);

/** How a member answered. */
export type RaftCallStatus = "ok" | "error" | "not_leader" | "unknown_cluster";

const TYPES = [
  "pre_vote_request",
  "pre_vote_response",
  "vote_request",
  "vote_response",
  "append_entries",
  "append_response",
  "timeout_now",
  "install_snapshot",
  "install_snapshot_response",
] as const;

type Wire = unknown[];

/**
 * A log entry as a tuple: `[term, index]` a no-op, `[term, index, command]` a command,
 * `[term, index, [voters, learners], 2]` a configuration.
 *
 * @param e the entry
 * @returns the tuple
 *
 * @example
 * ```ts
 * import { entryFromWire, entryToWire } from "./wire.ts";
 * const e = { term: 2, index: 1, payload: { type: "config", config: { voters: ["a"], learners: [] } } } as const;
 * console.assert(JSON.stringify(entryFromWire(entryToWire(e))) === JSON.stringify(e));
 * ```
 */
export function entryToWire<C>(e: LogEntry<C>): Wire {
  switch (e.payload.type) {
    case "command":
      return [e.term, e.index, e.payload.command];
    case "noop":
      return [e.term, e.index];
    case "config":
      return [e.term, e.index, configToWire(e.payload.config), 2];
  }
}

/**
 * Reads an entry made by {@linkcode entryToWire}.
 *
 * @param e the tuple
 * @returns the entry
 * @throws {TypeError} when the tuple is malformed
 *
 * @example
 * ```ts
 * import { entryFromWire } from "./wire.ts";
 * console.assert(entryFromWire([3, 7]).payload.type === "noop");
 * ```
 */
export function entryFromWire<C>(e: unknown): LogEntry<C> {
  if (!Array.isArray(e) || e.length < 2) throw new TypeError("Bad Raft message: entry");
  const term = int(e[0], "entry term");
  const index = int(e[1], "entry index");
  if (e.length === 2) return { term, index, payload: { type: "noop" } };
  if (e.length === 3) return { term, index, payload: { type: "command", command: e[2] as C } };
  if (e.length === 4 && e[3] === 2) {
    return { term, index, payload: { type: "config", config: configFromWire(e[2]) } };
  }
  throw new TypeError("Bad Raft message: entry");
}

function configToWire(c: RaftConfig): Wire {
  return [[...c.voters], [...c.learners]];
}

function configFromWire(t: unknown): RaftConfig {
  const names = (v: unknown) => {
    if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
      throw new TypeError("Bad Raft message: a configuration lists server names");
    }
    return v as string[];
  };
  if (!Array.isArray(t) || t.length !== 2) {
    throw new TypeError("Bad Raft message: a configuration is [voters, learners]");
  }
  return { voters: names(t[0]), learners: names(t[1]) };
}

/**
 * A Raft message as a tuple for the wire.
 *
 * @param m the message
 * @returns `[type code, from, to, term, ...fields]`
 *
 * @example
 * ```ts
 * import { encodeRaftMessage } from "./wire.ts";
 * const t = encodeRaftMessage({ type: "timeout_now", from: "a", to: "b", term: 2 });
 * console.assert(t[0] === 6 && t[3] === 2);
 * ```
 */
export function encodeRaftMessage<C>(m: RaftMessage<C>): Wire {
  const head = [TYPES.indexOf(m.type), m.from, m.to, m.term];
  switch (m.type) {
    case "pre_vote_request":
      return [...head, m.lastLogIndex, m.lastLogTerm];
    case "vote_request":
      return [...head, m.lastLogIndex, m.lastLogTerm, m.transfer];
    case "pre_vote_response":
    case "vote_response":
      return [...head, m.granted];
    case "append_entries":
      return [
        ...head,
        m.prevLogIndex,
        m.prevLogTerm,
        m.entries.map(entryToWire),
        m.leaderCommit,
        m.readSeq,
      ];
    case "append_response":
      return [...head, m.success, m.matchIndex, m.hint, m.readSeq];
    case "timeout_now":
      return head;
    case "install_snapshot":
      return [...head, m.index, m.lastTerm, configToWire(m.config), m.offset, m.size, m.data];
    case "install_snapshot_response":
      return [...head, m.index, m.received, m.done];
  }
}

function int(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) {
    throw new TypeError(`Bad Raft message: ${what} must be a non-negative integer`);
  }
  return v as number;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== "boolean") throw new TypeError(`Bad Raft message: ${what} must be a boolean`);
  return v;
}

/**
 * Reads a tuple made by {@linkcode encodeRaftMessage}, checking every field.
 *
 * @param t the tuple from the wire
 * @returns the message
 * @throws {TypeError} when the tuple is malformed
 *
 * @example
 * ```ts
 * import { decodeRaftMessage } from "./wire.ts";
 * try {
 *   decodeRaftMessage([9, "a", "b", 1]);
 * } catch (e) {
 *   console.assert(e instanceof TypeError);
 * }
 * ```
 */
export function decodeRaftMessage<C>(t: unknown): RaftMessage<C> {
  if (!Array.isArray(t) || t.length < 4) throw new TypeError("Bad Raft message: not a tuple");
  const type = TYPES[t[0] as number];
  const [, from, to] = t;
  if (type === undefined) throw new TypeError(`Bad Raft message: unknown type ${t[0]}`);
  if (typeof from !== "string" || typeof to !== "string") {
    throw new TypeError("Bad Raft message: from and to must be strings");
  }
  const term = int(t[3], "term");
  switch (type) {
    case "pre_vote_request":
      return {
        type,
        from,
        to,
        term,
        lastLogIndex: int(t[4], "lastLogIndex"),
        lastLogTerm: int(t[5], "lastLogTerm"),
      };
    case "vote_request":
      return {
        type,
        from,
        to,
        term,
        lastLogIndex: int(t[4], "lastLogIndex"),
        lastLogTerm: int(t[5], "lastLogTerm"),
        transfer: bool(t[6], "transfer"),
      };
    case "pre_vote_response":
    case "vote_response":
      return { type, from, to, term, granted: bool(t[4], "granted") };
    case "append_entries": {
      if (!Array.isArray(t[6])) throw new TypeError("Bad Raft message: entries must be a list");
      const entries = (t[6] as unknown[]).map((e) => entryFromWire<C>(e));
      return {
        type,
        from,
        to,
        term,
        prevLogIndex: int(t[4], "prevLogIndex"),
        prevLogTerm: int(t[5], "prevLogTerm"),
        entries,
        leaderCommit: int(t[7], "leaderCommit"),
        readSeq: int(t[8], "readSeq"),
      };
    }
    case "append_response":
      return {
        type,
        from,
        to,
        term,
        success: bool(t[4], "success"),
        matchIndex: int(t[5], "matchIndex"),
        hint: int(t[6], "hint"),
        readSeq: int(t[7], "readSeq"),
      };
    case "timeout_now":
      return { type, from, to, term };
    case "install_snapshot": {
      const data = t[9];
      if (!(data instanceof Uint8Array)) {
        throw new TypeError("Bad Raft message: snapshot data must be bytes");
      }
      return {
        type,
        from,
        to,
        term,
        index: int(t[4], "index"),
        lastTerm: int(t[5], "lastTerm"),
        config: configFromWire(t[6]),
        offset: int(t[7], "offset"),
        size: int(t[8], "size"),
        data,
      };
    }
    case "install_snapshot_response":
      return {
        type,
        from,
        to,
        term,
        index: int(t[4], "index"),
        received: int(t[5], "received"),
        done: bool(t[6], "done"),
      };
  }
}
