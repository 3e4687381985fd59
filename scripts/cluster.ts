/**
 * Scripted multi-node launches (`deno task cluster`): start N `weft` nodes
 * (or the topology of a JSON file), wait until they are fully meshed and
 * say so, stream every node's output prefixed with its name, then open a
 * shell on the first node — or stay in the foreground with `--no-repl` —
 * and stop every node on exit, Ctrl-C or SIGTERM.
 *
 * ```sh
 * deno task cluster -n 3                  # n1..n3 @127.0.0.1, a shell on n1
 * deno task cluster --config cluster.json --no-repl
 * ```
 *
 * How it knows the cluster is meshed, honestly: the launcher is itself a
 * hidden node with the cluster's cookie. It connects to each node as soon
 * as that node answers, opens a remote shell session on it (the
 * `weft_remsh` server every weft node runs), asks each node to connect to
 * the first (connecting to one member meshes with all), and asks each
 * node for its own `Node.list()` until every node lists every other.
 *
 * ```
 * launcher (hidden)           n1            n2 ... nN     (child processes)
 *   spawn `weft --name nI@host --cookie C --no-repl` for each
 *   connect + remsh session ---> each, as it comes up
 *   eval `await Node.connect("n1@host")` on n2..nN
 *   eval `Node.list()` on each, until all see all  -> "cluster of N nodes meshed in X ms"
 *   shell on n1 (remote shell)  |  --no-repl: wait for SIGINT/SIGTERM
 *   exit: SIGTERM to each node, wait, SIGKILL stragglers -> exit 0
 * ```
 *
 * Failure: a node that exits before the cluster is meshed (a taken name, a
 * port in use) stops the others, and the launcher exits 1 with that
 * node's reason; so does a cluster not meshed within `--timeout`.
 *
 * Config file (`--config`):
 * ```json
 * {
 *   "cookie": "secret",
 *   "host": "127.0.0.1",
 *   "epmdPort": 4369,
 *   "nodes": ["a", { "name": "b", "port": 9102 }],
 *   "modules": ["./app.ts"]
 * }
 * ```
 * `modules` are loaded on every node with `weft --load`; a weft without
 * that flag (it arrives with the rpc layer) makes the launcher refuse the
 * field rather than start nodes without them.
 *
 * A multi-region cluster (docs/multi_region.md): `regions` instead of
 * `nodes`, each region's nodes and gateway count; `replicated`, `topics`,
 * `batchInterval` and `wan` pass on to every node. Each node starts with
 * `--cluster-config` (a file the launcher writes: a static topology per
 * region) and `--region`; the cluster is ready when each node's
 * `Node.list()` is its region.
 * ```json
 * {
 *   "regions": {
 *     "us_east": { "nodes": ["e1", "e2", "e3"], "gateways": 1 },
 *     "us_west": { "nodes": ["w1", "w2", "w3"] }
 *   },
 *   "replicated": ["cart:*"],
 *   "wan": { "delay": 50, "jitter": 10, "loss": 0.01 }
 * }
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseCli } from "../cli/options.ts";
import { configureLogging } from "../src/log.ts";
import { startNode, type WeftNode } from "../src/node.ts";
import { parseMultiRegionConfig } from "../src/region/region_config.ts";
import { parseNodeName } from "../src/term/node_name.ts";
import { ShellOutput } from "../repl/output.ts";
import { RemoteShell } from "../repl/remsh_client.ts";
import { runRepl } from "../repl/repl.ts";

/** One node of the cluster. */
export interface ClusterNode {
  /** The bare name (`n1`); the node is `name@host`. */
  name: string;
  /** A fixed distribution port; none: any free port. */
  port?: number;
  /** Its region, in a multi-region cluster. */
  region?: string;
}

