/**
 * A real `weft` node in a child process (`deno run -A main.ts --eval
 * CODE`) for the cluster-service tests: it runs a fault agent and a
 * `probe` process that does what a test on another node asks, on this
 * node, and answers `{n, value}` (or `{n, error}`):
 *
 * - `{from, n, op: "spawn", report?}`: a new process; every message it
 *   gets is forwarded to `report` as `{n, got}`;
 * - `{from, n, op: "register", name, pid}`: `global.register`;
 * - `{from, n, op: "join", group, pid}`: `pg.join`;
 * - `{from, n, op: "track", topic, key, meta, pid}`: `presence.track`;
 * - `{from, n, op: "downPeriod", ms}`: sets presence's down period;
 * - `{from, n, op: "state", group, topic}`: `{names, members, presences}`
 *   as this node sees them.
 *
 * @module
 */

import type { ProcessContext } from "../../src/process/types.ts";
import { WeftProcess } from "../helpers/weft_process.ts";

/** The cookie of every probe node. */
export const PROBE_COOKIE = "weft-cluster-test";

const ROOT = new URL("../../", import.meta.url).href;

const PROBE_CODE = `
const { current } = await import("${ROOT}src/process/current.ts");
const { startFaultAgent } = await import("${ROOT}src/cluster/faults.ts");
const { globalNamesOf } = await import("${ROOT}src/global/name_server.ts");
const { pgScopeOf } = await import("${ROOT}src/pg/scope.ts");
const { presenceOf } = await import("${ROOT}src/pubsub/presence.ts");
const runtime = current().runtime;
startFaultAgent(runtime);
const g = globalNamesOf(runtime), scope = pgScopeOf(runtime), pr = presenceOf(runtime);
register("probe", spawn(async () => {
  for (;;) {
    const m = await receive();
    try {
      let value;
      switch (m.op) {
        case "spawn": {
          const report = m.report, n = m.n;
          value = spawn(async () => {
            for (;;) {
              const got = await receive();
              if (report) send(report, { n, got });
            }
          });
          break;
        }
        case "register": value = await g.register(m.name, m.pid); break;
        case "join": scope.join(m.group, m.pid); value = true; break;
        case "track": pr.track(m.topic, m.key, m.meta, { pid: m.pid }); value = "ok"; break;
        case "downPeriod": pr.downPeriod = m.ms; value = true; break;
        case "state": {
          const names = {};
          for (const name of g.registered().sort()) names[name] = String(g.whereis(name));
          value = {
            names,
            members: scope.getMembers(m.group).map(String).sort(),
            presences: pr.list(m.topic),
          };
          break;
        }
        default: throw new Error("unknown op " + m.op);
      }
      send(m.from, { n: m.n, value });
    } catch (e) {
      send(m.from, { n: m.n, error: String(e) });
    }
  }
}));
console.log("PROBE-READY");
for (;;) await receive();
`;

/** A running probe node. */
export interface ProbePeer {
  /** The child process. */
  readonly proc: WeftProcess;
  /** `name@127.0.0.1`. */
  readonly name: string;
  /** The distribution port. */
  readonly port: number;
  /** `name@127.0.0.1:port`. */
  readonly address: string;
  /** Kills the node (SIGKILL if it still runs) and waits for it to exit. */
  close(): Promise<void>;
}

/**
 * Starts `weft --name NAME@127.0.0.1 --no-epmd --eval PROBE_CODE`.
 *
 * @param name the bare node name
 * @param timeout milliseconds to wait for it to start
 */
export async function startProbePeer(name: string, timeout = 30_000): Promise<ProbePeer> {
  const full = `${name}@127.0.0.1`;
  const proc = new WeftProcess([
    "--name",
    full,
    "--cookie",
    PROBE_COOKIE,
    "--port",
    "0",
    "--no-epmd",
    "--log-level",
    "info",
    "--eval",
    PROBE_CODE,
  ]);
  try {
    const listening = await proc.waitForOutput(/listening on [^\s]+:(\d+)/, timeout);
    const port = Number(listening[1]);
    await proc.waitForOutput(/^PROBE-READY$/m, timeout);
    return { proc, name: full, port, address: `${full}:${port}`, close: () => proc.close() };
  } catch (e) {
    await proc.close();
    throw e;
  }
}

/** What the `state` op answers. */
export interface ProbeState {
  /** Global names -> pid text. */
  names: Record<string, string>;
  /** Members of the group asked, as text, sorted. */
  members: string[];
  /** `presence.list(topic)`. */
  presences: Record<string, { metas: Record<string, unknown>[] }>;
}

/** Asks probes through `ctx` (a process of a node connected to them). */
export class ProbeClient {
  #n = 0;
  /** @param ctx the asking process */
  constructor(readonly ctx: ProcessContext) {}

  /**
   * Runs `op` on `node`'s probe and returns its value.
   *
   * @throws {Error} with the probe's error text when it failed
   */
  async ask<T>(node: string, op: Record<string, unknown>): Promise<T> {
    const n = ++this.#n;
    this.ctx.send({ name: "probe", node }, { ...op, n, from: this.ctx.self });
    const reply = await this.ctx.receive<{ n: number; value?: T; error?: string }>(
      (m) => (m as { n?: number; got?: unknown })?.n === n && !("got" in (m as object)),
      { timeout: 15_000 },
    );
    if (reply.error !== undefined) throw new Error(`Probe on ${node}: ${reply.error}`);
    return reply.value as T;
  }
}
