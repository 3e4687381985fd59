/**
 * GenServer: a process that keeps state and answers requests, as Elixir's
 * `GenServer` and Erlang's `gen_server`. Write a class that extends
 * {@linkcode GenServer}, start it with `GenServer.start` / `startLink`,
 * talk to it with `call` (request and reply), `cast` (fire and forget) or
 * plain messages (`handleInfo`).
 *
 * Handlers return plain objects; which keys they have says what happens:
 *
 * | returned                              | Elixir                         |
 * |---------------------------------------|--------------------------------|
 * | `{ ok: state }` from `init`           | `{:ok, state}`                 |
 * | `{ stop: reason }` from `init`        | `{:stop, reason}`              |
 * | `{ ignore: true }` from `init`        | `:ignore`                      |
 * | `{ reply: value, state }`             | `{:reply, value, state}`       |
 * | `{ noreply: true, state }`            | `{:noreply, state}`            |
 * | `{ stop: reason, state }`             | `{:stop, reason, state}`       |
 * | `{ stop: reason, reply: value, state }` | `{:stop, reason, value, state}` |
 *
 * `timeout: ms` (a `"timeout"` message to `handleInfo` when nothing else
 * arrives in time) and `continue: x` (`handleContinue(x, state)` before
 * the next message) may be added to `ok`, `reply` and `noreply` results.
 *
 * A call, as it travels:
 *
 * ```
 * caller: alias = a fresh mailbox for this call only; alias monitors server
 *         send(server, {$gen_call, from: {pid: caller, tag: monitor ref, alias}, request})
 * server: handleCall(request, from, state) -> {reply: v}   (or later: GenServer.reply(from, v))
 *         send(from.alias, {$gen_reply, tag, value: v})
 * caller: the reply -> value;  DOWN -> ExitError(reason);  deadline -> TimeoutError
 *         alias exits: a reply that comes later is dropped, it reaches no one
 * ```
 *
 * The monitor makes a call fail as soon as the server dies or its node is
 * lost (`ExitError` with reason `"noconnection"`), without waiting for the
 * deadline. The alias is what Erlang's process aliases are: a late reply
 * never lands in the caller's own mailbox.
 *
 * @example
 * ```ts
 * import { GenServer, type CallResult, type CastResult, type From } from "./gen_server.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { runInProcess } from "../process/current.ts";
 *
 * class Counter extends GenServer<number> {
 *   override init(start: number) {
 *     return { ok: start };
 *   }
 *   override handleCall(request: "get", _from: From, n: number): CallResult<number> {
 *     return { reply: n, state: n };
 *   }
 *   override handleCast(request: { add: number }, n: number): CastResult<number> {
 *     return { noreply: true, state: n + request.add };
 *   }
 * }
 *
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   const pid = await GenServer.start(Counter, 1, { name: "counter" });
 *   GenServer.cast("counter", { add: 41 });
 *   console.assert((await GenServer.call(pid, "get")) === 42);
 *   await GenServer.stop(pid);
 * });
 * await rt.shutdown();
 * ```
 *
 * @module
 */

import { describe, NameError, TimeoutError } from "../errors.ts";
import { logger } from "../log.ts";
import { current } from "../process/current.ts";
import type { Runtime } from "../process/runtime.ts";
import type { DownMessage, ExitMessage, ProcessContext, RemoteName } from "../process/types.ts";
import { Pid, Ref } from "../term/pid.ts";
import { isCrash } from "./_reason.ts";
import { callerOf, checkTimeout, isDownOf, waitOnAlias } from "./_caller.ts";
import { sameTerm } from "./_term.ts";
import type { ChildSpec, RestartType, Shutdown } from "./child_spec.ts";
import { AlreadyStartedError, ExitError, StartError } from "./errors.ts";
import { GEN_SERVER_CALL_STOP } from "../telemetry/events.ts";
import {
  checkServerName,
  checkServerRef,
  describeServer,
  isGlobalName,
  type NameRegistry,
  nameRegistryOf,
  type ServerName,
  type ServerRef,
  whereisServer,
} from "./name.ts";

export type { ServerName, ServerRef } from "./name.ts";

const log = logger("otp");

/** A value, or a promise of it: every callback may be `async`. */
export type Awaitable<T> = T | Promise<T>;

/**
 * Who is waiting in a `GenServer.call`: pass it to `GenServer.reply` to
 * answer later. Plain data, so it can be kept in the state or sent to
 * another process to answer for the server.
 */
export interface From {
  /** The calling process. */
  readonly pid: Pid;
  /** Tags the reply; it is the caller's monitor of the server. */
  readonly tag: Ref;
  /** The call's own mailbox: the reply goes there, and nowhere once the call is over. */
  readonly alias: Pid;
}

/** Extra instructions a handler may add to a result that keeps the server running. */
export interface ContinueOptions {
  /** Deliver the message `"timeout"` to `handleInfo` if nothing arrives within this many ms. */
  timeout?: number;
  /** Call `handleContinue(continue, state)` before taking the next message. */
  continue?: unknown;
}

/** What `init` returns. */
export type InitResult<S> =
  | ({ ok: S } & ContinueOptions)
  | { stop: unknown }
  | { ignore: true };

/**
 * What `handleCall` returns: `R` is the reply's type, what `GenServer.call`
 * gives a caller that holds the server's {@linkcode ServerPid}.
 */
