/**
 * The event store on PostgreSQL, the real database for production, through
 * the npm `postgres` client. Tables live in one schema (default `public`),
 * created on first connect:
 *
 * ```
 * weft_es_streams(stream, version, deleted)      one row per stream: its lock and version
 * weft_es_events(position, stream, version, id, type, data jsonb, metadata jsonb, ...)
 * weft_es_position(id = 1, position)             the $all counter: a single row
 * weft_es_snapshots, weft_es_checkpoints
 * ```
 *
 * An append is ONE statement, `SELECT * FROM weft_es_append(...)`, so one
 * round trip and one implicit transaction:
 *
 * ```
 * client ---- weft_es_append(stream, expected, ids[], types[], data[], ...) ----> server
 *   INSERT stream row if missing; SELECT ... FOR UPDATE       (appenders to one stream queue here)
 *   expected version? no -> RAISE 'WE001' (actual)             -> WrongExpectedVersionError
 *   UPDATE weft_es_position SET position = position + n       (the row stays locked until COMMIT)
 *   INSERT the n events at positions p+1..p+n; bump the stream version
 *   pg_notify('weft_es', p+n)                                  (delivered at COMMIT)
 * client <--- (stream version, last position) --------------------------------
 * LISTEN weft_es ---> onAppend listeners in every process connected to the database
 * ```
 *
 * Why the single-row counter and not a sequence: a sequence hands out
 * numbers before commit, so a reader can see position n+1 committed while
 * n is still in flight, and skip it for ever (the classic gap). Holding the
 * counter row until commit makes appends commit in position order: a reader
 * never sees n+1 before n, and a rolled-back append leaves no hole.
 *
 * Failure: a connection error (PostgreSQL stopped, restarting, unreachable)
 * is retried with backoff, then becomes an `EventStoreUnavailableError`. A
 * retried append first looks up its first event's id, so an append whose
 * COMMIT succeeded but whose answer was lost is not written twice; an append
 * is never half-written, since it is one transaction.
 *
 * @example
 * ```ts ignore
 * import { PostgresEventStore } from "./postgres_event_store.ts";
 * const store = await PostgresEventStore.connect("postgres://postgres@127.0.0.1:5432/postgres");
 * await store.append("account-1", [{ type: "Opened", data: {} }], { expectedVersion: "no_stream" });
 * await store.close();
 * ```
 *
 * @module
 */

import type postgres from "postgres";
import {
  EventStoreUnavailableError,
  StreamDeletedError,
  WrongExpectedVersionError,
} from "../errors.ts";
import {
  checkExpected,
  checkRead,
  checkStream,
  type EventStore,
  serializeEvents,
  toJson,
} from "./event_store.ts";
import type {
  AppendOptions,
  AppendResult,
  CheckpointStore,
  DeleteOptions,
  EventData,
  RecordedEvent,
  Snapshot,
  SnapshotStore,
  StreamReadOptions,
} from "./types.ts";

/** What a projection writes its read model through: the checkpoint's transaction. */
export type PostgresTx = postgres.TransactionSql;

/** Options of {@linkcode PostgresEventStore.connect}. */
export interface PostgresEventStoreOptions {
  /** The schema that holds the tables (created if missing). Default `"public"`. */
  schema?: string;
  /** Most connections in the pool. Default 10. */
  max?: number;
  /** Attempts of an operation that meets a connection error. Default 5. */
  retries?: number;
  /** Milliseconds before the first retry, doubled each time (at most 2 s). Default 100. */
  retryDelay?: number;
  /** Seconds to wait for a connection. Default 10. */
  connectTimeout?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS weft_es_streams (
  stream text PRIMARY KEY, version bigint NOT NULL, deleted boolean NOT NULL DEFAULT false);
CREATE TABLE IF NOT EXISTS weft_es_events (
  position bigint PRIMARY KEY, stream text NOT NULL, version bigint NOT NULL, id text NOT NULL UNIQUE,
  type text NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL, causation_id text,
  correlation_id text, created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream, version));
