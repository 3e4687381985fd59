/**
 * The shell's OTP names, as iex has them: `GenServer`, `Supervisor`,
 * `DynamicSupervisor`, `Registry`, `Task` (with `Task.Supervisor`),
 * `TaskSupervisor` and `Logger`, so the seed's GenServer can be typed at
 * the prompt. Functions sent by rpc or `Node.spawn` find the same names on
 * the node they run on (src/rpc/remote_fn.ts's prelude).
 *
 * Their `h()` docs are here, one table for all (the shell's text lives in
 * the shell; `test/repl/shell_docs_test.ts` checks it against the names).
 *
 * @example
 * ```ts
 * import { OTP_PROVIDER } from "./otp_scope.ts";
 * console.assert("GenServer.call" in OTP_PROVIDER.docs && "Logger.info" in OTP_PROVIDER.docs);
 * ```
 *
 * @module
 */

import { OTP_SHELL_NAMES } from "../src/otp/shell_names.ts";
import type { Doc } from "./docs.ts";
import type { ScopeProvider } from "./scope.ts";

/** Shell help for the OTP behaviours and `Logger`. */
export const OTP_DOCS: Readonly<Record<string, Doc>> = {
  "GenServer": {
    signature: "GenServer",
    summary: "a server process as a class you extend (Elixir's GenServer)",
  },
  "GenServer.start": {
    signature: "GenServer.start(Class, args, {name?, runtime?, timeout?})",
    summary: "start a server; resolves with its pid once init has run",
    detail: "name: a local name, { global: name } or { via: registry, key }.",
    example: 'await GenServer.start(Counter, 0, { name: { global: "counter" } })',
  },
  "GenServer.startLink": {
    signature: "GenServer.startLink(Class, args, options?)",
    summary: "as start, linked to the calling process",
    example: "await GenServer.startLink(Counter, 0)",
  },
  "GenServer.call": {
    signature: "GenServer.call(server, request, {timeout?})",
    summary: "send a request and wait for the reply (default 5000 ms)",
    detail: "server: a pid, a local name, { global: name } or { name, node }.",
    example: 'await GenServer.call({ global: "counter" }, "get")',
  },
  "GenServer.cast": {
    signature: "GenServer.cast(server, request)",
    summary: "send a request without waiting",
    example: 'GenServer.cast("counter", { add: 1 })',
  },
  "GenServer.stop": {
    signature: "GenServer.stop(server, reason?, {timeout?})",
    summary: "stop a server; terminate runs first",
    example: 'await GenServer.stop("counter")',
  },
  "GenServer.reply": {
    signature: "GenServer.reply(from, value)",
    summary: "answer a call later (handleCall returned noreply)",
  },
  "GenServer.whereis": {
    signature: "GenServer.whereis(server)",
    summary: "the pid of a server name, or undefined",
    example: 'GenServer.whereis({ global: "counter" })',
  },
  "GenServer.childSpec": {
    signature: "GenServer.childSpec(Class, args, options?)",
    summary: "a child spec for a supervisor",
  },
  "Supervisor": { signature: "Supervisor", summary: "keep children running (Elixir's Supervisor)" },
  "Supervisor.start": {
    signature: "Supervisor.start(children, {strategy, name?, intensity?, periodSeconds?})",
    summary: "start a supervisor of children specs",
    detail: "strategy: one_for_one, one_for_all or rest_for_one.",
    example:
      'await Supervisor.start([GenServer.childSpec(Counter, 0)], { strategy: "one_for_one" })',
  },
  "Supervisor.startLink": {
    signature: "Supervisor.startLink(children, options)",
    summary: "as start, linked to the calling process",
  },
  "Supervisor.childSpec": {
    signature: "Supervisor.childSpec(children, options)",
    summary: "a supervisor as a child of another",
  },
  "Supervisor.whichChildren": {
    signature: "Supervisor.whichChildren(sup)",
    summary: "each child: id, pid, type",
  },
  "Supervisor.countChildren": {
    signature: "Supervisor.countChildren(sup)",
    summary: "specs, active, supervisors, workers",
  },
  "Supervisor.startChild": {
    signature: "Supervisor.startChild(sup, spec)",
    summary: "add and start a child",
  },
  "Supervisor.terminateChild": {
    signature: "Supervisor.terminateChild(sup, id)",
    summary: "stop a child, keep its spec",
  },
  "Supervisor.restartChild": {
    signature: "Supervisor.restartChild(sup, id)",
    summary: "start a stopped child again",
  },
  "Supervisor.deleteChild": {
    signature: "Supervisor.deleteChild(sup, id)",
    summary: "remove a stopped child's spec",
  },
  "Supervisor.stop": {
    signature: "Supervisor.stop(sup, reason?)",
    summary: "stop the supervisor and its children",
  },
  "DynamicSupervisor": {
    signature: "DynamicSupervisor",
    summary: "children started on demand (Elixir's DynamicSupervisor)",
  },
  "DynamicSupervisor.start": {
    signature: "DynamicSupervisor.start({name?, maxChildren?, ...})",
    summary: "start an empty dynamic supervisor",
    example: 'await DynamicSupervisor.start({ name: "workers" })',
  },
  "DynamicSupervisor.startLink": {
    signature: "DynamicSupervisor.startLink(options?)",
    summary: "as start, linked to the calling process",
  },
  "DynamicSupervisor.childSpec": {
    signature: "DynamicSupervisor.childSpec(options?)",
    summary: "a dynamic supervisor as a child",
  },
  "DynamicSupervisor.startChild": {
    signature: "DynamicSupervisor.startChild(sup, spec)",
    summary: "start a child under it",
    example: 'await DynamicSupervisor.startChild("workers", GenServer.childSpec(Counter, 0))',
  },
  "DynamicSupervisor.terminateChild": {
    signature: "DynamicSupervisor.terminateChild(sup, pid)",
    summary: "stop a child",
  },
  "DynamicSupervisor.whichChildren": {
    signature: "DynamicSupervisor.whichChildren(sup)",
    summary: "its children",
  },
  "DynamicSupervisor.countChildren": {
    signature: "DynamicSupervisor.countChildren(sup)",
    summary: "how many children",
  },
  "DynamicSupervisor.stop": {
    signature: "DynamicSupervisor.stop(sup, reason?)",
    summary: "stop it and its children",
  },
  "Registry": { signature: "Registry", summary: "local keys to processes (Elixir's Registry)" },
  "Registry.start": {
    signature: 'Registry.start({keys: "unique" | "duplicate", name})',
    summary: "start a registry",
    example: 'await Registry.start({ keys: "unique", name: "MyApp.Registry" })',
  },
  "Registry.startLink": {
    signature: "Registry.startLink(options)",
    summary: "as start, linked to the calling process",
  },
  "Registry.childSpec": {
    signature: "Registry.childSpec(options)",
    summary: "a registry as a supervisor's child",
  },
  "Registry.register": {
    signature: "Registry.register(registry, key, value)",
    summary: "register the calling process under key",
    example: 'Registry.register("MyApp.Registry", "worker:1", null)',
  },
  "Registry.unregister": {
    signature: "Registry.unregister(registry, key)",
    summary: "remove the calling process's key",
  },
  "Registry.lookup": {
    signature: "Registry.lookup(registry, key)",
    summary: "[[pid, value], ...] under key",
    example: 'Registry.lookup("MyApp.Registry", "worker:1")',
  },
  "Registry.keys": { signature: "Registry.keys(registry, pid)", summary: "the keys of a process" },
  "Registry.dispatch": {
    signature: "Registry.dispatch(registry, key, fn)",
    summary: "call fn with the entries under key",
  },
  "Registry.updateValue": {
    signature: "Registry.updateValue(registry, key, fn)",
    summary: "change the calling process's value",
  },
  "Registry.count": { signature: "Registry.count(registry)", summary: "how many entries" },
  "Registry.meta": {
    signature: "Registry.meta(registry, key)",
    summary: "a registry-wide metadata value",
  },
  "Registry.putMeta": {
    signature: "Registry.putMeta(registry, key, value)",
    summary: "set metadata",
  },
  "Registry.deleteMeta": {
    signature: "Registry.deleteMeta(registry, key)",
    summary: "remove metadata",
  },
  "Task": { signature: "Task", summary: "one function in a process of its own (Elixir's Task)" },
  "Task.async": {
    signature: "Task.async(fn)",
    summary: "run fn in a linked process; await its result with Task.await",
    example: "await Task.await(Task.async(() => 1 + 1))",
  },
  "Task.await": {
    signature: "Task.await(task, timeout?)",
    summary: "the task's result (default 5000 ms)",
  },
  "Task.awaitMany": {
    signature: "Task.awaitMany(tasks, timeout?)",
    summary: "every task's result",
  },
  "Task.yield": {
    signature: "Task.yield(task, timeout?)",
    summary: "the result if ready, else undefined",
  },
  "Task.yieldMany": {
    signature: "Task.yieldMany(tasks, timeout?)",
    summary: "each task's result if ready",
  },
  "Task.shutdown": { signature: "Task.shutdown(task, timeout?)", summary: "stop a task" },
  "Task.start": { signature: "Task.start(fn)", summary: "run fn in a process, no result" },
  "Task.startLink": { signature: "Task.startLink(fn)", summary: "as start, linked" },
  "Task.Supervisor": { signature: "Task.Supervisor", summary: "the same as TaskSupervisor" },
  "TaskSupervisor": {
    signature: "TaskSupervisor",
    summary: "supervised tasks (Elixir's Task.Supervisor)",
  },
  "Logger": { signature: "Logger", summary: "log lines under weft.app (Elixir's Logger)" },
  "Logger.debug": { signature: "Logger.debug(message)", summary: "a debug line" },
  "Logger.info": {
    signature: "Logger.info(message)",
    summary: "an info line",
    example: "Logger.info(`Starting worker on ${Node.self()}`)",
  },
  "Logger.warning": { signature: "Logger.warning(message)", summary: "a warning line" },
  "Logger.error": { signature: "Logger.error(message)", summary: "an error line" },
  "TaskSupervisor.start": {
    signature: "TaskSupervisor.start(options?)",
    summary: "start a task supervisor",
  },
  "TaskSupervisor.startLink": {
    signature: "TaskSupervisor.startLink(options?)",
    summary: "as start, linked",
  },
  "TaskSupervisor.childSpec": {
    signature: "TaskSupervisor.childSpec(options?)",
    summary: "a task supervisor as a child",
  },
  "TaskSupervisor.asyncNolink": {
    signature: "TaskSupervisor.asyncNolink(sup, fn)",
    summary: "a task not linked to the caller",
  },
  "TaskSupervisor.async": {
    signature: "TaskSupervisor.async(sup, fn)",
    summary: "a supervised task, awaited with Task.await",
  },
  "TaskSupervisor.startChild": {
    signature: "TaskSupervisor.startChild(sup, fn)",
    summary: "a supervised process, no result",
  },
  "TaskSupervisor.children": {
    signature: "TaskSupervisor.children(sup)",
    summary: "the pids of its tasks",
  },
  "TaskSupervisor.terminateChild": {
    signature: "TaskSupervisor.terminateChild(sup, pid)",
    summary: "stop a task",
  },
  "TaskSupervisor.countChildren": {
    signature: "TaskSupervisor.countChildren(sup)",
    summary: "how many tasks",
  },
  "TaskSupervisor.stop": {
    signature: "TaskSupervisor.stop(sup)",
    summary: "stop it and its tasks",
  },
  "Task.Supervisor.start": {
    signature: "Task.Supervisor.start(options?)",
    summary: "start a task supervisor",
  },
  "Task.Supervisor.startLink": {
    signature: "Task.Supervisor.startLink(options?)",
    summary: "as start, linked",
  },
  "Task.Supervisor.childSpec": {
    signature: "Task.Supervisor.childSpec(options?)",
    summary: "a task supervisor as a child",
  },
  "Task.Supervisor.asyncNolink": {
    signature: "Task.Supervisor.asyncNolink(sup, fn)",
    summary: "a task not linked to the caller",
  },
  "Task.Supervisor.async": {
    signature: "Task.Supervisor.async(sup, fn)",
    summary: "a supervised task, awaited with Task.await",
  },
  "Task.Supervisor.startChild": {
    signature: "Task.Supervisor.startChild(sup, fn)",
    summary: "a supervised process, no result",
  },
  "Task.Supervisor.children": {
    signature: "Task.Supervisor.children(sup)",
    summary: "the pids of its tasks",
  },
  "Task.Supervisor.terminateChild": {
    signature: "Task.Supervisor.terminateChild(sup, pid)",
    summary: "stop a task",
  },
  "Task.Supervisor.countChildren": {
    signature: "Task.Supervisor.countChildren(sup)",
    summary: "how many tasks",
  },
  "Task.Supervisor.stop": {
    signature: "Task.Supervisor.stop(sup)",
    summary: "stop it and its tasks",
  },
};

/** The OTP behaviours and `Logger` with their docs, for `scope.ts`'s `SHELL_PROVIDERS`. */
export const OTP_PROVIDER: ScopeProvider = {
  title: "OTP behaviours (as iex: GenServer, Supervisor, Registry, Task, Logger)",
  docs: OTP_DOCS,
  names: () => ({ ...OTP_SHELL_NAMES }),
};