export type CallResult<S, R = unknown> =
  | ({ reply: R; state: S } & ContinueOptions)
  | ({ noreply: true; state: S } & ContinueOptions)
  | { stop: unknown; reply?: R; state: S };

/** What `handleCast`, `handleInfo` and `handleContinue` return. */
export type NoReplyResult<S> =
  | ({ noreply: true; state: S } & ContinueOptions)
  | { stop: unknown; state: S };

/** What `handleCast` returns. */
export type CastResult<S> = NoReplyResult<S>;
/** What `handleInfo` returns. */
export type InfoResult<S> = NoReplyResult<S>;
/** What `handleContinue` returns. */
export type ContinueResult<S> = NoReplyResult<S>;

/** Options of `GenServer.start` and `GenServer.startLink`. */
export interface StartOptions {
  /** Register the server under a local name, `{ global }` or `{ via, key }`. */
  name?: ServerName;
  /** The node to start it on; default the calling process's. */
  runtime?: Runtime;
  /** Link it to the calling process (what `startLink` sets). */
  link?: boolean;
  /** Milliseconds `init` may take; past it the server is killed and start throws `TimeoutError`. Default `Infinity`. */
  timeout?: number;
  /**
   * The most messages the server's mailbox may hold; one more ends it with
   * `{ reason: "mailbox_limit", limit, length }` (see `SpawnOptions.maxMailbox`).
   * Default none.
   */
  maxMailbox?: number;
}

/** Options of `GenServer.call`. */
export interface CallOptions {
  /** Milliseconds to wait for the reply; default 5000; `Infinity` waits for ever. */
  timeout?: number;
  /** The node to call from when not inside a process. */
  runtime?: Runtime;
}

/** Options of `GenServer.stop`. */
export interface StopOptions {
  /** Milliseconds to wait for the server to stop; default `Infinity`. */
  timeout?: number;
  /** The node to act from when not inside a process. */
  runtime?: Runtime;
}

/** Options of `GenServer.childSpec`: start options plus the spec's own fields. */
export interface GenServerChildOptions extends Omit<StartOptions, "link" | "runtime"> {
  /** The child's id; default the class's name. */
  id?: string;
  /** When to restart it. */
  restart?: RestartType;
  /** How to stop it. */
  shutdown?: Shutdown;
}

/** A concrete server class. */
// deno-lint-ignore no-explicit-any
export type ServerClass<T extends GenServer<any, any>> = new () => T;

/** The argument a server class's `init` takes. */
// deno-lint-ignore no-explicit-any
export type InitArgs<T extends GenServer<any, any>> = Parameters<T["init"]>[0];

/** Names the server class of a {@linkcode ServerPid}; exists in types only. */
declare const serverClass: unique symbol;

/**
 * The pid of a server of class `T`, as `GenServer.start` returns it: a plain
 * {@linkcode Pid} at run time, whose type remembers the class, so that
 * `GenServer.call(pid, request)` checks the request against `handleCall`'s
 * and is typed by its reply. A pid from anywhere else (a name, a message)
 * is called untyped, or with `GenServer.call<R>`.
 */
// deno-lint-ignore no-explicit-any
export type ServerPid<T extends GenServer<any, any>> = Pid & { readonly [serverClass]: T };

/** The requests a server class's `handleCall` takes. */
// deno-lint-ignore no-explicit-any
export type CallRequest<T extends GenServer<any, any>> = Parameters<T["handleCall"]>[0];

/** The replies a server class's `handleCall` gives: the `reply` of its results. */
// deno-lint-ignore no-explicit-any
export type CallReply<T extends GenServer<any, any>> = ReplyIn<
  Awaited<ReturnType<T["handleCall"]>>
>;

/** The reply type carried by each kind of `handleCall` result. */
type ReplyIn<X> = X extends { noreply: true } ? never
  : X extends { reply: infer R } ? R
  : X extends { stop: unknown; reply?: infer R } ? R
  : never;

// ---------------------------------------------------------------- messages

/** `GenServer.call` -> server. */
interface CallMessage {
  type: "$gen_call";
  from: From;
  request: unknown;
}

/** `GenServer.cast` -> server. */
interface CastMessage {
  type: "$gen_cast";
  request: unknown;
}

/** `GenServer.stop` -> server. */
interface StopMessage {
  type: "$gen_stop";
  reason: unknown;
}

/** Server (or whoever answers for it) -> the call's alias. */
interface ReplyMessage {
  type: "$gen_reply";
  tag: Ref;
  value: unknown;
  /** Set instead of a value the reply could not carry to the caller's node. */
  unsendable?: TypeError;
}

/** New server -> the alias of `GenServer.start`, once `init` has returned. */
type AckMessage =
  & { type: "$gen_ack"; tag: Ref }
  & ({ ok: true } | { error: unknown; holder?: Pid } | { ignore: true });

function isCallMessage(msg: unknown): msg is CallMessage {
  const m = msg as CallMessage;
  return typeof msg === "object" && msg !== null && m.type === "$gen_call" &&
    typeof m.from === "object" && m.from !== null && m.from.alias instanceof Pid &&
    m.from.tag instanceof Ref && m.from.pid instanceof Pid;
}

function isCastMessage(msg: unknown): msg is CastMessage {
  return typeof msg === "object" && msg !== null && (msg as CastMessage).type === "$gen_cast";
}

function isStopMessage(msg: unknown): msg is StopMessage {
  return typeof msg === "object" && msg !== null && (msg as StopMessage).type === "$gen_stop";
}

