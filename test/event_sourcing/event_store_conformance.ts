/**
 * One conformance suite for every event store adapter: each case runs as a
 * step of the adapter's test, against a fresh, empty store from `open()`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  EventSerializationError,
  StreamDeletedError,
  WrongExpectedVersionError,
} from "../../src/errors.ts";
import type { EventStore } from "../../src/event_sourcing/event_store.ts";

/** How the suite drives one adapter. */
export interface Adapter<Tx> {
  /** A fresh, empty store. */
  open(): Promise<EventStore<Tx>>;
  /** Writes `value` under `key` in a read-model table, through a projection transaction. */
  writeModel(tx: Tx, key: string, value: number): Promise<void>;
  /** The value under `key` in the read model, read outside any transaction. */
  readModel(store: EventStore<Tx>, key: string): Promise<number | undefined>;
}

const ev = (type: string, data: unknown = {}) => ({ type, data });

/** Runs every case as a step of `t`. */
export async function conformance<Tx>(t: Deno.TestContext, adapter: Adapter<Tx>): Promise<void> {
  const step = (name: string, fn: (store: EventStore<Tx>) => Promise<void>) =>
    t.step(name, async () => {
      const store = await adapter.open();
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    });

  await step(
    "append() numbers versions and $all positions from 1, and read() returns them",
    async (s) => {
      assert.deepEqual(await s.append("a", [ev("A1", { n: 1 }), ev("A2", { n: 2 })]), {
        streamVersion: 2,
        globalPosition: 2,
      });
      assert.deepEqual(await s.append("b", [ev("B1")]), { streamVersion: 1, globalPosition: 3 });
      assert.deepEqual(await s.append("a", [ev("A3", { n: 3 })]), {
        streamVersion: 3,
        globalPosition: 4,
      });
      const a = await s.read("a");
      assert.deepEqual(a.map((e) => [e.type, e.streamVersion, e.globalPosition, e.data]), [
        ["A1", 1, 1, { n: 1 }],
        ["A2", 2, 2, { n: 2 }],
        ["A3", 3, 4, { n: 3 }],
      ]);
      assert.equal(await s.streamVersion("a"), 3);
      assert.equal(await s.streamVersion("nothing"), 0);
      assert.deepEqual(await s.read("nothing"), []);
      assert.equal(await s.headPosition(), 4);
    },
  );

  await step("read() goes forward or backward from a version, with a limit", async (s) => {
    await s.append("a", [1, 2, 3, 4, 5].map((n) => ev("E", n)));
    const versions = async (o: Parameters<typeof s.read>[1]) =>
      (await s.read("a", o)).map((e) => e.streamVersion);
    assert.deepEqual(await versions({ from: 3 }), [3, 4, 5]);
    assert.deepEqual(await versions({ from: 2, limit: 2 }), [2, 3]);
    assert.deepEqual(await versions({ direction: "backward" }), [5, 4, 3, 2, 1]);
    assert.deepEqual(await versions({ direction: "backward", from: 3, limit: 2 }), [3, 2]);
    assert.deepEqual(await versions({ from: 6 }), []);
    assert.throws(() => s.read("a", { limit: -1 }), TypeError);
    assert.throws(() => s.read("a", { direction: "up" as "forward" }), TypeError);
  });

  await step(
    "events keep their id, type, data, metadata, causation and correlation ids",
    async (s) => {
      const before = Date.now() - 60_000;
      await s.append("m", [{
        id: "0b7e6a9c-0000-4000-8000-000000000001",
        type: "Deposited",
        data: { amount: 10, note: "é ✓", nested: [1, { x: null }], big: 1.5e300 },
        metadata: { user: "ann" },
        causationId: "cmd-1",
        correlationId: "conv-1",
      }, ev("Plain")]);
      const [e, plain] = await s.read("m");
      assert.equal(e!.id, "0b7e6a9c-0000-4000-8000-000000000001");
      assert.equal(e!.stream, "m");
      assert.equal(e!.type, "Deposited");
      assert.deepEqual(e!.data, {
        amount: 10,
        note: "é ✓",
        nested: [1, { x: null }],
        big: 1.5e300,
      });
      assert.deepEqual(e!.metadata, { user: "ann" });
      assert.equal(e!.causationId, "cmd-1");
      assert.equal(e!.correlationId, "conv-1");
      assert.ok(e!.createdAt instanceof Date && e!.createdAt.getTime() >= before);
      assert.match(plain!.id, /^[0-9a-f-]{36}$/);
      assert.deepEqual(plain!.metadata, {});
      assert.equal(plain!.causationId, undefined);
    },
  );

  await step("expected versions: any, no_stream, stream_exists and an exact version", async (s) => {
    await s.append("x", [ev("1")], { expectedVersion: "no_stream" });
    await s.append("x", [ev("2")], { expectedVersion: "stream_exists" });
    await s.append("x", [ev("3")], { expectedVersion: 2 });
    await s.append("x", [ev("4")], { expectedVersion: "any" });
    await s.append("y", [ev("1")], { expectedVersion: 0 });
    assert.equal(await s.streamVersion("x"), 4);
    const conflicts: [string, Parameters<typeof s.append>[2], string | number, number][] = [
      ["x", { expectedVersion: "no_stream" }, "no_stream", 4],
      ["x", { expectedVersion: 3 }, 3, 4],
      ["x", { expectedVersion: 5 }, 5, 4],
      ["z", { expectedVersion: "stream_exists" }, "stream_exists", 0],
      ["z", { expectedVersion: 1 }, 1, 0],
    ];
    for (const [stream, options, expected, actual] of conflicts) {
      await assert.rejects(s.append(stream, [ev("no")], options), (e: unknown) => {
        assert.ok(e instanceof WrongExpectedVersionError);
        assert.equal(e.stream, stream);
        assert.equal(e.expected, expected);
        assert.equal(e.actual, actual);
        assert.equal(
          e.message,
          `Wrong expected version: stream ${stream} expected ${expected}, actual ${actual}`,
        );
        return true;
      });
    }
    assert.equal(await s.streamVersion("x"), 4, "nothing written by a conflict");
    assert.equal(await s.streamVersion("z"), 0);
    assert.equal(await s.headPosition(), 5);
    assert.deepEqual((await s.readAll()).map((e) => e.type), ["1", "2", "3", "4", "1"]);
    assert.throws(() => s.append("x", [ev("bad")], { expectedVersion: -1 }), TypeError);
    assert.throws(
      () => s.append("x", [ev("bad")], { expectedVersion: "some" as "any" }),
      TypeError,
    );
  });

  await step(
    "a multi-event append is atomic: a duplicate id in it writes none of it",
    async (s) => {
      await s.append("a", [{ id: "dup-1", type: "First", data: {} }]);
      await assert.rejects(
        s.append("a", [ev("ok1"), ev("ok2"), { id: "dup-1", type: "Again", data: {} }]),
      );
      assert.equal(await s.streamVersion("a"), 1);
      assert.deepEqual((await s.readAll()).map((e) => e.type), ["First"]);
      // and the next append takes the next position: no hole was left
      assert.deepEqual(await s.append("a", [ev("next")]), { streamVersion: 2, globalPosition: 2 });
    },
  );

  await step("an unserialisable event is a clear error and writes nothing", async (s) => {
    await s.append("a", [ev("ok")]);
    const bad: [unknown, RegExp][] = [
      [{ f: () => 1 }, /data\.f is a function/],
      [{ n: 10n }, /data\.n is a bigint/],
      [{ x: NaN }, /data\.x is NaN/],
      [{ d: new Date(0) }, /data\.d is a Date/],
      [{ u: undefined }, /data\.u is a undefined/],
      [{ s: Symbol("s") }, /data\.s is a symbol/],
    ];
    for (const [data, message] of bad) {
      assert.throws(
        () => s.append("a", [ev("good"), { type: "Bad", data }]),
        (e: unknown) => e instanceof EventSerializationError && message.test(e.message),
      );
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => s.append("a", [ev("C", cyclic)]), /data\.self is a cycle/);
    assert.throws(() => s.append("a", []), TypeError);
    assert.throws(() => s.append("", [ev("x")]), TypeError);
    assert.throws(() => s.append("$all", [ev("x")]), TypeError);
    assert.throws(() => s.append("a", [{ type: "", data: 1 }]), TypeError);
    assert.equal(await s.streamVersion("a"), 1);
    assert.equal(await s.headPosition(), 1);
  });

  await step("readAll() reads $all forward and backward from a position", async (s) => {
    for (let i = 0; i < 10; i++) await s.append(`s${i % 3}`, [ev("E", i)]);
    assert.deepEqual((await s.readAll()).map((e) => e.globalPosition), [
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
    ]);
    assert.deepEqual((await s.readAll({ from: 8 })).map((e) => e.data), [7, 8, 9]);
    assert.deepEqual(
      (await s.readAll({ direction: "backward", from: 3 })).map((e) => e.globalPosition),
      [3, 2, 1],
    );
    assert.deepEqual((await s.readAll({ from: 4, limit: 2 })).map((e) => e.stream), ["s0", "s1"]);
  });

  await step(
    "concurrent appends with an exact version: exactly one wins each version",
    async (s) => {
      const winners: number[] = [];
      let conflicts = 0;
      await Promise.all(Array.from({ length: 8 }, async (_, w) => {
        for (let tries = 0; tries < 200; tries++) {
          const v = await s.streamVersion("c");
          if (v >= 20) return;
          try {
            await s.append("c", [ev("W", { w, v })], { expectedVersion: v });
            winners.push(v);
          } catch (e) {
            if (!(e instanceof WrongExpectedVersionError)) throw e;
            conflicts++;
          }
        }
      }));
      const events = await s.read("c");
      assert.deepEqual(events.map((e) => e.streamVersion), events.map((_, i) => i + 1));
      assert.deepEqual(
        [...winners].sort((a, b) => a - b),
        events.map((e) => (e.data as { v: number }).v),
      );
      assert.ok(events.length >= 20);
      assert.ok(conflicts >= 0);
    },
  );

  await step("a reader of $all never sees a gap while appends run concurrently", async (s) => {
    let done = false;
    let seen = 0;
    const reader = (async () => {
      while (!done || seen < 200) {
        const page = await s.readAll({ from: seen + 1 });
        for (const e of page) {
          assert.equal(e.globalPosition, seen + 1, "positions arrive in order, with no gap");
          seen = e.globalPosition;
        }
        if (page.length === 0) await new Promise((r) => setTimeout(r, 1));
      }
    })();
    await Promise.all(Array.from({ length: 10 }, async (_, w) => {
      for (let i = 0; i < 10; i++) await s.append(`w${w}`, [ev("A"), ev("B")]);
    }));
    done = true;
    await reader;
    assert.equal(seen, 200);
  });

  await step("deleteStream(): soft closes the stream, hard also removes its events", async (s) => {
    await s.append("soft", [ev("1"), ev("2")]);
    await s.append("hard", [ev("1")]);
    await s.append("keep", [ev("1")]);
    await assert.rejects(
      s.deleteStream("soft", { expectedVersion: 1 }),
      WrongExpectedVersionError,
    );
    await s.deleteStream("soft", { expectedVersion: 2 });
    await assert.rejects(s.read("soft"), StreamDeletedError);
    await assert.rejects(s.append("soft", [ev("3")]), StreamDeletedError);
    assert.equal((await s.readAll()).length, 4, "a soft delete keeps the events in $all");
    await s.snapshots.save("hard", 1, { n: 1 });
    await s.deleteStream("hard", { hard: true });
    await assert.rejects(s.read("hard"), StreamDeletedError);
    assert.deepEqual((await s.readAll()).map((e) => e.stream), ["soft", "soft", "keep"]);
    assert.equal(await s.snapshots.load("hard"), undefined);
    assert.equal((await s.read("keep")).length, 1);
  });

  await step("snapshots: save, load the latest, never go back, delete", async (s) => {
    assert.equal(await s.snapshots.load("acc"), undefined);
    await s.snapshots.save("acc", 10, { balance: 100 });
    await s.snapshots.save("acc", 20, { balance: 250 });
    await s.snapshots.save("acc", 15, { balance: 175 }); // older: ignored
    const snap = await s.snapshots.load<{ balance: number }>("acc");
    assert.equal(snap?.version, 20);
    assert.deepEqual(snap?.state, { balance: 250 });
    assert.ok(snap?.createdAt instanceof Date);
    assert.throws(() => s.snapshots.save("acc", 21, { f: () => 0 }), EventSerializationError);
    await s.snapshots.delete("acc");
    assert.equal(await s.snapshots.load("acc"), undefined);
  });

  await step(
    "withCheckpoint() commits the read model and the checkpoint together, or neither",
    async (s) => {
      assert.equal(await s.checkpoints.load("p"), 0);
      await s.withCheckpoint("p", 5, (tx) => adapter.writeModel(tx, "k", 1));
      assert.equal(await s.checkpoints.load("p"), 5);
      assert.equal(await adapter.readModel(s, "k"), 1);
      await assert.rejects(
        s.withCheckpoint("p", 6, async (tx) => {
          await adapter.writeModel(tx, "k", 2);
          throw new Error("handler failed");
        }),
        /handler failed/,
      );
      assert.equal(await s.checkpoints.load("p"), 5, "the checkpoint is unchanged");
      assert.equal(await adapter.readModel(s, "k"), 1, "the read model is unchanged");
      await s.checkpoints.save("q", 9);
      assert.equal(await s.checkpoints.load("q"), 9);
    },
  );

  await step("onAppend() tells listeners the position of each commit", async (s) => {
    const seen: number[] = [];
    const off = s.onAppend((p) => seen.push(p));
    await (s as { listening?: () => Promise<void> }).listening?.();
    await s.append("a", [ev("1"), ev("2")]);
    await s.append("b", [ev("3")]);
    const deadline = Date.now() + 10_000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(seen, [2, 3]);
    off();
  });
}
