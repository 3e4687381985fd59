/**
 * The shell's documentation, kept as data so that `h()` and
 * `h(Node.connect)` work the same under `deno run` and in a compiled
 * binary (nothing here reads source files). Each scope provider brings the
 * docs of the names it adds; {@linkcode DocIndex} joins them and finds the
 * doc of a function value.
 *
 * @example
 * ```ts
 * import { DocIndex, NODE_DOCS } from "./docs.ts";
 * const Node = { connect: () => true };
 * const index = new DocIndex([{ title: "Node", docs: NODE_DOCS }], { Node });
 * console.assert(index.describe(Node.connect).includes("Node.connect(node)"));
 * ```
 *
 * @module
 */

/** The doc of one shell name. */
export interface Doc {
  /** How it is called, e.g. `Node.connect(node)`. */
  signature: string;
  /** One line, for the `h()` overview. */
  summary: string;
  /** More, for `h(name)`. */
  detail?: string;
  /** Input to type at the prompt. */
  example?: string;
}

/** A titled set of docs: one part of the `h()` overview. */
export interface DocSection {
  /** The heading. */
  title: string;
  /** Docs keyed by the name as typed: `"spawn"`, `"Node.connect"`. */
  docs: Readonly<Record<string, Doc>>;
}

/** The process functions: they act for the process running the code (the shell at the prompt). */
export const PROCESS_FUNCTION_DOCS: Readonly<Record<string, Doc>> = {
  self: { signature: "self()", summary: "this process's pid", example: "self()" },
  send: {
    signature: "send(dest, msg)",
    summary: "send msg to a pid, a local name or {name, node}; returns msg",
    detail: "Never throws for a dead or unknown pid; throws TypeError at once for a value " +
      "that cannot cross the wire (a function, a symbol). Returns msg, as Erlang's ! does.",
    example: 'send(self(), "hi"); flush()',
  },
  receive: {
    signature: "receive(matcher?, { timeout? })",
    summary: "take the first message matcher accepts, waiting for one",
    detail: "Selective: other messages stay in the mailbox, in order. Rejects with " +
      "TimeoutError after timeout ms (default: wait for ever; Ctrl-C interrupts).",
    example: 'await receive((m) => m.type === "DOWN", { timeout: 1000 })',
  },
  flush: {
    signature: "flush()",
    summary: "print and take every message in the mailbox",
    detail: 'Prints "Shell got <message>" for each, as Erlang\'s flush().',
    example: "flush()",
  },
  spawn: {
    signature: "spawn(fn, { name?, link?, trapExit?, label? }?)",
    summary: "start a process running fn; returns its pid",
    detail: "fn may be async; the process exits normal when it returns, with the thrown " +
      "value when it throws. Inside fn, self/receive/send act for the new process.",
    example: "const pid = spawn(async () => { const m = await receive(); console.log(m) })",
  },
  spawnLink: {
    signature: "spawnLink(fn, options?)",
    summary: "spawn linked to this process",
    example: "spawnLink(() => { throw new Error('boom') })",
  },
  spawnMonitor: {
    signature: "spawnMonitor(fn, options?)",
    summary: "spawn monitored by this process; returns [pid, ref]",
    example: "const [pid, ref] = spawnMonitor(() => {})",
  },
  link: { signature: "link(pid)", summary: "link this process to pid" },
  unlink: { signature: "unlink(pid)", summary: "remove the link to pid" },
  monitor: {
    signature: "monitor(pid | name | { name, node })",
    summary: "monitor a process; a DOWN message arrives when it exits",
    detail: 'DOWN is {type: "DOWN", ref, pid, reason}; "noproc" at once for a dead ' +
      'process, "noconnection" when its node is lost.',
    example: "const ref = monitor(pid)",
  },
  demonitor: {
    signature: "demonitor(ref, { flush? }?)",
    summary: "remove a monitor; true when it was active",
  },
  exit: {
    signature: "exit(pid, reason)",
    summary: 'send pid an exit signal ("kill" cannot be trapped)',
    detail: "exit(reason) with one argument ends the running process itself.",
    example: 'exit(pid, "kill")',
  },
  trapExit: {
    signature: "trapExit(flag)",
    summary: "turn exit trapping on/off; returns the previous setting",
    detail: 'Trapped exit signals arrive as {type: "EXIT", from, reason} messages.',
  },
  register: {
    signature: "register(name, pid?)",
    summary: "register pid (default: this process) under a local name",
    example: 'register("worker", pid)',
  },
  unregister: { signature: "unregister(name)", summary: "remove a registered name" },
  whereis: { signature: "whereis(name)", summary: "the pid registered under name, or undefined" },
  sendAfter: {
    signature: "sendAfter(dest, msg, ms)",
    summary: "send msg to dest after ms milliseconds; returns a timer ref",
  },
  cancelTimer: {
    signature: "cancelTimer(ref)",
    summary: "cancel a sendAfter timer; the ms it had left, or false",
  },
  makeRef: { signature: "makeRef()", summary: "a new unique reference" },
};