function isReplyTo(msg: unknown, tag: Ref): msg is ReplyMessage {
  const m = msg as ReplyMessage;
  return typeof msg === "object" && msg !== null && m.type === "$gen_reply" && tag.equals(m.tag);
}

function isAck(msg: unknown, tag: Ref): msg is AckMessage {
  const m = msg as AckMessage;
  return typeof msg === "object" && msg !== null && m.type === "$gen_ack" && tag.equals(m.tag);
}

// ---------------------------------------------------------------- helpers shared with the other behaviours

function describeReason(reason: unknown): string {
  if (reason === "noproc") return "no process";
  if (reason === "noconnection") return "its node is not connected";
  return `it exited: ${describe(reason)}`;
}

// ---------------------------------------------------------------- results

/** What the loop does after a handler: go on, or stop. */
type Outcome =
  | { go: true; state: unknown; timeout: number | undefined; cont: unknown; hasCont: boolean }
  | { go: false; reason: unknown; state: unknown; reply?: { value: unknown } };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function checkContinue(result: Record<string, unknown>, handler: string): number | undefined {
  const timeout = result.timeout;
  if (timeout === undefined) return undefined;
  if (typeof timeout !== "number" || !(timeout >= 0)) {
    throw new TypeError(
      `Bad return value from ${handler}: timeout must be a number of ms, received ${
        describe(timeout)
      }`,
    );
  }
  return timeout === Infinity ? undefined : Math.min(timeout, 0x7fffffff);
}

function badReturn(handler: string, expected: string, result: unknown): TypeError {
  let shown: string;
  try {
    shown = Deno.inspect(result, { depth: 2, colors: false });
  } catch {
    shown = String(result);
  }
  return new TypeError(`Bad return value from ${handler}: expected ${expected}, received ${shown}`);
}

/** Reads a handler's result; `reply` collects a call's reply. */
function readResult(
  result: unknown,
  handler: string,
  canReply: boolean,
): Outcome & { replyValue?: { value: unknown } } {
  const expected = canReply
    ? "{ reply, state }, { noreply: true, state } or { stop, state }"
    : "{ noreply: true, state } or { stop, state }";
  if (!isObject(result) || !("state" in result)) throw badReturn(handler, expected, result);
  if ("stop" in result) {
    const out: Outcome = { go: false, reason: result.stop, state: result.state };
    if (canReply && "reply" in result) out.reply = { value: result.reply };
    return out;
  }
  const timeout = checkContinue(result, handler);
  const hasCont = "continue" in result;
  const go = { go: true as const, state: result.state, timeout, cont: result.continue, hasCont };
  if (canReply && "reply" in result) return { ...go, replyValue: { value: result.reply } };
  if (result.noreply === true) return go;
  throw badReturn(handler, expected, result);
}

// ---------------------------------------------------------------- the server process

/** What a new server process is told by `start`. */
interface StartInfo {
  cls: ServerClass<GenServer>;
  args: unknown;
  name: ServerName | undefined;
  parent: Pid | undefined;
  ack: Pid;
  tag: Ref;
}

/** A name to register the server under once it runs: `{ global }` / `{ via }`. */
async function registerServiceName(
  ctx: ProcessContext,
  name: ServerName,
): Promise<{ registry: NameRegistry; key: unknown } | { holder: Pid | undefined }> {
  const service = name as Exclude<ServerName, string>;
  const registry = nameRegistryOf(service, ctx.runtime);
  const key = isGlobalName(service) ? service.global : service.key;
  if (await registry.registerName(key, ctx.self)) return { registry, key };
  return { holder: registry.whereisName(key) };
}

/** The body of every GenServer process. */
async function serverMain(ctx: ProcessContext, start: StartInfo): Promise<void> {
  const ack = (body: Record<string, unknown>) =>
    ctx.send(start.ack, { type: "$gen_ack", tag: start.tag, ...body });
  let service: { registry: NameRegistry; key: unknown } | undefined;
  if (start.name !== undefined && typeof start.name !== "string") {
    let outcome;
    try {
      outcome = await registerServiceName(ctx, start.name);
    } catch (err) {
      ack({ error: err });
      return;
    }
    if ("holder" in outcome) {
      ack({ error: "already_started", holder: outcome.holder });
      return;
    }
    service = outcome;
  }
  const unregister = async () => {
    try {
      await service?.registry.unregisterName(service.key);
    } catch (err) {
      log.warn("Cannot unregister {name}: {err}", { name: start.name, err });
    }
  };

  let server: GenServer;
  let result: unknown;
  try {
    server = new start.cls();
    result = await server.init(start.args);
  } catch (err) {
    await unregister();
    ack({ error: err });
    logCrash(ctx, start, err, "init", undefined, undefined);
    ctx.exit(err);
    return;
  }
  if (!isObject(result) || !("ok" in result || "stop" in result || result.ignore === true)) {
    const err = badReturn("init", "{ ok: state }, { stop: reason } or { ignore: true }", result);
    await unregister();
    ack({ error: err });
    logCrash(ctx, start, err, "init", undefined, undefined);
    ctx.exit(err);
    return;
  }
  if ("stop" in result) {
    await unregister();
    ack({ error: result.stop });
    if (isCrash(result.stop)) logCrash(ctx, start, result.stop, "init", undefined, undefined);
    ctx.exit(result.stop);
    return;
  }
  if (!("ok" in result)) {
    await unregister();
    ack({ ignore: true });
    ctx.exit("normal");
    return;
  }
  let timeout: number | undefined;
  try {
    timeout = checkContinue(result, "init");
  } catch (err) {
    await unregister();
    ack({ error: err });
    ctx.exit(err);
    return;
  }
  ack({ ok: true });
  await serverLoop(ctx, start, server, result.ok, timeout, "continue" in result, result.continue);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as PromiseLike<unknown>).then === "function";
}

