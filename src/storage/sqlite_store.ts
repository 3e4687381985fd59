/**
 * The embedded durable store: a key-value table per namespace in one SQLite
 * file (`node:sqlite`), for the replicator's durable keys and, later, Raft's
 * log and the event store. Values are bytes; the caller encodes them.
 *
 * ```
 * open(file)            mkdir -p dirname(file); open; WAL journal; create the table
 * put(ns, key, bytes)   one row, written before put() returns (synchronous=NORMAL: a
 *                       process killed with -9 keeps it; a power cut may lose the last ones)
 * get(ns, key)          the bytes, or undefined
 * ```
 *
 * Failure: a file that is not a SQLite database (or is damaged) throws a
 * {@linkcode StoreCorruptError} naming the file at open or at the first read
 * that meets the damage; nothing is rewritten, so the data stays for a human
 * to look at.
 *
 * @example
 * ```ts
 * import { SqliteStore } from "./sqlite_store.ts";
 * const dir = await Deno.makeTempDir();
 * const store = SqliteStore.open(`${dir}/state.db`);
 * store.put("crdt", "cart", new Uint8Array([1, 2]));
 * console.assert(store.get("crdt", "cart")?.[1] === 2);
 * store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { StoreCorruptError } from "../errors.ts";
import type { DatabaseSync as Database, StatementSync } from "./_node_sqlite.d.ts";

// Loaded by require: @types/node 20 has no declarations for node:sqlite, which Deno ships.
// node:sqlite loads with the first database a node opens, not with every node
// (@types/node 20 has no declarations for node:sqlite, which Deno ships).
let sqlite: { DatabaseSync: typeof Database } | undefined;
function DatabaseSyncClass(): typeof Database {
  sqlite ??= process.getBuiltinModule("node:sqlite") as { DatabaseSync: typeof Database };
  return sqlite.DatabaseSync;
}
type DatabaseSync = Database;

/**
 * One SQLite file of namespaced key-value rows.
 *
 * @example
 * ```ts
 * import { SqliteStore } from "./sqlite_store.ts";
 * const store = SqliteStore.open(":memory:");
 * store.put("a", "k", new Uint8Array([7]));
 * console.assert(store.keys("a")[0] === "k");
 * store.delete("a", "k");
 * console.assert(store.get("a", "k") === undefined);
 * store.close();
 * ```
 */
export class SqliteStore {
  /** The database file. */
  readonly file: string;
  #db: DatabaseSync;
  #get: StatementSync;
  #put: StatementSync;
  #delete: StatementSync;
  #keys: StatementSync;
  #closed = false;

  private constructor(file: string, db: DatabaseSync) {
    this.file = file;
    this.#db = db;
    this.#get = db.prepare("SELECT value FROM kv WHERE ns = ? AND key = ?");
    this.#put = db.prepare(
      "INSERT INTO kv (ns, key, value) VALUES (?, ?, ?) " +
        "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value",
    );
    this.#delete = db.prepare("DELETE FROM kv WHERE ns = ? AND key = ?");
    this.#keys = db.prepare("SELECT key FROM kv WHERE ns = ? ORDER BY key");
  }

  /**
   * Opens (creating if needed, with its directory) a store file.
   *
   * @param file the path, or `":memory:"`
   * @returns the store
   * @throws {StoreCorruptError} when the file exists but is not a readable SQLite database
   */
  static open(file: string): SqliteStore {
    if (typeof file !== "string" || file === "") {
      throw new TypeError("Cannot open store: expected a file path");
    }
    if (file !== ":memory:") Deno.mkdirSync(parentDir(file), { recursive: true });
    let db: DatabaseSync | undefined;
    try {
      db = new (DatabaseSyncClass())(file);
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      db.exec(
        "CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, " +
          "PRIMARY KEY (ns, key)) WITHOUT ROWID",
      );
      db.exec("PRAGMA quick_check");
      return new SqliteStore(file, db);
    } catch (e) {
      try {
        db?.close();
      } catch { /* already unusable */ }
      throw new StoreCorruptError(
        `Cannot open store ${file}: ${(e as Error).message}`,
        file,
        { cause: e },
      );
    }
  }

  /**
   * The bytes stored under `key` in `ns`, if any.
   *
   * @throws {StoreCorruptError} when the file is damaged where the row lives
   */
  get(ns: string, key: string): Uint8Array | undefined {
    const row = this.#run(() => this.#get.get(ns, key)) as { value: Uint8Array } | undefined;
    return row?.value;
  }

  /** Stores `bytes` under `key` in `ns` (replacing what was there). */
  put(ns: string, key: string, bytes: Uint8Array): void {
    this.#run(() => this.#put.run(ns, key, bytes));
  }

  /** Runs `fn` in one transaction (many puts, one sync). */
  batch(fn: () => void): void {
    this.#run(() => this.#db.exec("BEGIN"));
    try {
      fn();
      this.#run(() => this.#db.exec("COMMIT"));
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Removes `key` from `ns`. */
  delete(ns: string, key: string): void {
    this.#run(() => this.#delete.run(ns, key));
  }

  /** Every key of `ns`, sorted. */
  keys(ns: string): string[] {
    return (this.#run(() => this.#keys.all(ns)) as { key: string }[]).map((r) => r.key);
  }

  /** Closes the file; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      const msg = (e as Error).message;
      if (/malformed|corrupt|not a database/i.test(msg)) {
        throw new StoreCorruptError(`Store ${this.file} is damaged: ${msg}`, this.file, {
          cause: e,
        });
      }
      throw e;
    }
  }
}

/** The directory holding `file` (`.` for a bare file name). */
function parentDir(file: string): string {
  const slash = file.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : file.slice(0, slash);
}