/** The `Process` namespace. */
export const PROCESS_NAMESPACE_DOCS: Readonly<Record<string, Doc>> = {
  Process: {
    signature: "Process",
    summary: "operations on processes of this node (as Elixir's Process)",
  },
  "Process.self": { signature: "Process.self()", summary: "this process's pid" },
  "Process.send": { signature: "Process.send(dest, msg)", summary: "send msg to dest" },
  "Process.receive": {
    signature: "Process.receive(matcher?, { timeout? }?)",
    summary: "the same as receive(): the next message the matcher accepts",
  },
  "Process.makeRef": { signature: "Process.makeRef()", summary: "a new unique reference" },
  "Process.spawn": { signature: "Process.spawn(fn, options?)", summary: "start a process" },
  "Process.spawnLink": {
    signature: "Process.spawnLink(fn, options?)",
    summary: "start a process linked to this one",
  },
  "Process.spawnMonitor": {
    signature: "Process.spawnMonitor(fn, options?)",
    summary: "start a process monitored by this one; [pid, ref]",
  },
  "Process.link": { signature: "Process.link(pid)", summary: "link to pid" },
  "Process.unlink": { signature: "Process.unlink(pid)", summary: "remove the link to pid" },
  "Process.monitor": {
    signature: "Process.monitor(target)",
    summary: "monitor a pid, a name or {name, node}; returns the ref",
  },
  "Process.demonitor": {
    signature: "Process.demonitor(ref, { flush? }?)",
    summary: "remove a monitor",
  },
  "Process.exit": {
    signature: "Process.exit(pid, reason)",
    summary: "send pid an exit signal",
    example: 'Process.exit(pid, "kill")',
  },
  "Process.trapExit": { signature: "Process.trapExit(flag)", summary: "trap exits on/off" },
  "Process.register": {
    signature: "Process.register(name, pid?)",
    summary: "register pid (default: this process) under name",
  },
  "Process.unregister": { signature: "Process.unregister(name)", summary: "remove a name" },
  "Process.whereis": { signature: "Process.whereis(name)", summary: "the pid under name" },
  "Process.registered": { signature: "Process.registered()", summary: "every registered name" },
  "Process.info": {
    signature: "Process.info(pid)",
    summary: "status, mailbox, links, monitors of a local process",
    detail: "undefined for a dead process. i(pid) prints the same, laid out.",
    example: "Process.info(self())",
  },
  "Process.list": { signature: "Process.list()", summary: "every live process of this node" },
  "Process.sendAfter": {
    signature: "Process.sendAfter(dest, msg, ms)",
    summary: "send msg later; a timer ref",
  },
  "Process.cancelTimer": { signature: "Process.cancelTimer(ref)", summary: "cancel a timer" },
  "Process.alive": { signature: "Process.alive(pid)", summary: "whether a local pid is alive" },
  "Process.isAlive": { signature: "Process.isAlive(pid)", summary: "the same as alive" },
  "Process.flush": {
    signature: "Process.flush()",
    summary: "take every message in the mailbox (returns them, prints nothing)",
  },
};

