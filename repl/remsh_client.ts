/**
 * The remote shell client (`weft --remsh NODE`): opens a session with the
 * `weft_remsh` server on another node and acts as the interactive loop's
 * backend — input is evaluated there, the formatted value, the error and
 * what the code printed come back here. Only the completeness check of an
 * input (pure syntax) runs locally. The protocol is in `remsh_types.ts`.
 *
 * Also usable from code (the cluster launcher asks each node for its
 * `Node.list()` this way): {@linkcode RemoteShell.evaluateValue} returns
 * the value itself.
 *
 * @example
 * ```ts
 * import { startNode } from "../src/node.ts";
 * import { ShellOutput } from "./output.ts";
 * import { RemoteShell } from "./remsh_client.ts";
 * import { startRemshServer } from "./remsh_server.ts";
 * const opts = { cookie: "c", noEpmd: true, hostname: "127.0.0.1" };
 * const server = await startNode({ name: "s@127.0.0.1", ...opts });
 * startRemshServer(server);
 * const client = await startNode({ name: "c@127.0.0.1", hidden: true, ...opts });
 * const remote = await RemoteShell.open(client, `s@127.0.0.1:${server.port}`, { output: new ShellOutput() });
 * const r = await remote.evaluate("Node.self()");
 * console.assert(r.kind === "value" && r.text === '"s@127.0.0.1"');
 * remote.close();
 * await client.stop();
 * await server.stop();
 * ```
 *
 * @module
 */

import { NoConnectionError, TimeoutError } from "../src/errors.ts";
import type { WeftNode } from "../src/node.ts";
import type { ProcessContext } from "../src/process/types.ts";
import { parseNodeName } from "../src/term/node_name.ts";
import type { Pid, Ref } from "../src/term/pid.ts";
import type { Completion } from "./completion.ts";
import { Evaluator, type InputState } from "./evaluator.ts";
import type { ShellOutput } from "./output.ts";
import {
  isRemsh,
  REMSH_SERVER_NAME,
  REMSH_VERSION,
  type RemshCompletion,
  type RemshOpened,
  type RemshOutput,
  type RemshRefused,
  type RemshResult,
} from "./remsh_types.ts";
import type { EvalOutcome, ShellBackend } from "./shell_backend.ts";

/** Options for {@linkcode RemoteShell.open}. */
export interface RemoteShellOptions {
  /** Where the remote session's output (console.log, h(), events) is printed. */
  output: ShellOutput;
  /** Ask for ANSI colours in formatted values. Default `false`. */
  colors?: boolean;
  /** Milliseconds to wait for the server to answer. Default 5000. */
  timeout?: number;
}

/** The value of an input evaluated by {@linkcode RemoteShell.evaluateValue}. */
export type RemoteValue =
  | { ok: true; value: unknown; text: string }
  | { ok: false; text: string };

/** A session with a remote node's shell. */
export class RemoteShell implements ShellBackend {
  readonly #ctx: ProcessContext;
  readonly #session: Pid;
  readonly #node: string;
  readonly #output: ShellOutput;
  readonly #syntax = new Evaluator({});
  readonly #pending = new Map<number, (msg: RemshResult | RemshCompletion) => void>();
  readonly #ended = Promise.withResolvers<number>();
  #nextId = 1;
  #closed = false;
  /** The session has ended (q(), close, or lost); later news is not printed. */
  #over = false;

  private constructor(ctx: ProcessContext, opened: RemshOpened, output: ShellOutput) {
    this.#ctx = ctx;
    this.#session = opened.session;
    this.#node = opened.node;
    this.#output = output;
    this.#pump(ctx.monitor(opened.session));
  }

  /**
   * Connects `node` to `target` and opens a shell session there.
   *
   * @param node this (usually hidden) node
   * @param target `name@host`, or `name@host:port` without a port mapper
   * @param options where output goes, colours, and the deadline
   * @returns the open session
   * @throws {TypeError} when `target` is not a node name
   * @throws {NoConnectionError} when `target` cannot be reached
   * @throws {TimeoutError} when no remote shell server answers in time
   * @throws {Error} when the server refuses the session
   */
  static async open(
    node: WeftNode,
    target: string,
    options: RemoteShellOptions,
  ): Promise<RemoteShell> {
    const name = parseNodeName(target).full;
    if (!(await node.connect(target))) {
      throw new NoConnectionError(
        name,
        `Cannot open a remote shell: no connection to ${name} (is it running, with the same cookie?)`,
      );
    }
    const timeout = options.timeout ?? 5000;
    const ctx = node.runtime.open({ label: "remsh_client" });
    const ref = node.runtime.makeRef();
    ctx.send({ name: REMSH_SERVER_NAME, node: name }, {
      type: "remsh_open",
      v: REMSH_VERSION,
      from: ctx.self,
      ref,
      colors: options.colors ?? false,
    });
    let reply: RemshOpened | RemshRefused;
    try {
      reply = await ctx.receive<RemshOpened | RemshRefused>(
        (m) =>
          (isRemsh(m, "remsh_opened") || isRemsh(m, "remsh_refused")) &&
          ref.equals((m as { ref: Ref }).ref),
        { timeout },
      );
    } catch (e) {
      ctx.exit("normal");
      if (e instanceof TimeoutError) {
        throw new TimeoutError(
          `Cannot open a remote shell on ${name}: no answer from ${REMSH_SERVER_NAME} ` +
            `within ${timeout} ms (is it a weft node?)`,
        );
      }
      throw e;
    }
    if (reply.type === "remsh_refused") {
      ctx.exit("normal");
      throw new Error(reply.reason);
    }
    return new RemoteShell(ctx, reply, options.output);
  }

