/**
 * A named subscription on three real nodes over one PostgreSQL: it runs on
 * exactly one of them, and when that node is killed with `kill -9` another
 * takes over from the checkpoint, so every event is handled (at least once).
 *
 * @module
 */

import assert from "node:assert/strict";
import { PostgresEventStore } from "../../src/event_sourcing/postgres_event_store.ts";
import { rpc } from "../../src/rpc/namespace.ts";
import { LocalCluster } from "../../src/testing/local_cluster.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/wait.ts";

const MODULE = new URL("../helpers/mailer_module.ts", import.meta.url).pathname;

Deno.test("a singleton subscription runs on one of 3 real nodes and moves on when that node is killed", async () => {
  const pg = await startPostgres();
  const names = ["esmail1", "esmail2", "esmail3"];
  const nodes = names.map((n) => `${n}@127.0.0.1`);
  let cluster: LocalCluster;
  try {
    cluster = await LocalCluster.start(names, {
      args: ["--event-store", pg.url, "--load", MODULE],
      timeout: 60_000,
    });
  } catch (e) {
    await pg.destroy();
    throw e;
  }
  const store = await PostgresEventStore.connect(pg.url);
  type Status = { active: boolean; handled: number[] };
  const status = (node: string) =>
    rpc.call<Status>(node, "mailer", "status", [], {
      runtime: cluster.controller.runtime,
      timeout: 10_000,
    });
  const statuses = (among: string[]) => Promise.all(among.map(status));
  try {
    for (const node of nodes) {
      await rpc.call(node, "mailer", "join", [], {
        runtime: cluster.controller.runtime,
        timeout: 30_000,
      });
    }
    await waitFor(async () => (await statuses(nodes)).filter((s) => s.active).length === 1, {
      timeout: 30_000,
      message: "never exactly one active node",
    });
    for (let i = 0; i < 10; i++) {
      await store.append(`user-${i}`, [{ type: "SignedUp", data: { i } }]);
    }
    let first = -1;
    await waitFor(async () => {
      const all = await statuses(nodes);
      assert.equal(all.filter((s) => s.active).length, 1, "one active node, never two");
      first = all.findIndex((s) => s.active);
      return all[first]!.handled.length >= 10;
    }, { timeout: 30_000, message: "the active node never handled the 10 events" });
    const before = await status(nodes[first]!);
    assert.deepEqual(before.handled, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    await waitFor(async () => (await store.checkpoints.load("mailer")) >= 10, {
      timeout: 30_000,
      message: "the checkpoint never reached 10",
    });
    await cluster.kill(nodes[first]!);
    const rest = nodes.filter((_, i) => i !== first);
    await waitFor(async () => (await statuses(rest)).filter((s) => s.active).length === 1, {
      timeout: 60_000,
      message: "no surviving node took over",
    });
    for (let i = 10; i < 15; i++) {
      await store.append(`user-${i}`, [{ type: "SignedUp", data: { i } }]);
    }
    await waitFor(async () => {
      const all = await statuses(rest);
      const active = all.filter((s) => s.active);
      assert.equal(active.length, 1, "one active node, never two");
      return active[0]!.handled.includes(15);
    }, { timeout: 30_000, message: "the new active node never reached position 15" });
    const after = (await statuses(rest)).flatMap((s) => s.handled);
    const seen = new Set([...before.handled, ...after]);
    assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 15 }, (_, i) => i + 1));
    assert.ok(!after.some((p) => p <= 10), "the new node resumed from the checkpoint");
  } finally {
    await store.close();
    await cluster.close();
    await pg.destroy();
  }
});
