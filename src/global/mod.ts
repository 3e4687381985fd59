/**
 * Cluster-wide unique names, as OTP's `global`: `node.global` on a node,
 * or the {@linkcode global} namespace, which acts on the node of the
 * calling process (the shell's, at the prompt).
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { runInProcess } from "../process/current.ts";
 * import { global } from "./mod.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const me = node.runtime.open();
 * await runInProcess(me, async () => {
 *   console.assert(await global.register("db"));
 *   console.assert(global.whereis("db")?.equals(me.self));
 * });
 * await node.stop();
 * ```
 *
 * @module
 */

import { current } from "../process/current.ts";
import type { Pid } from "../term/pid.ts";
import {
  GlobalNames,
  globalNamesOf,
  type RegisterOptions,
  type SyncOptions,
  type TransOptions,
} from "./name_server.ts";

export {
  GLOBAL_SERVER_NAME,
  GlobalNames,
  globalNamesOf,
  type GlobalNamesOptions,
  type RegisterOptions,
  type SyncOptions,
  type TransOptions,
} from "./name_server.ts";
export type { GlobalNameConflictMessage, GlobalResolver } from "./types.ts";

/** The functions of {@linkcode global}: {@linkcode GlobalNames}'s, for the calling process's node. */
export interface GlobalNamespace {
  /** Registers `pid` (default: the calling process) under `name` in the whole cluster. */
  register(name: string, pid?: Pid, options?: RegisterOptions): Promise<boolean>;
  /** Removes the registration of `name` everywhere. */
  unregister(name: string): Promise<void>;
  /** The process registered as `name`, from this node's copy of the table. */
  whereis(name: string): Pid | undefined;
  /** Sends `msg` to the process registered as `name`; throws `NameError` when there is none. */
  send(name: string, msg: unknown): Pid;
  /** Every globally registered name. */
  registered(): string[];
  /** Runs `fn` while holding the cluster-wide lock `lockId`. */
  trans<T>(lockId: string, fn: () => T | Promise<T>, options?: TransOptions): Promise<T>;
  /** Waits until names are exchanged with every connected node. */
  sync(options?: SyncOptions): Promise<void>;
}

const here = (): GlobalNames => globalNamesOf(current().runtime);

/**
 * Global names for the node of the calling process (`global.register("db")`
 * in a process body or at the shell prompt).
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { runInProcess } from "../process/current.ts";
 * import { global } from "./mod.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * await runInProcess(node.runtime.open(), () => console.assert(global.registered().length === 0));
 * await node.stop();
 * ```
 */
export const global: GlobalNamespace = Object.freeze({
  register: (name: string, pid?: Pid, options?: RegisterOptions) =>
    here().register(name, pid, options),
  unregister: (name: string) => here().unregister(name),
  whereis: (name: string) => here().whereis(name),
  send: (name: string, msg: unknown) => here().send(name, msg),
  registered: () => here().registered(),
  trans: <T>(lockId: string, fn: () => T | Promise<T>, options?: TransOptions) =>
    here().trans(lockId, fn, options),
  sync: (options?: SyncOptions) => here().sync(options),
});