/** What to launch. */
export interface ClusterSpec {
  /** The nodes, the first gets the shell. */
  nodes: ClusterNode[];
  /** The cluster cookie (random when not given). */
  cookie: string;
  /** The host part of every node name, and the address they listen on. */
  host: string;
  /** The port mapper's port. */
  epmdPort?: number;
  /** Modules every node loads (`weft --load`). */
  modules: string[];
  /** Open a shell on the first node (else wait for SIGINT/SIGTERM). */
  repl: boolean;
  /** The weft command: `["deno", "run", "-A", "main.ts"]` or a compiled binary. */
  weft: string[];
  /** Milliseconds to wait for the cluster to mesh. */
  timeout: number;
  /** The nodes' `--log-level`. */
  logLevel: string;
  /**
   * A multi-region cluster: the multi-region cluster config every node
   * starts with (`--cluster-config`, with its node's `--region`).
   */
  regions?: Record<string, unknown>;
}

/** A bad command line or config file. */
export class ClusterConfigError extends Error {
  /** @param message what is wrong */
  constructor(message: string) {
    super(message);
    this.name = "ClusterConfigError";
  }
}

/** The text of `deno task cluster --help`. */
export const CLUSTER_HELP = `deno task cluster — start a meshed cluster of weft nodes

Usage:
  deno task cluster -n N [options]          nodes n1..nN
  deno task cluster --config FILE [options] the topology of a JSON file

Options:
  -n, --nodes N         how many nodes (default 3)
  --config FILE         JSON: {"nodes": ["a", {"name": "b", "port": 9102}],
                        "cookie", "host", "epmdPort", "modules"}, or
                        {"regions": {"us_east": {"nodes": [...], "gateways": 1},
                        ...}, "replicated", "topics", "wan"}: a mesh per region
                        linked by gateways (docs/multi_region.md)
  --cookie SECRET       the cluster cookie (default: a random one)
  --host HOST           host part of the names (default 127.0.0.1)
  --epmd-port P         the port mapper's port (default 4369)
  --no-repl             no shell: stay in the foreground until Ctrl-C/SIGTERM
  --weft CMD            the weft command (default: deno run -A main.ts);
                        e.g. --weft dist/weft for a compiled binary
  --timeout MS          how long to wait for the mesh (default 30000)
  --log-level LEVEL     the nodes' log level (default info)
  -h, --help            this text

The shell runs on the first node (a remote shell: q() or Ctrl-D leaves it).
Leaving it, Ctrl-C (with --no-repl) or SIGTERM stops every node; exit 0.
`;

/**
 * Reads the launcher's command line (and the config file it names).
 *
 * @param args the arguments
 * @param readFile reads the config file (injected for tests)
 * @returns the spec, or `"help"`
 * @throws {ClusterConfigError} for a bad flag, file or field
 *
 * @example
 * ```ts
 * import { parseClusterArgs } from "./cluster.ts";
 * const spec = parseClusterArgs(["-n", "2", "--cookie", "c"]);
 * console.assert(spec !== "help" && spec.nodes.map((n) => n.name).join() === "n1,n2");
 * ```
 */
