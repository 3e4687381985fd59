/**
 * The names a shell user has in scope — at the prompt, in `--eval`, in
 * `--script` files and in remote shells alike. Each part comes from a
 * {@linkcode ScopeProvider}: the process functions (`spawn`, `send`,
 * `self`, `receive`, ...), the `Process` and `Node` namespaces with
 * `monitorNodes`, and the helpers `h`, `i`, `q`, `flush`. A layer that
 * brings its own namespace (rpc, global, pubsub) adds a provider to
 * {@linkcode SHELL_PROVIDERS}, with the docs of its names.
 *
 * The process functions act for whichever process runs the code: the
 * shell at the prompt (run the code with `runInProcess(shell, ...)` and
 * make the shell the default context), a spawned process inside its own
 * function — a closure typed at the prompt resolves `receive` lexically to
 * this scope, so nothing here may be bound to the shell.
 *
 * @example
 * ```ts
 * import { Runtime } from "../src/process/runtime.ts";
 * import { runInProcess } from "../src/process/current.ts";
 * import { createShellScope } from "./scope.ts";
 * const runtime = new Runtime({ node: "a@127.0.0.1" });
 * const shell = runtime.open({ label: "shell" });
 * const scope = createShellScope({ runtime });
 * runInProcess(shell, () => console.assert((scope.Node as { self(): string }).self() === "a@127.0.0.1"));
 * await runtime.shutdown();
 * ```
 *
 * @module
 */

import * as current from "../src/process/current.ts";
import { Process } from "../src/process/mod.ts";
import type { Runtime } from "../src/process/runtime.ts";
import type { Dest, ProcessInfo } from "../src/process/types.ts";
import { NotAliveError } from "../src/errors.ts";
import type { WeftNode } from "../src/node.ts";
import { Pid, type Ref } from "../src/term/pid.ts";
import {
  type Doc,
  DocIndex,
  HELPER_DOCS,
  NODE_DOCS,
  PROCESS_FUNCTION_DOCS,
  PROCESS_NAMESPACE_DOCS,
} from "./docs.ts";
import { formatValue } from "./format.ts";
import { rpc } from "../src/rpc/namespace.ts";
import { CRDT_PROVIDER } from "./crdt_scope.ts";
import { REGIONS_PROVIDER } from "./regions_scope.ts";
import { RAFT_PROVIDER } from "./raft_scope.ts";
import { ES_PROVIDER } from "./es_scope.ts";
import { DBG_PROVIDER } from "./dbg_scope.ts";
import { HORDE_PROVIDER } from "./distributed_scope.ts";
import { GROUPS_PROVIDERS } from "./groups_scope.ts";
import { RPC_PROVIDER } from "./rpc_scope.ts";
import { CLUSTER_PROVIDER } from "./cluster_scope.ts";
import { OTP_PROVIDER } from "./otp_scope.ts";

/**
 * Returned by helpers that print their result (`h()`, `i()`, `flush()`):
 * a shell prints nothing more for it, as iex does for `h/1`.
 */
export const SILENT: unique symbol = Symbol.for("weft.repl.silent");

/**
 * What a shell remembers of its inputs for `v(n)` and `stack()`: the value
 * of each numbered input and the last error shown. The shell that runs the
 * inputs records them ({@linkcode shellHistory} finds it from the scope).
 */
export class ShellHistory {
  readonly #values = new Map<number, unknown>();
  #count = 0;
  #lastError: unknown = undefined;
  #hasError = false;

  /** How many inputs have been recorded; the last one's number. */
  get count(): number {
    return this.#count;
  }

  /**
   * Records the outcome of the next input (numbered from 1, as the prompt).
   *
   * @param outcome its value, or the error it threw, or nothing
   */
  record(outcome: { value: unknown } | { error: unknown } | Record<never, never>): void {
    this.#count++;
    if ("value" in outcome) this.#values.set(this.#count, outcome.value);
    if ("error" in outcome) {
      this.#lastError = outcome.error;
      this.#hasError = true;
    }
    this.#values.delete(this.#count - 1000);
  }

  /**
   * The value of input `n` (as iex's `v(n)`); a negative `n` counts back
   * from the input being run, so `v(-1)` (and `v()`) is the last value.
   *
   * @param n the input's number, or how far back
   * @returns the value
   * @throws {RangeError} when that input had no value
   */
  value(n: number): unknown {
    if (!Number.isInteger(n)) {
      throw new TypeError(`Cannot get a value: expected an input number, received ${n}`);
    }
    const at = n > 0 ? n : this.#count + 1 + n;
    if (!this.#values.has(at)) {
      throw new RangeError(`Cannot get a value: input ${at} gave none`);
    }
    return this.#values.get(at);
  }

