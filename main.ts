/**
 * The `weft` command: flags -> node -> REPL | `--eval` | `--script` |
 * `--no-repl` | `--remsh` | `weft epmd`.
 *
 * ```sh
 * deno run -A main.ts --sname a                     # a node with a shell
 * deno run -A main.ts --sname b --no-repl           # serve until SIGINT/SIGTERM
 * deno run -A main.ts --eval 'Node.self()'          # evaluate and exit
 * deno run -A main.ts --sname c --script job.ts x   # run a script with the shell's names
 * deno run -A main.ts --remsh b@myhost              # a shell on node b
 * deno run -A main.ts epmd --daemon                 # the port mapper
 * ```
 *
 * Every node with a shell scope also runs the `weft_remsh` server, so
 * `--remsh` can open a shell on it.
 *
 * Exit status: 0 on success, 1 when `--eval`/`--script` code throws, the
 * code given to `q(code)`, 2 for a bad flag, a bad node name or a node
 * that cannot start (name taken, port in use) or be reached (`--remsh`).
 *
 * @module
 */

import { type CliOptions, HELP, parseCli } from "./cli/options.ts";
import type { ClusterOptions } from "./src/cluster/config.ts";
import type { RegionOptions } from "./src/region/types.ts";
import { EpmdRegistrationError, runEpmdCommand } from "./src/distribution/epmd/mod.ts";
import { readOrCreateCookie } from "./src/distribution/cookie.ts";
import { CookieFileError, PortInUseError } from "./src/errors.ts";
import type { HttpEndpoint } from "./src/observer/mod.ts";
import type { RemoteShell } from "./repl/remsh_client.ts";
import { configureLogging, logger, setLogWriter } from "./src/log.ts";
import { startNode, type WeftNode } from "./src/node.ts";
import { Runtime } from "./src/process/runtime.ts";
import { setDefaultContext } from "./src/process/current.ts";
import { longNodeName, parseNodeName, shortNodeName } from "./src/term/node_name.ts";
import { VERSION } from "./src/version.ts";
import { ShellOutput } from "./repl/output.ts";
import { QuitSignal } from "./repl/quit.ts";
import { startRemshServer } from "./repl/remsh_server.ts";

// What only some commands use is imported where it is used (the shell, its
// TypeScript stripping, the observer and metrics, cluster files), so an idle
// `--no-repl` node does not hold their code: see docs/benchmarks.md (footprint).

/** A failure that ends the command with a status and one line on stderr. */
class ExitError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

async function main(args: string[]): Promise<number> {
  const parsed = parseCli(args);
  if (!parsed.ok) throw new ExitError(2, parsed.reason);
  const options = parsed.options;
  switch (options.command) {
    case "help":
      console.log(HELP);
      return 0;
    case "version":
      console.log(`weft ${VERSION} (deno ${Deno.version.deno})`);
      return 0;
    case "epmd":
      return await runEpmdCommand({
        ...(options.epmdPort ?? options.port) !== undefined
          ? { port: (options.epmdPort ?? options.port)! }
          : {},
        ...(options.address !== undefined ? { address: options.address } : {}),
        daemon: options.daemon,
      });
    case "node":
      await configureLogging(options.logLevel);
      return options.remsh !== undefined ? await runRemsh(options) : await runNode(options);
  }
}

async function runNode(options: CliOptions): Promise<number> {
  // A node that serves until a signal listens from before it starts: a SIGTERM
  // while it was still starting or connecting took the signal's default action
  // (exit 143 without stopping: no handoff, no port-mapper goodbye).
  const termination = options.eval === undefined && (options.noRepl || options.script !== undefined)
    ? waitForTermination()
    : undefined;
  try {
    return await serveNode(options, termination);
  } finally {
    termination?.cancel();
  }
}

