/**
 * The remote shell server: a process registered as `weft_remsh` on every
 * node that has a shell. Each `remsh_open` request starts a session — a
 * process of its own holding a shell process, a scope and an evaluator —
 * that evaluates the client's input on this node and sends back the
 * formatted value or error and whatever the code printed. The protocol is
 * in `remsh_types.ts`.
 *
 * Sessions are independent: each has its own bindings and its own
 * `self()`; `q()` in a session ends that session, never this node.
 *
 * @example
 * ```ts
 * import { startNode } from "../src/node.ts";
 * import { startRemshServer } from "./remsh_server.ts";
 * const node = await startNode({ name: "s@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const pid = startRemshServer(node);
 * console.assert(node.runtime.whereis("weft_remsh")!.equals(pid));
 * await node.stop();
 * ```
 *
 * @module
 */

import { logger } from "../src/log.ts";
import type { WeftNode } from "../src/node.ts";
import type { ProcessContext } from "../src/process/types.ts";
import type { Pid } from "../src/term/pid.ts";
import { ShellOutput } from "./output.ts";
import { QuitSignal } from "./quit.ts";
import {
  isRemsh,
  REMSH_SERVER_NAME,
  REMSH_VERSION,
  type RemshComplete,
  type RemshEval,
  type RemshOpen,
} from "./remsh_types.ts";
import type { ScopeProvider } from "./scope.ts";

const log = logger("repl");

/** Options for {@linkcode startRemshServer}. */
export interface RemshServerOptions {
  /** The scope providers of sessions. Default: the shell's (`SHELL_PROVIDERS`). */
  providers?: readonly ScopeProvider[];
}

/**
 * Starts the `weft_remsh` server on `node`.
 *
 * @param node the node whose shell remote clients get
 * @param options the sessions' scope providers
 * @returns the server's pid
 * @throws {NameError} when `weft_remsh` is already registered on the node
 */
export function startRemshServer(node: WeftNode, options: RemshServerOptions = {}): Pid {
  return node.runtime.spawn(async (ctx) => {
    while (true) {
      const msg = await ctx.receive();
      if (!isRemsh(msg, "remsh_open")) continue;
      const open = msg as RemshOpen;
      if (open.v !== REMSH_VERSION) {
        ctx.send(open.from, {
          type: "remsh_refused",
          ref: open.ref,
          reason: `Cannot open a remote shell: protocol version ${open.v} is not ${REMSH_VERSION}`,
        });
        continue;
      }
      ctx.spawn((session) => runSession(session, node, open, options), {
        label: "remsh_session",
      });
    }
  }, { name: REMSH_SERVER_NAME, label: REMSH_SERVER_NAME });
}

async function runSession(
  ctx: ProcessContext,
  node: WeftNode,
  open: RemshOpen,
  options: RemshServerOptions,
): Promise<void> {
  const client = open.from;
  const clientRef = ctx.monitor(client);
  // The shell's code (its evaluator and TypeScript stripping) loads with the
  // first session, not with every node; the client's messages wait meanwhile.
  const [{ complete }, { formatLogArgs }, { LocalShell }, { createShellScope }] = await Promise
    .all([
      import("./completion.ts"),
      import("./format.ts"),
      import("./local_shell.ts"),
      import("./scope.ts"),
    ]);
  const send = (msg: unknown) => {
    try {
      ctx.send(client, msg);
    } catch (e) {
      ctx.send(client, {
        type: "remsh_output",
        text: `** Cannot send the result back: ${(e as Error).message}`,
      });
    }
  };
  const output = new ShellOutput((text) => send({ type: "remsh_output", text }));
  const quit = new QuitSignal();
  const scope = createShellScope({
    runtime: node.runtime,
    node,
    print: (text) => output.print(text),
    quit: (code) => quit.request(code),
    ...(options.providers !== undefined ? { providers: options.providers } : {}),
  });
  // Code typed in the session prints to the client, not to this node's terminal.
  const print = (...args: unknown[]) => output.print(formatLogArgs(args, { colors: open.colors }));
  scope.console = Object.create(console, {
    log: { value: print },
    info: { value: print },
    debug: { value: print },
    warn: { value: print },
    error: { value: print },
  });
  const shell = new LocalShell({
    runtime: node.runtime,
    shell: node.runtime.open({ label: "remsh_shell" }),
    scope,
    output,
    quit,
    colors: open.colors,
    setDefault: false,
  });
  send({
    type: "remsh_opened",
    ref: open.ref,
    session: ctx.self,
    node: node.name,
    shell: shell.shell.self,
  });
  log.debug("Remote shell opened by {client}", { client: String(client) });
  const inflight = new Set<Promise<void>>();
  try {
    while (quit.code === undefined) {
      const msg = await Promise.race([ctx.receive(), quit.requested.then(() => undefined)]);
      if (msg === undefined) break;
      if (isRemsh(msg, "remsh_eval")) {
        const req = msg as RemshEval;
        // Evaluations run while this loop goes on, so an interrupt can reach them.
        const done = shell.run(req.code).then((outcome) => {
          const result: Record<string, unknown> = { type: "remsh_result", id: req.id };
          if (outcome.kind === "value") {
            result.outcome = { kind: "value", text: shell.format(outcome.value) };
            if (req.raw) result.value = outcome.value;
          } else result.outcome = outcome;
          if (quit.code !== undefined) result.quit = quit.code;
          try {
            ctx.send(client, result);
          } catch {
            // The raw value cannot cross the wire: send the text alone.
            delete result.value;
            send(result);
          }
          shell.idle();
        });
        inflight.add(done);
        done.finally(() => inflight.delete(done));
      } else if (isRemsh(msg, "remsh_complete")) {
        const req = msg as RemshComplete;
        send({ type: "remsh_completion", id: req.id, ...complete(scope, req.text) });
      } else if (isRemsh(msg, "remsh_interrupt")) {
        shell.interrupt();
      } else if (isRemsh(msg, "remsh_close")) {
        break;
      } else if (isDownOf(msg, clientRef)) {
        break;
      }
    }
    // q(): the result that says so goes out before the session ends.
    if (quit.code !== undefined) await Promise.all(inflight);
  } finally {
    shell.close();
    log.debug("Remote shell of {client} closed", { client: String(client) });
  }
}

function isDownOf(msg: unknown, ref: { equals(other: unknown): boolean }): boolean {
  return isRemsh(msg, "DOWN") && ref.equals((msg as { ref?: unknown }).ref);
}
