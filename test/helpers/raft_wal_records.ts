/**
 * Where each record of a Raft WAL file starts, with its group, for tests that damage one
 * (the layout is documented in src/raft/wal.ts: header, payload checksum, payload).
 *
 * @example
 * ```ts
 * import { walRecords } from "./raft_wal_records.ts";
 * console.assert(walRecords(new Uint8Array(0)).length === 0);
 * ```
 *
 * @module
 */

/** One record's place: where it starts, its group, and where its payload starts. */
export interface WalRecordPlace {
  readonly at: number;
  readonly group: string;
  readonly body: number;
}

/** The records of WAL file contents `bytes`, in order. */
export function walRecords(bytes: Uint8Array): WalRecordPlace[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: WalRecordPlace[] = [];
  for (let at = 0; at < bytes.length;) {
    const nameBytes = view.getUint16(at + 4);
    const body = at + 6 + nameBytes + 8;
    const group = new TextDecoder().decode(bytes.subarray(at + 6, at + 6 + nameBytes));
    out.push({ at, group, body });
    at = body + view.getUint32(at);
  }
  return out;
}