async function serveNode(
  options: CliOptions,
  termination: ReturnType<typeof waitForTermination> | undefined,
): Promise<number> {
  const script = options.script !== undefined ? await readScript(options.script) : undefined;
  const node = await startFromOptions(options);
  if (node) await loadModules(node, options.load);
  const runtime = node?.runtime ?? new Runtime();
  const shell = runtime.open({ label: "shell" });
  setDefaultContext(shell);
  const output = new ShellOutput();
  const quit = new QuitSignal();
  // The shell's names, made when code is to run here (--eval, --script, the shell).
  const shellScope = async () => {
    const { createShellScope } = await import("./repl/scope.ts");
    return createShellScope({
      runtime,
      node,
      print: (text) => output.print(text),
      quit: (code) => quit.request(code),
    });
  };
  if (node) startRemshServer(node);
  const endpoints: HttpEndpoint[] = [];
  const stop = async () => {
    for (const e of endpoints) await e.close();
    if (node) await node.stop();
    else await runtime.shutdown();
  };
  if (
    node === undefined && (options.metricsPort !== undefined || options.observerPort !== undefined)
  ) {
    await stop();
    throw new ExitError(
      2,
      "Cannot use --metrics or --observer: this node has no name (give --sname or --name)",
    );
  }
  try {
    const http = node && (options.metricsPort !== undefined || options.observerPort !== undefined)
      ? await import("./src/observer/mod.ts")
      : undefined;
    if (node && http && options.metricsPort !== undefined) {
      const { serveMetrics } = http;
      const metrics = serveMetrics(node, {
        port: options.metricsPort,
        expectsPeers: options.connect.length > 0,
        ...(options.metricsHost !== undefined ? { hostname: options.metricsHost } : {}),
      });
      endpoints.push(metrics);
      console.log(`Metrics: ${urlOf(metrics)}/metrics`);
    }
    if (node && http && options.observerPort !== undefined) {
      const { observerToken, serveObserver } = http;
      const token = options.observerToken ??
        await observerToken(options.cookie ?? await readOrCreateCookie(options.cookieFile));
      const observer = serveObserver(node, {
        port: options.observerPort,
        token,
        ...(options.observerHost !== undefined ? { hostname: options.observerHost } : {}),
      });
      endpoints.push(observer);
      console.log(`Observer: ${urlOf(observer)}/?token=${token}`);
    }
  } catch (e) {
    await stop();
    if (e instanceof PortInUseError || e instanceof RangeError || e instanceof TypeError) {
      throw new ExitError(2, e.message);
    }
    throw e;
  }

  try {
    if (node) {
      for (const peer of options.connect) {
        if (!(await node.connect(peer))) {
          logger("cli").warn("Cannot connect to {peer} at start-up", { peer });
        }
      }
    }

    if (!options.noRepl) {
      const { userStack } = await import("./repl/locations.ts");
      // Crash reports of the user's processes show the user's frames (stack() has them all).
      const encoder = new TextEncoder();
      setLogWriter((line) => {
        try {
          Deno.stderr.writeSync(encoder.encode(userStack(line)));
        } catch {
          // stderr closed.
        }
      });
    }
    if (options.eval !== undefined) {
      const { runCode } = await import("./repl/run_code.ts");
      const scope = await shellScope();
      return await runCode({
        code: options.eval,
        shell,
        scope,
        quit,
        printValue: true,
        origin: "--eval",
      });
    }

    if (script !== undefined) {
      const { runCode, scriptBindings } = await import("./repl/run_code.ts");
      const scope = await shellScope();
      const { names, importMeta, base } = scriptBindings({
        path: script.path,
        args: options.scriptArgs,
      });
      Object.assign(scope, names);
      const signal = termination ?? waitForTermination();
      try {
        return await Promise.race([
          runCode({
            code: script.code,
            shell,
            scope,
            quit,
            base,
            importMeta,
            origin: options.script!,
          }),
          signal.promise.then((name) => (name === "SIGINT" ? 130 : 143)),
        ]);
      } finally {
        signal.cancel();
      }
    }

    if (options.noRepl) {
      await (termination ?? waitForTermination()).promise;
      return 0;
    }

    const [{ LocalShell }, { runRepl }, scope] = await Promise.all([
      import("./repl/local_shell.ts"),
      import("./repl/repl.ts"),
      shellScope(),
    ]);
    const terminal = Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
    const local = new LocalShell({ runtime, shell, scope, output, quit, colors: terminal });
    return await runRepl({
      backend: local,
      output,
      terminal,
      banner: `Weft ${VERSION} (deno ${Deno.version.deno}) on ${runtime.node}: ` +
        "h() for help, Ctrl-D or q() to quit",
    });
  } finally {
    await stop();
  }
}

