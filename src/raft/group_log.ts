/**
 * The durable log of one Raft group on one node, as the Raft service keeps it in the node's data
 * directory: `<data dir>/raft/<group>/log`, an append-only file of checksummed records, and
 * `<data dir>/raft/<group>/config.json`, what the group is (machine, members, timings).
 *
 * ```
 * record  = u32 length | u32 crc32(payload) | payload (CBOR)
 * payload = [0, term, votedFor]        term and vote
 *         | [1, [entry...]]            appended entries (as on the wire: entryToWire)
 *         | [2, index]                 entries from index on were dropped
 *         | [3, index, term, [voters, learners], data]  a snapshot: entries up to index dropped
 * ```
 *
 * Writes are buffered; {@linkcode GroupLog.flush} writes them in one `write` and one
 * `fdatasync`. The Raft service flushes every group written in an event-loop turn before it lets
 * any message or reply of that turn leave the node (group commit): nothing acknowledged was
 * unsynced, and a hundred busy groups cost one fsync each per turn, not one per command.
 *
 * Failure: after `kill -9` the file ends with the last flushed record, or with a torn one (its
 * length runs past the end, or its checksum fails and nothing follows): that record was never
 * acknowledged, so it is cut off with a warning. A bad record with more data after it is
 * corruption of acknowledged data: loading throws {@linkcode StoreCorruptError} naming the file
 * and the offset, and the group does not start here.
 *
 * @example
 * ```ts
 * import { GroupLog } from "./group_log.ts";
 * const dir = await Deno.makeTempDir();
 * const log = GroupLog.open(dir);
 * log.saveMeta(1, "a@h");
 * log.append([{ term: 1, index: 1, payload: { type: "command", command: "x" } }]);
 * log.flush();
 * log.close();
 * const again = GroupLog.open(dir);
 * console.assert(again.load().entries.length === 1 && again.load().votedFor === "a@h");
 * again.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { StoreCorruptError } from "../errors.ts";
import { logger } from "../log.ts";
import { decode, encode } from "../term/codec.ts";
import type { DurableState, LogEntry, RaftSnapshot, RaftStorage, ServerId } from "./types.ts";
import { entryFromWire, entryToWire } from "./wire.ts";

const log = logger("raft");

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32 (IEEE 802.3) of `bytes`.
 *
 * @example
 * ```ts
 * import { crc32 } from "./group_log.ts";
 * console.assert(crc32(new TextEncoder().encode("123456789")) === 0xcbf43926);
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The file names inside a group's directory. */
export const LOG_FILE = "log";
/** The group's configuration file. */
export const CONFIG_FILE = "config.json";

