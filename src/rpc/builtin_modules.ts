/**
 * The modules every node exposes without being told: `node`, the facts
 * about a node that Erlang finds in `erlang:node/0`, `nodes/0`,
 * `statistics/1`, `memory/0` and `os`, for `rpc.call(b, "node", "uptime")`
 * and `rpc.multicall(nodes, "node", "memory")`.
 *
 * | function          | returns                                                      |
 * |-------------------|--------------------------------------------------------------|
 * | `self()`          | the node's name                                              |
 * | `list(kind?)`     | connected nodes: `"visible"` (default), `"hidden"`, `"all"`  |
 * | `uptime()`        | milliseconds since the node started                          |
 * | `memory()`        | `Deno.memoryUsage()`: `{rss, heapTotal, heapUsed, external}` |
 * | `denoVersion()`   | `Deno.version`: `{deno, v8, typescript}`                     |
 * | `hostname()`      | the OS host name                                             |
 * | `osPid()`         | the OS process id                                            |
 * | `processCount()`  | live Weft processes on the node                              |
 * | `registered()`    | registered process names                                     |
 * | `modules()`       | `{module: [functions]}` the node exposes to rpc              |
 *
 * @example
 * ```ts
 * import { nodeModule } from "./builtin_modules.ts";
 * import { ModuleRegistry } from "./module_registry.ts";
 * import { Runtime } from "../process/runtime.ts";
 * const runtime = new Runtime({ node: "a@h" });
 * const registry = new ModuleRegistry();
 * const node = nodeModule({ runtime, nodes: () => [], registry, startedAt: performance.now() });
 * console.assert(node.self() === "a@h" && node.uptime() >= 0);
 * await runtime.shutdown();
 * ```
 *
 * @module
 */

import type { Runtime } from "../process/runtime.ts";
import type { ModuleRegistry } from "./module_registry.ts";

/** What the `node` module reads its facts from. */
export interface NodeFacts {
  /** The node's runtime. */
  runtime: Runtime;
  /** Connected nodes of a kind (the node kernel's `nodes`). */
  nodes(kind: "visible" | "hidden" | "all"): string[];
  /** The node's modules. */
  registry: ModuleRegistry;
  /** `performance.now()` when the node started. */
  startedAt: number;
}

/** The `node` module's functions. */
export interface NodeModule {
  /** The node's name. */
  self(): string;
  /** Connected nodes: `"visible"` (default), `"hidden"` or `"all"`. */
  list(kind?: "visible" | "hidden" | "all"): string[];
  /** Milliseconds since the node started. */
  uptime(): number;
  /** `Deno.memoryUsage()`. */
  memory(): Deno.MemoryUsage;
  /** `Deno.version`. */
  denoVersion(): { deno: string; v8: string; typescript: string };
  /** The OS host name. */
  hostname(): string;
  /** The OS process id. */
  osPid(): number;
  /** Live Weft processes on the node. */
  processCount(): number;
  /** Registered process names. */
  registered(): string[];
  /** The modules the node exposes, with their functions. */
  modules(): Record<string, string[]>;
}

/**
 * Makes the `node` module of one node.
 *
 * @param facts where its answers come from
 * @returns the module object
 *
 * @example
 * ```ts
 * import { nodeModule } from "./builtin_modules.ts";
 * import { ModuleRegistry } from "./module_registry.ts";
 * import { Runtime } from "../process/runtime.ts";
 * const runtime = new Runtime({ node: "a@h" });
 * const m = nodeModule({ runtime, nodes: () => ["b@h"], registry: new ModuleRegistry(), startedAt: 0 });
 * console.assert(m.list()[0] === "b@h" && m.osPid() === Deno.pid);
 * await runtime.shutdown();
 * ```
 */
export function nodeModule(facts: NodeFacts): NodeModule {
  const { runtime, registry } = facts;
  return {
    self: () => runtime.node,
    list: (kind = "visible") => {
      if (kind !== "visible" && kind !== "hidden" && kind !== "all") {
        throw new TypeError(
          `Cannot list nodes: kind must be "visible", "hidden" or "all", received ${String(kind)}`,
        );
      }
      return facts.nodes(kind);
    },
    uptime: () => Math.round(performance.now() - facts.startedAt),
    memory: () => Deno.memoryUsage(),
    denoVersion: () => ({ ...Deno.version }),
    hostname: () => Deno.hostname(),
    osPid: () => Deno.pid,
    processCount: () => runtime.list().length,
    registered: () => runtime.registered(),
    modules: () => {
      const out: Record<string, string[]> = {};
      for (const name of registry.names()) out[name] = registry.functions(name) ?? [];
      return out;
    },
  };
}