  /** The last error an input threw, if any. */
  lastError(): { error: unknown } | undefined {
    return this.#hasError ? { error: this.#lastError } : undefined;
  }
}

const HISTORY = Symbol.for("weft.repl.history");

/**
 * The history of the shell whose scope this is (it lives in the scope,
 * under a symbol that no code can name).
 *
 * @param scope a scope made by {@linkcode createShellScope}
 * @returns its history, or `undefined` for another object
 */
export function shellHistory(scope: Record<string, unknown>): ShellHistory | undefined {
  const history = (scope as Record<symbol, unknown>)[HISTORY];
  return history instanceof ShellHistory ? history : undefined;
}

/** What a provider builds its names with. */
export interface ScopeContext {
  /** The node's process runtime. */
  runtime: Runtime;
  /** The distributed node, when there is one. */
  node: WeftNode | undefined;
  /** Prints one line (or several) where the shell's output goes. */
  print(text: string): void;
  /** Ends the shell (and, for a local shell, stops the node) with an exit status. */
  quit(code: number): void;
  /** The docs of every provider, for `h()`; ready once every provider has run. */
  docs(): DocIndex;
  /** The values of earlier inputs and the last error. */
  history: ShellHistory;
}

/** A part of the shell's scope: some names and their docs. */
export interface ScopeProvider {
  /** Its heading in `h()`. */
  title: string;
  /** Docs keyed by the name as typed (`"spawn"`, `"Node.connect"`); shown by `h()`. */
  docs: Readonly<Record<string, Doc>>;
  /**
   * Makes the names this provider adds to the scope.
   *
   * @param context the runtime, node and output of this shell
   */
  names(context: ScopeContext): Record<string, unknown>;
}

/** The `Node` namespace: this node and its connections. */
export interface NodeNamespace {
  /** This node's name (`nonode@nohost` when not distributed). */
  self(): string;
  /** Whether this node runs distribution. */
  alive(): boolean;
  /** Connects to `node`; resolves `true` on success, `false` otherwise. */
  connect(node: string): Promise<boolean>;
  /** Drops the connection to `node`; resolves `true` when one existed. */
  disconnect(node: string): Promise<boolean>;
  /** Connected nodes: visible (default), hidden, all, or known (this one too). */
  list(kind?: "visible" | "hidden" | "all" | "known"): string[];
  /** `"pong"` when `node` answers, `"pang"` otherwise. */
  ping(node: string): Promise<"pong" | "pang">;
  /** Changes this node's cookie for the connections made from now on; `true`. */
  setCookie(cookie: string): boolean;
  /** One `{type: "nodedown", node, reason}` to the calling process when `node` goes down. */
  monitor(node: string, flag?: boolean): boolean;
  /** Starts a process on `node` (`fn`, or `module, fn, args`); what it prints appears here. */
  spawn(node: string, ...rest: unknown[]): Promise<Pid>;
  /** As `spawn`, linked to the calling process before it runs. */
  spawnLink(node: string, ...rest: unknown[]): Promise<Pid>;
  /** As `spawn`, monitored by the calling process before it runs. */
  spawnMonitor(node: string, ...rest: unknown[]): Promise<[Pid, Ref]>;
}

/** The process functions (`self`, `send`, `receive`, `spawn`, ...), acting for the running process. */
export const PROCESS_PROVIDER: ScopeProvider = {
  title: "Processes (they act for the process running the code: the shell at the prompt)",
  docs: PROCESS_FUNCTION_DOCS,
  names: (context) => ({
    ...current.PROCESS_FUNCTIONS,
    // As Erlang's `Pid ! Msg`, the value of a send is the message.
    send: (dest: Dest, msg: unknown) => {
      current.send(dest, msg);
      return msg;
    },
    flush: () => {
      for (const msg of current.flush()) context.print(`Shell got ${formatValue(msg)}`);
      return SILENT;
    },
  }),
};

/** The `Process` namespace. */
export const PROCESS_NAMESPACE_PROVIDER: ScopeProvider = {
  title: "Process",
  docs: PROCESS_NAMESPACE_DOCS,
  names: () => ({ Process }),
};

