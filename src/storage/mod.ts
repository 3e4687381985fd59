/**
 * Durable storage adapters: SQLite (`node:sqlite`) embedded, the default
 * store of durable replicated keys.
 *
 * @example
 * ```ts
 * import { SqliteStore } from "./mod.ts";
 * const store = SqliteStore.open(":memory:");
 * store.put("ns", "k", new Uint8Array([1]));
 * console.assert(store.get("ns", "k")?.length === 1);
 * store.close();
 * ```
 *
 * @module
 */

export { SqliteStore } from "./sqlite_store.ts";