/** The `Node` namespace and `monitorNodes`. */
export const NODE_DOCS: Readonly<Record<string, Doc>> = {
  Node: { signature: "Node", summary: "this node and its connections" },
  "Node.self": { signature: "Node.self()", summary: "this node's name" },
  "Node.alive": {
    signature: "Node.alive()",
    summary: "whether this node runs distribution (has a name)",
  },
  "Node.connect": {
    signature: "Node.connect(node)",
    summary: "connect to node; true on success, false otherwise",
    detail: "node is name@host (found through the port mapper) or name@host:port " +
      "(without one). Connecting to one member of a cluster meshes with all of it.",
    example: 'await Node.connect("b@127.0.0.1")',
  },
  "Node.disconnect": {
    signature: "Node.disconnect(node)",
    summary: "drop the connection to node; true when there was one",
  },
  "Node.list": {
    signature: 'Node.list(kind = "visible")',
    summary: 'connected nodes: "visible", "hidden", "all" or "known"',
    example: "Node.list()",
  },
  "Node.ping": {
    signature: "Node.ping(node)",
    summary: '"pong" when node answers, "pang" otherwise',
    example: 'await Node.ping("b@127.0.0.1")',
  },
  "Node.setCookie": {
    signature: "Node.setCookie(cookie)",
    summary: "this node's cookie for connections made from now on (erlang:set_cookie/1)",
    detail: "Connections already up stay; the cookie file is not changed, and a cluster's " +
      "gossip keeps the secret it started with.",
    example: 'Node.setCookie("new-secret")',
  },
  "Node.monitor": {
    signature: "Node.monitor(node, flag = true)",
    summary: "one nodedown message when node goes down",
  },
  monitorNodes: {
    signature: "monitorNodes(flag = true)",
    summary: "nodeup/nodedown messages for every node from now on",
    detail: 'Messages are {type: "nodeup", node} and {type: "nodedown", node, reason}. ' +
      "At the prompt they are shown as they arrive and stay in the mailbox.",
    example: "monitorNodes()",
  },
};

/** The shell's own helpers. */
export const HELPER_DOCS: Readonly<Record<string, Doc>> = {
  h: {
    signature: "h(name?)",
    summary: "this help; h(Node.connect) for one name",
    example: "h(Node.connect)",
  },
  i: {
    signature: "i(pid?)",
    summary: "what a process is doing (asked on its node); i() lists this node's",
    example: "i(self())",
  },
  q: {
    signature: "q(code = 0)",
    summary: "stop this node cleanly and exit with code",
    detail: "In a remote shell (--remsh) q() leaves the remote shell; the node goes on.",
  },
  v: {
    signature: "v(n = -1)",
    summary: "the value of input n (its prompt number); v() the last, v(-2) the one before",
    example: "v(3)",
  },
  pid: {
    signature: 'pid("name@host.id.serial")',
    summary: "a pid from its printed form; pid(id, serial) on this node",
    detail: "The node must be this one or a connected one (a pid names an incarnation " +
      "of its node, which the connection tells).",
    example: 'pid("a@127.0.0.1.8.0")',
  },
  stack: {
    signature: "stack()",
    summary: "the full stack of the last error, the shell's own frames included",
    detail: "An error is shown on one line with the place in your code " +
      "(input:line:column, the script's file:line:column, --eval:1:column); " +
      "stack() prints everything V8 recorded.",
    example: "stack()",
  },
};

/**
 * Joins doc sections and finds the doc of a name or a function value.
 *
 * @example
 * ```ts
 * import { DocIndex, HELPER_DOCS } from "./docs.ts";
 * const index = new DocIndex([{ title: "Helpers", docs: HELPER_DOCS }], {});
 * console.assert(index.overview().includes("h(name?)"));
 * ```
 */
export class DocIndex {
  readonly #sections: readonly DocSection[];
  readonly #byName = new Map<string, Doc>();
  readonly #byValue = new Map<unknown, string>();

