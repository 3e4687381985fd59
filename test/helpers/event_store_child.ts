/**
 * A child process that works an event store for the multi-process event
 * sourcing tests (run as `deno run -A event_store_child.ts MODE DB ...`,
 * DB a `postgres://` URL or an SQLite file). Each prints what it has done
 * line by line, so the test knows what was acknowledged before it kills it.
 *
 * ```
 * race    DB STREAM TARGET ID  read the version v, append with expectedVersion v: "win <v+1>"
 *                              until the stream reaches TARGET; then "done"
 * append  DB STREAM BATCH      append BATCH events at a time, for ever: "ack <version>" after each
 * project DB NAME TARGET MS    run projection NAME (sums of data.n by data.k in table NAME),
 *                              pausing MS ms per batch: "at <position>" as it goes,
 *                              "caught up" at TARGET
 * ```
 *
 * @module
 */

import { WrongExpectedVersionError } from "../../src/errors.ts";
import type { EventStore } from "../../src/event_sourcing/event_store.ts";
import { PostgresEventStore } from "../../src/event_sourcing/postgres_event_store.ts";
import { type Projection, Projector } from "../../src/event_sourcing/projection.ts";
import { SqliteEventStore } from "../../src/event_sourcing/sqlite_event_store.ts";
import { sumProjection } from "./event_store_models.ts";

const encoder = new TextEncoder();
function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

const [mode, db, ...args] = Deno.args;
const store: EventStore<unknown> = db!.startsWith("postgres://")
  ? await PostgresEventStore.connect(db!, { retries: 20 }) as EventStore<unknown>
  : SqliteEventStore.open(db!) as EventStore<unknown>;

switch (mode) {
  case "race": {
    const [stream, target, id] = args as [string, string, string];
    for (;;) {
      const v = await store.streamVersion(stream);
      if (v >= Number(target)) break;
      try {
        await store.append(stream, [{ type: "Won", data: { by: id, v: v + 1 } }], {
          expectedVersion: v,
        });
        say(`win ${v + 1}`);
      } catch (e) {
        if (!(e instanceof WrongExpectedVersionError)) throw e;
      }
    }
    say("done");
    await store.close();
    break;
  }
  case "append": {
    const [stream, batch] = args as [string, string];
    let v = await store.streamVersion(stream);
    for (let n = 0;; n++) {
      const events = Array.from({ length: Number(batch) }, (_, i) => ({
        type: "Batch",
        data: { batch: v / Number(batch), i, pad: "x".repeat(200) },
      }));
      const r = await store.append(stream, events, { expectedVersion: v });
      v = r.streamVersion;
      say(`ack ${v}`);
    }
  }
  // falls through: the loop above never ends
  case "project": {
    const [name, target, ms] = args as [string, string, string];
    const model = sumProjection(name, store.adapter) as Projection<unknown>;
    const slow: Projection<unknown> = {
      ...model,
      handle: async (e, tx) => {
        await model.handle(e, tx);
        if (e.globalPosition % 7 === 0) await new Promise((r) => setTimeout(r, Number(ms)));
      },
    };
    const projector = Projector.start(store, slow, { batchSize: 7 });
    let last = -1;
    while (projector.position < Number(target)) {
      if (projector.status === "failed") throw projector.error;
      if (projector.position !== last) {
        last = projector.position;
        say(`at ${last}`);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    say("caught up");
    await projector.stop();
    await store.close();
    break;
  }
  default:
    throw new TypeError(`Unknown mode ${mode}`);
}