export function parseClusterArgs(
  args: string[],
  readFile: (path: string) => string = Deno.readTextFileSync,
): ClusterSpec | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        nodes: { type: "string", short: "n" },
        config: { type: "string" },
        cookie: { type: "string" },
        host: { type: "string" },
        "epmd-port": { type: "string" },
        "no-repl": { type: "boolean" },
        weft: { type: "string" },
        timeout: { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new ClusterConfigError((e as Error).message.split("\n")[0]!.split(/\.\s/)[0]!);
  }
  if (values.help) return "help";
  if (values.nodes !== undefined && values.config !== undefined) {
    throw new ClusterConfigError("Cannot use -n and --config together: give one of them");
  }
  let config: Record<string, unknown> = {};
  if (values.config !== undefined) {
    let text: string;
    try {
      text = readFile(values.config);
    } catch (e) {
      throw new ClusterConfigError(`Cannot read ${values.config}: ${(e as Error).message}`);
    }
    try {
      config = JSON.parse(text);
    } catch (e) {
      throw new ClusterConfigError(`Cannot parse ${values.config}: ${(e as Error).message}`);
    }
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
      throw new ClusterConfigError(`Invalid ${values.config}: expected a JSON object`);
    }
    const known = [
      "nodes",
      "cookie",
      "host",
      "epmdPort",
      "modules",
      "regions",
      "replicated",
      "topics",
      "batchInterval",
      "wan",
    ];
    for (const key of Object.keys(config)) {
      if (!known.includes(key)) {
        throw new ClusterConfigError(
          `Invalid ${values.config}: unknown field "${key}" (fields: ${known.join(", ")})`,
        );
      }
    }
  }
  const host = values.host ?? stringField(config, "host") ?? "127.0.0.1";
  if (config.regions !== undefined && config.nodes !== undefined) {
    throw new ClusterConfigError(
      `Invalid ${values.config}: give "nodes" or "regions" (each region lists its nodes), not both`,
    );
  }
  const nodes = values.config === undefined
    ? Array.from({ length: count(values.nodes ?? "3") }, (_, i) => ({ name: `n${i + 1}` }))
    : config.regions !== undefined
    ? regionNodes(config.regions, values.config)
    : nodesField(config.nodes, values.config);
  const seen = new Set<string>();
  for (const node of nodes) {
    try {
      parseNodeName(`${node.name}@${host}`);
    } catch (e) {
      throw new ClusterConfigError(`Invalid node "${node.name}": ${(e as Error).message}`);
    }
    if (seen.has(node.name)) throw new ClusterConfigError(`Invalid nodes: "${node.name}" twice`);
    seen.add(node.name);
  }
  const cookie = values.cookie ?? stringField(config, "cookie") ??
    crypto.randomUUID().replaceAll("-", "");
  if (cookie === "") throw new ClusterConfigError("Invalid cookie: must not be empty");
  const epmdText = values["epmd-port"] ??
    (config.epmdPort !== undefined ? String(config.epmdPort) : undefined);
  const epmdPort = epmdText === undefined ? undefined : port(epmdText, "epmd port");
  const modules = config.modules === undefined ? [] : config.modules;
  if (!Array.isArray(modules) || modules.some((m) => typeof m !== "string")) {
    throw new ClusterConfigError('Invalid "modules": expected an array of file names');
  }
  if (modules.length > 0 && !parseCli(["--load", "x"]).ok) {
    throw new ClusterConfigError(
      'Cannot load "modules": this weft has no --load flag yet (it comes with the rpc ' +
        "layer); remove the field, or load them from the shell",
    );
  }
  const timeout = Number(values.timeout ?? "30000");
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new ClusterConfigError(
      `Invalid --timeout: expected milliseconds > 0, received "${values.timeout}"`,
    );
  }
  const weft = values.weft !== undefined ? values.weft.split(/\s+/).filter(Boolean) : defaultWeft();
  // Module paths in a config file are relative to the file.
  const configDir = values.config !== undefined && values.config.includes("/")
    ? values.config.slice(0, values.config.lastIndexOf("/") + 1)
    : "";
  return {
    nodes,
    cookie,
    host,
    ...(epmdPort !== undefined ? { epmdPort } : {}),
    modules: (modules as string[]).map((m) => m.startsWith("/") ? m : configDir + m),
    repl: !values["no-repl"],
    weft,
    timeout,
    logLevel: values["log-level"] ?? "info",
    ...(config.regions !== undefined ? { regions: regionsConfig(config, nodes, host) } : {}),
  };
}

/** The nodes of a launcher config's `regions`, each with its region. */
function regionNodes(value: unknown, file: string): ClusterNode[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ClusterConfigError(`Invalid ${file}: "regions" must map region names to regions`);
  }
  const nodes: ClusterNode[] = [];
  for (const [region, spec] of Object.entries(value)) {
    const s = spec as Record<string, unknown>;
    if (typeof s !== "object" || s === null) {
      throw new ClusterConfigError(`Invalid ${file}: region "${region}" must be an object`);
    }
    for (const key of Object.keys(s)) {
      if (key !== "nodes" && key !== "gateways") {
        throw new ClusterConfigError(
          `Invalid ${file}: region "${region}" has unknown field "${key}" (fields: nodes, gateways)`,
        );
      }
    }
    for (const node of nodesField(s.nodes, `${file} (region ${region})`)) {
      nodes.push({ ...node, region });
    }
  }
  if (nodes.length === 0) throw new ClusterConfigError(`Invalid ${file}: "regions" is empty`);
  return nodes;
}

