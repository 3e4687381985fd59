import assert from "node:assert/strict";
import { SqliteEventStore, type SqliteTx } from "../../src/event_sourcing/sqlite_event_store.ts";
import type { EventStore } from "../../src/event_sourcing/event_store.ts";
import { StoreCorruptError } from "../../src/errors.ts";
import { conformance } from "./event_store_conformance.ts";

Deno.test("SqliteEventStore passes the event store conformance suite", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "weft-es-" });
  let n = 0;
  try {
    await conformance<SqliteTx>(t, {
      open: () => {
        const store = SqliteEventStore.open(`${dir}/events-${n++}.db`);
        return Promise.resolve(store);
      },
      writeModel: (tx, key, value) => {
        tx.exec("CREATE TABLE IF NOT EXISTS model (k TEXT PRIMARY KEY, v INTEGER)");
        tx.run(
          "INSERT INTO model (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
          key,
          value,
        );
        return Promise.resolve();
      },
      readModel: (store: EventStore<SqliteTx>, key) =>
        store.withCheckpoint(
          "_read",
          0,
          (tx) => tx.get<{ v: number }>("SELECT v FROM model WHERE k = ?", key)?.v,
        ),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteEventStore keeps its events across a reopen", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-es-" });
  try {
    const a = SqliteEventStore.open(`${dir}/sub/events.db`);
    await a.append("s", [{ type: "A", data: 1 }, { type: "B", data: 2 }]);
    await a.close();
    const b = SqliteEventStore.open(`${dir}/sub/events.db`);
    assert.deepEqual((await b.read("s")).map((e) => e.type), ["A", "B"]);
    assert.deepEqual(await b.append("s", [{ type: "C", data: 3 }], { expectedVersion: 2 }), {
      streamVersion: 3,
      globalPosition: 3,
    });
    await b.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteEventStore.open() refuses a file that is not a database", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-es-" });
  try {
    await Deno.writeTextFile(`${dir}/events.db`, "not a database, just some text ".repeat(100));
    assert.throws(() => SqliteEventStore.open(`${dir}/events.db`), StoreCorruptError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
