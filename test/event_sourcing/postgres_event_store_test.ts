import assert from "node:assert/strict";
import {
  PostgresEventStore,
  type PostgresTx,
} from "../../src/event_sourcing/postgres_event_store.ts";
import type { EventStore } from "../../src/event_sourcing/event_store.ts";
import { EventStoreUnavailableError } from "../../src/errors.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { conformance } from "./event_store_conformance.ts";

Deno.test("PostgresEventStore passes the event store conformance suite", async (t) => {
  const pg = await startPostgres();
  let n = 0;
  try {
    await conformance<PostgresTx>(t, {
      open: () => PostgresEventStore.connect(pg.url, { schema: `conformance_${n++}` }),
      writeModel: async (tx, key, value) => {
        await tx.unsafe("CREATE TABLE IF NOT EXISTS model (k text PRIMARY KEY, v int)");
        await tx.unsafe(
          "INSERT INTO model (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
          [key, value],
        );
      },
      readModel: (store: EventStore<PostgresTx>, key) =>
        store.withCheckpoint("_read", 0, async (tx) => {
          const [row] = await tx.unsafe("SELECT v FROM model WHERE k = $1", [key]);
          return row?.v as number | undefined;
        }),
    });
  } finally {
    await pg.destroy();
  }
});

Deno.test("PostgresEventStore: a stopped server is a typed error after retries, and an append is never half-written", async () => {
  const pg = await startPostgres();
  try {
    const store = await PostgresEventStore.connect(pg.url, {
      retries: 3,
      retryDelay: 50,
      connectTimeout: 2,
    });
    try {
      await store.append("acc", [{ type: "Opened", data: {} }]);
      await pg.stop();
      await assert.rejects(
        store.append("acc", [{ type: "A", data: 1 }, { type: "B", data: 2 }]),
        (e: unknown) => {
          assert.ok(e instanceof EventStoreUnavailableError, String(e));
          assert.match(
            e.message,
            /^Event store unavailable: cannot append to acc after 3 attempts: /,
          );
          return true;
        },
      );
      await assert.rejects(store.read("acc"), EventStoreUnavailableError);
      await pg.start();
      assert.deepEqual(
        (await store.read("acc")).map((e) => e.type),
        ["Opened"],
        "nothing half-written",
      );
      assert.deepEqual(
        await store.append("acc", [{ type: "A", data: 1 }, { type: "B", data: 2 }]),
        {
          streamVersion: 3,
          globalPosition: 3,
        },
      );
    } finally {
      await store.close();
    }
  } finally {
    await pg.destroy();
  }
});

Deno.test("PostgresEventStore retries an append until the server is back", async () => {
  const pg = await startPostgres();
  try {
    const store = await PostgresEventStore.connect(pg.url, {
      retries: 30,
      retryDelay: 100,
      connectTimeout: 2,
    });
    try {
      await store.append("acc", [{ type: "Opened", data: {} }]);
      await pg.stop();
      const pending = store.append("acc", [{ type: "A", data: 1 }, { type: "B", data: 2 }], {
        expectedVersion: 1,
      });
      await pg.start();
      assert.deepEqual(await pending, { streamVersion: 3, globalPosition: 3 });
      assert.deepEqual((await store.read("acc")).map((e) => e.type), ["Opened", "A", "B"]);
    } finally {
      await store.close();
    }
  } finally {
    await pg.destroy();
  }
});
