/**
 * The embedded event store: SQLite through `node:sqlite`, in one file of
 * the node's data directory (`<data dir>/events.db`), zero set-up.
 *
 * ```
 * append  BEGIN IMMEDIATE (SQLite's write lock: one writer at a time, across processes)
 *           check the stream's version; position counter += n; INSERT the events
 *         COMMIT (WAL, synchronous=FULL: an acknowledged append survives kill -9 and power loss)
 *         -> onAppend listeners of this store
 * read    SELECT ... ORDER BY version / position
 * ```
 *
 * Writers are serialised twice: within the process by a promise queue (so an
 * async projection transaction and an append never share one BEGIN), and
 * across processes by SQLite's lock (`busy_timeout` waits for it). Since the
 * counter is only advanced under the write lock and a transaction is
 * all-or-nothing, `$all` has no gaps and is read in commit order.
 *
 * Failure: a file that is not an SQLite database is a `StoreCorruptError`; a
 * process killed mid-append leaves the transaction uncommitted, and SQLite
 * rolls it back at the next open.
 *
 * @example
 * ```ts
 * import { SqliteEventStore } from "./sqlite_event_store.ts";
 * const store = SqliteEventStore.open(":memory:");
 * const r = await store.append("cart-1", [{ type: "Added", data: { sku: "x" } }, { type: "Added", data: { sku: "y" } }]);
 * console.assert(r.streamVersion === 2 && r.globalPosition === 2);
 * console.assert((await store.readAll({ from: 2 })).length === 1);
 * await store.close();
 * ```
 *
 * @module
 */

