/**
 * Every error condition a Weft caller can catch, one class each.
 *
 * Bad arguments throw the built-in `TypeError` or `RangeError`; everything
 * else is one of the classes below, each with its own `name` so that it
 * survives a trip over the wire and prints recognisably.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "./errors.ts";
 * const err = new TimeoutError("No message within 10 ms");
 * console.assert(err.name === "TimeoutError");
 * ```
 *
 * @module
 */

/** Options shared by every Weft error. */
export interface WeftErrorOptions {
  /** The error that caused this one. */
  cause?: unknown;
}

/**
 * A deadline passed: a `receive`, a call, a connect or a handshake did not
 * complete in time.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "./errors.ts";
 * try {
 *   throw new TimeoutError("Call timed out after 5000 ms");
 * } catch (e) {
 *   console.assert(e instanceof TimeoutError);
 * }
 * ```
 */
export class TimeoutError extends Error {
  /** @param message what timed out, and after how long */
  constructor(message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/**
 * The node named in an operation cannot be reached: not connected, the
 * connection was lost, or the connect attempt failed.
 *
 * @example
 * ```ts
 * import { NoConnectionError } from "./errors.ts";
 * const err = new NoConnectionError("b@host");
 * console.assert(err.node === "b@host");
 * ```
 */
export class NoConnectionError extends Error {
  /** The node that could not be reached. */
  readonly node: string;
  /**
   * @param node the unreachable node
   * @param message optional detail; defaults to a sentence naming the node
   */
  constructor(node: string, message?: string, options?: WeftErrorOptions) {
    super(message ?? `No connection to node: ${node}`, options);
    this.name = "NoConnectionError";
    this.node = node;
  }
}

/**
 * The distribution handshake failed: wrong cookie, name clash, bad message,
 * unsupported version or a deadline.
 *
 * @example
 * ```ts
 * import { HandshakeError } from "./errors.ts";
 * const err = new HandshakeError("Handshake failed: wrong cookie");
 * console.assert(err.name === "HandshakeError");
 * ```
 */
export class HandshakeError extends Error {
  /** @param message the reason the handshake failed */
  constructor(message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "HandshakeError";
  }
}

/**
 * Code on another node threw; `cause` holds the remote error with its
 * original `name` and `message`.
 *
 * @example
 * ```ts
 * import { RemoteError } from "./errors.ts";
 * const err = new RemoteError("b@host", new RangeError("too big"));
 * console.assert((err.cause as Error).name === "RangeError");
 * ```
 */
export class RemoteError extends Error {
  /** The node where the error was thrown. */
  readonly node: string;
  /**
   * @param node where the error was thrown
   * @param cause the remote error
   */
  constructor(node: string, cause: unknown, message?: string) {
    super(
      message ?? `Remote call failed on ${node}: ${describe(cause)}`,
      { cause },
    );
    this.name = "RemoteError";
    this.node = node;
  }
}

/**
 * Bytes from the wire could not be decoded: a malformed or oversized frame
 * or payload. The connection that produced it is closed; nothing else is.
 *
 * @example
 * ```ts
 * import { DecodeError } from "./errors.ts";
 * const err = new DecodeError("Frame too large: 4294967295 bytes, limit 65536");
 * console.assert(err.name === "DecodeError");
 * ```
 */
export class DecodeError extends Error {
  /** @param message what was wrong with the input */
  constructor(message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "DecodeError";
  }
}

/**
 * A peer's hybrid logical clock timestamp lies further in the future than the
 * maximum tolerated clock offset allows: the timestamp (and whatever carried
 * it) is refused, never merged, so one node with a runaway clock cannot drag
 * every last-write-wins value forward with it.
 *
 * @example
 * ```ts
 * import { ClockSkewError } from "./errors.ts";
 * const err = new ClockSkewError("Timestamp too far in the future: 90000 ms ahead, limit 500 ms", {
 *   offset: 90_000,
 *   maxOffset: 500,
 * });
 * console.assert(err.name === "ClockSkewError" && err.offset === 90_000);
 * ```
 */
export class ClockSkewError extends Error {
  /** How far ahead of the local physical clock the timestamp was, in ms. */
  readonly offset: number;
  /** The maximum tolerated offset, in ms. */
  readonly maxOffset: number;
  /**
   * @param message what was refused, and by how much it was ahead
   * @param details the offset seen and the limit
   */
  constructor(
    message: string,
    details: { offset: number; maxOffset: number },
    options?: WeftErrorOptions,
  ) {
    super(message, options);
    this.name = "ClockSkewError";
    this.offset = details.offset;
    this.maxOffset = details.maxOffset;
  }
}

/**
 * The calling process exited (it was killed or a link brought it down)
 * while it waited in `receive`; `reason` is its exit reason.
 *
 * @example
 * ```ts
 * import { ProcessExitError } from "./errors.ts";
 * const err = new ProcessExitError("killed");
 * console.assert(err.reason === "killed");
 * ```
 */
export class ProcessExitError extends Error {
  /** The exit reason of the process. */
  readonly reason: unknown;
  /** @param reason the exit reason */
  constructor(reason: unknown, options?: WeftErrorOptions) {
    super(`Process exited: ${describe(reason)}`, options);
    this.name = "ProcessExitError";
    this.reason = reason;
  }
}

/**
 * A process name is already registered, or a name operation was refused
 * (the process is dead, or already has a name).
 *
 * @example
 * ```ts
 * import { NameError } from "./errors.ts";
 * const err = new NameError("Cannot register name: \"db\" is already registered");
 * console.assert(err.name === "NameError");
 * ```
 */
export class NameError extends Error {
  /** @param message what was refused and why */
  constructor(message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "NameError";
  }
}

/**
 * The node is not running distribution (no name), or it has stopped.
 *
 * @example
 * ```ts
 * import { NotAliveError } from "./errors.ts";
 * console.assert(new NotAliveError().name === "NotAliveError");
 * ```
 */
export class NotAliveError extends Error {
  /** @param message optional detail */
  constructor(message = "Node is not alive", options?: WeftErrorOptions) {
    super(message, options);
    this.name = "NotAliveError";
  }
}

/**
 * A service was asked for on a node where it does not run (never started,
 * or stopped): `runtime.context.require(key)` of the per-node context. A
 * {@linkcode NotAliveError}, since for the caller the service is not alive.
 *
 * @example
 * ```ts
 * import { NotAliveError, ServiceNotRunningError } from "./errors.ts";
 * const err = new ServiceNotRunningError("pubsub", "a@h");
 * console.assert(err instanceof NotAliveError && err.service === "pubsub");
 * console.assert(err.message === "pubsub is not running on node a@h");
 * ```
 */
export class ServiceNotRunningError extends NotAliveError {
  /** The service's name. */
  readonly service: string;
  /** The node asked. */
  readonly node: string;
  /**
   * @param service the service's name
   * @param node the node asked
   */
  constructor(service: string, node: string, options?: WeftErrorOptions) {
    super(`${service} is not running on node ${node}`, options);
    this.name = "ServiceNotRunningError";
    this.service = service;
    this.node = node;
  }
}

/**
 * A service was started on a node where it already runs: the per-node
 * context holds one instance per service. A {@linkcode NameError}, since
 * the service's name on the node is taken.
 *
 * @example
 * ```ts
 * import { NameError, ServiceAlreadyRunningError } from "./errors.ts";
 * const err = new ServiceAlreadyRunningError("global", "a@h");
 * console.assert(err instanceof NameError);
 * console.assert(err.message === "Cannot start global: it already runs on a@h");
 * ```
 */
export class ServiceAlreadyRunningError extends NameError {
  /** The service's name. */
  readonly service: string;
  /** The node it runs on. */
  readonly node: string;
  /**
   * @param service the service's name
   * @param node the node it runs on
   */
  constructor(service: string, node: string, options?: WeftErrorOptions) {
    super(`Cannot start ${service}: it already runs on ${node}`, options);
    this.name = "ServiceAlreadyRunningError";
    this.service = service;
    this.node = node;
  }
}

/**
 * A layer registered a handler for a distribution operation code that
 * already has one (`kernel.ops.register`, see `distribution/op_registry.ts`):
 * two layers given one code, or one service started twice on a node.
 *
 * @example
 * ```ts
 * import { OpTakenError } from "./errors.ts";
 * const err = new OpTakenError(80, "presence", "pubsub");
 * console.assert(err.message === "Cannot register operation 80 for presence: pubsub holds it");
 * ```
 */
export class OpTakenError extends Error {
  /** The operation code. */
  readonly op: number;
  /** The owner that tried to register it. */
  readonly owner: string;
  /** The owner whose handler holds it. */
  readonly holder: string;
  /**
   * @param op the operation code
   * @param owner the owner that tried to register it
   * @param holder the owner whose handler holds it
   */
  constructor(op: number, owner: string, holder: string, options?: WeftErrorOptions) {
    super(`Cannot register operation ${op} for ${owner}: ${holder} holds it`, options);
    this.name = "OpTakenError";
    this.op = op;
    this.owner = owner;
    this.holder = holder;
  }
}

/**
 * A remote call or spawn named a module or a function that the node asked
 * does not have (Erlang's `undef`). `fn` is `undefined` when the module
 * itself is unknown.
 *
 * @example
 * ```ts
 * import { UndefinedFunctionError } from "./errors.ts";
 * const err = new UndefinedFunctionError("b@host", "math", "pow");
 * console.assert(err.module === "math" && err.fn === "pow");
 * ```
 */
export class UndefinedFunctionError extends Error {
  /** The node that was asked. */
  readonly node: string;
  /** The module named in the call. */
  readonly module: string;
  /** The function named in the call; `undefined` when the module is unknown. */
  readonly fn: string | undefined;
  /**
   * @param node the node that was asked
   * @param module the module named
   * @param fn the function named, or `undefined` when the module is unknown
   * @param message optional detail; defaults to a sentence naming what is missing
   */
  constructor(
    node: string,
    module: string,
    fn: string | undefined,
    message?: string,
    options?: WeftErrorOptions,
  ) {
    super(
      message ??
        (fn === undefined
          ? `Undefined module on ${node}: ${module}`
          : `Undefined function on ${node}: ${module}.${fn}`),
      options,
    );
    this.name = "UndefinedFunctionError";
    this.node = node;
    this.module = module;
    this.fn = fn;
  }
}

/**
 * The node asked refused the request by its rpc policy: the function is
 * not among its `--rpc-allow` patterns, or it runs no function source
 * (`--no-remote-eval`).
 *
 * @example
 * ```ts
 * import { PolicyError } from "./errors.ts";
 * const err = new PolicyError("b@host", "Cannot call node.memory on b@host: refused by its rpc policy");
 * console.assert(err.name === "PolicyError" && err.node === "b@host");
 * ```
 */
export class PolicyError extends Error {
  /** The node that refused. */
  readonly node: string;
  /**
   * @param node the node that refused
   * @param message what was refused and why
   */
  constructor(node: string, message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "PolicyError";
    this.node = node;
  }
}

/**
 * A function to be run on another node uses variables of the code around
 * it, which do not exist over there; only its source crosses the wire.
 * A bad argument, so a `TypeError`; `captured` lists the names.
 *
 * @example
 * ```ts
 * import { CaptureError } from "./errors.ts";
 * const err = new CaptureError(["x"], "Cannot send function: it captures x");
 * console.assert(err instanceof TypeError && err.captured[0] === "x");
 * ```
 */
export class CaptureError extends TypeError {
  /** The outer names the function uses, in order of first use. */
  readonly captured: readonly string[];
  /**
   * @param captured the outer names the function uses
   * @param message the sentence to show
   */
  constructor(captured: readonly string[], message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "CaptureError";
    this.captured = captured;
  }
}

/**
 * A replicated write or read did not reach the replicas its consistency
 * level asks for within its timeout. A write is applied locally all the
 * same and spreads to the other replicas once they are reachable.
 *
 * @example
 * ```ts
 * import { ConsistencyError } from "./errors.ts";
 * const err = new ConsistencyError("Cannot write cart: majority not reached (1 of 2 replicas) in 100 ms", {
 *   key: "cart",
 *   required: 2,
 *   reached: 1,
 * });
 * console.assert(err.name === "ConsistencyError" && err.required === 2);
 * ```
 */
export class ConsistencyError extends Error {
  /** The replicated key. */
  readonly key: string;
  /** Replicas (this one included) the consistency level asked for. */
  readonly required: number;
  /** Replicas (this one included) that answered in time. */
  readonly reached: number;
  /**
   * @param message what was not reached, and in how long
   * @param details the key and the counts
   */
  constructor(
    message: string,
    details: { key: string; required: number; reached: number },
    options?: WeftErrorOptions,
  ) {
    super(message, options);
    this.name = "ConsistencyError";
    this.key = details.key;
    this.required = details.required;
    this.reached = details.reached;
  }
}

/**
 * A quorum decision (`quorum.makeDecision`) did not get enough answers:
 * fewer nodes than the quorum size answered in time, so no answer is
 * taken as the cluster's (the seed's `{:error, :quorum_not_achieved}`).
 *
 * @example
 * ```ts
 * import { QuorumNotAchieved } from "./errors.ts";
 * const err = new QuorumNotAchieved("Cannot decide: quorum not achieved (1 of 3 nodes answered, 2 needed)", {
 *   required: 2,
 *   answered: 1,
 *   failed: { "b@h": new Error("down"), "c@h": new Error("down") },
 * });
 * console.assert(err.name === "QuorumNotAchieved" && err.required === 2 && err.answered === 1);
 * ```
 */
export class QuorumNotAchieved extends Error {
  /** Answers needed. */
  readonly required: number;
  /** Nodes that answered in time. */
  readonly answered: number;
  /** The nodes that did not answer, with why (`NoConnectionError`, `TimeoutError`, `RemoteError`). */
  readonly failed: Readonly<Record<string, Error>>;
  /**
   * @param message how many answered, how many were needed
   * @param details the counts and the failures by node
   */
  constructor(
    message: string,
    details: { required: number; answered: number; failed: Record<string, Error> },
    options?: WeftErrorOptions,
  ) {
    super(message, options);
    this.name = "QuorumNotAchieved";
    this.required = details.required;
    this.answered = details.answered;
    this.failed = details.failed;
  }
}

/**
 * A replicated key is held with two different types (opened as a counter on
 * one node and as a set on another): neither side merges the other's data,
 * and both refuse to use the key until one of them is deleted.
 *
 * @example
 * ```ts
 * import { CrdtTypeConflictError } from "./errors.ts";
 * const err = new CrdtTypeConflictError("Cannot use key x: it is a g-counter here, an or-set on b@h", "x");
 * console.assert(err.name === "CrdtTypeConflictError" && err.key === "x");
 * ```
 */
export class CrdtTypeConflictError extends Error {
  /** The replicated key. */
  readonly key: string;
  /**
   * @param message the two types and where each is held
   * @param key the key
   */
  constructor(message: string, key: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "CrdtTypeConflictError";
    this.key = key;
  }
}

/**
 * A replicated key was deleted: deletion wins over every concurrent update,
 * and the key cannot be used again.
 *
 * @example
 * ```ts
 * import { CrdtKeyDeletedError } from "./errors.ts";
 * const err = new CrdtKeyDeletedError("Cannot update cart: the key was deleted", "cart");
 * console.assert(err.name === "CrdtKeyDeletedError" && err.key === "cart");
 * ```
 */
export class CrdtKeyDeletedError extends Error {
  /** The replicated key. */
  readonly key: string;
  /**
   * @param message what was refused
   * @param key the key
   */
  constructor(message: string, key: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "CrdtKeyDeletedError";
    this.key = key;
  }
}

/**
 * A durable store holds data it cannot read (a corrupt file, a value that
 * does not decode): the data is left as it is, and what needed it is
 * refused, never silently started empty.
 *
 * @example
 * ```ts
 * import { StoreCorruptError } from "./errors.ts";
 * const err = new StoreCorruptError("Cannot open durable key cart: /d/replicator.db holds a corrupt value", "/d/replicator.db");
 * console.assert(err.name === "StoreCorruptError" && err.file === "/d/replicator.db");
 * ```
 */
export class StoreCorruptError extends Error {
  /** The store's file. */
  readonly file: string;
  /**
   * @param message what could not be read, and where
   * @param file the store's file
   */
  constructor(message: string, file: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "StoreCorruptError";
    this.file = file;
  }
}

/**
 * A Raft log file holds a bad record before its end: data that was synced, so acknowledged,
 * cannot be read back. The servers using the file do not start (nothing is dropped silently);
 * the message names the file and the record's byte offset. (A bad final record is a write torn
 * by a crash, never acknowledged: that one is cut off, not an error.)
 *
 * @example
 * ```ts
 * import { RaftLogCorruptError, StoreCorruptError } from "./errors.ts";
 * const err = new RaftLogCorruptError("Cannot open Raft log: /d/raft/wal holds a corrupt record at offset 96 (checksum mismatch)", "/d/raft/wal", 96);
 * console.assert(err instanceof StoreCorruptError && err.offset === 96 && err.name === "RaftLogCorruptError");
 * ```
 */
export class RaftLogCorruptError extends StoreCorruptError {
  /** Where the bad record starts in the file. */
  readonly offset: number;
  /**
   * @param message what could not be read, naming the file and offset
   * @param file the log file
   * @param offset the bad record's byte offset
   */
  constructor(message: string, file: string, offset: number, options?: WeftErrorOptions) {
    super(message, file, options);
    this.name = "RaftLogCorruptError";
    this.offset = offset;
  }
}

/**
 * What a value is, for an error message about a bad argument: `null`, a
 * string in quotes, an object's class name, or its `typeof`.
 *
 * @param value the value received
 * @returns a short description
 *
 * @example
 * ```ts
 * import { describeType } from "./errors.ts";
 * console.assert(describeType("x") === '"x"' && describeType(new Map()) === "Map");
 * console.assert(describeType(null) === "null" && describeType(3) === "number");
 * ```
 */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `"${value}"`;
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}

/** A short human description of an exit reason or error. */
export function describe(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  if (typeof reason === "string") return reason;
  try {
    return JSON.stringify(reason) ?? String(reason);
  } catch {
    return String(reason);
  }
}

/**
 * The cookie file cannot be used: it is readable or writable by others
 * than its owner, empty, or not a file. The message is one line naming the
 * file and how to fix it; the CLI prints it and exits with status 2.
 *
 * @example
 * ```ts
 * import { CookieFileError } from "./errors.ts";
 * const err = new CookieFileError("/home/me/.weft.cookie", "Cannot use cookie file: ...");
 * console.assert(err.name === "CookieFileError" && err.path === "/home/me/.weft.cookie");
 * ```
 */
export class CookieFileError extends Error {
  /** The cookie file. */
  readonly path: string;
  /**
   * @param path the cookie file
   * @param message what is wrong with it and how to fix it
   */
  constructor(path: string, message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "CookieFileError";
    this.path = path;
  }
}

/**
 * `presence.track` of a presence the process tracks already (on that topic,
 * under that key); `presence.update` changes its meta.
 *
 * @example
 * ```ts
 * import { AlreadyTrackedError } from "./errors.ts";
 * const err = new AlreadyTrackedError("room", "ann", "F3x");
 * console.assert(err.ref === "F3x" && err.message.startsWith("Cannot track ann on room"));
 * ```
 */
export class AlreadyTrackedError extends Error {
  /** The topic. */
  readonly topic: string;
  /** The key. */
  readonly key: string;
  /** The ref of the presence already tracked. */
  readonly ref: string;

