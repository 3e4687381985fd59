/**
 * Test helpers for distribution: several nodes in one process on loopback,
 * a port mapper of their own, a raw peer that speaks the handshake by hand,
 * and a log capture.
 *
 * @example
 * ```ts
 * import { startTestNodes } from "./nodes.ts";
 * const [a, b] = await startTestNodes(["a", "b"]);
 * console.assert(await a!.connect(b!.address));
 * await Promise.all([a!.stop(), b!.stop()]);
 * ```
 *
 * @module
 */

import { type NodeOptions, startNode, type WeftNode } from "../../src/node.ts";
import { framedIO, FrameReader } from "../../src/distribution/frame_reader.ts";
import {
  type HandshakeResult,
  importCookie,
  initiateHandshake,
} from "../../src/distribution/handshake.ts";
import { TcpTransport } from "../../src/distribution/tcp.ts";
import type { Connection } from "../../src/distribution/transport.ts";
import { CAPS_DEFAULT, MAX_HANDSHAKE_FRAME } from "../../src/distribution/types.ts";
import { configureLogging, setLogWriter } from "../../src/log.ts";
import type { ProcessContext } from "../../src/process/types.ts";
import { waitFor } from "./wait.ts";

/** A node started for a test, with its `name@127.0.0.1:port` address. */
export interface TestNode extends WeftNode {
  /** `name@127.0.0.1:port`, for connects without a port mapper. */
  readonly address: string;
}

/**
 * Starts nodes `name@127.0.0.1` on loopback, port 0, without a port mapper
 * unless `options.epmdPort` is given.
 *
 * @param names the bare names
 * @param options options for every node
 */
export async function startTestNodes(
  names: string[],
  options: Partial<NodeOptions> = {},
): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (const name of names) nodes.push(await startTestNode(name, options));
  return nodes;
}

/**
 * Starts one node `name@127.0.0.1` on loopback.
 *
 * @param name the bare name
 * @param options node options (cookie defaults to "test-cookie")
 */
export async function startTestNode(
  name: string,
  options: Partial<NodeOptions> = {},
): Promise<TestNode> {
  const node = await startNode({
    name: `${name}@127.0.0.1`,
    cookie: "test-cookie",
    hostname: "127.0.0.1",
    noEpmd: options.epmdPort === undefined,
    startEpmd: false,
    ...options,
  });
  return Object.assign(node, { address: `${node.name}:${node.port}` });
}

/** Stops every node given, in parallel. */
export async function stopAll(nodes: (WeftNode | undefined)[]): Promise<void> {
  await Promise.all(nodes.map((n) => n?.stop()));
}

/**
 * Receives on `ctx` until `matcher` accepts a message, with a deadline.
 *
 * @param ctx an opened process
 * @param matcher which message
 * @param timeout milliseconds
 */
export function receiveMatching<T>(
  ctx: ProcessContext,
  matcher: (msg: unknown) => boolean,
  timeout = 3000,
): Promise<T> {
  return ctx.receive<T>(matcher, { timeout });
}

/** A raw peer: a socket that has done (or not) the handshake, driven by the test. */
export interface RawPeer {
  /** The socket. */
  conn: Connection;
  /** The handshake outcome. */
  result: HandshakeResult;
  /** The reader the handshake used. */
  reader: FrameReader;
}

/**
 * Dials `port` on loopback and runs the initiator's handshake by hand as
 * `name`, so that a test can then misbehave on an authenticated connection.
 *
 * @param port the node's port
 * @param peer the node's full name
 * @param options our name, cookie and creation
 */
export async function rawPeer(
  port: number,
  peer: string,
  options: { name?: string; cookie?: string; creation?: number } = {},
): Promise<RawPeer> {
  const conn = await new TcpTransport().connect({ hostname: "127.0.0.1", port });
  const reader = new FrameReader(conn);
  const result = await initiateHandshake(framedIO(conn, reader, MAX_HANDSHAKE_FRAME), {
    self: {
      name: options.name ?? "raw@127.0.0.1",
      creation: options.creation ?? 1,
      capabilities: CAPS_DEFAULT,
    },
    cookie: importCookie(options.cookie ?? "test-cookie"),
    peer,
  });
  return { conn, result, reader };
}

/** Reads from `conn` until the peer closes it. */
export async function untilClosed(conn: Connection): Promise<void> {
  while ((await conn.read()) !== null) { /* discard */ }
}

/** Captured log lines. */
export interface LogCapture {
  /** Every line so far. */
  readonly lines: string[];
  /** Waits until a line matches. */
  waitFor(pattern: RegExp, timeout?: number): Promise<void>;
  /** Restores quiet logging. */
  restore(): Promise<void>;
}

/**
 * Captures `weft.*` log lines at `level` and above.
 *
 * @param level the lowest level captured
 */
export async function captureLogs(
  level: "debug" | "info" | "warning" = "info",
): Promise<LogCapture> {
  const lines: string[] = [];
  setLogWriter((line) => lines.push(line));
  await configureLogging(level);
  return {
    lines,
    waitFor: (pattern, timeout = 3000) =>
      waitFor(() => lines.some((l) => pattern.test(l)), {
        timeout,
        message: `No log line matching ${pattern}; got:\n${lines.join("")}`,
      }),
    restore: async () => {
      await configureLogging("fatal");
      setLogWriter((line) => {
        try {
          Deno.stderr.writeSync(new TextEncoder().encode(line));
        } catch {
          // stderr closed.
        }
      });
    },
  };
}
