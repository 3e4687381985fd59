/**
 * The event store under real processes: concurrent appenders in several
 * processes, `kill -9` in the middle of appends, and a projection killed
 * with `kill -9` mid-stream, on SQLite and on a real PostgreSQL.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { EventStore } from "../../src/event_sourcing/event_store.ts";
import { PostgresEventStore } from "../../src/event_sourcing/postgres_event_store.ts";
import { Projector } from "../../src/event_sourcing/projection.ts";
import { SqliteEventStore } from "../../src/event_sourcing/sqlite_event_store.ts";
import { OutputLines } from "../../src/testing/output_lines.ts";
import { readSums, sumProjection } from "../helpers/event_store_models.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { prng } from "../helpers/prng.ts";

const CHILD = new URL("../helpers/event_store_child.ts", import.meta.url).pathname;

interface Child {
  proc: Deno.ChildProcess;
  out: OutputLines;
}

function spawnChild(args: string[]): Child {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  return { proc, out: new OutputLines([proc.stdout, proc.stderr]) };
}

async function reap(child: Child): Promise<Deno.CommandStatus> {
  try {
    child.proc.kill("SIGKILL");
  } catch { /* exited already */ }
  const status = await child.proc.status;
  await child.out.done;
  return status;
}

type Open = () => Promise<EventStore<unknown>>;

async function withBoth(
  fn: (db: string, open: Open) => Promise<void>,
  which: "sqlite" | "postgres",
) {
  if (which === "sqlite") {
    const dir = await Deno.makeTempDir({ prefix: "weft-es-" });
    try {
      const file = `${dir}/events.db`;
      await fn(file, () => Promise.resolve(SqliteEventStore.open(file) as EventStore<unknown>));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  } else {
    const pg = await startPostgres();
    try {
      await fn(pg.url, async () => await PostgresEventStore.connect(pg.url) as EventStore<unknown>);
    } finally {
      await pg.destroy();
    }
  }
}

for (const which of ["sqlite", "postgres"] as const) {
  Deno.test(`${which}: 4 processes appending with exact versions: exactly one wins each version`, async () => {
    await withBoth(async (db, open) => {
      const store = await open();
      await store.close(); // the schema exists before the racers start
      const racers = [0, 1, 2, 3].map((i) => spawnChild(["race", db, "contested", "60", `p${i}`]));
      try {
        await Promise.all(
          racers.map((r) => r.out.waitFor(/^done$/m, { timeout: 120_000, what: "a racer" })),
        );
      } finally {
        await Promise.all(racers.map(reap));
      }
      const wins = racers.flatMap((r, i) =>
        [...r.out.text.matchAll(/^win (\d+)$/gm)].map((m) => ({ v: Number(m[1]), by: `p${i}` }))
      );
      const check = await open();
      try {
        const events = await check.read("contested");
        assert.deepEqual(
          events.map((e) => e.streamVersion),
          Array.from({ length: 60 }, (_, i) => i + 1),
        );
        // every acknowledged win is the event stored at that version, and nobody else's
        assert.equal(wins.length, 60);
        for (const w of wins) assert.deepEqual(events[w.v - 1]!.data, { by: w.by, v: w.v });
        assert.ok(new Set(wins.map((w) => w.by)).size >= 1);
      } finally {
        await check.close();
      }
    }, which);
  });

  Deno.test(`${which}: kill -9 in the middle of appends: every acknowledged event is there, nothing half-written`, async () => {
    await withBoth(async (db, open) => {
      const store = await open();
      await store.close();
      let acked = 0;
      for (let round = 0; round < 2; round++) {
        const child = spawnChild(["append", db, "batches", "5"]);
        try {
          const target = acked + 50;
          for (;;) {
            const m = [...child.out.text.matchAll(/^ack (\d+)$/gm)].at(-1);
            if (m !== undefined && Number(m[1]) >= target) break;
            await child.out.waitFor(new RegExp(`^ack ${target}$`, "m"), {
              timeout: 120_000,
              what: "the appender",
            });
          }
        } finally {
          await reap(child);
        }
        acked = Math.max(...[...child.out.text.matchAll(/^ack (\d+)$/gm)].map((m) => Number(m[1])));
        const check = await open();
        try {
          const events = await check.read("batches");
          assert.ok(
            events.length >= acked,
            `${events.length} events stored, ${acked} acknowledged`,
          );
          assert.equal(events.length % 5, 0, "a batch is all there or not at all");
          events.forEach((e, i) => {
            assert.equal(e.streamVersion, i + 1);
            assert.deepEqual(
              { batch: (e.data as { batch: number }).batch, i: (e.data as { i: number }).i },
              { batch: Math.floor(i / 5), i: i % 5 },
            );
          });
          const all = await check.readAll();
          assert.deepEqual(
            all.map((e) => e.globalPosition),
            all.map((_, i) => i + 1),
            "no gap in $all",
          );
          acked = events.length;
        } finally {
          await check.close();
        }
      }
    }, which);
  });
}

for (const which of ["sqlite", "postgres"] as const) {
  Deno.test(`${which}: a projection killed with kill -9 mid-stream restarts and reaches the model of a clean rebuild`, async () => {
    await withBoth(async (db, open) => {
      const store = await open();
      const random = prng(17);
      const expected: Record<string, [number, number]> = {};
      for (let b = 0; b < 30; b++) {
        const events = Array.from({ length: 25 }, () => {
          const k = `k${Math.floor(random() * 10)}`;
          const n = Math.floor(random() * 100);
          const [s, c] = expected[k] ?? [0, 0];
          expected[k] = [s + n, c + 1];
          return { type: "Add", data: { k, n } };
        });
        await store.append(`s${b % 4}`, events);
      }
      const head = await store.headPosition();
      const first = spawnChild(["project", db, "sums", String(head), "5"]);
      try {
        await first.out.waitFor(/^at (2\d\d|[3-9]\d\d)$/m, {
          timeout: 120_000,
          what: "the projector",
        });
      } finally {
        await reap(first);
      }
      assert.doesNotMatch(first.out.text, /caught up/, "killed mid-stream");
      const checkpoint = await store.checkpoints.load("sums");
      assert.ok(checkpoint > 0 && checkpoint < head);
      const second = spawnChild(["project", db, "sums", String(head), "0"]);
      try {
        await second.out.waitFor(/^caught up$/m, { timeout: 120_000, what: "the projector" });
      } finally {
        await reap(second);
      }
      // a clean rebuild, in this process, of the same projection under another name
      const clean = Projector.start(store, sumProjection("clean", store.adapter) as never);
      await clean.reached(head, 120_000);
      await clean.stop();
      const killed = await readSums(store, "sums");
      assert.deepEqual(killed, await readSums(store, "clean"));
      assert.deepEqual(killed, expected);
      await store.close();
    }, which);
  });
}
