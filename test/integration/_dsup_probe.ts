/**
 * Loaded into real `weft` nodes (`--load`) by the distributed supervisor's
 * process tests: it is the children's module (`dsup_probe.start`), and rpc
 * calls from the test open the node's registry and supervisor, start
 * children and report which children run here.
 *
 * @module
 */

import { startFaultAgent } from "../../src/cluster/faults.ts";
import type { HandoffEnd } from "../../src/distributed/dist_registry.ts";
import { distributedOf } from "../../src/distributed/service.ts";
import { GenServer } from "../../src/otp/gen_server.ts";
import { current } from "../../src/process/current.ts";
import { Node } from "../../src/rpc/node_namespace.ts";

/** The module name rpc calls use. */
export const name = "dsup_probe";

/** When each child of this node started (ms since the epoch), by id. */
const startedAt = new Map<string, number>();

/** A counter: hands its count over, adds a count handed to it. */
class Counter extends GenServer<number, number> {
  override init(n: number) {
    return { ok: n };
  }
  override handleCall(req: unknown, _from: unknown, state: number) {
    if ((req as { handoff?: string }).handoff === "begin") {
      return { reply: { resume: state }, state };
    }
    if (req === "inc") return { reply: state + 1, state: state + 1 };
    return { reply: state, state };
  }
  override handleCast(req: unknown, state: number) {
    const end = req as HandoffEnd;
    if (end.handoff === "end") {
      return { noreply: true as const, state: state + (end.state as number) };
    }
    return { noreply: true as const, state };
  }
}

function here() {
  return distributedOf(current().runtime);
}

/** Starts the node's fault agent (Faults partitions it from the test). */
export function agent(): boolean {
  startFaultAgent(current().runtime);
  return true;
}

/** Connects to `address` (`name@host:port`); whether it is connected. */
export function connect(address: string): Promise<boolean> {
  return Node.connect(address);
}

/** The visible nodes. */
export function list(): string[] {
  return Node.list();
}

/** Opens the registry "names" and the supervisor "jobs". */
export function open(
  options: { quorum?: boolean; strategy?: "ring" | "least-loaded" } = {},
): boolean {
  here().registry("names");
  here().supervisor("jobs", { ...options, quorumDelay: 2000 });
  return true;
}

/** The children's start function: a Counter named `id` in "names". */
export function start(id: string, n: number): Promise<unknown> {
  startedAt.set(id, Date.now());
  return GenServer.startLink(Counter, n, { name: { via: "names", key: id } });
}

/** The live members as this node sees them. */
export function members(): string[] {
  return here().supervisor("jobs").liveMembers();
}

/** Starts children `<prefix><i>` for i < count, `batch` at a time; the number started. */
export async function startMany(prefix: string, count: number, batch = 100): Promise<number> {
  const sup = here().supervisor("jobs");
  let started = 0;
  for (let i = 0; i < count; i += batch) {
    const ids = Array.from({ length: Math.min(batch, count - i) }, (_, j) => `${prefix}${i + j}`);
    await Promise.all(ids.map(async (id) => {
      await sup.startChild({ id, module: "dsup_probe", function: "start", args: [id, 0] });
      started++;
    }));
  }
  return started;
}

/** The ids of the children that run on this node now (their process alive). */
export function local(): string[] {
  const runtime = current().runtime;
  return here().supervisor("jobs").localChildren()
    .filter((c) => runtime.isAlive(c.pid))
    .map((c) => c.id);
}

/** How many children the whole supervisor has, as this node sees it. */
export function count(): number {
  return here().supervisor("jobs").countChildren().active;
}

/** When each of `ids` started here, if it did (ms since the epoch; null when not here). */
export function startTimes(ids: string[]): (number | null)[] {
  return ids.map((id) => startedAt.get(id) ?? null);
}

/** Where `id` is registered, as this node's replica has it. */
export function whereis(id: string): string | null {
  const pid = here().registry("names").whereis(id);
  return pid === undefined ? null : pid.node;
}

/** Where each of `ids` is registered, as this node's replica has it (node names; null when not). */
export function whereisAll(ids: string[]): (string | null)[] {
  return ids.map(whereis);
}

/** Calls `req` ("inc" or "get") on each of `ids` by name; their answers. */
export function callAll(ids: string[], req: "inc" | "get"): Promise<unknown[]> {
  return Promise.all(
    ids.map((id) => GenServer.call({ via: "names", key: id }, req).catch((e) => String(e))),
  );
}
