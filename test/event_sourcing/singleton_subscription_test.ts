import assert from "node:assert/strict";
import { SingletonSubscription } from "../../src/event_sourcing/singleton_subscription.ts";
import { SqliteEventStore } from "../../src/event_sourcing/sqlite_event_store.ts";
import { startTestNodes, stopAll } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

Deno.test("a singleton subscription runs on exactly one of three nodes, and moves when its node is lost", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-es-" });
  const nodes = await startTestNodes(["es_s1", "es_s2", "es_s3"]);
  const stores = nodes.map(() => SqliteEventStore.open(`${dir}/events.db`));
  const handled: { node: string; position: number }[] = [];
  const subs = nodes.map((n, i) =>
    SingletonSubscription.start(n, stores[i]!, "mailer", (events) => {
      for (const e of events) handled.push({ node: n.name, position: e.globalPosition });
    }, { pollInterval: 20 })
  );
  try {
    assert.ok(await nodes[0]!.connect(nodes[1]!.address));
    assert.ok(await nodes[0]!.connect(nodes[2]!.address));
    await waitFor(() => nodes.every((n) => n.list().length === 2), { timeout: 10_000 });
    await waitFor(() => subs.filter((s) => s.isActive).length === 1, {
      timeout: 10_000,
      message: "no single active node",
    });
    // it stays one: no other node takes it while the holder lives
    for (let i = 0; i < 10; i++) {
      await stores[0]!.append("s", [{ type: "E", data: i }]);
      assert.equal(subs.filter((s) => s.isActive).length, 1);
    }
    const first = subs.findIndex((s) => s.isActive);
    await subs[first]!.reached(10);
    assert.deepEqual(handled.map((h) => h.position), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(handled.every((h) => h.node === nodes[first]!.name));
    // the active node is lost: one of the two others takes over from the checkpoint
    await nodes[first]!.stop();
    const rest = subs.filter((_, i) => i !== first);
    await waitFor(() => rest.filter((s) => s.isActive).length === 1, {
      timeout: 20_000,
      message: "no node took over",
    });
    const next = rest.find((s) => s.isActive)!;
    const { globalPosition } = await stores[(first + 1) % 3]!.append("s", [{
      type: "E",
      data: 10,
    }]);
    await next.reached(globalPosition);
    const positions = handled.map((h) => h.position);
    assert.deepEqual([...new Set(positions)].sort((a, b) => a - b), [
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      10,
      11,
    ]);
    assert.ok(handled.filter((h) => h.position === 11).length === 1);
  } finally {
    await Promise.all(subs.map((s) => s.stop()));
    await stopAll(nodes);
    for (const s of stores) await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});