/** The multi-region cluster config the nodes start with: a static topology per region. */
function regionsConfig(
  config: Record<string, unknown>,
  nodes: ClusterNode[],
  host: string,
): Record<string, unknown> {
  const raw = config.regions as Record<string, { gateways?: number }>;
  const regions: Record<string, unknown> = {};
  for (const [region, spec] of Object.entries(raw)) {
    const names = nodes.filter((n) => n.region === region).map((n) =>
      `${n.name}@${host}${n.port !== undefined ? `:${n.port}` : ""}`
    );
    regions[region] = {
      topologies: { [region]: { strategy: "static", config: { nodes: names } } },
      ...(spec.gateways !== undefined ? { gateways: spec.gateways } : {}),
    };
  }
  const out: Record<string, unknown> = { regions };
  for (const key of ["replicated", "topics", "batchInterval", "wan"]) {
    if (config[key] !== undefined) out[key] = config[key];
  }
  try {
    // Every error shows before any node starts.
    for (const region of Object.keys(raw)) parseMultiRegionConfig(out, region);
  } catch (e) {
    throw new ClusterConfigError((e as Error).message);
  }
  return out;
}

function count(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 100) {
    throw new ClusterConfigError(`Invalid -n: expected 1-100 nodes, received "${text}"`);
  }
  return n;
}

function port(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) {
    throw new ClusterConfigError(`Invalid ${what}: expected a port number, received "${text}"`);
  }
  return n;
}

function stringField(config: Record<string, unknown>, key: string): string | undefined {
  const value = config[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    throw new ClusterConfigError(`Invalid "${key}": expected a string`);
  }
  return value;
}

function nodesField(value: unknown, file: string): ClusterNode[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ClusterConfigError(`Invalid ${file}: "nodes" must be a non-empty array`);
  }
  return value.map((entry) => {
    if (typeof entry === "string") return { name: entry };
    if (typeof entry === "object" && entry !== null && typeof entry.name === "string") {
      const node: ClusterNode = { name: entry.name };
      if (entry.port !== undefined) node.port = port(String(entry.port), `port of ${entry.name}`);
      return node;
    }
    throw new ClusterConfigError(
      `Invalid ${file}: each node is a name or {"name": ..., "port": ...}`,
    );
  });
}

function defaultWeft(): string[] {
  const main = new URL("../main.ts", import.meta.url);
  if (main.protocol !== "file:") {
    throw new ClusterConfigError("Cannot find main.ts: give the weft command with --weft");
  }
  return [Deno.execPath(), "run", "-A", main.pathname];
}

/** A started child node. */
interface Child {
  node: ClusterNode;
  full: string;
  process: Deno.ChildProcess;
  /** Its last lines of output, for the reason it failed. */
  tail: string[];
  status: Deno.CommandStatus | undefined;
  exited: Promise<Deno.CommandStatus>;
  output: Promise<void>;
}

/**
 * Runs a cluster described by `spec` until the shell is left or a signal
 * comes.
 *
 * @param spec what to launch
 * @param output where the launcher and the nodes' lines go
 * @returns the exit status: 0, or 1 when the cluster could not start
 */