  /** The remote node's name. */
  get node(): string {
    return this.#node;
  }

  /** Resolves when the session ends: `q(code)` there, or the node or session lost (1). */
  get ended(): Promise<number> {
    return this.#ended.promise;
  }

  /** @inheritdoc */
  check(code: string): InputState {
    return this.#syntax.check(code);
  }

  /** @inheritdoc */
  async evaluate(code: string): Promise<EvalOutcome> {
    const result = await this.#request<RemshResult>({ type: "remsh_eval", code });
    return result?.outcome ?? { kind: "silent" };
  }

  /**
   * Evaluates `code` remotely and gives back the value itself (when it can
   * cross the wire) with its text.
   *
   * @param code the input
   * @returns the value and its text, or the error's text
   */
  async evaluateValue(code: string): Promise<RemoteValue> {
    const result = await this.#request<RemshResult>({ type: "remsh_eval", code, raw: true });
    if (result === undefined) return { ok: false, text: "** the remote shell has ended" };
    const outcome = result.outcome;
    if (outcome.kind === "error") return { ok: false, text: outcome.text };
    if (outcome.kind === "silent") return { ok: true, value: undefined, text: "" };
    return { ok: true, value: result.value, text: outcome.text };
  }

  /** @inheritdoc */
  interrupt(): void {
    if (!this.#closed) this.#ctx.send(this.#session, { type: "remsh_interrupt" });
  }

  /** @inheritdoc */
  async complete(text: string): Promise<Completion> {
    const reply = await this.#request<RemshCompletion>({ type: "remsh_complete", text });
    return reply ? { start: reply.start, candidates: reply.candidates } : {
      start: text.length,
      candidates: [],
    };
  }

  /** Ends the session (the remote shell process exits) and this client process. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ctx.send(this.#session, { type: "remsh_close" });
    this.#ctx.exit("normal");
    this.#end(0);
  }

  #request<T extends RemshResult | RemshCompletion>(
    msg: Record<string, unknown>,
  ): Promise<T | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    const id = this.#nextId++;
    const { promise, resolve } = Promise.withResolvers<T | undefined>();
    this.#pending.set(id, resolve as (msg: RemshResult | RemshCompletion) => void);
    this.#ctx.send(this.#session, { ...msg, id });
    return promise;
  }

  async #pump(sessionRef: Ref): Promise<void> {
    while (true) {
      let msg: unknown;
      try {
        msg = await this.#ctx.receive();
      } catch {
        break; // this client process exited (close())
      }
      if (isRemsh(msg, "remsh_output")) {
        this.#output.print((msg as RemshOutput).text);
      } else if (isRemsh(msg, "remsh_result") || isRemsh(msg, "remsh_completion")) {
        const reply = msg as RemshResult | RemshCompletion;
        const resolve = this.#pending.get(reply.id);
        this.#pending.delete(reply.id);
        if (reply.type === "remsh_result" && reply.quit !== undefined) this.#end(reply.quit);
        resolve?.(reply);
      } else if (isRemsh(msg, "DOWN") && sessionRef.equals((msg as { ref: Ref }).ref)) {
        if (!this.#over && !this.#closed) {
          const reason = (msg as { reason: unknown }).reason;
          this.#output.print(
            reason === "noconnection"
              ? `** lost the connection to ${this.#node}`
              : `** the remote shell on ${this.#node} ended: ${String(reason)}`,
          );
        }
        this.#closed = true;
        this.#ctx.exit("normal");
        this.#end(1);
        break;
      }
    }
    this.#end(0);
  }

  #end(code: number): void {
    this.#over = true;
    this.#ended.resolve(code);
    for (const resolve of this.#pending.values()) resolve(undefined as never);
    this.#pending.clear();
  }
}
