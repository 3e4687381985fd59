/**
 * The bodies of distribution messages: process signals and node-kernel
 * operations as CBOR arrays `[op, ...fields]` (op codes in types.ts), and
 * back. Encoding happens in the sender's call to `route`, so a value that
 * cannot cross the wire throws there and then; decoding validates every
 * field, so a malformed body from a peer is a {@linkcode DecodeError} that
 * closes that one connection.
 *
 * ```
 * SEND          [1, toId, toSerial, toCreation, msg]   (to: a process of the receiver)
 * REG_SEND      [2, name: string, msg]
 * LINK          [3, from: Pid, to: Pid]
 * UNLINK        [4, from: Pid, to: Pid]
 * EXIT          [5, from: Pid, to: Pid, reason]
 * LINK_EXIT     [6, from: Pid, to: Pid, reason]
 * MONITOR       [7, from: Pid, to: Pid | name, ref: Ref]
 * DEMONITOR     [8, from: Pid, to: Pid | name, ref: Ref]
 * MONITOR_EXIT  [9, from: Pid | name, to: Pid, ref: Ref, reason]
 * SPAWN_REQUEST [10, ref: Ref, from: Pid, spec, options]
 * SPAWN_REPLY   [11, ref: Ref, to: Pid, result]
 * PEERS         [20, listenPort, [[name, port], ...]]
 * PING          [21, id]            PONG [22, id]
 * ops >= 32     reserved for the layers above (rpc, global, pg)
 * ```
 *
 * A name in MONITOR/DEMONITOR is registered on the receiver; a name in
 * MONITOR_EXIT is registered on the sender. SEND, the hot path, names its
 * target by the three numbers of a pid of the receiving node, without the
 * node name, and carries no sender (the receiver has no use for it), so a
 * small message costs no string on the wire beyond its own.
 *
 * @example
 * ```ts
 * import { decodeBody, encodeSignal } from "./ops.ts";
 * import { Pid } from "../term/pid.ts";
 * const to = new Pid("b@h", 5, 0, 1);
 * const body = encodeSignal({ op: "send", to, msg: "hi" }) as Uint8Array; // small: not in parts
 * const back = decodeBody(body, "a@h", "b@h");
 * console.assert(back.kind === "signal" && back.signal.op === "send");
 * ```
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import type { Signal } from "../process/types.ts";
import { decode, encodeParts } from "../term/codec.ts";
import type { MessageBody } from "./connection.ts";
import { parseNodeName } from "../term/node_name.ts";
import { Pid, Ref } from "../term/pid.ts";
import {
  MAX_PEERS,
  OP_DEMONITOR,
  OP_EXIT,
  OP_LINK,
  OP_LINK_EXIT,
  OP_MONITOR,
  OP_MONITOR_EXIT,
  OP_PEERS,
  OP_PING,
  OP_PONG,
  OP_REG_SEND,
  OP_SEND,
  OP_SPAWN_REPLY,
  OP_SPAWN_REQUEST,
  OP_UNLINK,
  OP_USER_MIN,
} from "./types.ts";

/** A node in a PEERS list: its name and the port it listens on (0 when unknown). */
export interface PeerAddress {
  /** The full node name. */
  name: string;
  /** Its distribution port, or 0 to look it up with the port mapper. */
  port: number;
}

/** What a message body decodes to. */
export type DecodedBody =
  /** A process signal for the runtime. */
  | { kind: "signal"; signal: Signal }
  /** PEERS from the node kernel of the sender. */
  | { kind: "peers"; listenPort: number; peers: PeerAddress[] }
  /** PING / PONG. */
  | { kind: "ping" | "pong"; id: number }
  /** SPAWN_REQUEST, SPAWN_REPLY or an op of a higher layer: the fields after the op. */
  | { kind: "op"; op: number; fields: unknown[] };

/**
 * Encodes a process signal as a message body.
 *
 * @param signal the signal, as the runtime routes it
 * @returns the CBOR body: bytes, or parts that reference the large byte
 *   strings of the message (see `encodeParts` in codec.ts)
 * @throws {TypeError} when a message or reason cannot cross the wire
 *
 * @example
 * ```ts
 * import { encodeSignal } from "./ops.ts";
 * import { Pid } from "../term/pid.ts";
 * const a = new Pid("a@h", 1, 0, 1);
 * const b = new Pid("b@h", 2, 0, 1);
 * console.assert(encodeSignal({ op: "link", from: a, to: b }).length > 0);
 * ```
 */