/** `--remsh NODE`: a hidden node of our own, and a shell evaluated on NODE. */
async function runRemsh(options: CliOptions): Promise<number> {
  const target = options.remsh!;
  let host: string;
  try {
    host = parseNodeName(target).host;
  } catch (e) {
    throw new ExitError(2, `Invalid --remsh: ${(e as Error).message}`);
  }
  const generated = options.name === undefined && options.sname === undefined
    ? `remsh_${crypto.randomUUID().slice(0, 8)}@${host}`
    : undefined;
  const node = (await startFromOptions({ ...options, hidden: true }, generated))!;
  const [{ RemoteShell: Remote }, { runRepl }] = await Promise.all([
    import("./repl/remsh_client.ts"),
    import("./repl/repl.ts"),
  ]);
  const output = new ShellOutput();
  const terminal = Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
  let remote: RemoteShell;
  try {
    remote = await Remote.open(node, target, { output, colors: terminal });
  } catch (e) {
    await node.stop();
    throw new ExitError(2, (e as Error).message);
  }
  try {
    if (options.eval !== undefined) {
      const outcome = await remote.evaluate(options.eval);
      const quitCode = await Promise.race([remote.ended, Promise.resolve(undefined)]);
      if (outcome.kind === "error") {
        console.error(outcome.text);
        return quitCode ?? 1;
      }
      if (outcome.kind === "value" && outcome.text !== "undefined") console.log(outcome.text);
      return quitCode ?? 0;
    }
    return await runRepl({
      backend: remote,
      output,
      terminal,
      banner: `Weft ${VERSION}: remote shell on ${remote.node} from ${node.name}; ` +
        "q() or Ctrl-D leaves it (the node goes on)",
    });
  } finally {
    remote.close();
    await node.stop();
  }
}

/** `--load FILE...`: expose each file's functions to rpc; a file that fails stops the node. */
async function loadModules(node: WeftNode, files: string[]): Promise<void> {
  for (const file of files) {
    try {
      const loaded = await node.rpc.loadModule(file);
      logger("cli").info("Loaded module {name} ({functions}) from {file}", {
        name: loaded.name,
        functions: loaded.functions.join(", "),
        file,
      });
    } catch (e) {
      await node.stop();
      throw new ExitError(2, (e as Error).message);
    }
  }
}

async function readScript(file: string): Promise<{ path: string; code: string }> {
  const path = file.startsWith("/") ? file : `${Deno.cwd()}/${file}`;
  let code: string;
  try {
    code = await Deno.readTextFile(path);
  } catch (e) {
    throw new ExitError(2, `Cannot read script ${file}: ${(e as Error).message}`);
  }
  // A `#!` line keeps its place as a comment, so line numbers stay right.
  if (code.startsWith("#!")) code = "//" + code.slice(2);
  return { path, code };
}