/** Takes messages one at a time and hands them to the server's callbacks. */
async function serverLoop(
  ctx: ProcessContext,
  start: StartInfo,
  server: GenServer,
  state: unknown,
  timeout: number | undefined,
  hasCont: boolean,
  cont: unknown,
): Promise<void> {
  const runtime = ctx.runtime;
  const self = ctx.self;
  const receiveOptions = { timeout: Infinity };
  // What the observer shows of this server: its state, through formatStatus (read when asked).
  const behaviour = server.constructor.name || "GenServer";
  runtime.setStatus(self, () => ({ behaviour, state: server.formatStatus(state) }));
  while (true) {
    let msg: unknown;
    let outcome: Outcome & { replyValue?: { value: unknown } };
    let from: From | undefined;
    let handler: string;
    try {
      // A callback's result is awaited only when it is a promise, so that a
      // synchronous handler costs no extra turn of the microtask queue.
      let result: unknown;
      if (hasCont) {
        msg = { continue: cont };
        handler = "handleContinue";
        result = server.handleContinue(cont, state);
      } else {
        try {
          receiveOptions.timeout = timeout ?? Infinity;
          msg = await ctx.receive(undefined, receiveOptions);
        } catch (err) {
          if (!(err instanceof TimeoutError)) return; // exited: killed, or its node stopped
          msg = "timeout";
        }
        if (isCallMessage(msg)) {
          from = msg.from;
          handler = "handleCall";
          result = server.handleCall(msg.request, from, state);
        } else if (isCastMessage(msg)) {
          handler = "handleCast";
          result = server.handleCast(msg.request, state);
        } else if (isStopMessage(msg)) {
          handler = "stop";
          result = { stop: msg.reason, state };
        } else if (
          start.parent !== undefined && isObject(msg) && msg.type === "EXIT" &&
          start.parent.equals((msg as unknown as ExitMessage).from)
        ) {
          // The parent (a supervisor, the starter) exits or tells us to: as gen_server does.
          handler = "parent exit";
          result = { stop: (msg as unknown as ExitMessage).reason, state };
        } else {
          handler = "handleInfo";
          result = server.handleInfo(msg, state);
        }
      }
      if (isThenable(result)) result = await result;
      outcome = readResult(result, handler, handler === "handleCall");
    } catch (err) {
      if (!runtime.isAlive(self)) return;
      logCrash(ctx, start, err, "handler", msg, state);
      await terminateServer(ctx, start, server, err, state, true);
      return;
    }
    // Killed while a handler awaited: nothing more runs, as in Erlang.
    if (!runtime.isAlive(self)) return;
    if (outcome.go) {
      if (outcome.replyValue !== undefined && from !== undefined) {
        sendReply(ctx, from, outcome.replyValue.value);
      }
      state = outcome.state;
      timeout = outcome.timeout;
      hasCont = outcome.hasCont;
      cont = outcome.cont;
      continue;
    }
    await terminateServer(
      ctx,
      start,
      server,
      outcome.reason,
      outcome.state,
      false,
      from,
      outcome.reply,
    );
    return;
  }
}

/** `terminate`, the reply of a `{ stop, reply }`, the crash report, then exit. */
async function terminateServer(
  ctx: ProcessContext,
  start: StartInfo,
  server: GenServer,
  reason: unknown,
  state: unknown,
  logged: boolean,
  from?: From,
  reply?: { value: unknown },
): Promise<void> {
  try {
    await server.terminate(reason, state);
  } catch (err) {
    if (!ctx.runtime.isAlive(ctx.self)) return;
    logCrash(ctx, start, err, "terminate", undefined, state);
    reason = err;
    logged = true;
  }
  if (!ctx.runtime.isAlive(ctx.self)) return;
  if (reply !== undefined && from !== undefined) sendReply(ctx, from, reply.value);
  if (!logged && isCrash(reason)) logCrash(ctx, start, reason, "stop", undefined, state);
  ctx.exit(reason);
}

function sendReply(ctx: ProcessContext, from: From, value: unknown): void {
  try {
    ctx.send(from.alias, { type: "$gen_reply", tag: from.tag, value } satisfies ReplyMessage);
  } catch (err) {
    // The reply cannot cross the wire (a function in it): the caller gets a
    // TypeError saying so rather than waiting for its deadline.
    const detail = err instanceof Error ? err.message : String(err);
    const unsendable = new TypeError(
      `Cannot reply to ${from.pid}: the reply cannot be sent to another node: ${detail}`,
    );
    log.error("{err}", { err: unsendable });
    ctx.send(
      from.alias,
      {
        type: "$gen_reply",
        tag: from.tag,
        value: undefined,
        unsendable,
      } satisfies ReplyMessage,
    );
  }
}

function logCrash(
  ctx: ProcessContext,
  start: StartInfo,
  reason: unknown,
  where: string,
  msg: unknown,
  state: unknown,
): void {
  const props = {
    server: start.name === undefined ? String(ctx.self) : describeServer(start.name),
    cls: start.cls.name,
    where,
    reason,
    msg,
    state,
    stack: reason instanceof Error && reason.stack ? `\n${reason.stack}` : "",
  };
  if (where === "init") {
    log.error("GenServer {server} ({cls}) failed in init: {reason}{stack}", props);
  } else {
    log.error(
      "GenServer {server} ({cls}) terminating: {reason}\nLast message: {msg}\nState: {state}{stack}",
      props,
    );
  }
}