export function encodeSignal(signal: Signal): MessageBody {
  try {
    return encodeSignalBody(signal);
  } catch (e) {
    throw e instanceof TypeError ? renamePath(e, signal.op) : e;
  }
}

function encodeSignalBody(signal: Signal): MessageBody {
  switch (signal.op) {
    case "send": {
      const to = signal.to;
      return encodeParts([OP_SEND, to.id, to.serial, to.creation, signal.msg]);
    }
    case "reg_send":
      return encodeParts([OP_REG_SEND, signal.to.name, signal.msg]);
    case "link":
      return encodeParts([OP_LINK, signal.from, signal.to]);
    case "unlink":
      return encodeParts([OP_UNLINK, signal.from, signal.to]);
    case "exit":
      return encodeParts([OP_EXIT, signal.from, signal.to, signal.reason]);
    case "link_exit":
      return encodeParts([OP_LINK_EXIT, signal.from, signal.to, signal.reason]);
    case "monitor":
      return encodeParts([OP_MONITOR, signal.from, targetField(signal.to), signal.ref]);
    case "demonitor":
      return encodeParts([OP_DEMONITOR, signal.from, targetField(signal.to), signal.ref]);
    case "down":
      return encodeParts([
        OP_MONITOR_EXIT,
        targetField(signal.from),
        signal.to,
        signal.ref,
        signal.reason,
      ]);
  }
}

/** Where the user's value sits in each op's array, and what to call it. */
const VALUE_FIELD: Partial<Record<Signal["op"], [number, string]>> = {
  send: [4, "msg"],
  reg_send: [2, "msg"],
  exit: [3, "reason"],
  link_exit: [3, "reason"],
  down: [4, "reason"],
};

/**
 * The codec names a path from the root of what it encodes (`msg[4].f`);
 * the user sent `msg` (or a reason) itself, so name the path from there.
 */
function renamePath(e: TypeError, op: Signal["op"]): TypeError {
  const field = VALUE_FIELD[op];
  if (field === undefined) return e;
  const [index, name] = field;
  const prefix = ` at msg[${index}]`;
  const at = e.message.indexOf(prefix);
  if (at < 0) return e;
  return new TypeError(
    e.message.slice(0, at) + ` at ${name}` + e.message.slice(at + prefix.length),
    { cause: e.cause },
  );
}

/**
 * Encodes a node-kernel or higher-layer operation: `[op, ...fields]`.
 *
 * @param op the operation code
 * @param fields its fields
 * @returns the CBOR body, whole or in parts (as {@linkcode encodeSignal})
 * @throws {TypeError} when a field cannot cross the wire
 *
 * @example
 * ```ts
 * import { encodeOp } from "./ops.ts";
 * import { OP_PING } from "./types.ts";
 * console.assert(encodeOp(OP_PING, [1]).length === 3);
 * ```
 */
export function encodeOp(op: number, fields: readonly unknown[]): MessageBody {
  return encodeParts([op, ...fields]);
}

/**
 * Decodes and validates a message body.
 *
 * @param body the CBOR body of one message
 * @param self this node's name (the owner of names in MONITOR, REG_SEND)
 * @param peer the sending node's name (the owner of names in MONITOR_EXIT)
 * @returns what the body says
 * @throws {DecodeError} when the body is not a well-formed message
 *
 * @example
 * ```ts
 * import { decodeBody } from "./ops.ts";
 * try {
 *   decodeBody(new Uint8Array([0x82, 0x01, 0x02]), "a@h", "b@h");
 * } catch (e) {
 *   console.assert((e as Error).name === "DecodeError");
 * }
 * ```
 */