async function startFromOptions(
  options: CliOptions,
  generatedName?: string,
): Promise<WeftNode | undefined> {
  if (generatedName !== undefined) options = { ...options, name: generatedName };
  if (options.name === undefined && options.sname === undefined) {
    if (options.connect.length > 0 || options.clusterConfig !== undefined) {
      throw new ExitError(
        2,
        `Cannot use ${
          options.connect.length > 0 ? "--connect" : "--cluster-config"
        }: this node has no name (give --sname or --name)`,
      );
    }
    if (options.load.length > 0 || options.rpcAllow.length > 0 || options.noRemoteEval) {
      throw new ExitError(
        2,
        "Cannot use --load, --rpc-allow or --no-remote-eval: this node has no name (give --sname or --name)",
      );
    }
    return undefined;
  }
  let name;
  try {
    name = options.name !== undefined ? longNodeName(options.name) : shortNodeName(options.sname!);
  } catch (e) {
    throw new ExitError(2, (e as Error).message);
  }
  let cookie: string;
  try {
    cookie = options.cookie ?? await readOrCreateCookie(options.cookieFile);
  } catch (e) {
    // A cookie file refused for its mode or content says which file and how to fix it.
    if (e instanceof CookieFileError) throw new ExitError(2, e.message);
    throw new ExitError(2, `Cannot read the cookie: ${(e as Error).message}`);
  }
  let cluster: ClusterOptions | undefined;
  let regions: RegionOptions | undefined;
  if (options.clusterConfig !== undefined) {
    try {
      const { loadClusterFile } = await import("./src/region/region_config.ts");
      ({ cluster, regions } = await loadClusterFile(options.clusterConfig, options.region));
    } catch (e) {
      throw new ExitError(2, `Cannot use --cluster-config: ${(e as Error).message}`);
    }
  }
  try {
    return await startNode({
      name: name.port !== undefined ? `${name.full}:${name.port}` : name.full,
      cookie,
      hidden: options.hidden,
      noEpmd: options.noEpmd,
      ...(options.rpcAllow.length > 0 ? { rpcAllow: options.rpcAllow } : {}),
      ...(options.noRemoteEval ? { remoteEval: false } : {}),
      ...(cluster !== undefined ? { cluster } : {}),
      ...(regions !== undefined ? { regions } : {}),
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      ...(options.eventStore !== undefined
        ? { eventSourcing: { eventStore: options.eventStore } }
        : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.epmdPort !== undefined ? { epmdPort: options.epmdPort } : {}),
      ...(options.netTicktimeSeconds !== undefined
        ? { netTicktimeSeconds: options.netTicktimeSeconds }
        : {}),
      ...(options.busyLimit !== undefined ? { busyLimit: options.busyLimit } : {}),
      ...(options.reassemblyBudget !== undefined
        ? { reassemblyBudget: options.reassemblyBudget }
        : {}),
      ...(options.reassemblyTimeout !== undefined
        ? { reassemblyTimeout: options.reassemblyTimeout }
        : {}),
      ...(options.tlsCert !== undefined
        ? {
          tls: {
            cert: await Deno.readTextFile(options.tlsCert),
            key: await Deno.readTextFile(options.tlsKey!),
            ...(options.tlsCa !== undefined ? { ca: await Deno.readTextFile(options.tlsCa) } : {}),
          },
        }
        : {}),
    });
  } catch (e) {
    if (e instanceof EpmdRegistrationError) {
      throw new ExitError(
        2,
        `Cannot start node ${name.full}: the name "${name.name}" is taken by another node ` +
          `on this host (port mapper on port ${options.epmdPort ?? 4369})`,
      );
    }
    const message = (e as Error).message;
    throw new ExitError(
      2,
      message.startsWith("Cannot start node")
        ? message
        : `Cannot start node ${name.full}: ${message}`,
    );
  }
}

/** `http://host:port` of an endpoint, an IPv6 address in brackets. */
function urlOf(e: HttpEndpoint): string {
  return `http://${e.hostname.includes(":") ? `[${e.hostname}]` : e.hostname}:${e.port}`;
}

/** Resolves with the signal's name on SIGINT or SIGTERM; `cancel` removes the listeners. */
function waitForTermination(): { promise: Promise<Deno.Signal>; cancel(): void } {
  const { promise, resolve } = Promise.withResolvers<Deno.Signal>();
  const onInt = () => done("SIGINT");
  const onTerm = () => done("SIGTERM");
  const cancel = () => {
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
  };
  const done = (signal: Deno.Signal) => {
    cancel();
    resolve(signal);
  };
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  return { promise, cancel };
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (e) {
    if (e instanceof ExitError) {
      console.error(`weft: ${e.message}`);
      code = e.code;
    } else {
      const { formatError } = await import("./repl/format.ts");
      console.error(`weft: ${formatError(e)}`);
      code = 1;
    }
  }
  Deno.exit(code);
}