/** The `Node` namespace and `monitorNodes`. */
export const NODE_PROVIDER: ScopeProvider = {
  title: "Node",
  docs: NODE_DOCS,
  names: ({ runtime, node }) => {
    const notAlive = (what: string) =>
      new NotAliveError(
        `Cannot ${what}: this node is not alive (start it with --sname or --name)`,
      );
    const Node: NodeNamespace = Object.freeze({
      self: () => runtime.node,
      alive: () => node !== undefined,
      connect: (name: string) => node ? node.connect(name) : Promise.resolve(false),
      disconnect: (name: string) => node ? node.disconnect(name) : Promise.resolve(false),
      list: (kind: "visible" | "hidden" | "all" | "known" = "visible") =>
        node ? node.list(kind) : kind === "known" ? [runtime.node] : [],
      ping: (name: string) => node ? node.ping(name) : Promise.resolve("pang" as const),
      setCookie: (cookie: string) => {
        if (!node) throw notAlive("set the cookie");
        node.kernel.setCookie(cookie);
        return true;
      },
      monitor: (name: string, flag = true) => {
        if (!node) throw notAlive("monitor a node");
        node.monitorNode(current.self(), name, flag);
        return true;
      },
      spawn: (name: string, ...rest: unknown[]) =>
        (rpc.spawn as (n: string, ...r: unknown[]) => Promise<Pid>)(name, ...rest),
      spawnLink: (name: string, ...rest: unknown[]) =>
        (rpc.spawnLink as (n: string, ...r: unknown[]) => Promise<Pid>)(name, ...rest),
      spawnMonitor: (name: string, ...rest: unknown[]) =>
        (rpc.spawnMonitor as (n: string, ...r: unknown[]) => Promise<[Pid, Ref]>)(
          name,
          ...rest,
        ),
    });
    const monitorNodes = (flag = true): boolean => {
      if (!node) throw notAlive("monitor nodes");
      node.monitorNodes(current.self(), flag);
      return true;
    };
    return { Node, monitorNodes };
  },
};

/** `h`, `i`, `q`, `v`, `pid` and `stack`. */
export const HELPER_PROVIDER: ScopeProvider = {
  title: "Shell helpers",
  docs: HELPER_DOCS,
  names: (context) => ({
    h: (...args: unknown[]) => {
      context.print(
        args.length === 0 ? context.docs().overview() : context.docs().describe(args[0]),
      );
      return SILENT;
    },
    i: (...args: unknown[]): typeof SILENT | Promise<typeof SILENT> => {
      if (args.length === 0) {
        context.print(formatProcessList(context.runtime));
        return SILENT;
      }
      const target = args[0];
      if (!(target instanceof Pid)) {
        throw new TypeError(
          `Cannot show process info: expected a pid, received ${formatValue(target)}`,
        );
      }
      if (target.node === context.runtime.node) {
        context.print(formatInfo(target, context.runtime.info(target)));
        return SILENT;
      }
      // As Erlang's i/1: a process of another node is asked about there.
      return rpc.call(target.node, (p: Pid) => Process.info(p), [target]).then((info) => {
        context.print(formatInfo(target, info as ProcessInfo | undefined));
        return SILENT;
      });
    },
    q: (code: unknown = 0) => {
      if (!Number.isInteger(code) || (code as number) < 0 || (code as number) > 255) {
        throw new RangeError(
          `Cannot quit: the exit code must be 0-255, received ${formatValue(code)}`,
        );
      }
      context.quit(code as number);
      return SILENT;
    },
    v: (n: number = -1) => context.history.value(n),
    pid: (...args: unknown[]) => makePid(context, args),
    stack: () => {
      const last = context.history.lastError();
      if (last === undefined) {
        context.print("No error yet");
      } else {
        const { error } = last;
        context.print(
          error instanceof Error && typeof error.stack === "string"
            ? error.stack
            : formatValue(error),
        );
      }
      return SILENT;
    },
  }),
};

