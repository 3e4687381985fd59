/**
 * The `weft` command: flags -> node -> REPL | `--eval` | `--no-repl` |
 * `weft epmd`.
 *
 * ```sh
 * deno run -A main.ts --sname a                 # a node with a shell
 * deno run -A main.ts --sname b --no-repl       # serve until SIGINT/SIGTERM
 * deno run -A main.ts --eval 'Node.self()'      # evaluate and exit
 * deno run -A main.ts epmd --daemon             # the port mapper
 * ```
 *
 * Exit status: 0 on success, 1 when `--eval` code throws, 2 for a bad flag,
 * a bad node name or a node that cannot start (name taken, port in use).
 *
 * @module
 */

import { type CliOptions, HELP, parseCli } from "./cli/options.ts";
import { runEpmdCommand } from "./src/dist/epmd/mod.ts";
import { readOrCreateCookie } from "./src/dist/cookie.ts";
import { configureLogging, logger } from "./src/log.ts";
import { startNode, type WeftNode } from "./src/node.ts";
import { Runtime } from "./src/process/runtime.ts";
import { runInProcess, setDefaultContext } from "./src/process/current.ts";
import { longNodeName, shortNodeName } from "./src/term/node_name.ts";
import { VERSION } from "./src/version.ts";
import { Evaluator } from "./repl/evaluator.ts";
import { formatError, formatValue } from "./repl/format.ts";
import { runRepl } from "./repl/repl.ts";
import { createShellScope } from "./repl/scope.ts";

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
      return await runNode(options);
  }
}

async function runNode(options: CliOptions): Promise<number> {
  await configureLogging(options.logLevel);
  const node = await startFromOptions(options);
  const runtime = node?.runtime ?? new Runtime();
  const shell = runtime.open({ label: "shell" });
  setDefaultContext(shell);
  const scope = createShellScope({ runtime, shell, node });
  const stop = async () => {
    if (node) await node.stop();
    else await runtime.shutdown();
  };

  if (node) {
    for (const peer of options.connect) {
      if (!(await node.connect(peer))) {
        logger("cli").warn("Cannot connect to {peer} at start-up", { peer });
      }
    }
  }

  if (options.eval !== undefined) {
    const evaluator = new Evaluator(scope);
    let code = 0;
    try {
      const value = await runInProcess(shell, () => evaluator.evaluate(options.eval!));
      if (value !== undefined) console.log(formatValue(value));
    } catch (e) {
      console.error(formatError(e));
      code = 1;
    }
    await stop();
    return code;
  }

  if (options.noRepl) {
    await waitForTermination();
    await stop();
    return 0;
  }

  await runRepl({ scope, runtime, shell });
  await stop();
  return 0;
}

async function startFromOptions(options: CliOptions): Promise<WeftNode | undefined> {
  if (options.name === undefined && options.sname === undefined) {
    if (options.connect.length > 0) {
      throw new ExitError(
        2,
        "Cannot use --connect: this node has no name (give --sname or --name)",
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
    throw new ExitError(2, `Cannot read the cookie: ${(e as Error).message}`);
  }
  try {
    return await startNode({
      name: name.port !== undefined ? `${name.full}:${name.port}` : name.full,
      cookie,
      hidden: options.hidden,
      noEpmd: options.noEpmd,
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.epmdPort !== undefined ? { epmdPort: options.epmdPort } : {}),
      ...(options.netTicktime !== undefined ? { netTicktime: options.netTicktime } : {}),
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
    throw new ExitError(2, `Cannot start node ${name.full}: ${(e as Error).message}`);
  }
}

function waitForTermination(): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = () => {
      Deno.removeSignalListener("SIGINT", onSignal);
      Deno.removeSignalListener("SIGTERM", onSignal);
      resolve();
    };
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
  });
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
      console.error(`weft: ${formatError(e)}`);
      code = 1;
    }
  }
  Deno.exit(code);
}