import { StoreCorruptError, StreamDeletedError } from "../errors.ts";
import type { DatabaseSync as Database, StatementSync } from "../storage/_node_sqlite.d.ts";
import {
  assertExpected,
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

// node:sqlite loads with the first database a node opens, not with every node
// (@types/node 20 has no declarations for node:sqlite, which Deno ships).
let sqlite: { DatabaseSync: typeof Database } | undefined;
function DatabaseSyncClass(): typeof Database {
  sqlite ??= process.getBuiltinModule("node:sqlite") as { DatabaseSync: typeof Database };
  return sqlite.DatabaseSync;
}

/** What a projection writes its read model through, inside the checkpoint's transaction. */
export interface SqliteTx {
  /** Runs one statement with parameters. */
  run(sql: string, ...params: unknown[]): { changes: number | bigint };
  /** The first row of a query. */
  get<R = Record<string, unknown>>(sql: string, ...params: unknown[]): R | undefined;
  /** Every row of a query. */
  all<R = Record<string, unknown>>(sql: string, ...params: unknown[]): R[];
  /** Runs statements without parameters (DDL). */
  exec(sql: string): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS es_streams (
  stream TEXT PRIMARY KEY, version INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS es_events (
  position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL,
  id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL,
  causation_id TEXT, correlation_id TEXT, created_at INTEGER NOT NULL,
  UNIQUE (stream, version)
);
CREATE TABLE IF NOT EXISTS es_position (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL);
INSERT OR IGNORE INTO es_position (id, position) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS es_snapshots (
  stream TEXT PRIMARY KEY, version INTEGER NOT NULL, state TEXT NOT NULL, created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS es_checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
`;

const COLUMNS =
  "position, stream, version, id, type, data, metadata, causation_id, correlation_id, created_at";

interface EventRow {
  position: number;
  stream: string;
  version: number;
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
    streamVersion: row.version,
    globalPosition: row.position,
    type: row.type,
    data: JSON.parse(row.data),
    metadata: row.metadata === "{}" ? {} : JSON.parse(row.metadata),
    causationId: row.causation_id ?? undefined,
    correlationId: row.correlation_id ?? undefined,
    createdAt: new Date(row.created_at),
  };
}

/** Options of {@linkcode SqliteEventStore.open}. */
export interface SqliteEventStoreOptions {
  /** Milliseconds to wait for another process's write lock. Default 10000. */
  busyTimeout?: number;
}

/**
 * The SQLite event store (see the module doc).
 *
 * @example
 * ```ts
 * import { SqliteEventStore } from "./sqlite_event_store.ts";
 * const store = SqliteEventStore.open(":memory:");
 * await store.append("a", [{ type: "T", data: 1 }]);
 * console.assert(await store.streamVersion("a") === 1);
 * await store.close();
 * ```
 */
export class SqliteEventStore implements EventStore<SqliteTx> {
  /** The adapter's name. */
  readonly adapter = "sqlite";
  /** The database file. */
  readonly file: string;
  /** Snapshots, in the same file. */
  readonly snapshots: SnapshotStore;
  /** Checkpoints, in the same file. */
  readonly checkpoints: CheckpointStore;
  #db: Database;
  #stmts = new Map<string, StatementSync>();
  #queue: Promise<unknown> = Promise.resolve();
  #listeners = new Set<(position: number) => void>();
  #closed = false;
  #tx: SqliteTx;

  private constructor(file: string, db: Database) {
    this.file = file;
    this.#db = db;
    this.#tx = {
      run: (sql, ...params) => this.#stmt(sql).run(...params),
      get: <R>(sql: string, ...params: unknown[]) =>
        this.#stmt(sql).get(...params) as R | undefined,
      all: <R>(sql: string, ...params: unknown[]) => this.#stmt(sql).all(...params) as R[],
      exec: (sql) => this.#db.exec(sql),
    };
    this.snapshots = {
      save: (stream, version, state) => {
        checkStream(stream, "save a snapshot");
        const text = toJson(state, `Cannot save snapshot of ${stream}`, "state");
        return this.#write(() => {
          this.#stmt(
            "INSERT INTO es_snapshots (stream, version, state, created_at) VALUES (?, ?, ?, ?) " +
              "ON CONFLICT (stream) DO UPDATE SET version = excluded.version, state = excluded.state, " +
              "created_at = excluded.created_at WHERE excluded.version >= es_snapshots.version",
          ).run(stream, version, text, Date.now());
        });
      },
      load: <S>(stream: string) => {
        this.#open();
        const row = this.#stmt(
          "SELECT version, state, created_at FROM es_snapshots WHERE stream = ?",
        )
          .get(stream) as { version: number; state: string; created_at: number } | undefined;
        return Promise.resolve(
          row === undefined ? undefined : {
            version: row.version,
            state: JSON.parse(row.state) as S,
            createdAt: new Date(row.created_at),
          } satisfies Snapshot<S>,
        );
      },
      delete: (stream) =>
        this.#write(() => void this.#stmt("DELETE FROM es_snapshots WHERE stream = ?").run(stream)),
    };
    this.checkpoints = {
      load: (name) => {
        this.#open();
        const row = this.#stmt("SELECT position FROM es_checkpoints WHERE name = ?").get(name) as
          | { position: number }
          | undefined;
        return Promise.resolve(row?.position ?? 0);
      },
      save: (name, position) => this.#write(() => this.#saveCheckpoint(name, position)),
    };
  }

  /**
   * Opens (creating if needed, with its directory) an event store file.
   *
   * @param file the path, or `":memory:"`
   * @param options the lock wait
   * @returns the store
   * @throws {TypeError} when `file` is not a non-empty string
   * @throws {StoreCorruptError} when the file is not a readable SQLite database
   */
  static open(file: string, options: SqliteEventStoreOptions = {}): SqliteEventStore {
    if (typeof file !== "string" || file === "") {
      throw new TypeError("Cannot open event store: expected a file path");
    }
    if (file !== ":memory:") Deno.mkdirSync(parentDir(file), { recursive: true });
    let db: Database | undefined;
    try {
      db = new (DatabaseSyncClass())(file);
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeout ?? 10_000))}`);
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = FULL");
      db.exec("BEGIN IMMEDIATE");
      db.exec(SCHEMA);
      db.exec("COMMIT");
      return new SqliteEventStore(file, db);
    } catch (e) {
      try {
        db?.close();
      } catch { /* already unusable */ }
      throw new StoreCorruptError(
        `Cannot open event store ${file}: ${(e as Error).message}`,
        file,
        { cause: e },
      );
    }
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
    return this.#write(() => {
      const now = Date.now();
      const current = this.#stmt("SELECT version, deleted FROM es_streams WHERE stream = ?")
        .get(stream) as { version: number; deleted: number } | undefined;
      if (current?.deleted) throw new StreamDeletedError(stream);
      const version = current?.version ?? 0;
      assertExpected(stream, expected, version);
      const { position: last } = this.#stmt(
        "UPDATE es_position SET position = position + ? WHERE id = 1 RETURNING position",
      ).get(rows.length) as { position: number };
      const insert = this.#stmt(`INSERT INTO es_events (${COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)`);
      let position = last - rows.length;
      let v = version;
      for (const r of rows) {
        insert.run(
          ++position,
          stream,
          ++v,
          r.id,
          r.type,
          r.data,
          r.metadata,
          r.causationId,
          r.correlationId,
          now,
        );
      }
      this.#stmt(
        "INSERT INTO es_streams (stream, version) VALUES (?, ?) " +
          "ON CONFLICT (stream) DO UPDATE SET version = excluded.version",
      ).run(stream, v);
      return { streamVersion: v, globalPosition: last };
    }, (r) => this.#notify(r.globalPosition));
  }

  /** {@inheritDoc EventStore.read} */
  read(stream: string, options?: StreamReadOptions): Promise<RecordedEvent[]> {
    checkStream(stream, "read");
    const { forward, from, limit } = checkRead(options, `read ${stream}`);
    this.#open();
    const state = this.#stmt("SELECT deleted FROM es_streams WHERE stream = ?").get(stream) as
      | { deleted: number }
      | undefined;
    if (state?.deleted) return Promise.reject(new StreamDeletedError(stream));
    const rows = this.#stmt(
      `SELECT ${COLUMNS} FROM es_events WHERE stream = ? AND version ${forward ? ">=" : "<="} ? ` +
        `ORDER BY version ${forward ? "ASC" : "DESC"} LIMIT ?`,
    ).all(stream, from ?? (forward ? 0 : Number.MAX_SAFE_INTEGER), limit ?? -1) as EventRow[];
    return Promise.resolve(rows.map(toRecorded));
  }

  /** {@inheritDoc EventStore.readAll} */
  readAll(options?: StreamReadOptions): Promise<RecordedEvent[]> {
    const { forward, from, limit } = checkRead(options, "read $all");
    this.#open();
    const rows = this.#stmt(
      `SELECT ${COLUMNS} FROM es_events WHERE position ${forward ? ">=" : "<="} ? ` +
        `ORDER BY position ${forward ? "ASC" : "DESC"} LIMIT ?`,
    ).all(from ?? (forward ? 0 : Number.MAX_SAFE_INTEGER), limit ?? -1) as EventRow[];
    return Promise.resolve(rows.map(toRecorded));
  }

  /** {@inheritDoc EventStore.streamVersion} */
  streamVersion(stream: string): Promise<number> {
    checkStream(stream, "read the version of a stream");
    this.#open();
    const row = this.#stmt("SELECT version FROM es_streams WHERE stream = ?").get(stream) as
      | { version: number }
      | undefined;
    return Promise.resolve(row?.version ?? 0);
  }

  /** {@inheritDoc EventStore.headPosition} */
  headPosition(): Promise<number> {
    this.#open();
    const row = this.#stmt("SELECT position FROM es_position WHERE id = 1").get() as {
      position: number;
    };
    return Promise.resolve(row.position);
  }

  /** {@inheritDoc EventStore.deleteStream} */
  deleteStream(stream: string, options: DeleteOptions = {}): Promise<void> {
    checkStream(stream, "delete a stream");
    const expected = checkExpected(options.expectedVersion, `delete ${stream}`);
    return this.#write(() => {
      const current = this.#stmt("SELECT version, deleted FROM es_streams WHERE stream = ?")
        .get(stream) as { version: number; deleted: number } | undefined;
      if (current?.deleted) throw new StreamDeletedError(stream);
      assertExpected(stream, expected, current?.version ?? 0);
      this.#stmt(
        "INSERT INTO es_streams (stream, version, deleted) VALUES (?, ?, 1) " +
          "ON CONFLICT (stream) DO UPDATE SET deleted = 1",
      ).run(stream, current?.version ?? 0);
      if (options.hard) this.#stmt("DELETE FROM es_events WHERE stream = ?").run(stream);
      this.#stmt("DELETE FROM es_snapshots WHERE stream = ?").run(stream);
    });
  }

  /** {@inheritDoc EventStore.withCheckpoint} */
  withCheckpoint<T>(
    name: string,
    position: number,
    fn: (tx: SqliteTx) => T | Promise<T>,
  ): Promise<T> {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("Cannot save a checkpoint: name must be a non-empty string");
    }
    return this.#writeAsync(async () => {
      const result = await fn(this.#tx);
      this.#saveCheckpoint(name, position);
      return result;
    });
  }

  /** {@inheritDoc EventStore.onAppend} */
  onAppend(listener: (position: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Closes the database once the writes queued before have finished. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.catch(() => {});
    this.#listeners.clear();
    this.#db.close();
  }

  #saveCheckpoint(name: string, position: number): void {
    this.#stmt(
      "INSERT INTO es_checkpoints (name, position) VALUES (?, ?) " +
        "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
    ).run(name, position);
  }

  #notify(position: number): void {
    for (const listener of this.#listeners) listener(position);
  }

  #open(): void {
    if (this.#closed) throw new TypeError(`Event store ${this.file} is closed`);
  }

  #stmt(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  /** One synchronous write transaction, queued behind the others of this store. */
  #write<T>(fn: () => T, after?: (result: T) => void): Promise<T> {
    return this.#writeAsync(() => fn(), after);
  }

  #writeAsync<T>(fn: () => T | Promise<T>, after?: (result: T) => void): Promise<T> {
    try {
      this.#open();
    } catch (e) {
      return Promise.reject(e);
    }
    const run = async () => {
      this.#db.exec("BEGIN IMMEDIATE");
      let result: T;
      try {
        result = await fn();
        this.#db.exec("COMMIT");
      } catch (e) {
        this.#db.exec("ROLLBACK");
        throw e;
      }
      after?.(result);
      return result;
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => {});
    return p;
  }
}

/** The directory holding `file` (`.` for a bare file name). */
function parentDir(file: string): string {
  const slash = file.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : file.slice(0, slash);
}