/**
 * One group's log file: a {@linkcode RaftStorage} whose `sync` only marks it dirty; the owner
 * calls {@linkcode flush} before anything that depends on the writes leaves the node.
 *
 * @example
 * ```ts
 * import { GroupLog } from "./group_log.ts";
 * const dir = await Deno.makeTempDir();
 * const log = GroupLog.open(dir);
 * log.append([{ term: 1, index: 1, payload: { type: "noop" } }]);
 * log.sync();
 * console.assert(log.dirty);
 * log.flush();
 * console.assert(!log.dirty);
 * log.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class GroupLog<C = unknown> implements RaftStorage<C> {
  /** The log file's path. */
  readonly path: string;
  #file: Deno.FsFile;
  #state: DurableState<C>;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #synced = true;
  #onDirty: (() => void) | undefined;

  private constructor(path: string, file: Deno.FsFile, state: DurableState<C>) {
    this.path = path;
    this.#file = file;
    this.#state = state;
  }

  /**
   * Opens (creating) the log in `dir` and reads it back.
   *
   * @param dir the group's directory (created when missing)
   * @param onDirty called when a write waits for {@linkcode flush}
   * @throws {StoreCorruptError} when a record before the last is corrupt
   */
  static open<C>(dir: string, onDirty?: () => void): GroupLog<C> {
    Deno.mkdirSync(dir, { recursive: true });
    const path = `${dir}/${LOG_FILE}`;
    const file = Deno.openSync(path, { read: true, write: true, create: true });
    try {
      const state = readLog<C>(path, file);
      const log = new GroupLog<C>(path, file, state);
      log.#onDirty = onDirty;
      return log;
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** What the file held when it was opened (then kept up to date by the writes). */
  load(): DurableState<C> {
    return this.#state;
  }

  /** Records the term and vote. */
  saveMeta(term: number, votedFor: ServerId | null): void {
    this.#state = { ...this.#state, term, votedFor };
    this.#write([0, term, votedFor]);
  }

  /** Appends entries that follow the stored log. */
  append(entries: readonly LogEntry<C>[]): void {
    (this.#state.entries as LogEntry<C>[]).push(...entries);
    this.#write([1, entries.map(entryToWire)]);
  }

  /** Drops the entry at `index` and every later one. */
  truncateFrom(index: number): void {
    this.#state = { ...this.#state, entries: this.#state.entries.filter((e) => e.index < index) };
    this.#write([2, index]);
  }

  /** Stores `snapshot` and drops the entries up to its index, in one record. */
  saveSnapshot(snapshot: RaftSnapshot): void {
    this.#state = {
      ...this.#state,
      snapshot,
      entries: this.#state.entries.filter((e) => e.index > snapshot.index),
    };
    const { voters, learners } = snapshot.config;
    this.#write([3, snapshot.index, snapshot.term, [voters, learners], snapshot.data]);
  }

  /** Marks the writes as wanted on disk: the owner flushes before releasing what depends on them. */
  sync(): void {
    if (this.#pending.length === 0) return;
    if (this.#synced) {
      this.#synced = false;
      this.#onDirty?.();
    }
  }

  /** Whether writes wait for {@linkcode flush}. */
  get dirty(): boolean {
    return this.#pending.length > 0;
  }

  /** Writes the buffered records and `fdatasync`s the file. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const buf = new Uint8Array(this.#pendingBytes);
    let at = 0;
    for (const part of this.#pending) {
      buf.set(part, at);
      at += part.length;
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#synced = true;
    let written = 0;
    while (written < buf.length) written += this.#file.writeSync(buf.subarray(written));
    this.#file.syncDataSync();
  }

  /** Closes the file (unflushed writes are dropped, as a crash would). */
  close(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    try {
      this.#file.close();
    } catch {
      // Already closed.
    }
  }

  #write(record: unknown): void {
    const payload = encode(record);
    const out = new Uint8Array(8 + payload.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, payload.length);
    view.setUint32(4, crc32(payload));
    out.set(payload, 8);
    this.#pending.push(out);
    this.#pendingBytes += out.length;
  }
}

function readLog<C>(path: string, file: Deno.FsFile): DurableState<C> {
  const size = file.statSync().size;
  const bytes = new Uint8Array(size);
  let got = 0;
  file.seekSync(0, Deno.SeekMode.Start);
  while (got < size) {
    const n = file.readSync(bytes.subarray(got));
    if (n === null) break;
    got += n;
  }
  const view = new DataView(bytes.buffer);
  let term = 0;
  let votedFor: ServerId | null = null;
  let snapshot: RaftSnapshot | null = null;
  let entries: LogEntry<C>[] = [];
  let at = 0;
  while (at < got) {
    const torn = (why: string) => {
      log.warning("Raft log {path}: dropped a torn final record at offset {at} ({why})", {
        path,
        at,
        why,
      });
      file.truncateSync(at);
    };
    if (got - at < 8) {
      torn("short header");
      break;
    }
    const length = view.getUint32(at);
    const end = at + 8 + length;
    if (end > got) {
      torn("length past the end");
      break;
    }
    const payload = bytes.subarray(at + 8, end);
    if (crc32(payload) !== view.getUint32(at + 4)) {
      if (end === got) {
        torn("checksum");
        break;
      }
      throw new StoreCorruptError(
        `Cannot open Raft log: ${path} holds a corrupt record at offset ${at} (checksum mismatch)`,
        path,
      );
    }
    try {
      const record = decode(payload) as unknown[];
      switch (record[0]) {
        case 0:
          term = record[1] as number;
          votedFor = record[2] as ServerId | null;
          break;
        case 1:
          for (const e of record[1] as unknown[]) {
            const entry = entryFromWire<C>(e);
            const last = entries.at(-1)?.index ?? snapshot?.index ?? 0;
            if (entry.index !== last + 1) throw new Error(`entry ${entry.index} out of order`);
            entries.push(entry);
          }
          break;
        case 2:
          entries = entries.filter((e) => e.index < (record[1] as number));
          break;
        case 3: {
          const [, index, snapTerm, config, data] = record;
          if (
            typeof index !== "number" || typeof snapTerm !== "number" ||
            !Array.isArray(config) || !(data instanceof Uint8Array)
          ) throw new Error("malformed snapshot");
          snapshot = {
            index,
            term: snapTerm,
            config: { voters: config[0] as string[], learners: config[1] as string[] },
            data,
          };
          entries = entries.filter((e) => e.index > index);
          break;
        }
        default:
          throw new Error(`unknown record type ${record[0]}`);
      }
    } catch (e) {
      throw new StoreCorruptError(
        `Cannot open Raft log: ${path} holds a record at offset ${at} that does not read: ${
          (e as Error).message
        }`,
        path,
        { cause: e },
      );
    }
    at = end;
  }
  file.seekSync(0, Deno.SeekMode.End);
  return { term, votedFor, snapshot, entries };
}
