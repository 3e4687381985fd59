/**
 * A real `erl` node for tests, driven line by line: each `eval` sends one Erlang expression on
 * its stdin and reads back the value it printed (`~w`, one line), or `{caught, Class, Reason}`.
 * The node registers with the port mapper on `epmdPort` (Weft's own server in the tests).
 * `kill()` is `kill -9`; every test must call it.
 *
 * @module
 */

import { type EpmdServer, startEpmdServer } from "../../src/distribution/epmd/mod.ts";
import { type NodeOptions, startNode, type WeftNode } from "../../src/node.ts";
import { waitFor } from "./wait.ts";

/** Options of {@linkcode ErlNode.start}. */
export interface ErlNodeOptions {
  /** Full long name, `e@127.0.0.1`. */
  name: string;
  cookie: string;
  /** The port mapper the node registers with (`ERL_EPMD_PORT`). */
  epmdPort: number;
  /** `"erl"` (default) or `"elixir"` (the same driver, run by `elixir --erl`). */
  kind?: "erl" | "elixir";
}

// Reads expressions from stdin, one per line, and prints "=> " and the value on one line.
const DRIVER = [
  "Loop = fun L() ->",
  '  case io:get_line("") of',
  "    eof -> halt();",
  "    Line ->",
  "      R = try",
  "        {ok, Toks, _} = erl_scan:string(Line),",
  "        {ok, Exprs} = erl_parse:parse_exprs(Toks),",
  "        {value, V, _} = erl_eval:exprs(Exprs, erl_eval:new_bindings()),",
  "        V",
  "      catch C:E -> {caught, C, E} end,",
  '      io:format("=> ~w~n", [R]),',
  "      L()",
  "  end",
  "end,",
  'io:format("=> ready~n"),',
  "Loop().",
].join(" ");

/** A running `erl`. */
export class ErlNode {
  readonly name: string;
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: string[] = [];
  #ended = false;
  readonly #done: Promise<void>;

  private constructor(name: string, child: Deno.ChildProcess) {
    this.name = name;
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#done = (async () => {
      let buf = "";
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) {
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.startsWith("=> ")) this.#lines.push(line.slice(3));
        }
      }
      this.#ended = true;
    })();
  }

  /** Starts the node and waits until its driver is ready. */
  static async start(options: ErlNodeOptions): Promise<ErlNode> {
    const erlArgs = ["-name", options.name, "-setcookie", options.cookie, "+S", "1:1"];
    const command = options.kind === "elixir"
      ? new Deno.Command("elixir", {
        args: [
          "--erl",
          erlArgs.join(" "),
          "--no-halt",
          "-e",
          `:erl_eval.exprs(elem(:erl_parse.parse_exprs(elem(:erl_scan.string(~c"${DRIVER}"), 1)), 1), [])`,
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
        env: { ERL_EPMD_PORT: String(options.epmdPort) },
      })
      : new Deno.Command("erl", {
        args: [...erlArgs, "-noshell", "-eval", DRIVER],
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
        env: { ERL_EPMD_PORT: String(options.epmdPort) },
      });
    const node = new ErlNode(options.name, command.spawn());
    try {
      await node.#next(60_000);
    } catch (e) {
      await node.kill();
      throw e;
    }
    return node;
  }

  /** The OS process id (for `kill -9` from outside). */
  get pid(): number {
    return this.#child.pid;
  }

  async #next(timeout: number): Promise<string> {
    await waitFor(() => this.#lines.length > 0 || this.#ended, {
      timeout,
      interval: 10,
      message: `${this.name} printed nothing`,
    });
    const line = this.#lines.shift();
    if (line === undefined) throw new Error(`${this.name} ended`);
    return line;
  }

  /**
   * Evaluates one expression (no trailing period needed) and returns what it printed with `~w`.
   */
  async eval(expr: string, timeout = 30_000): Promise<string> {
    await this.#writer.write(new TextEncoder().encode(`${expr.replaceAll("\n", " ")}.\n`));
    return await this.#next(timeout);
  }

  /** `kill -9` and wait for the exit. */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* gone already */ }
    await this.#child.status;
    try {
      await this.#writer.close();
    } catch { /* the pipe is broken */ }
    await this.#done;
  }
}

/** What {@linkcode startErlangBed} starts; `await using` it to release everything. */
export interface ErlangBed extends AsyncDisposable {
  /** The private port mapper every node of the bed registers with. */
  readonly epmd: EpmdServer;
  /** The Weft node, `weft@127.0.0.1`. */
  readonly weft: WeftNode;
  /**
   * Starts a BEAM node on the bed's port mapper (`e@127.0.0.1`, the bed's
   * cookie and `erl` unless told otherwise); disposing the bed kills it.
   */
  erl(options?: Partial<Omit<ErlNodeOptions, "epmdPort">>): Promise<ErlNode>;
}

/**
 * A private port mapper, a Weft node `weft@127.0.0.1` registered with it, and
 * the BEAM nodes the test starts beside it. Disposing kills the BEAM nodes
 * (`kill -9`), stops the Weft node and closes the port mapper.
 *
 * @param cookie the cookie of every node
 * @param options more options of the Weft node
 */
export async function startErlangBed(
  cookie: string,
  options: Partial<NodeOptions> = {},
): Promise<ErlangBed> {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const beams: ErlNode[] = [];
  let weft: WeftNode;
  try {
    weft = await startNode({
      name: "weft@127.0.0.1",
      cookie,
      hostname: "127.0.0.1",
      epmdPort: epmd.port,
      startEpmd: false,
      ...options,
    });
  } catch (e) {
    await epmd.close();
    throw e;
  }
  return {
    epmd,
    weft,
    async erl(o = {}) {
      const node = await ErlNode.start({ name: "e@127.0.0.1", cookie, ...o, epmdPort: epmd.port });
      beams.push(node);
      return node;
    },
    async [Symbol.asyncDispose]() {
      for (const b of beams) await b.kill();
      await weft.stop();
      await epmd.close();
    },
  };
}
