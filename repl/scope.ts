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
import { GROUPS_PROVIDERS } from "./groups_scope.ts";
import { RPC_PROVIDER } from "./rpc_scope.ts";
import { CLUSTER_SHELL_PROVIDER } from "../src/cluster/shell.ts";

/**
 * Returned by helpers that print their result (`h()`, `i()`, `flush()`):
 * a shell prints nothing more for it, as iex does for `h/1`.
 */
export const SILENT: unique symbol = Symbol.for("weft.repl.silent");

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

/** `h`, `i` and `q`. */
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
    i: (...args: unknown[]) => {
      context.print(
        args.length === 0
          ? formatProcessList(context.runtime)
          : formatInfo(context.runtime, args[0]),
      );
      return SILENT;
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
  }),
};

/**
 * The providers every shell has, in the order `h()` lists them. Layers
 * that bring a namespace (rpc, global, pubsub) add theirs here.
 */
export const SHELL_PROVIDERS: readonly ScopeProvider[] = [
  PROCESS_PROVIDER,
  PROCESS_NAMESPACE_PROVIDER,
  NODE_PROVIDER,
  RPC_PROVIDER,
  ...GROUPS_PROVIDERS,
  CRDT_PROVIDER,
  CLUSTER_SHELL_PROVIDER,
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
function formatInfo(runtime: Runtime, target: unknown): string {
  if (!(target instanceof Pid)) {
    throw new TypeError(
      `Cannot show process info: expected a pid, received ${formatValue(target)}`,
    );
  }
  if (target.node !== runtime.node) {
    throw new TypeError(
      `Cannot show process info: ${target} lives on ${target.node}, not on this node ` +
        `(open a shell there: weft --remsh ${target.node})`,
    );
  }
  const info = runtime.info(target);
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
  return [String(info.pid), ...rows.map(([k, v]) => `  ${k.padEnd(18)}${v}`)].join("\n");
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
