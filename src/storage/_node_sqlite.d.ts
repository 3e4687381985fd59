// The part of `node:sqlite` Weft uses: @types/node 20 predates the module, which Deno ships.

/** A prepared statement. */
export interface StatementSync {
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
}

/** A synchronous SQLite connection. */
export class DatabaseSync {
  constructor(path: string, options?: { readOnly?: boolean });
  exec(sql: string): void;
  prepare(sql: string): StatementSync;
  close(): void;
}
