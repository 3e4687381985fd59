// A module every node loads (weft --load dist_counter.ts): the children of the guide's
// distributed supervisor, and the functions the guide calls on each node by rpc.
import { GenServer, horde } from "../../src/mod.ts";
import type { HandoffEnd } from "../../src/mod.ts";

export const name = "dist_counter";

/** A counter that hands its count over when it moves, and adds a count handed to it. */
class Counter extends GenServer<number, number> {
  override init(n: number) {
    return { ok: n };
  }
  override handleCall(req: unknown, _from: unknown, n: number) {
    if ((req as { handoff?: string }).handoff === "begin") {
      return { reply: { resume: n }, state: n };
    }
    if (req === "inc") return { reply: n + 1, state: n + 1 };
    return { reply: n, state: n };
  }
  override handleCast(req: unknown, n: number) {
    const end = req as HandoffEnd;
    return { noreply: true as const, state: end.handoff === "end" ? n + (end.state as number) : n };
  }
}

/** The children's start function: a Counter registered as `id` in the registry "names". */
export function start(id: string): Promise<unknown> {
  return GenServer.startLink(Counter, 0, { name: { via: "names", key: id } });
}

/** Opens the registry and the supervisor on this node. */
export function open(): boolean {
  horde.registry("names");
  horde.supervisor("counters", { strategy: "least-loaded" });
  return true;
}

/** Starts a counter child somewhere in the cluster. */
export async function startChild(id: string): Promise<string> {
  const pid = await horde.supervisor("counters").startChild({
    id,
    module: "dist_counter",
    function: "start",
    args: [id],
  });
  return pid.node;
}

/** The node the counter `id` runs on, as this node's replica of the registry has it. */
export function whereis(id: string): string | null {
  return horde.registry("names").whereis(id)?.node ?? null;
}

/** Increments the counter `id`, wherever it runs. */
export function inc(id: string): Promise<number> {
  return GenServer.call<number>({ via: "names", key: id }, "inc");
}