CREATE TABLE IF NOT EXISTS weft_es_position (id int PRIMARY KEY CHECK (id = 1), position bigint NOT NULL);
INSERT INTO weft_es_position (id, position) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS weft_es_snapshots (
  stream text PRIMARY KEY, version bigint NOT NULL, state jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS weft_es_checkpoints (name text PRIMARY KEY, position bigint NOT NULL);
CREATE OR REPLACE FUNCTION weft_es_append(
  p_stream text, p_expected text, p_retry boolean, p_ids text[], p_types text[], p_data text[],
  p_meta text[], p_causation text[], p_correlation text[])
RETURNS TABLE (stream_version bigint, global_position bigint) LANGUAGE plpgsql AS $$
DECLARE
  v_version bigint; v_deleted boolean; v_n int := cardinality(p_ids); v_last bigint;
BEGIN
  IF p_retry THEN
    RETURN QUERY SELECT e.version, e.position FROM weft_es_events e WHERE e.id = p_ids[v_n];
    IF FOUND THEN RETURN; END IF;
  END IF;
  INSERT INTO weft_es_streams (stream, version) VALUES (p_stream, 0) ON CONFLICT DO NOTHING;
  SELECT s.version, s.deleted INTO v_version, v_deleted
    FROM weft_es_streams s WHERE s.stream = p_stream FOR UPDATE;
  IF v_deleted THEN RAISE EXCEPTION USING ERRCODE = 'WE002', MESSAGE = p_stream; END IF;
  IF NOT (p_expected = 'any' OR (p_expected = 'no_stream' AND v_version = 0)
      OR (p_expected = 'stream_exists' AND v_version > 0)
      OR (p_expected ~ '^[0-9]+$' AND p_expected::bigint = v_version)) THEN
    RAISE EXCEPTION USING ERRCODE = 'WE001', MESSAGE = v_version::text;
  END IF;
  UPDATE weft_es_position SET position = position + v_n WHERE id = 1 RETURNING position INTO v_last;
  INSERT INTO weft_es_events
    (position, stream, version, id, type, data, metadata, causation_id, correlation_id)
    SELECT v_last - v_n + i, p_stream, v_version + i, p_ids[i], p_types[i], p_data[i]::jsonb,
      p_meta[i]::jsonb, p_causation[i], p_correlation[i]
    FROM generate_subscripts(p_ids, 1) AS i;
  UPDATE weft_es_streams SET version = v_version + v_n WHERE stream = p_stream;
  PERFORM pg_notify('weft_es', v_last::text);
  RETURN QUERY SELECT v_version + v_n, v_last;
END $$;
`;

const COLUMNS = "position, stream, version, id, type, data::text AS data, " +
  "metadata::text AS metadata, causation_id, correlation_id, " +
  "(extract(epoch FROM created_at) * 1000)::float8 AS created_at";

interface EventRow {
  position: string;
  stream: string;
  version: string;
  id: string;
  type: string;
  data: string;
  metadata: string;
  causation_id: string | null;
  correlation_id: string | null;
  created_at: number;
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    stream: row.stream,
    streamVersion: Number(row.version),
    globalPosition: Number(row.position),
    type: row.type,
    data: JSON.parse(row.data),
    metadata: row.metadata === "{}" ? {} : JSON.parse(row.metadata),
    causationId: row.causation_id ?? undefined,
    correlationId: row.correlation_id ?? undefined,
    createdAt: new Date(row.created_at),
  };
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
]);

/** Whether an error means the database could not be reached (worth a retry). */
function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== "string") return e.name === "ConnectionRefused";
  return CONNECTION_CODES.has(code) || code.startsWith("08");
}

/**
 * The PostgreSQL event store (see the module doc).
 *
 * @example
 * ```ts ignore
 * import { PostgresEventStore } from "./postgres_event_store.ts";
 * const store = await PostgresEventStore.connect("postgres://postgres@127.0.0.1:5432/postgres", { schema: "shop" });
 * console.assert(store.adapter === "postgres");
 * await store.close();
 * ```
 */
export class PostgresEventStore implements EventStore<PostgresTx> {
  /** The adapter's name. */
  readonly adapter = "postgres";
  /** Snapshots, in the same database. */
  readonly snapshots: SnapshotStore;
  /** Checkpoints, in the same database. */
  readonly checkpoints: CheckpointStore;
  #sql: postgres.Sql;
  #retries: number;
  #retryDelay: number;
  #listeners = new Set<(position: number) => void>();
  #listening: Promise<{ unlisten(): Promise<void> }> | undefined;
  #closed = false;

  private constructor(sql: postgres.Sql, options: PostgresEventStoreOptions) {
    this.#sql = sql;
    this.#retries = Math.max(1, options.retries ?? 5);
    this.#retryDelay = Math.max(1, options.retryDelay ?? 100);
    this.snapshots = {
      save: (stream, version, state) => {
        checkStream(stream, "save a snapshot");
        const text = toJson(state, `Cannot save snapshot of ${stream}`, "state");
        return this.#retry("save a snapshot", async () => {
          await this.#q(
            "INSERT INTO weft_es_snapshots (stream, version, state) VALUES ($1, $2, $3::text::jsonb) " +
              "ON CONFLICT (stream) DO UPDATE SET version = excluded.version, state = excluded.state, " +
              "created_at = now() WHERE excluded.version >= weft_es_snapshots.version",
            [stream, version, text],
          );
        });
      },
      load: <S>(stream: string) =>
        this.#retry("load a snapshot", async () => {
          const [row] = await this.#q(
            "SELECT version, state::text AS state, " +
              "(extract(epoch FROM created_at) * 1000)::float8 AS created_at " +
              "FROM weft_es_snapshots WHERE stream = $1",
            [stream],
          );
          return row === undefined ? undefined : {
            version: Number(row.version),
            state: JSON.parse(row.state) as S,
            createdAt: new Date(row.created_at),
          } satisfies Snapshot<S>;
        }),
      delete: (stream) =>
        this.#retry("delete a snapshot", async () => {
          await this.#q("DELETE FROM weft_es_snapshots WHERE stream = $1", [stream]);
        }),
    };
    this.checkpoints = {
      load: (name) =>
        this.#retry("load a checkpoint", async () => {
          const [row] = await this.#q(
            "SELECT position FROM weft_es_checkpoints WHERE name = $1",
            [name],
          );
          return row === undefined ? 0 : Number(row.position);
        }),
      save: (name, position) =>
        this.#retry("save a checkpoint", async () => {
          await saveCheckpoint(this.#sql, name, position);
        }),
    };
  }

  /**
   * Connects to PostgreSQL and creates the tables if they are missing.
   *
   * @param url a `postgres://user@host:port/database` URL
   * @param options the schema, the pool size, retries
   * @returns the store
   * @throws {EventStoreUnavailableError} when the database cannot be reached (after retries)
   */
  static async connect(
    url: string,
    options: PostgresEventStoreOptions = {},
  ): Promise<PostgresEventStore> {
    if (typeof url !== "string" || url === "") {
      throw new TypeError("Cannot connect the event store: expected a postgres:// URL");
    }
    const schema = options.schema ?? "public";
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) {
      throw new TypeError(
        `Cannot connect the event store: schema must match [a-z_][a-z0-9_]*, received "${schema}"`,
      );
    }
    // The client loads with the first store, not with every node.
    const { default: postgres } = await import("postgres");
    const sql = postgres(url, {
      max: options.max ?? 10,
      onnotice: false,
      connect_timeout: options.connectTimeout ?? 10,
      connection: { search_path: schema },
    });
    const store = new PostgresEventStore(sql, options);
    try {
      await store.#retry("create the event store's tables", async () => {
        await sql.begin(async (tx) => {
          // Two processes creating the tables at once would race on the catalog.
          await tx.unsafe("SELECT pg_advisory_xact_lock(1466262116)");
          await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
          await tx.unsafe(SCHEMA);
        });
      });
    } catch (e) {
      await sql.end({ timeout: 1 });
      throw e;
    }
    return store;
  }

  /** {@inheritDoc EventStore.append} */
  append(
    stream: string,
    events: readonly EventData[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    checkStream(stream, "append");
    const expected = checkExpected(options.expectedVersion, `append to ${stream}`);
    const rows = serializeEvents(stream, events);
    const params = [
      rows.map((r) => r.id),
      rows.map((r) => r.type),
      rows.map((r) => r.data),
      rows.map((r) => r.metadata),
      rows.map((r) => r.causationId),
      rows.map((r) => r.correlationId),
    ];
    let attempt = 0;
    return this.#retry(`append to ${stream}`, async () => {
      try {
        const [row] = await this.#q(
          "SELECT stream_version, global_position FROM " +
            "weft_es_append($1, $2, $3, $4, $5, $6, $7, $8, $9)",
          [stream, String(expected), attempt++ > 0, ...params],
        );
        return {
          streamVersion: Number(row!.stream_version),
          globalPosition: Number(row!.global_position),
        };
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === "WE001") {
          throw new WrongExpectedVersionError(stream, expected, Number((e as Error).message));
        }
        if (code === "WE002") throw new StreamDeletedError(stream);
        throw e;
      }
    });
  }

  /** {@inheritDoc EventStore.read} */
  read(stream: string, options?: StreamReadOptions): Promise<RecordedEvent[]> {
    checkStream(stream, "read");
    const { forward, from, limit } = checkRead(options, `read ${stream}`);
    return this.#retry(`read ${stream}`, async () => {
      // One round trip: the stream's row (absent: no stream), its deleted flag, and the events.
      const rows = await this.#q(
        `SELECT s.deleted, e.* FROM weft_es_streams s LEFT JOIN LATERAL (SELECT ${COLUMNS} ` +
          `FROM weft_es_events WHERE stream = s.stream AND version ${forward ? ">=" : "<="} $2 ` +
          `ORDER BY version ${forward ? "ASC" : "DESC"} LIMIT $3) e ON true WHERE s.stream = $1`,
        [stream, from ?? (forward ? 0 : Number.MAX_SAFE_INTEGER), limit ?? null],
      );
      if (rows[0]?.deleted) throw new StreamDeletedError(stream);
      return (rows as unknown as (EventRow & { position: string | null })[])
        .filter((r) => r.position !== null)
        .map(toRecorded);
    });
  }

  /** {@inheritDoc EventStore.readAll} */
  readAll(options?: StreamReadOptions): Promise<RecordedEvent[]> {
    const { forward, from, limit } = checkRead(options, "read $all");
    return this.#retry("read $all", async () => {
      const rows = await this.#q(
        `SELECT ${COLUMNS} FROM weft_es_events WHERE position ${forward ? ">=" : "<="} $1 ` +
          `ORDER BY position ${forward ? "ASC" : "DESC"} LIMIT $2`,
        [from ?? (forward ? 0 : Number.MAX_SAFE_INTEGER), limit ?? null],
      );
      return (rows as unknown as EventRow[]).map(toRecorded);
    });
  }

  /** {@inheritDoc EventStore.streamVersion} */
  streamVersion(stream: string): Promise<number> {
    checkStream(stream, "read the version of a stream");
    return this.#retry(`read the version of ${stream}`, async () => {
      const [row] = await this.#q(
        "SELECT version FROM weft_es_streams WHERE stream = $1",
        [stream],
      );
      return row === undefined ? 0 : Number(row.version);
    });
  }

  /** {@inheritDoc EventStore.headPosition} */
  headPosition(): Promise<number> {
    return this.#retry("read the $all position", async () => {
      const [row] = await this.#q("SELECT position FROM weft_es_position WHERE id = 1");
      return Number(row!.position);
    });
  }

  /** {@inheritDoc EventStore.deleteStream} */
  deleteStream(stream: string, options: DeleteOptions = {}): Promise<void> {
    checkStream(stream, "delete a stream");
    const expected = checkExpected(options.expectedVersion, `delete ${stream}`);
    return this.#retry(`delete ${stream}`, async () => {
      await this.#sql.begin(async (tx) => {
        await tx.unsafe(
          "INSERT INTO weft_es_streams (stream, version) VALUES ($1, 0) ON CONFLICT DO NOTHING",
          [stream],
        );
        const [row] = await tx.unsafe(
          "SELECT version, deleted FROM weft_es_streams WHERE stream = $1 FOR UPDATE",
          [stream],
        );
        if (row!.deleted) throw new StreamDeletedError(stream);
        const actual = Number(row!.version);
        const ok = expected === "any" || (expected === "no_stream" && actual === 0) ||
          (expected === "stream_exists" && actual > 0) || expected === actual;
        if (!ok) throw new WrongExpectedVersionError(stream, expected, actual);
        await tx.unsafe("UPDATE weft_es_streams SET deleted = true WHERE stream = $1", [stream]);
        if (options.hard) {
          await tx.unsafe("DELETE FROM weft_es_events WHERE stream = $1", [stream]);
        }
        await tx.unsafe("DELETE FROM weft_es_snapshots WHERE stream = $1", [stream]);
      });
    });
  }

  /** {@inheritDoc EventStore.withCheckpoint} */
  async withCheckpoint<T>(
    name: string,
    position: number,
    fn: (tx: PostgresTx) => T | Promise<T>,
  ): Promise<T> {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("Cannot save a checkpoint: name must be a non-empty string");
    }
    return await this.#sql.begin(async (tx) => {
      const result = await fn(tx);
      await saveCheckpoint(tx, name, position);
      return result;
    }) as T;
  }

  /** {@inheritDoc EventStore.onAppend} */
  onAppend(listener: (position: number) => void): () => void {
    this.#listeners.add(listener);
    if (this.#listening === undefined && !this.#closed) {
      this.#listening = this.#sql.listen("weft_es", (payload) => {
        const position = Number(payload);
        for (const l of this.#listeners) l(position);
      });
      this.#listening.catch(() => {});
    }
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once LISTEN is in place (after the first `onAppend`). */
  async listening(): Promise<void> {
    await this.#listening;
  }

  /** Closes the pool (and the LISTEN connection). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    const listening = this.#listening;
    if (listening !== undefined) {
      try {
        await (await listening).unlisten();
      } catch { /* the connection is gone */ }
    }
    await this.#sql.end({ timeout: 5 });
  }

  /** One statement, as a named prepared statement: one round trip once the connection knows it. */
  #q(query: string, params: unknown[] = []): Promise<postgres.Row[]> {
    return this.#sql.unsafe(query, params as postgres.ParameterOrJSON<never>[], { prepare: true });
  }

  async #retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new TypeError(`Cannot ${what}: the event store is closed`);
    let delay = this.#retryDelay;
    for (let attempt = 1;; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!isConnectionError(e)) throw e;
        if (attempt >= this.#retries || this.#closed) {
          throw new EventStoreUnavailableError(
            `Event store unavailable: cannot ${what} after ${attempt} attempts: ${
              (e as Error).message
            }`,
            { cause: e },
          );
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(2000, delay * 2);
      }
    }
  }
}

async function saveCheckpoint(
  sql: postgres.Sql | postgres.TransactionSql,
  name: string,
  position: number,
): Promise<void> {
  await sql.unsafe(
    "INSERT INTO weft_es_checkpoints (name, position) VALUES ($1, $2) " +
      "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
    [name, position],
  );
}
