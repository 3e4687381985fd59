/**
 * The shell's rpc names: the `rpc` namespace (`rpc.call`, `rpc.cast`,
 * `rpc.multicall`, `rpc.multicast`, the spawns, modules) and `c(file)`,
 * which loads a file's functions as a module other nodes can call (as
 * iex's `c/1` compiles and loads one). `Node.spawn`, `Node.spawnLink` and
 * `Node.spawnMonitor` (in the `Node` namespace) are documented here too.
 *
 * @example
 * ```ts
 * import { RPC_PROVIDER } from "./rpc_scope.ts";
 * console.assert("rpc.call" in RPC_PROVIDER.docs && "c" in RPC_PROVIDER.docs);
 * ```
 *
 * @module
 */

import { rpc } from "../src/rpc/namespace.ts";
import type { LoadedModule } from "../src/rpc/module_registry.ts";
import type { Doc } from "./docs.ts";
import type { ScopeProvider } from "./scope.ts";

/** The docs of the rpc names. */
export const RPC_DOCS: Readonly<Record<string, Doc>> = {
  rpc: { signature: "rpc", summary: "call functions and spawn processes on other nodes" },
  "rpc.call": {
    signature:
      "rpc.call(node, module, fn, args = [], { timeout = 5000 }) | rpc.call(node, fn, args?)",
    summary: "run module.fn(...args), or a self-contained function, on node; its result",
    detail: "Rejects with RemoteError (the function threw; .cause is what it threw), " +
      "NoConnectionError (node unreachable or lost meanwhile), TimeoutError, " +
      "UndefinedFunctionError (no such module or function) or PolicyError (refused by " +
      "--rpc-allow / --no-remote-eval there). A function is sent as source: it may use " +
      "globals, self/send/receive/spawn... and rpc, but no variable of the prompt (CaptureError " +
      "names them); pass values as args. Modules come from --load, c(file) and registerModule; " +
      "every node has the module node (self, list, uptime, memory, denoVersion, hostname, ...).",
    example: 'await rpc.call("b@127.0.0.1", () => Deno.hostname())',
  },
  "rpc.cast": {
    signature: "rpc.cast(node, module, fn, args = []) | rpc.cast(node, fn, args?)",
    summary: "run it on node without waiting for anything",
    example: 'rpc.cast("b@127.0.0.1", () => console.log("hi"))',
  },
  "rpc.multicall": {
    signature: "rpc.multicall(nodes, module, fn, args = [], { timeout }) | (nodes, fn, args?)",
    summary: "call on every node in parallel: { results, badNodes }",
    detail: 'results has one { node, status: "ok", value } or { node, status: "error", error } ' +
      "per node, in order; badNodes lists the nodes that were unreachable or too slow.",
    example: 'await rpc.multicall(Node.list(), "node", "uptime")',
  },
  "rpc.multicast": {
    signature: "rpc.multicast(nodes, module, fn, args = []) | (nodes, fn, args?)",
    summary: "cast to every node",
  },
  "rpc.spawn": {
    signature: "rpc.spawn(node, module, fn, args = []) | rpc.spawn(node, fn, args?)",
    summary: "start a process on node; its pid. Same as Node.spawn",
  },
  "rpc.spawnLink": {
    signature: "rpc.spawnLink(node, module, fn, args = []) | (node, fn, args?)",
    summary: "as rpc.spawn, linked to this process before it runs",
  },
  "rpc.spawnMonitor": {
    signature: "rpc.spawnMonitor(node, module, fn, args = []) | (node, fn, args?)",
    summary: "as rpc.spawn, monitored by this process before it runs: [pid, ref]",
  },
  "rpc.registerModule": {
    signature: "rpc.registerModule(name, object)",
    summary: "let other nodes call object's functions as name.fn",
    example: 'rpc.registerModule("math", { add: (a, b) => a + b })',
  },
  "rpc.unregisterModule": {
    signature: "rpc.unregisterModule(name)",
    summary: "stop exposing a module",
  },
  "rpc.loadModule": {
    signature: "rpc.loadModule(file)",
    summary: "import file and expose its exported functions (same as c(file))",
  },
  "rpc.modules": {
    signature: "rpc.modules()",
    summary: "the modules this node exposes, with their functions",
  },
  c: {
    signature: "c(file)",
    summary: "load file's exported functions as a module for rpc (again after an edit)",
    detail: "The module is named after the file (math.ts -> math) unless the file exports " +
      "a string `name`. Loading a file again picks up its changes.",
    example: 'await c("./math.ts")',
  },
  "Node.spawn": {
    signature: "Node.spawn(node, fn, args?) | Node.spawn(node, module, fn, args)",
    summary: "start a process on node; what it prints appears here",
    example: 'await Node.spawn("b@127.0.0.1", () => console.log("hi from", self().node))',
  },
  "Node.spawnLink": {
    signature: "Node.spawnLink(node, fn, args?) | Node.spawnLink(node, module, fn, args)",
    summary: "as Node.spawn, linked to this process before it runs",
  },
  "Node.spawnMonitor": {
    signature: "Node.spawnMonitor(node, fn, args?) | Node.spawnMonitor(node, module, fn, args)",
    summary: "as Node.spawn, monitored by this process: [pid, ref]",
  },
};

/**
 * `rpc` and `c`. The functions act for the node of the process running
 * the code, so they work in processes spawned from the prompt too.
 */
export const RPC_PROVIDER: ScopeProvider = {
  title: "rpc (calls and spawns on other nodes)",
  docs: RPC_DOCS,
  names: () => ({
    rpc,
    c: (file: string): Promise<LoadedModule> => rpc.loadModule(file),
  }),
};