// ---------------------------------------------------------------- the class

/**
 * The base class of a server. Extend it, implement `init`, and override
 * the callbacks the server needs; each gets the current state and returns
 * the next one inside a result object (see the module documentation).
 * Callbacks may be `async`; the server handles one message at a time.
 *
 * One instance is made per started process, so instance fields are
 * private to that process, but the state passed through the callbacks is
 * what `terminate` and crash reports see.
 *
 * @typeParam S the state
 * @typeParam A what `init` takes
 *
 * @example
 * ```ts
 * import { GenServer, type CallResult, type From } from "./gen_server.ts";
 * import { Runtime } from "../process/runtime.ts";
 *
 * class Stack extends GenServer<string[]> {
 *   override init(items: string[]) {
 *     return { ok: items };
 *   }
 *   override handleCall(req: "pop" | { push: string }, _from: From, items: string[]): CallResult<string[]> {
 *     if (req === "pop") return { reply: items[0], state: items.slice(1) };
 *     return { reply: "ok", state: [req.push, ...items] };
 *   }
 * }
 *
 * const rt = new Runtime();
 * const pid = await GenServer.start(Stack, ["a"], { runtime: rt });
 * await GenServer.call(pid, { push: "b" }, { runtime: rt });
 * console.assert((await GenServer.call(pid, "pop", { runtime: rt })) === "b");
 * await rt.shutdown();
 * ```
 */
// deno-lint-ignore no-explicit-any
export abstract class GenServer<S = any, A = any> {
  /**
   * Runs in the new process before `start` returns. Return `{ ok: state }`,
   * `{ stop: reason }` (start throws `StartError`) or `{ ignore: true }`.
   * Call `trapExit(true)` here to have `terminate` run when the parent
   * (a supervisor) stops the server.
   */
  abstract init(args: A): Awaitable<InitResult<S>>;

  /**
   * Handles a `GenServer.call`. Return `{ reply, state }`, or
   * `{ noreply: true, state }` and answer later with `GenServer.reply(from, value)`.
   * The default crashes the server, as Elixir's does.
   */
  handleCall(request: unknown, _from: From, _state: S): Awaitable<CallResult<S>> {
    throw new Error(
      `${this.constructor.name} received a call but has no handleCall: ${describe(request)}`,
    );
  }

  /** Handles a `GenServer.cast`. The default crashes the server, as Elixir's does. */
  handleCast(request: unknown, _state: S): Awaitable<CastResult<S>> {
    throw new Error(
      `${this.constructor.name} received a cast but has no handleCast: ${describe(request)}`,
    );
  }

  /**
   * What the observer shows as this server's state (OTP's `format_status`):
   * the state itself by default. Override it to hide secrets or to show a
   * large state in brief. It runs when someone looks, outside the server's
   * callbacks, so it must only read `state`.
   *
   * @param state the current state
   * @returns what to show
   *
   * @example
   * ```ts
   * import { GenServer } from "./gen_server.ts";
   * class Session extends GenServer<{ user: string; token: string }> {
   *   override init() {
   *     return { ok: { user: "ann", token: "s3cret" } };
   *   }
   *   override formatStatus(state: { user: string; token: string }) {
   *     return { user: state.user, token: "<hidden>" };
   *   }
   * }
   * console.assert(new Session().formatStatus({ user: "ann", token: "x" }).token === "<hidden>");
   * ```
   */
  formatStatus(state: S): unknown {
    return state;
  }

  /**
   * Handles any other message: plain sends, `DOWN` and `EXIT` messages,
   * `"timeout"`. The default logs it and goes on, as Elixir's does.
   */
  handleInfo(msg: unknown, state: S): Awaitable<InfoResult<S>> {
    log.error("{cls} received an unexpected message in handleInfo: {msg}", {
      cls: this.constructor.name,
      msg,
    });
    return { noreply: true, state };
  }

  /** Runs when a result carried `continue: x`, before the next message. */
  handleContinue(cont: unknown, _state: S): Awaitable<ContinueResult<S>> {
    throw new Error(
      `${this.constructor.name} returned continue but has no handleContinue: ${describe(cont)}`,
    );
  }

  /**
   * Runs when the server stops: a `stop` result, a crash in a callback,
   * `GenServer.stop`, or an exit signal from its parent while it traps
   * exits. Not when it is killed outright.
   */
  terminate(_reason: unknown, _state: S): Awaitable<void> {}

