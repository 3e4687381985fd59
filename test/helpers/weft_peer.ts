/**
 * A real `weft` node in a child process (`deno run -A main.ts --eval
 * CODE`), whose code registers a few processes that a test on another
 * node talks to, then serves as the `shell` process until killed:
 *
 * - `echo`: `{from, n, data?}` -> `{pid, n, size}` (its own pid, the tag,
 *   `data.length`); `{from, n, spawn: true}` -> `{pid, n}` for a new process
 *   that exits with the first message it receives as reason; `{from, n,
 *   watch: pid}` -> a new process that traps exits, links to and monitors
 *   `pid`, answers `{n, watching: true}`, then `{n, event, reason}` for each
 *   `EXIT`/`DOWN` it gets.
 * - `sink`: numbers are checked to come in order from 0; `{from, n}` ->
 *   `{n, next, bad}` (the next number expected, the first one missing or
 *   -1) and starts over.
 * - `shell`: monitors nodes from the start; `{from, n}` -> `{n, nodeups,
 *   nodedowns}`, the `nodeup`/`nodedown` messages it has had so far.
 *
 * Everything goes over distribution, nothing through the child's stdin, so
 * the node never exits by itself: a test kills it. The node's port is read
 * from its start-up log line, so nothing is guessed.
 *
 * @example
 * ```ts ignore
 * import { startWeftPeer } from "./weft_peer.ts";
 * const b = await startWeftPeer("b");
 * // a.connect(b.address) from an in-process node, then talk to {name: "echo", node: b.name}
 * await b.close();
 * ```
 *
 * @module
 */

import { WeftProcess } from "./weft_process.ts";

/** The cookie of every test node started here, unless told otherwise. */
export const PEER_COOKIE = "weft-process-test";

/** The `--eval` code of a peer node: its processes, then the `shell` loop. */
export const PEER_CODE = `
register("echo", spawn(async () => {
  for (;;) {
    const m = await receive();
    if (m.spawn) {
      send(m.from, { pid: spawn(async () => exit(await receive())), n: m.n });
    } else if (m.watch) {
      const { from, n, watch: target } = m;
      spawn(async () => {
        trapExit(true);
        link(target);
        monitor(target);
        send(from, { n, watching: true });
        for (;;) {
          const e = await receive();
          send(from, { n, event: e.type, reason: e.reason });
        }
      });
    } else {
      send(m.from, { pid: self(), n: m.n, size: m.data?.length });
    }
  }
}));
register("sink", spawn(async () => {
  let next = 0, bad = -1;
  for (;;) {
    const m = await receive();
    if (typeof m === "number") {
      if (m !== next && bad < 0) bad = next;
      next = m + 1;
    } else {
      send(m.from, { n: m.n, next, bad });
      next = 0;
      bad = -1;
    }
  }
}));
register("shell", self());
monitorNodes();
console.log("PEER-READY");
let nodeups = 0, nodedowns = 0;
for (;;) {
  const m = await receive();
  if (m.type === "nodeup") nodeups++;
  else if (m.type === "nodedown") nodedowns++;
  else send(m.from, { n: m.n, nodeups, nodedowns });
}
`;

/** Options for {@linkcode startWeftPeer}. */
export interface WeftPeerOptions {
  /** The cookie. Default {@linkcode PEER_COOKIE}. */
  cookie?: string;
  /** Register with the port mapper on this port; without it the node runs `--no-epmd`. */
  epmdPort?: number;
  /** More command-line flags (e.g. `--net-ticktime 2`). */
  args?: string[];
  /** Milliseconds to wait for the node to start. Default 20000. */
  timeout?: number;
}

/** A running peer node. */
export interface WeftPeer {
  /** The child process. */
  readonly proc: WeftProcess;
  /** `name@127.0.0.1`. */
  readonly name: string;
  /** The distribution port it listens on. */
  readonly port: number;
  /** `name@127.0.0.1:port`, to connect without a port mapper. */
  readonly address: string;
  /** Kills the node (SIGKILL if it still runs) and waits for it to exit. */
  close(): Promise<void>;
}

/**
 * Starts `weft --name NAME@127.0.0.1 ... --eval PEER_CODE`.
 *
 * @param name the bare node name
 * @param options cookie, port mapper and extra flags
 * @returns the node, once its processes are registered
 * @throws {TimeoutError} when the node does not start in time (the child is killed)
 */
export async function startWeftPeer(
  name: string,
  options: WeftPeerOptions = {},
): Promise<WeftPeer> {
  const full = `${name}@127.0.0.1`;
  const proc = new WeftProcess([
    "--name",
    full,
    "--cookie",
    options.cookie ?? PEER_COOKIE,
    "--port",
    "0",
    ...(options.epmdPort !== undefined ? ["--epmd-port", String(options.epmdPort)] : ["--no-epmd"]),
    "--log-level",
    "info",
    ...(options.args ?? []),
    "--eval",
    PEER_CODE,
  ]);
  try {
    const timeout = options.timeout ?? 20_000;
    const listening = await proc.waitForOutput(/listening on [^\s]+:(\d+)/, timeout);
    const port = Number(listening[1]);
    await proc.waitForOutput(/^PEER-READY$/m, timeout);
    return {
      proc,
      name: full,
      port,
      address: `${full}:${port}`,
      close: () => proc.close(),
    };
  } catch (e) {
    await proc.close();
    throw e;
  }
}
