/**
 * `Node` and `monitorNodes` for code that runs in a process of any node —
 * above all functions sent by `rpc` or `Node.spawn`, which find the same
 * names on the node they run on as at the shell (Elixir's `Node` module
 * and `:net_kernel.monitor_nodes/1`). Each acts for the node of the
 * calling process.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { runInProcess } from "../process/current.ts";
 * import { Node } from "./node_namespace.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * await runInProcess(a.runtime.open(), () => {
 *   console.assert(Node.self() === "a@127.0.0.1" && Node.list().length === 0);
 * });
 * await a.stop();
 * ```
 *
 * @module
 */

import { NotAliveError } from "../errors.ts";
import { NetKernel } from "../distribution/net_kernel.ts";
import type { NodeKind } from "../distribution/net_kernel.ts";
import { current } from "../process/current.ts";
import type { Pid, Ref } from "../term/pid.ts";
import { rpc } from "./namespace.ts";

/** Elixir's `Node`, for the calling process's node. */
export interface NodeNamespace {
  /** This node's name. */
  self(): string;
  /** Whether this node runs distribution. */
  alive(): boolean;
  /** Connects to `node`; `true` once up. */
  connect(node: string): Promise<boolean>;
  /** Disconnects `node`. */
  disconnect(node: string): boolean;
  /** Connected nodes (`"visible"` by default, `"hidden"`, `"all"`, `"known"`). */
  list(kind?: NodeKind): string[];
  /** `"pong"` when `node` answers, else `"pang"`. */
  ping(node: string): Promise<"pong" | "pang">;
  /** One `{type: "nodedown", node}` to the calling process when `node` goes down. */
  monitor(node: string, flag?: boolean): true;
  /** Spawns a self-contained function on `node` (see `rpc.spawn`). */
  spawn(node: string, fn: (...args: never[]) => unknown, args?: unknown[]): Promise<Pid>;
  /** As `spawn`, linked to the calling process. */
  spawnLink(node: string, fn: (...args: never[]) => unknown, args?: unknown[]): Promise<Pid>;
  /** As `spawn`, monitored by the calling process. */
  spawnMonitor(
    node: string,
    fn: (...args: never[]) => unknown,
    args?: unknown[],
  ): Promise<[Pid, Ref]>;
}

function kernel(what: string): NetKernel {
  const router = current().runtime.router;
  if (!(router instanceof NetKernel)) {
    throw new NotAliveError(
      `Cannot ${what}: this node is not alive (start it with --sname or --name)`,
    );
  }
  return router;
}

function alive(): boolean {
  return current().runtime.router instanceof NetKernel;
}

type Spawner<R> = (node: string, ...rest: unknown[]) => Promise<R>;

/**
 * Elixir's `Node` for the calling process's node.
 *
 * @example
 * ```ts
 * import { Runtime } from "../process/runtime.ts";
 * import { runInProcess } from "../process/current.ts";
 * import { Node } from "./node_namespace.ts";
 * const rt = new Runtime({ node: "nonode@nohost" });
 * runInProcess(rt.open(), () => console.assert(!Node.alive() && Node.list().length === 0));
 * await rt.shutdown();
 * ```
 */
export const Node: NodeNamespace = Object.freeze({
  self: () => current().runtime.node,
  alive,
  connect: (node: string) => alive() ? kernel("connect").connect(node) : Promise.resolve(false),
  disconnect: (node: string) => alive() ? kernel("disconnect").disconnect(node) : false,
  list: (kind: NodeKind = "visible") =>
    alive() ? kernel("list nodes").nodes(kind) : kind === "known" ? [current().runtime.node] : [],
  ping: (node: string) => alive() ? kernel("ping").ping(node) : Promise.resolve("pang" as const),
  monitor: (node: string, flag = true) => {
    kernel("monitor a node").monitorNode(current().self, node, flag);
    return true as const;
  },
  spawn: (node: string, ...rest: unknown[]) => (rpc.spawn as Spawner<Pid>)(node, ...rest),
  spawnLink: (node: string, ...rest: unknown[]) => (rpc.spawnLink as Spawner<Pid>)(node, ...rest),
  spawnMonitor: (node: string, ...rest: unknown[]) =>
    (rpc.spawnMonitor as Spawner<[Pid, Ref]>)(node, ...rest),
});

/**
 * `:net_kernel.monitor_nodes(flag)` for the calling process: `{type:
 * "nodeup" | "nodedown", node, reason?}` messages for every node.
 *
 * @param flag `true` to subscribe (default), `false` to stop
 * @returns `true`
 * @throws {NotAliveError} when the node does not run distribution
 */
export function monitorNodes(flag = true): true {
  kernel("monitor nodes").monitorNodes(current().self, flag);
  return true;
}