  /**
   * Starts a server process running `cls` and waits for its `init`.
   *
   * @param cls the server class
   * @param args passed to `init`
   * @param options name, runtime, link, init timeout
   * @returns the server's pid
   * @throws {StartError} when `init` returned `{ stop }` or `{ ignore }` (reason `"ignore"`), or threw
   * @throws {AlreadyStartedError} when the name is held by a running process
   * @throws {TimeoutError} when `init` took longer than `options.timeout` (the server is killed)
   * @throws {NameError} for a `{ global }` name without the global module, or an unknown registry
   * @throws {TypeError} on a malformed class or option
   *
   * @example
   * ```ts
   * import { GenServer } from "./gen_server.ts";
   * import { StartError } from "./errors.ts";
   * import { Runtime } from "../process/runtime.ts";
   * class Picky extends GenServer<number> {
   *   override init(n: number) {
   *     return n > 0 ? { ok: n } : { stop: "not_positive" };
   *   }
   * }
   * const rt = new Runtime();
   * try {
   *   await GenServer.start(Picky, 0, { runtime: rt });
   * } catch (e) {
   *   console.assert(e instanceof StartError && e.reason === "not_positive");
   * }
   * await rt.shutdown();
   * ```
   */
  // deno-lint-ignore no-explicit-any
  static async start<T extends GenServer<any, any>>(
    cls: ServerClass<T>,
    args: InitArgs<T>,
    options: StartOptions = {},
  ): Promise<ServerPid<T>> {
    if (typeof cls !== "function" || !(cls.prototype instanceof GenServer)) {
      throw new TypeError("Cannot start server: expected a class that extends GenServer");
    }
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot start server: options must be an object");
    }
    const what = options.link ? "start_link server" : "start server";
    const { runtime, ctx: caller } = callerOf(options.runtime, what);
    const name = options.name;
    if (name !== undefined) checkServerName(name, what);
    const timeout = checkTimeout(options.timeout ?? Infinity, what);
    if (options.link && caller === undefined) {
      throw new Error(`Cannot ${what}: there is no calling process to link to`);
    }
    // Resolve a service name now, so that a missing global module fails here.
    if (name !== undefined && typeof name !== "string") nameRegistryOf(name, runtime);