export function decodeBody(body: Uint8Array, self: string, peer: string): DecodedBody {
  const m = decode(body);
  if (!Array.isArray(m) || m.length === 0) throw malformed("not an array");
  const op = m[0];
  switch (op) {
    case OP_SEND: {
      if (m.length !== 5) arity(m, 5, 5);
      const id = m[1], serial = m[2], creation = m[3];
      if (!isUint(id) || !isUint(serial) || !isUint(creation) || creation > 0xffffffff) {
        throw malformed("SEND target");
      }
      return {
        kind: "signal",
        signal: { op: "send", to: new Pid(self, id, serial, creation), msg: m[4] },
      };
    }
    case OP_REG_SEND:
      arity(m, 3, 3);
      return signal({ op: "reg_send", to: { name: name(m[1]), node: self }, msg: m[2] });
    case OP_LINK:
    case OP_UNLINK:
      arity(m, 3, 3);
      return signal({
        op: op === OP_LINK ? "link" : "unlink",
        from: pid(m[1], "from"),
        to: pid(m[2], "to"),
      });
    case OP_EXIT:
    case OP_LINK_EXIT:
      arity(m, 4, 4);
      return signal({
        op: op === OP_EXIT ? "exit" : "link_exit",
        from: pid(m[1], "from"),
        to: pid(m[2], "to"),
        reason: m[3],
      });
    case OP_MONITOR:
    case OP_DEMONITOR:
      arity(m, 4, 4);
      return signal({
        op: op === OP_MONITOR ? "monitor" : "demonitor",
        from: pid(m[1], "from"),
        to: m[2] instanceof Pid ? m[2] : { name: name(m[2]), node: self },
        ref: ref(m[3]),
      });
    case OP_MONITOR_EXIT:
      arity(m, 5, 5);
      return signal({
        op: "down",
        from: m[1] instanceof Pid ? m[1] : { name: name(m[1]), node: peer },
        to: pid(m[2], "to"),
        ref: ref(m[3]),
        reason: m[4],
      });
    case OP_SPAWN_REQUEST:
      arity(m, 5, 5);
      ref(m[1]);
      pid(m[2], "from");
      return { kind: "op", op, fields: m.slice(1) };
    case OP_SPAWN_REPLY:
      arity(m, 4, 4);
      ref(m[1]);
      pid(m[2], "to");
      return { kind: "op", op, fields: m.slice(1) };
    case OP_PEERS: {
      arity(m, 3, 3);
      const listenPort = port(m[1]);
      const list = m[2];
      if (!Array.isArray(list)) throw malformed("PEERS list");
      if (list.length > MAX_PEERS) {
        throw malformed(`PEERS list of ${list.length} entries (at most ${MAX_PEERS})`);
      }
      const peers = list.map((p): PeerAddress => {
        if (!Array.isArray(p) || p.length !== 2) throw malformed("PEERS entry");
        return { name: nodeName(p[0]), port: port(p[1]) };
      });
      return { kind: "peers", listenPort, peers };
    }
    case OP_PING:
    case OP_PONG:
      arity(m, 2, 2);
      if (!Number.isSafeInteger(m[1])) throw malformed("ping id");
      return { kind: op === OP_PING ? "ping" : "pong", id: m[1] as number };
    default:
      if (typeof op === "number" && Number.isInteger(op) && op >= OP_USER_MIN && op < 0x10000) {
        return { kind: "op", op, fields: m.slice(1) };
      }
      throw malformed(`unknown operation ${String(op)}`);
  }
}

function isUint(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function targetField(target: Pid | { name: string }): Pid | string {
  return target instanceof Pid ? target : target.name;
}

function signal(s: Signal): DecodedBody {
  return { kind: "signal", signal: s };
}

function arity(m: unknown[], min: number, max: number): void {
  if (m.length < min || m.length > max) {
    throw malformed(`operation ${String(m[0])} with ${m.length - 1} fields`);
  }
}

function pid(v: unknown, field: string): Pid {
  if (!(v instanceof Pid)) throw malformed(`${field} is not a pid`);
  return v;
}

function ref(v: unknown): Ref {
  if (!(v instanceof Ref)) throw malformed("ref is not a reference");
  return v;
}

function name(v: unknown): string {
  if (typeof v !== "string" || v.length === 0 || v.length > 1024) throw malformed("bad name");
  return v;
}

/** A full node name, `name@host` without a port: the only names a PEERS entry may hold. */
function nodeName(v: unknown): string {
  if (typeof v !== "string" || v.length > 255) throw malformed("PEERS entry name");
  let parsed;
  try {
    parsed = parseNodeName(v);
  } catch {
    throw malformed(`PEERS entry ${JSON.stringify(v)} is not a node name`);
  }
  if (parsed.port !== undefined || parsed.full !== v) {
    throw malformed(`PEERS entry ${JSON.stringify(v)} is not a node name`);
  }
  return v;
}

function port(v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) {
    throw malformed("bad port");
  }
  return v;
}

function malformed(what: string): DecodeError {
  return new DecodeError(`Malformed distribution message: ${what}`);
}
