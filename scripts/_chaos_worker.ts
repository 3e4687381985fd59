/**
 * The workload of each node of `scripts/chaos.ts`, run as
 * `weft --name N --cluster-config F --script scripts/_chaos_worker.ts`
 * (the shell's names — spawn, receive, send, register, Node — are in scope):
 *
 * - a worker process registered globally as `worker:<node>` and joined to
 *   the pg group `workers`;
 * - a contender that keeps one process registered globally as `leader`
 *   whenever no node holds the name (after a partition heals, global's
 *   conflict resolution leaves one);
 * - `chaos_crdt`, which increments the durable PN-Counter `chaos:hits` by
 *   `n` for `{from, ref, n}` and answers `{ref}` once the increment is
 *   written (acknowledged);
 * - `CHILDREN` permanent children of the distributed supervisor
 *   `chaos_sup` (`child:<node>:<i>`, module `chaos_child`), each a
 *   GenServer registered in the distributed registry `chaos_names` under
 *   its id; started when the node first starts (a restart finds them
 *   running elsewhere already);
 * - `chaos_probe`, which answers `{from, ref}` with this node's view:
 *   connected nodes, global names, pg members, quorum, the counter, the
 *   supervisor's children running here, and where each child's name points.
 *
 * Prints `WORKER-READY` once all three run, then serves until killed.
 */

// deno-lint-ignore-file no-explicit-any
declare const spawn: (fn: () => unknown) => any;
declare const receive: (
  matcher?: (m: unknown) => boolean,
  options?: { timeout?: number },
) => Promise<any>;
declare const send: (to: unknown, msg: unknown) => void;
declare const register: (name: string, pid: unknown) => void;
declare const monitor: (pid: unknown) => unknown;
declare const Node: { self(): string; list(): string[] };

import { global } from "../src/global/mod.ts";
import { pg } from "../src/pg/mod.ts";
import { clusterOf } from "../src/cluster/cluster.ts";
import { current } from "../src/process/current.ts";
import { crdt } from "../src/replicator/namespace.ts";
import { horde } from "../src/distributed/namespace.ts";
import { GenServer } from "../src/otp/gen_server.ts";
import { rpc } from "../src/rpc/namespace.ts";

/** Children each node adds to the distributed supervisor when it first starts (scripts/chaos.ts sets it). */
const CHILDREN = Number(Deno.env.get("CHAOS_CHILDREN") ?? 10);

const me = Node.self();
const hits = crdt.open("chaos:hits", "pn-counter", { durable: true });

register(
  "chaos_crdt",
  spawn(async () => {
    for (;;) {
      const m = await receive();
      await hits.update((c) => c.increment(m.n));
      send(m.from, { ref: m.ref });
    }
  }),
);

spawn(async () => {
  if (!(await global.register(`worker:${me}`))) throw new Error(`worker:${me} is taken`);
  pg.join("workers");
  for (;;) await receive();
});

spawn(async () => {
  for (;;) {
    if (global.whereis("leader") === undefined) {
      const leader = spawn(async () => {
        if (!(await global.register("leader"))) return;
        for (;;) await receive();
      });
      monitor(leader);
    }
    // Wake on a leader's DOWN (a conflict lost), or look again in a while.
    await receive((m) => (m as { type?: string })?.type === "DOWN", { timeout: 500 }).catch(
      () => {},
    );
  }
});

class ChaosChild extends GenServer<string, string> {
  override init(id: string) {
    return { ok: id };
  }
}
rpc.registerModule("chaos_child", {
  start: (id: string) =>
    GenServer.startLink(ChaosChild, id, { name: { via: "chaos_names", key: id } }),
});
const chaosNames = horde.registry("chaos_names");
const sup = horde.supervisor("chaos_sup");
for (let i = 0; i < CHILDREN; i++) {
  const id = `child:${me}:${i}`;
  // Taken after a restart (it runs elsewhere): fine.
  await sup.startChild({ id, module: "chaos_child", function: "start", args: [id] }).catch(
    () => {},
  );
}

register(
  "chaos_probe",
  spawn(async () => {
    for (;;) {
      const m = await receive();
      const names = global.registered().sort();
      send(m.from, {
        ref: m.ref,
        node: me,
        nodes: Node.list().sort(),
        global: Object.fromEntries(names.map((n) => [n, String(global.whereis(n))])),
        pg: pg.getMembers("workers").map(String).sort(),
        quorum: clusterOf(current().runtime)?.hasQuorum() ?? null,
        hits: hits.value(),
        children: sup.localChildren().filter((c) => current().runtime.isAlive(c.pid)).map((c) => [
          c.id,
          String(c.pid),
        ]),
        names: Object.fromEntries(
          (m.ids as string[]).map((id) => [id, String(chaosNames.whereis(id) ?? null)]),
        ),
      });
    }
  }),
);

console.log("WORKER-READY");
for (;;) await receive();