  /**
   * @param topic the topic
   * @param key the key
   * @param ref the ref of the tracked presence
   */
  constructor(topic: string, key: string, ref: string, options?: WeftErrorOptions) {
    super(
      `Cannot track ${key} on ${topic}: this process tracks it already ` +
        `(presence.update changes its meta)`,
      options,
    );
    this.name = "AlreadyTrackedError";
    this.topic = topic;
    this.key = key;
    this.ref = ref;
  }
}

/**
 * `presence.update` of a presence the process does not track.
 *
 * @example
 * ```ts
 * import { NotTrackedError } from "./errors.ts";
 * console.assert(new NotTrackedError("room", "ann").message.startsWith("Cannot update ann on room"));
 * ```
 */
export class NotTrackedError extends Error {
  /** The topic. */
  readonly topic: string;
  /** The key. */
  readonly key: string;

  /**
   * @param topic the topic
   * @param key the key
   */
  constructor(topic: string, key: string, options?: WeftErrorOptions) {
    super(
      `Cannot update ${key} on ${topic}: this process does not track it (presence.track first)`,
      options,
    );
    this.name = "NotTrackedError";
    this.topic = topic;
    this.key = key;
  }
}

/**
 * An append (or delete) found its stream at another version than it
 * expected: nothing was written.
 *
 * @example
 * ```ts
 * import { WrongExpectedVersionError } from "./errors.ts";
 * const err = new WrongExpectedVersionError("account-1", 2, 3);
 * console.assert(err.message === "Wrong expected version: stream account-1 expected 2, actual 3");
 * ```
 */
export class WrongExpectedVersionError extends Error {
  /** The stream. */
  readonly stream: string;
  /** What the caller expected (`"any"`, `"no_stream"`, `"stream_exists"` or a version). */
  readonly expected: string | number;
  /** The stream's version when the append was checked (0: no stream). */
  readonly actual: number;
  /**
   * @param stream the stream
   * @param expected the expected version
   * @param actual the version found
   */
  constructor(
    stream: string,
    expected: string | number,
    actual: number,
    options?: WeftErrorOptions,
  ) {
    super(
      `Wrong expected version: stream ${stream} expected ${expected}, actual ${actual}`,
      options,
    );
    this.name = "WrongExpectedVersionError";
    this.stream = stream;
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * A read or append met a stream that was deleted.
 *
 * @example
 * ```ts
 * import { StreamDeletedError } from "./errors.ts";
 * console.assert(new StreamDeletedError("cart-1").stream === "cart-1");
 * ```
 */
export class StreamDeletedError extends Error {
  /** The deleted stream. */
  readonly stream: string;
  /** @param stream the deleted stream */
  constructor(stream: string, options?: WeftErrorOptions) {
    super(`Stream is deleted: ${stream}`, options);
    this.name = "StreamDeletedError";
    this.stream = stream;
  }
}

/**
 * An event (or snapshot) holds a value that is not plain JSON: nothing
 * was written.
 *
 * @example
 * ```ts
 * import { EventSerializationError } from "./errors.ts";
 * const err = new EventSerializationError("Cannot serialise event Deposited: data.at is a function");
 * console.assert(err.name === "EventSerializationError");
 * ```
 */
export class EventSerializationError extends Error {
  /** @param message what could not be serialised, and where in the value */
  constructor(message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "EventSerializationError";
  }
}

/**
 * The event store's database could not be reached (after the adapter's
 * retries): the operation did not take effect.
 *
 * @example
 * ```ts
 * import { EventStoreUnavailableError } from "./errors.ts";
 * const err = new EventStoreUnavailableError("Event store unavailable: connect ECONNREFUSED 127.0.0.1:5");
 * console.assert(err.name === "EventStoreUnavailableError");
 * ```
 */
export class EventStoreUnavailableError extends Error {
  /** @param message what failed, with the database's error */
  constructor(message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "EventStoreUnavailableError";
  }
}

/**
 * A command was dispatched that no aggregate is registered for.
 *
 * @example
 * ```ts
 * import { UnregisteredCommandError } from "./errors.ts";
 * console.assert(new UnregisteredCommandError("Fly").command === "Fly");
 * ```
 */
export class UnregisteredCommandError extends Error {
  /** The command's type. */
  readonly command: string;
  /** @param command the command's type */
  constructor(command: string, options?: WeftErrorOptions) {
    super(`No aggregate is registered for command: ${command}`, options);
    this.name = "UnregisteredCommandError";
    this.command = command;
  }
}

/**
 * An aggregate refused a command (its `execute` returned or threw an
 * error): no event was written.
 *
 * @example
 * ```ts
 * import { CommandRejectedError } from "./errors.ts";
 * const err = new CommandRejectedError("Withdraw", "account-1", new Error("Insufficient funds"));
 * console.assert(err.message === "Command Withdraw rejected by account-1: Insufficient funds");
 * ```
 */
export class CommandRejectedError extends Error {
  /** The command's type. */
  readonly command: string;
  /** The aggregate's stream. */
  readonly stream: string;
  /**
   * @param command the command's type
   * @param stream the aggregate's stream
   * @param reason the aggregate's error (kept as `cause`)
   */
  constructor(command: string, stream: string, reason: unknown) {
    super(
      `Command ${command} rejected by ${stream}: ${
        reason instanceof Error ? reason.message : String(reason)
      }`,
      { cause: reason },
    );
    this.name = "CommandRejectedError";
    this.command = command;
    this.stream = stream;
  }
}

/**
 * An HTTP endpoint of the node (metrics, observer) cannot listen: its port
 * is taken.
 *
 * @example
 * ```ts
 * import { PortInUseError } from "./errors.ts";
 * const e = new PortInUseError("metrics", "127.0.0.1", 9568);
 * console.assert(e.message === "Cannot serve metrics on 127.0.0.1:9568: the port is in use");
 * ```
 */
export class PortInUseError extends Error {
  /** The port asked for. */
  readonly port: number;

  /**
   * @param what the endpoint (`metrics`, `the observer`)
   * @param hostname the address asked for
   * @param port the port asked for
   */
  constructor(what: string, hostname: string, port: number, options?: WeftErrorOptions) {
    super(`Cannot serve ${what} on ${hostname}:${port}: the port is in use`, options);
    this.name = "PortInUseError";
    this.port = port;
  }
}

/**
 * A unique key of a distributed registry is held by another process
 * (`registry.register`); `holder` is that process.
 *
 * @example
 * ```ts
 * import { KeyTakenError } from "./errors.ts";
 * import { Pid } from "./term/pid.ts";
 * const err = new KeyTakenError("workers", "w1", new Pid("b@h", 7, 0, 1));
 * console.assert(err.name === "KeyTakenError" && err.holder.node === "b@h");
 * ```
 */
export class KeyTakenError extends Error {
  /** The registry's name. */
  readonly registry: string;
  /** The key. */
  readonly key: unknown;
  /** The process that holds it (a `Pid`). */
  readonly holder: { readonly node: string };

  /**
   * @param registry the registry's name
   * @param key the key
   * @param holder the pid holding it
   */
  constructor(
    registry: string,
    key: unknown,
    holder: { readonly node: string },
    options?: WeftErrorOptions,
  ) {
    super(
      `Cannot register ${JSON.stringify(key)} in ${registry}: it is held by ${String(holder)}`,
      options,
    );
    this.name = "KeyTakenError";
    this.registry = registry;
    this.key = key;
    this.holder = holder;
  }
}

/**
 * A registry or supervisor in quorum mode was asked to register or start
 * on a node that does not see a majority of its members.
 *
 * @example
 * ```ts
 * import { NoQuorumError } from "./errors.ts";
 * const err = new NoQuorumError("Cannot start child w1: 1 of 3 members visible, 2 needed");
 * console.assert(err.name === "NoQuorumError");
 * ```
 */
export class NoQuorumError extends Error {
  /** @param message what was refused, with the counts */
  constructor(message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "NoQuorumError";
  }
}

/**
 * A Raft command or query did not complete in time. For a command the outcome is unknown: the
 * leader may have committed it (Raft clients cannot tell a lost request from a lost reply).
 *
 * @example
 * ```ts
 * import { RaftTimeoutError, TimeoutError } from "./errors.ts";
 * const err = new RaftTimeoutError("kv", 5000);
 * console.assert(err instanceof TimeoutError && err.cluster === "kv");
 * ```
 */
export class RaftTimeoutError extends TimeoutError {
  /** The Raft cluster (group) asked. */
  readonly cluster: string;
  /**
   * @param cluster the cluster's name
   * @param ms the timeout
   * @param what the detail after the colon (default: the outcome is unknown)
   */
  constructor(cluster: string, ms: number, what?: string, options?: WeftErrorOptions) {
    super(
      `Raft cluster ${cluster} did not answer within ${ms} ms: ${
        what ?? "the outcome is unknown (the command may have been applied)"
      }`,
      options,
    );
    this.name = "RaftTimeoutError";
    this.cluster = cluster;
  }
}

/**
 * No member of a Raft cluster leads, and none came to lead before the deadline: fewer than a
 * majority of its members can reach each other, so nothing can be committed.
 *
 * @example
 * ```ts
 * import { RaftNoQuorumError } from "./errors.ts";
 * const err = new RaftNoQuorumError("kv", ["a@h"], ["a@h", "b@h", "c@h"]);
 * console.assert(err.name === "RaftNoQuorumError" && err.message.includes("1 of 3"));
 * ```
 */
export class RaftNoQuorumError extends Error {
  /** The Raft cluster. */
  readonly cluster: string;
  /** The members that answered (without a leader). */
  readonly reached: readonly string[];
  /** Every member. */
  readonly members: readonly string[];
  /**
   * @param cluster the cluster's name
   * @param reached the members that answered
   * @param members every member
   */
  constructor(
    cluster: string,
    reached: readonly string[],
    members: readonly string[],
    options?: WeftErrorOptions,
  ) {
    super(
      `Raft cluster ${cluster} has no leader: no quorum (${reached.length} of ${members.length} members reached, ${
        Math.floor(members.length / 2) + 1
      } needed to elect one)`,
      options,
    );
    this.name = "RaftNoQuorumError";
    this.cluster = cluster;
    this.reached = reached;
    this.members = members;
  }
}

/**
 * A Raft cluster name that no reachable node hosts.
 *
 * @example
 * ```ts
 * import { UnknownRaftClusterError } from "./errors.ts";
 * const err = new UnknownRaftClusterError("nope");
 * console.assert(err.message === "Unknown Raft cluster: nope (no reachable node hosts it)");
 * ```
 */
export class UnknownRaftClusterError extends Error {
  /** The name asked for. */
  readonly cluster: string;
  /** @param cluster the name asked for */
  constructor(cluster: string, options?: WeftErrorOptions) {
    super(`Unknown Raft cluster: ${cluster} (no reachable node hosts it)`, options);
    this.name = "UnknownRaftClusterError";
    this.cluster = cluster;
  }
}

/**
 * An rpc call was not sent: the circuit breaker of its node is open (too
 * many calls to it failed lately). A {@linkcode NoConnectionError}, so code
 * that handles an unreachable node handles this too.
 *
 * @example
 * ```ts
 * import { CircuitOpenError, NoConnectionError } from "./errors.ts";
 * const e = new CircuitOpenError("b@h", 5, 10000, 4200);
 * console.assert(e instanceof NoConnectionError && e.retryInMs === 4200);
 * ```
 */
export class CircuitOpenError extends NoConnectionError {
  /** Milliseconds until the breaker lets a probe call through. */
  readonly retryInMs: number;

  /**
   * @param node the node whose breaker is open
   * @param failures the failures that opened it
   * @param windowMs the window they happened in
   * @param retryInMs milliseconds until a probe may go
   */
  constructor(
    node: string,
    failures: number,
    windowMs: number,
    retryInMs: number,
    options?: WeftErrorOptions,
  ) {
    super(
      node,
      `Cannot call ${node}: its circuit breaker is open after ${failures} failures in ${windowMs} ms ` +
        `(a probe call goes in ${Math.max(0, Math.round(retryInMs))} ms)`,
      options,
    );
    this.name = "CircuitOpenError";
    this.retryInMs = retryInMs;
  }
}

/**
 * A Raft membership change (`raft.addMember`, `raft.removeMember`) that the leader refused:
 * another change is still in progress (one at a time), or it would remove the last voter.
 *
 * @example
 * ```ts
 * import { RaftMembershipError } from "./errors.ts";
 * const err = new RaftMembershipError("kv", "another change is in progress");
 * console.assert(err.message === "Cannot change the members of Raft cluster kv: another change is in progress");
 * ```
 */
export class RaftMembershipError extends Error {
  /** The Raft cluster. */
  readonly cluster: string;
  /** Whether an earlier change was still settling (trying again later may succeed). */
  readonly inProgress: boolean;
  /**
   * @param cluster the cluster's name
   * @param reason why the leader refused
   * @param inProgress whether an earlier change was still settling
   */
  constructor(cluster: string, reason: string, inProgress = false, options?: WeftErrorOptions) {
    super(`Cannot change the members of Raft cluster ${cluster}: ${reason}`, options);
    this.name = "RaftMembershipError";
    this.cluster = cluster;
    this.inProgress = inProgress;
  }
}
