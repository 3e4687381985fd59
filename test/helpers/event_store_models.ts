/**
 * A small read model for the event sourcing tests, on both adapters: the sum
 * of `data.n` by `data.k`, in a table named after the projection.
 *
 * @module
 */

import type { PostgresTx } from "../../src/event_sourcing/postgres_event_store.ts";
import type { Projection } from "../../src/event_sourcing/projection.ts";
import type { SqliteTx } from "../../src/event_sourcing/sqlite_event_store.ts";
import type { EventStore } from "../../src/event_sourcing/event_store.ts";

/** The projection `name` for adapter `"sqlite"` or `"postgres"`. */
export function sumProjection(
  name: string,
  adapter: string,
): Projection<SqliteTx> | Projection<PostgresTx> {
  if (adapter === "sqlite") {
    return {
      name,
      init: (tx) =>
        tx.exec(`CREATE TABLE IF NOT EXISTS ${name} (k TEXT PRIMARY KEY, n INTEGER, c INTEGER)`),
      handle: (e, tx) => {
        const d = e.data as { k: string; n: number };
        tx.run(
          `INSERT INTO ${name} VALUES (?, ?, 1) ON CONFLICT (k) DO UPDATE SET n = n + excluded.n, c = c + 1`,
          d.k,
          d.n,
        );
      },
      reset: (tx) => tx.exec(`DELETE FROM ${name}`),
    } satisfies Projection<SqliteTx>;
  }
  return {
    name,
    init: async (tx) => {
      await tx.unsafe(
        `CREATE TABLE IF NOT EXISTS ${name} (k text PRIMARY KEY, n bigint, c bigint)`,
      );
    },
    handle: async (e, tx) => {
      const d = e.data as { k: string; n: number };
      await tx.unsafe(
        `INSERT INTO ${name} VALUES ($1, $2, 1) ON CONFLICT (k) DO UPDATE SET n = ${name}.n + excluded.n, c = ${name}.c + 1`,
        [d.k, d.n],
      );
    },
    reset: async (tx) => {
      await tx.unsafe(`DELETE FROM ${name}`);
    },
  } satisfies Projection<PostgresTx>;
}

/** The rows of the model, `k -> [n, c]`, sorted by k. */
export function readSums(
  store: EventStore<unknown>,
  name: string,
): Promise<Record<string, [number, number]>> {
  return store.withCheckpoint(`_read_${name}`, 0, async (tx) => {
    const rows = store.adapter === "sqlite"
      ? (tx as SqliteTx).all<{ k: string; n: number; c: number }>(
        `SELECT k, n, c FROM ${name} ORDER BY k`,
      )
      : (await (tx as PostgresTx).unsafe(`SELECT k, n, c FROM ${name} ORDER BY k`)) as unknown as {
        k: string;
        n: number;
        c: number;
      }[];
    return Object.fromEntries(rows.map((r) => [r.k, [Number(r.n), Number(r.c)]]));
  });
}