/** `pid("a@host.8.0")`, `pid("#PID<a@host.8.0>")`, `pid(8, 0)` (this node). */
function makePid(context: ScopeContext, args: unknown[]): Pid {
  const usage = 'expected pid("name@host.id.serial") or pid(id, serial)';
  let node: string;
  let id: number;
  let serial: number;
  if (typeof args[0] === "string" && args.length === 1) {
    const m = args[0].trim().match(/^(?:#PID<)?(.+@[^.>]*(?:\.[^.>]+)*?)\.(\d+)\.(\d+)>?$/);
    if (m === null) {
      throw new TypeError(`Cannot make a pid: ${usage}, received ${formatValue(args[0])}`);
    }
    [node, id, serial] = [m[1]!, Number(m[2]), Number(m[3])];
  } else if (args.length === 2 && args.every((a) => Number.isInteger(a) && (a as number) >= 0)) {
    [node, id, serial] = [context.runtime.node, args[0] as number, args[1] as number];
  } else {
    throw new TypeError(
      `Cannot make a pid: ${usage}, received ${args.map((a) => formatValue(a)).join(", ")}`,
    );
  }
  const creation = node === context.runtime.node
    ? context.runtime.creation
    : context.node?.kernel.peer(node)?.creation;
  if (creation === undefined) {
    throw new RangeError(
      `Cannot make a pid: ${node} is not connected (its incarnation is unknown; Node.connect first)`,
    );
  }
  return new Pid(node, id, serial, creation);
}

/**
 * The providers every shell has, in the order `h()` lists them. Layers
 * that bring a namespace (rpc, global, pubsub) add theirs here.
 */
export const SHELL_PROVIDERS: readonly ScopeProvider[] = [
  PROCESS_PROVIDER,
  PROCESS_NAMESPACE_PROVIDER,
  NODE_PROVIDER,
  RPC_PROVIDER,
  OTP_PROVIDER,
  ...GROUPS_PROVIDERS,
  CRDT_PROVIDER,
  REGIONS_PROVIDER,
  RAFT_PROVIDER,
  ES_PROVIDER,
  HORDE_PROVIDER,
  CLUSTER_PROVIDER,
  DBG_PROVIDER,
  HELPER_PROVIDER,
];

/** What a shell scope is built from. */
export interface ShellScopeOptions {
  /** The node's process runtime. */
  runtime: Runtime;
  /** The distributed node, when the shell runs one (absent for a local-only runtime). */
  node?: WeftNode | undefined;
  /** Where `h()`, `i()` and `flush()` print (a newline is added). Default: stdout. */
  print?: (text: string) => void;
  /** What `q(code)` does. Default: refuses (there is nothing to quit). */
  quit?: (code: number) => void;
  /** The providers. Default {@linkcode SHELL_PROVIDERS}. */
  providers?: readonly ScopeProvider[];
}

/**
 * Builds the shell's names.
 *
 * @param options the runtime, the node, the output and what `q()` does
 * @returns an object whose properties become the shell's global names
 * @throws {TypeError} when two providers add the same name
 *
 * @example
 * ```ts
 * import { Runtime } from "../src/process/runtime.ts";
 * import { createShellScope } from "./scope.ts";
 * const runtime = new Runtime();
 * const lines: string[] = [];
 * const scope = createShellScope({ runtime, print: (t) => lines.push(t) });
 * (scope.h as (x?: unknown) => unknown)((scope.Node as Record<string, unknown>).connect);
 * console.assert(lines[0]!.startsWith("Node.connect(node)"));
 * await runtime.shutdown();
 * ```
 */
export function createShellScope(options: ShellScopeOptions): Record<string, unknown> {
  const providers = options.providers ?? SHELL_PROVIDERS;
  const encoder = new TextEncoder();
  const scope: Record<string, unknown> = {};
  const history = new ShellHistory();
  Object.defineProperty(scope, HISTORY, { value: history });
  let index: DocIndex | undefined;
  const context: ScopeContext = {
    runtime: options.runtime,
    node: options.node,
    print: options.print ??
      ((text) => Deno.stdout.writeSync(encoder.encode(text.endsWith("\n") ? text : text + "\n"))),
    quit: options.quit ?? (() => {
      throw new Error("Cannot quit: this shell has no node to stop");
    }),
    docs: () =>
      index ??= new DocIndex(providers.map((p) => ({ title: p.title, docs: p.docs })), scope),
    history,
  };
  for (const provider of providers) {
    for (const [name, value] of Object.entries(provider.names(context))) {
      if (name in scope) {
        throw new TypeError(`Cannot build the shell scope: "${name}" is given by two providers`);
      }
      scope[name] = value;
    }
  }
  return scope;
}

/** `i(pid)`: a process's info laid out, one field a line. */
function formatInfo(target: Pid, info: ProcessInfo | undefined): string {
  if (info === undefined) return `${target} is not alive`;
  const list = (pids: readonly unknown[]) =>
    pids.length === 0 ? "none" : pids.map((p) => formatValue(p)).join(", ");
  const rows: [string, string][] = [
    ["status", info.status],
    ["initial call", info.label ?? "-"],
    ["registered name", info.registeredName ?? "-"],
    ["message queue", String(info.messageQueueLen)],
    ["messages handled", String(info.messagesHandled)],
    ["links", list(info.links)],
    ["monitors", list(info.monitors)],
    ["monitored by", list(info.monitoredBy)],
    ["trap exit", String(info.trapExit)],
  ];
  return [String(target), ...rows.map(([k, v]) => `  ${k.padEnd(18)}${v}`)].join("\n");
}

/** `i()`: every process of the node, one a line. */
function formatProcessList(runtime: Runtime): string {
  const infos = runtime.list().map((pid) => runtime.info(pid)).filter((x): x is ProcessInfo =>
    x !== undefined
  );
  const header = ["Pid", "Initial call", "Status", "Queue", "Name"];
  const rows = infos.map((info) => [
    String(info.pid),
    info.label ?? "-",
    info.status,
    String(info.messageQueueLen),
    info.registeredName ?? "",
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd();
  return [line(header), ...rows.map(line), `${infos.length} processes`].join("\n");
}
