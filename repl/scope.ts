/**
 * The names a shell user has in scope — at the prompt, in `--eval` and in
 * scripts alike: the process functions (`spawn`, `send`, `self`,
 * `receive`, `flush`, ...) acting for the shell process, and the `Process`
 * and `Node` namespaces.
 *
 * @example
 * ```ts
 * import { Runtime } from "../src/process/runtime.ts";
 * import { createShellScope } from "./scope.ts";
 * const runtime = new Runtime({ node: "a@127.0.0.1" });
 * const shell = runtime.open({ label: "shell" });
 * const scope = createShellScope({ runtime, shell });
 * console.assert(typeof scope.spawn === "function");
 * await runtime.shutdown();
 * ```
 *
 * @module
 */

import * as current from "../src/process/current.ts";
import { Process } from "../src/process/mod.ts";
import type { Runtime } from "../src/process/runtime.ts";
import type { ProcessContext } from "../src/process/runtime.ts";
import type { WeftNode } from "../src/node.ts";

/** What a shell scope is built from. */
export interface ShellScopeOptions {
  /** The node's process runtime. */
  runtime: Runtime;
  /** The shell's own process: `self()` in evaluated code. */
  shell: ProcessContext;
  /** The distributed node, when the shell runs one (absent for a local-only runtime). */
  node?: WeftNode | undefined;
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
  /** One `{type: "nodedown", node, reason}` to the shell when `node` goes down. */
  monitor(node: string, flag?: boolean): boolean;
}

/**
 * Builds the shell's names. Evaluate code with `runInProcess(shell, ...)`
 * and make `shell` the default context (`setDefaultContext`) so that
 * callbacks running outside any process act for the shell too.
 *
 * @param options the runtime, the shell process and the node
 * @returns an object whose properties become the shell's global names
 */
export function createShellScope(options: ShellScopeOptions): Record<string, unknown> {
  const { runtime, shell, node } = options;
  const Node: NodeNamespace = {
    self: () => runtime.node,
    alive: () => node !== undefined,
    connect: (name) => node ? node.connect(name) : Promise.resolve(false),
    disconnect: (name) => node ? node.disconnect(name) : Promise.resolve(false),
    list: (kind = "visible") => node ? node.list(kind) : kind === "known" ? [runtime.node] : [],
    ping: (name) => node ? node.ping(name) : Promise.resolve("pang"),
    monitor: (name, flag = true) => {
      if (!node) {
        throw new Error(
          "Cannot monitor a node: this node is not alive (start it with --sname or --name)",
        );
      }
      node.monitorNode(shell.self, name, flag);
      return true;
    },
  };

  const monitorNodes = (flag = true): boolean => {
    if (!node) {
      throw new Error(
        "Cannot monitor nodes: this node is not alive (start it with --sname or --name)",
      );
    }
    node.monitorNodes(shell.self, flag);
    return true;
  };

  // The process functions act for whichever process runs the code: the shell
  // at the prompt, a spawned process inside its own function (a closure typed
  // at the prompt resolves `receive` lexically to this scope, so it must not
  // be bound to the shell).
  return {
    self: current.self,
    send: current.send,
    receive: current.receive,
    flush: current.flush,
    spawn: current.spawn,
    spawnLink: current.spawnLink,
    spawnMonitor: current.spawnMonitor,
    link: current.link,
    unlink: current.unlink,
    monitor: current.monitor,
    demonitor: current.demonitor,
    exit: current.exit,
    trapExit: current.trapExit,
    register: current.register,
    unregister: current.unregister,
    whereis: current.whereis,
    sendAfter: current.sendAfter,
    cancelTimer: current.cancelTimer,
    makeRef: current.makeRef,
    Process,
    Node,
    monitorNodes,
  };
}