export async function runCluster(spec: ClusterSpec, output = new ShellOutput()): Promise<number> {
  const started = performance.now();
  const say = (text: string) => output.print(`cluster: ${text}`);
  const width = Math.max(...spec.nodes.map((n) => n.name.length));
  const launcher = await startNode({
    name: `cluster_${crypto.randomUUID().slice(0, 8)}@${spec.host}`,
    cookie: spec.cookie,
    hidden: true,
    hostname: spec.host,
    ...(spec.epmdPort !== undefined ? { epmdPort: spec.epmdPort } : {}),
  });
  let regionsFile: string | undefined;
  if (spec.regions !== undefined) {
    regionsFile = await Deno.makeTempFile({ prefix: "weft-regions-", suffix: ".json" });
    await Deno.writeTextFile(regionsFile, JSON.stringify(spec.regions));
  }
  const children = spec.nodes.map((node) => spawnChild(spec, node, width, output, regionsFile));
  const sessions: RemoteShell[] = [];
  const signals = onTermination();
  let stopping = false;
  const abort = new AbortController();
  const stopAll = async () => {
    stopping = true;
    abort.abort();
    for (const s of sessions) s.close();
    await stopChildren(children);
    await launcher.stop();
    if (regionsFile !== undefined) await Deno.remove(regionsFile).catch(() => {});
  };
  try {
    // Any node that exits before the mesh is complete fails the launch.
    const failed = Promise.race(children.map((c) =>
      c.exited.then(async (status) => {
        await c.output;
        return { child: c, status };
      })
    ));
    const meshed = meshCluster(launcher, children, sessions, abort.signal);
    const first = await Promise.race([
      meshed.then(() => "meshed" as const),
      failed.then((f) => f),
      signals.promise.then(() => "signal" as const),
      timeout(spec.timeout).then(() => "timeout" as const),
    ]);
    if (first === "signal") return 0;
    if (first === "timeout") {
      say(`not meshed within ${spec.timeout} ms; stopping every node`);
      return 1;
    }
    if (first !== "meshed") {
      const reason = first.child.tail.filter((l) => l.trim() !== "").at(-1) ??
        `exit status ${first.status.code}`;
      say(`node ${first.child.full} failed to start: ${reason}`);
      say("stopping the other nodes");
      return 1;
    }
    const ms = Math.round(performance.now() - started);
    const regionCount = new Set(spec.nodes.map((n) => n.region)).size;
    say(
      spec.regions === undefined
        ? `cluster of ${spec.nodes.length} nodes meshed in ${ms} ms`
        : `cluster of ${spec.nodes.length} nodes in ${regionCount} regions meshed in ${ms} ms`,
    );
    for (const c of children) {
      c.exited.then((s) => {
        if (!stopping) say(`node ${c.full} exited with status ${s.code}`);
      });
    }
    for (const s of sessions) s.close();
    sessions.length = 0;
    if (!spec.repl) {
      await signals.promise;
      return 0;
    }
    const terminal = Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
    const shell = await RemoteShell.open(launcher, children[0]!.full, {
      output,
      colors: terminal,
    });
    sessions.push(shell);
    await Promise.race([
      runRepl({
        backend: shell,
        output,
        terminal,
        banner: `Shell on ${shell.node} (cluster: ${
          children.map((c) => c.node.name).join(", ")
        }); ` +
          "q() or Ctrl-D stops the cluster",
      }),
      signals.promise,
    ]);
    return 0;
  } catch (e) {
    say(`cannot start the cluster: ${(e as Error).message}`);
    return 1;
  } finally {
    signals.cancel();
    await stopAll();
    say("every node stopped");
  }
}

function spawnChild(
  spec: ClusterSpec,
  node: ClusterNode,
  width: number,
  output: ShellOutput,
  regionsFile: string | undefined,
): Child {
  const full = `${node.name}@${spec.host}`;
  const [command, ...prefixArgs] = spec.weft;
  const args = [
    ...prefixArgs,
    "--name",
    full,
    "--cookie",
    spec.cookie,
    "--no-repl",
    "--log-level",
    spec.logLevel,
    ...(spec.epmdPort !== undefined ? ["--epmd-port", String(spec.epmdPort)] : []),
    ...(node.port !== undefined ? ["--port", String(node.port)] : []),
    ...spec.modules.flatMap((m) => ["--load", m]),
    ...(regionsFile !== undefined && node.region !== undefined
      ? ["--cluster-config", regionsFile, "--region", node.region]
      : []),
  ];
  const process = new Deno.Command(command!, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const prefix = `[${node.name.padEnd(width)}] `;
  const tail: string[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        output.print(prefix + line);
      }
    }
    if (rest !== "") {
      tail.push(rest);
      output.print(prefix + rest);
    }
  };
  const child: Child = {
    node,
    full,
    process,
    tail,
    status: undefined,
    exited: process.status,
    output: Promise.all([pump(process.stdout), pump(process.stderr)]).then(() => {}),
  };
  process.status.then((s) => (child.status = s));
  return child;
}

