import assert from "node:assert/strict";
import { PostgresEventStore } from "../../src/event_sourcing/postgres_event_store.ts";
import { SqliteEventStore } from "../../src/event_sourcing/sqlite_event_store.ts";
import { Subscription } from "../../src/event_sourcing/subscription.ts";
import type { RecordedEvent } from "../../src/event_sourcing/types.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/wait.ts";

const ev = (type: string) => ({ type, data: {} });

Deno.test("a subscription catches up with $all, then follows it live", async () => {
  const store = SqliteEventStore.open(":memory:");
  await store.append("a", [ev("A1"), ev("A2")]);
  await store.append("b", [ev("B1")]);
  const seen: string[] = [];
  const sub = Subscription.start(store, (events) => {
    for (const e of events) seen.push(e.type);
  }, { batchSize: 2, pollInterval: 60_000 });
  try {
    await sub.caughtUp;
    assert.deepEqual(seen, ["A1", "A2", "B1"]);
    assert.equal(sub.status, "live");
    await store.append("a", [ev("A3")]);
    await sub.reached(4, 10_000);
    assert.deepEqual(seen, ["A1", "A2", "B1", "A3"]);
  } finally {
    await sub.stop();
    await store.close();
  }
  assert.equal(sub.status, "stopped");
});

Deno.test("a named subscription resumes from its checkpoint, at least once", async () => {
  const store = SqliteEventStore.open(":memory:");
  try {
    for (let i = 1; i <= 5; i++) await store.append("s", [ev(`E${i}`)]);
    const first: number[] = [];
    const a = Subscription.start(store, (events) => {
      for (const e of events) first.push(e.globalPosition);
    }, { name: "mailer", batchSize: 3 });
    await a.reached(5);
    await a.stop();
    assert.equal(await store.checkpoints.load("mailer"), 5);
    await store.append("s", [ev("E6")]);
    const second: number[] = [];
    const b = Subscription.start(store, (events) => {
      for (const e of events) second.push(e.globalPosition);
    }, { name: "mailer" });
    await b.reached(6);
    await b.stop();
    assert.deepEqual(first, [1, 2, 3, 4, 5]);
    assert.deepEqual(second, [6]);
  } finally {
    await store.close();
  }
});

Deno.test("a handler that throws is retried; past its retries the subscription fails and its checkpoint stays", async () => {
  const store = SqliteEventStore.open(":memory:");
  try {
    await store.append("s", [ev("ok"), ev("ok")]);
    await store.append("s", [ev("poison")]);
    let attempts = 0;
    const handled: string[] = [];
    const sub = Subscription.start(store, (events: RecordedEvent[]) => {
      if (events.some((e) => e.type === "poison")) {
        attempts++;
        throw new Error("cannot handle poison");
      }
      for (const e of events) handled.push(e.type);
    }, { name: "fragile", batchSize: 2, maxRetries: 2, retryDelay: 1 });
    await assert.rejects(sub.done, /cannot handle poison/);
    assert.equal(sub.status, "failed");
    assert.equal(attempts, 3);
    assert.deepEqual(handled, ["ok", "ok"]);
    assert.equal(await store.checkpoints.load("fragile"), 2);
    // a flaky handler that fails once then succeeds is delivered the batch again
    let failed = false;
    const again: string[] = [];
    const retry = Subscription.start(store, (events) => {
      if (!failed) {
        failed = true;
        throw new Error("flaky");
      }
      for (const e of events) again.push(e.type);
    }, { name: "fragile", retryDelay: 1 });
    await retry.reached(3);
    await retry.stop();
    assert.deepEqual(again, ["poison"]);
    assert.equal(await store.checkpoints.load("fragile"), 3);
  } finally {
    await store.close();
  }
});

Deno.test("PostgreSQL pushes appends from another connection pool to a subscription by LISTEN/NOTIFY", async () => {
  const pg = await startPostgres();
  try {
    const reader = await PostgresEventStore.connect(pg.url);
    const writer = await PostgresEventStore.connect(pg.url);
    const seen: number[] = [];
    // no polling to speak of: only NOTIFY can wake it within the test's deadline
    const sub = Subscription.start(reader, (events) => {
      for (const e of events) seen.push(e.globalPosition);
    }, { pollInterval: 600_000 });
    try {
      await sub.caughtUp;
      await reader.listening();
      await writer.append("a", [ev("A"), ev("B")]);
      await waitFor(() => seen.length === 2, { timeout: 20_000, message: "NOTIFY never woke it" });
      await writer.append("b", [ev("C")]);
      await waitFor(() => seen.length === 3, { timeout: 20_000, message: "NOTIFY never woke it" });
      assert.deepEqual(seen, [1, 2, 3]);
    } finally {
      await sub.stop();
      await reader.close();
      await writer.close();
    }
  } finally {
    await pg.destroy();
  }
});