    const alias = runtime.open({ label: "gen:start" });
    try {
      const start: StartInfo = {
        cls: cls as unknown as ServerClass<GenServer>,
        args,
        name,
        parent: options.link ? caller!.self : undefined,
        ack: alias.self,
        tag: undefined as unknown as Ref,
      };
      let pid: Pid;
      try {
        pid = runtime.spawn((ctx) => serverMain(ctx, start), {
          label: cls.name || "GenServer",
          ...(typeof name === "string" ? { name } : {}),
          ...(options.link ? { link: caller!.self } : {}),
          ...(options.maxMailbox !== undefined ? { maxMailbox: options.maxMailbox } : {}),
        });
      } catch (err) {
        const holder = typeof name === "string" ? runtime.whereis(name) : undefined;
        if (err instanceof NameError && holder !== undefined) {
          throw new AlreadyStartedError(
            holder,
            `Cannot ${what}: "${name}" is already started as ${holder}`,
          );
        }
        throw err;
      }
      start.tag = alias.monitor(pid);
      const tag = start.tag;
      const msg = await waitOnAlias<AckMessage | DownMessage>(
        alias,
        caller,
        (m) => isAck(m, tag) || isDownOf(m, tag),
        timeout,
      );
      if (msg === undefined) {
        if (caller !== undefined && options.link) caller.unlink(pid);
        runtime.exit(pid, "kill");
        throw new TimeoutError(`Cannot ${what} ${cls.name}: init took more than ${timeout} ms`);
      }
      if (msg.type === "DOWN") {
        throw new StartError(
          msg.reason,
          `Cannot ${what} ${cls.name}: it exited during init: ${describe(msg.reason)}`,
        );
      }
      if ("ok" in msg) return pid as ServerPid<T>;
      if ("ignore" in msg) {
        throw new StartError("ignore", `Cannot ${what} ${cls.name}: init returned ignore`);
      }
      if (msg.error === "already_started" && msg.holder instanceof Pid) {
        throw new AlreadyStartedError(
          msg.holder,
          `Cannot ${what}: ${describeServer(name!)} is already started as ${msg.holder}`,
        );
      }
      throw new StartError(
        msg.error,
        `Cannot ${what} ${cls.name}: ${describe(msg.error)}`,
        msg.error instanceof Error ? { cause: msg.error } : undefined,
      );
    } finally {
      alias.exit();
    }
  }

  /**
   * Starts a server linked to the calling process (what a supervisor's
   * child spec uses). When `init` fails the server exits with the reason,
   * so the linked caller gets that exit signal too, as in Elixir.
   *
   * @param cls the server class
   * @param args passed to `init`
   * @param options name, runtime, init timeout
   * @returns the server's pid
   * @throws {StartError} as {@linkcode GenServer.start}
   *
   * @example
   * ```ts
   * import { GenServer } from "./gen_server.ts";
   * import { Runtime } from "../process/runtime.ts";
   * import { runInProcess, self } from "../process/current.ts";
   * class Idle extends GenServer<null> {
   *   override init() {
   *     return { ok: null };
   *   }
   * }
   * const rt = new Runtime();
   * await runInProcess(rt.open(), async () => {
   *   const pid = await GenServer.startLink(Idle, undefined);
   *   console.assert(rt.info(pid)!.links[0]!.equals(self()));
   * });
   * await rt.shutdown();
   * ```
   */
  // deno-lint-ignore no-explicit-any
  static startLink<T extends GenServer<any, any>>(
    cls: ServerClass<T>,
    args: InitArgs<T>,
    options: Omit<StartOptions, "link"> = {},
  ): Promise<ServerPid<T>> {
    return GenServer.start(cls, args, { ...options, link: true });
  }

  /**
   * Sends `request` to a server and waits for its reply. The server may be
   * on another node (a remote pid, or `{ name, node }`).
   *
   * Called with the pid `GenServer.start` returned (a {@linkcode ServerPid}),
   * the request must be one the server's `handleCall` takes, and the reply
   * has the type of the `reply` that `handleCall` returns. Called by name or
   * with a plain pid, the reply is `unknown`, or `R` when the caller says
   * what it expects (`GenServer.call<number>("counter", "get")`, unchecked).
   *
   * @typeParam R the reply type a caller expects from an untyped server
   * @typeParam S the server reference's type (inferred)
   * @param server a pid, a name, `{ name, node }`, `{ global }` or `{ via, key }`
   * @param request the request
   * @param options `timeout` (default 5000 ms), `runtime` outside a process
   * @returns the reply
   * @throws {TimeoutError} when no reply came in time (a late one is dropped)
   * @throws {ExitError} when the server does not exist (`"noproc"`), exits
   *   during the call (its reason), or its node is lost (`"noconnection"`)
   * @throws {ProcessExitError} when the calling process exits meanwhile
   * @throws {TypeError} when the request cannot be sent to another node
   *
   * @example
   * ```ts
   * import { type CallResult, type From, GenServer } from "./gen_server.ts";
   * import { ExitError } from "./errors.ts";
   * import { Runtime } from "../process/runtime.ts";
   * class Counter extends GenServer<number> {
   *   override init(n: number) {
   *     return { ok: n };
   *   }
   *   override handleCall(req: "get" | { add: number }, _from: From, n: number): CallResult<number, number> {
   *     const next = req === "get" ? n : n + req.add;
   *     return { reply: next, state: next };
   *   }
   * }
   * const rt = new Runtime();
   * const pid = await GenServer.start(Counter, 1, { runtime: rt });
   * const n: number = await GenServer.call(pid, { add: 41 }, { runtime: rt }); // typed
   * console.assert(n === 42);
   * try {
   *   await GenServer.call<string>("nobody", "hello", { runtime: rt });
   * } catch (e) {
   *   console.assert(e instanceof ExitError && e.reason === "noproc");
   * }
   * await rt.shutdown();
   * ```
   */
  static async call<R = unknown, S extends ServerRef = ServerRef>(
    server: S,
    request: S extends ServerPid<infer T> ? CallRequest<T> : unknown,
    options: CallOptions = {},
  ): Promise<S extends ServerPid<infer T> ? CallReply<T> : R> {
    checkServerRef(server, "call server");
    const timeout = checkTimeout(options.timeout ?? 5000, "call server");
    const { runtime, ctx: caller } = callerOf(options.runtime, "call server");
    const target = whereisServer(server, runtime);
    if (target === undefined) {
      throw new ExitError("noproc", `Cannot call server ${describeServer(server)}: no process`);
    }
    if (caller !== undefined && target instanceof Pid && target.equals(caller.self)) {
      throw new ExitError(
        "calling_self",
        `Cannot call server ${describeServer(server)}: a process cannot call itself`,
      );
    }
    const stop = runtime.telemetry.event(GEN_SERVER_CALL_STOP);
    const started = stop.attached ? performance.now() : 0;
    let outcome = "error";
    const alias = runtime.open({ label: "gen:call" });
    try {
      const tag = alias.monitor(target);
      const from: From = { pid: caller?.self ?? alias.self, tag, alias: alias.self };
      runtime.send(
        target,
        { type: "$gen_call", from, request } satisfies CallMessage,
        caller?.self ?? alias.self,
      );
      const msg = await waitOnAlias<ReplyMessage | DownMessage>(
        alias,
        caller,
        (m) => isReplyTo(m, tag) || isDownOf(m, tag),
        timeout,
      );
      if (msg === undefined) {
        outcome = "timeout";
        throw new TimeoutError(
          `Cannot call server ${describeServer(server)}: no reply within ${timeout} ms`,
        );
      }
      if (msg.type === "$gen_reply") {
        if (msg.unsendable !== undefined) throw msg.unsendable;
        outcome = "ok";
        return msg.value as S extends ServerPid<infer T> ? CallReply<T> : R;
      }
      throw new ExitError(
        msg.reason,
        `Cannot call server ${describeServer(server)}: ${describeReason(msg.reason)}`,
        msg.reason instanceof Error ? { cause: msg.reason } : undefined,
      );
    } finally {
      alias.exit();
      if (stop.attached) {
        stop.emit({ duration: performance.now() - started }, {
          node: runtime.node,
          server: describeServer(server),
          outcome,
        });
      }
    }
  }

  /**
   * Sends `request` to a server without waiting. Never fails for a server
   * that does not exist, as Elixir's.
   *
   * @param server a pid, a name, `{ name, node }`, `{ global }` or `{ via, key }`
   * @param request the request
   * @param options `runtime` outside a process
   * @throws {TypeError} when `server` is malformed, or the request cannot be sent to another node
   * @throws {NameError} for a `{ global }` name without the global module
   *
   * @example
   * ```ts
   * import { GenServer } from "./gen_server.ts";
   * import { Runtime } from "../process/runtime.ts";
   * const rt = new Runtime();
   * GenServer.cast("nobody", "ignored", { runtime: rt });
   * await rt.shutdown();
   * ```
   */
  static cast(server: ServerRef, request: unknown, options: { runtime?: Runtime } = {}): void {
    checkServerRef(server, "cast to server");
    const { runtime, ctx: caller } = callerOf(options.runtime, "cast to server");
    const target = whereisServer(server, runtime);
    if (target === undefined) return;
    runtime.send(target, { type: "$gen_cast", request } satisfies CastMessage, caller?.self);
  }

  /**
   * Answers a call the server took with `{ noreply: true }`, from the
   * server or from any process it handed `from` to.
   *
   * @param from what `handleCall` got
   * @param value the reply
   * @throws {TypeError} when `from` is not a `From`
   *
   * @example
   * ```ts
   * import { GenServer, type CallResult, type From } from "./gen_server.ts";
   * import { Runtime } from "../process/runtime.ts";
   * import { spawn } from "../process/current.ts";
   * class Slow extends GenServer<null> {
   *   override init() {
   *     return { ok: null };
   *   }
   *   override handleCall(req: number, from: From, state: null): CallResult<null> {
   *     spawn(() => GenServer.reply(from, req * 2)); // answered by another process
   *     return { noreply: true, state };
   *   }
   * }
   * const rt = new Runtime();
   * const pid = await GenServer.start(Slow, undefined, { runtime: rt });
   * console.assert((await GenServer.call(pid, 21, { runtime: rt })) === 42);
   * await rt.shutdown();
   * ```
   */
  static reply(from: From, value: unknown): void {
    if (
      typeof from !== "object" || from === null || !(from.alias instanceof Pid) ||
      !(from.tag instanceof Ref)
    ) {
      throw new TypeError("Cannot reply: expected the from of a call");
    }
    sendReply(current(), from, value);
  }

  /**
   * Stops a server: its `terminate(reason, state)` runs, it exits with
   * `reason`, and this resolves once it is gone.
   *
   * @param server the server
   * @param reason the exit reason, default `"normal"`
   * @param options `timeout` (default `Infinity`), `runtime` outside a process
   * @throws {ExitError} when there is no such server (`"noproc"`), or it exited with another reason
   * @throws {TimeoutError} when it did not stop in time (it keeps running)
   *
   * @example
   * ```ts
   * import { GenServer } from "./gen_server.ts";
   * import { Runtime } from "../process/runtime.ts";
   * class Idle extends GenServer<null> {
   *   override init() {
   *     return { ok: null };
   *   }
   * }
   * const rt = new Runtime();
   * const pid = await GenServer.start(Idle, undefined, { runtime: rt });
   * await GenServer.stop(pid, "normal", { runtime: rt });
   * console.assert(!rt.isAlive(pid));
   * await rt.shutdown();
   * ```
   */
  static async stop(
    server: ServerRef,
    reason: unknown = "normal",
    options: StopOptions = {},
  ): Promise<void> {
    checkServerRef(server, "stop server");
    const timeout = checkTimeout(options.timeout ?? Infinity, "stop server");
    const { runtime, ctx: caller } = callerOf(options.runtime, "stop server");
    const target = whereisServer(server, runtime);
    if (target === undefined) {
      throw new ExitError("noproc", `Cannot stop server ${describeServer(server)}: no process`);
    }
    const alias = runtime.open({ label: "gen:stop" });
    try {
      const ref = alias.monitor(target);
      runtime.send(target, { type: "$gen_stop", reason } satisfies StopMessage, caller?.self);
      const down = await waitOnAlias<DownMessage>(alias, caller, (m) => isDownOf(m, ref), timeout);
      if (down === undefined) {
        throw new TimeoutError(
          `Cannot stop server ${describeServer(server)}: still running after ${timeout} ms`,
        );
      }
      if (sameTerm(down.reason, reason)) return;
      throw new ExitError(
        down.reason,
        `Cannot stop server ${describeServer(server)}: ${describeReason(down.reason)}`,
      );
    } finally {
      alias.exit();
    }
  }

  /**
   * Where a server is: its pid, `{ name, node }` for a name on another
   * node, or `undefined` when nothing is registered under the name.
   *
   * @param server the server reference
   * @param options `runtime` outside a process
   * @returns the pid or remote name
   *
   * @example
   * ```ts
   * import { GenServer } from "./gen_server.ts";
   * import { Runtime } from "../process/runtime.ts";
   * const rt = new Runtime();
   * console.assert(GenServer.whereis("nobody", { runtime: rt }) === undefined);
   * ```
   */
  static whereis(
    server: ServerRef,
    options: { runtime?: Runtime } = {},
  ): Pid | RemoteName | undefined {
    checkServerRef(server, "find server");
    return whereisServer(server, callerOf(options.runtime, "find server").runtime);
  }

  /**
   * A child spec that starts `cls` under a supervisor with `startLink`.
   *
   * @param cls the server class
   * @param args passed to `init`
   * @param options id (default the class name), restart, shutdown, name, init timeout
   * @returns the child spec
   *
   * @example
   * ```ts
   * import { GenServer } from "./gen_server.ts";
   * class Cache extends GenServer<Map<string, string>> {
   *   override init() {
   *     return { ok: new Map() };
   *   }
   * }
   * const spec = GenServer.childSpec(Cache, undefined, { restart: "transient" });
   * console.assert(spec.id === "Cache" && spec.restart === "transient");
   * ```
   */
  // deno-lint-ignore no-explicit-any
  static childSpec<T extends GenServer<any, any>>(
    cls: ServerClass<T>,
    args: InitArgs<T>,
    options: GenServerChildOptions = {},
  ): ChildSpec {
    const { id, restart, shutdown, ...start } = options;
    const spec: ChildSpec = {
      id: id ?? cls.name,
      start: () => GenServer.startLink(cls, args, start),
    };
    if (restart !== undefined) spec.restart = restart;
    if (shutdown !== undefined) spec.shutdown = shutdown;
    return spec;
  }
}