/** Connects to every node, has each join the first, and waits until all see all. */
async function meshCluster(
  launcher: WeftNode,
  children: Child[],
  sessions: RemoteShell[],
  signal: AbortSignal,
): Promise<void> {
  const silent = new ShellOutput(() => {});
  const open = async (child: Child): Promise<RemoteShell> => {
    while (child.status === undefined && !signal.aborted) {
      if (launcher.list("hidden").includes(child.full) || await launcher.connect(child.full)) {
        try {
          const s = await RemoteShell.open(launcher, child.full, { output: silent, timeout: 2000 });
          sessions.push(s);
          return s;
        } catch {
          // Up but its shell server not yet registered: try again.
        }
      }
      await delay(50);
    }
    throw new Error(`node ${child.full} exited`);
  };
  const shells = await Promise.all(children.map(open));
  const firstName = children[0]!.full;
  // A multi-region cluster meshes each region by its static topology; a plain one, through the first.
  const regional = children.some((c) => c.node.region !== undefined);
  if (!regional) {
    await Promise.all(
      shells.slice(1).map(async (s) => {
        const r = await s.evaluateValue(`await Node.connect(${JSON.stringify(firstName)})`);
        if (!r.ok) throw new Error(`${s.node} cannot connect to ${firstName}: ${r.text}`);
      }),
    );
  }
  while (!signal.aborted) {
    const lists = await Promise.all(shells.map((s) => s.evaluateValue("Node.list()")));
    const complete = lists.every((r, i) =>
      r.ok && Array.isArray(r.value) &&
      children.every((c, j) =>
        j === i || c.node.region !== children[i]!.node.region ||
        (r.value as string[]).includes(c.full)
      )
    );
    if (complete) return;
    await delay(50);
  }
  throw new Error("stopped");
}

async function stopChildren(children: Child[]): Promise<void> {
  for (const c of children) {
    if (c.status === undefined) {
      try {
        c.process.kill("SIGTERM");
      } catch {
        // Already gone.
      }
    }
  }
  const deadline = timeout(10_000);
  await Promise.race([Promise.all(children.map((c) => c.exited)), deadline]);
  for (const c of children) {
    if (c.status === undefined) {
      try {
        c.process.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
  await Promise.all(children.map((c) => c.exited.then(() => c.output)));
}

function onTermination(): { promise: Promise<void>; cancel(): void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  const handler = () => resolve();
  Deno.addSignalListener("SIGINT", handler);
  Deno.addSignalListener("SIGTERM", handler);
  return {
    promise,
    cancel: () => {
      Deno.removeSignalListener("SIGINT", handler);
      Deno.removeSignalListener("SIGTERM", handler);
    },
  };
}

const timers = new Set<ReturnType<typeof setTimeout>>();

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const id = setTimeout(() => {
      timers.delete(id);
      resolve();
    }, ms);
    timers.add(id);
  });
}

function timeout(ms: number): Promise<void> {
  return delay(ms);
}

if (import.meta.main) {
  let code: number;
  try {
    const spec = parseClusterArgs(Deno.args);
    if (spec === "help") {
      console.log(CLUSTER_HELP);
      code = 0;
    } else {
      // The launcher's own node sees every node leave at the end: not news.
      await configureLogging("error");
      code = await runCluster(spec);
    }
  } catch (e) {
    console.error(`cluster: ${(e as Error).message}`);
    code = 2;
  }
  for (const id of timers) clearTimeout(id);
  Deno.exit(code);
}