  /**
   * @param sections the docs, in the order `h()` lists them
   * @param scope the shell's names, to map function values to their docs
   */
  constructor(sections: readonly DocSection[], scope: Record<string, unknown>) {
    this.#sections = sections;
    for (const section of sections) {
      for (const [name, doc] of Object.entries(section.docs)) {
        this.#byName.set(name, doc);
        const value = resolve(scope, name);
        if (
          (typeof value === "function" || (typeof value === "object" && value !== null)) &&
          !this.#byValue.has(value)
        ) {
          this.#byValue.set(value, name);
        }
      }
    }
  }

  /**
   * The name a value is documented under (`Node.connect` for that function).
   *
   * @param value a function or namespace from the scope, or its name as a string
   * @returns the documented name, or `undefined`
   */
  nameOf(value: unknown): string | undefined {
    if (typeof value === "string") return this.#byName.has(value) ? value : undefined;
    return this.#byValue.get(value);
  }

  /**
   * The text of `h(value)`: signature, summary, detail and example; for a
   * namespace, its members too.
   *
   * @param value a function or namespace from the scope, or its name
   * @returns the text, without a trailing newline
   * @throws {TypeError} when nothing is documented for `value`
   */
  describe(value: unknown): string {
    const name = this.nameOf(value);
    if (name === undefined) {
      const what = typeof value === "function" && value.name ? value.name : typeof value;
      throw new TypeError(
        `Cannot find help: no shell doc for ${what} (h() lists what is documented)`,
      );
    }
    const doc = this.#byName.get(name)!;
    const lines = [doc.signature, "", `  ${doc.summary}`];
    if (doc.detail) lines.push("", ...wrap(doc.detail, 74).map((l) => `  ${l}`));
    if (doc.example) lines.push("", "  Example:", `    ${doc.example}`);
    const members = [...this.#byName.entries()].filter(([n]) => n.startsWith(name + "."));
    if (members.length > 0) {
      lines.push("", ...table(members));
    }
    return lines.join("\n");
  }

  /**
   * The text of `h()`: a short introduction, the functions at hand, the
   * namespaces (`h(Node)` lists one's functions) and the helpers.
   *
   * @returns the text, without a trailing newline
   */
  overview(): string {
    const functions: string[] = [];
    const namespaces: [string, Doc][] = [];
    const helpers: [string, Doc][] = [];
    for (const section of this.#sections) {
      const entries = Object.entries(section.docs);
      const isHelpers = section.docs === HELPER_DOCS;
      for (const [name, doc] of entries) {
        if (name.includes(".")) continue;
        if (!doc.signature.includes("(")) namespaces.push([name, doc]);
        else if (isHelpers) helpers.push([name, doc]);
        else functions.push(name);
      }
    }
    const width = Math.max(...namespaces.map(([n]) => n.length)) + 2;
    return [
      "Weft's shell: TypeScript with top-level await, bindings that last, Tab completion.",
      "h(name) tells more about a name: h(spawn), h(Node), h(Node.connect).",
      "",
      "Functions (they act for the process running the code: the shell at the prompt)",
      ...wrap(functions.join(", "), 76).map((l) => `  ${l}`),
      "",
      "Namespaces",
      ...namespaces.map(([name, doc]) => `  ${name.padEnd(width)}${doc.summary}`),
      "",
      "Helpers",
      ...table(helpers),
    ].join("\n");
  }
}

function table(entries: [string, Doc][]): string[] {
  const width = Math.min(34, Math.max(...entries.map(([, d]) => d.signature.length)) + 2);
  return entries.map(([, d]) =>
    d.signature.length + 2 > width
      ? `  ${d.signature}\n  ${" ".repeat(width)}${d.summary}`
      : `  ${d.signature.padEnd(width)}${d.summary}`
  );
}

function resolve(scope: Record<string, unknown>, name: string): unknown {
  let value: unknown = scope;
  for (const part of name.split(".")) {
    if (value === null || (typeof value !== "object" && typeof value !== "function")) {
      return undefined;
    }
    const desc = Object.getOwnPropertyDescriptor(value, part);
    value = desc && "value" in desc ? desc.value : undefined;
  }
  return value;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}
