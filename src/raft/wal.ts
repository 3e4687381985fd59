/**
 * One write-ahead log per node for every Raft group it hosts (as ra's shared WAL): the term, the
 * vote, the entries and the snapshots of all groups are records in one append-only file,
 * `<data dir>/raft/wal`, so that one `fdatasync` makes a whole batch durable, however many groups
 * wrote to it (group commit: a hundred busy groups, one fsync per batch, not a hundred).
 *
 * ```
 * record  = header | u32 crc32(payload) | payload (CBOR, src/term/codec.ts)
 * header  = u32 payload length | u16 group length | group (UTF-8) | u32 crc32(the header before it)
 * payload = [0, term, votedFor]                          term and vote
 *         | [1, [entry...]]                              entries appended (wire.ts's entryToWire)
 *         | [2, index]                                   entries from index on dropped
 *         | [3, index, term, [voters, learners], data]   a snapshot; entries up to index dropped
 *         | [4]                                          the group forgotten
 * ```
 * The header has its own checksum so that a bad payload is known to be its group's: that group
 * alone is refused, the others start.
 * Flow (the Raft service drives it):
 * ```
 * RaftServer --saveMeta/append/truncateFrom/saveSnapshot--> RaftWalLog (the group's handle)
 *   --record--> RaftWal buffer;  RaftServer --sync--> onDirty (the owner schedules a flush)
 * owner, once per event-loop turn: RaftWal.flush() = one write + one fdatasync for every group,
 *   then releases the messages and replies that turn produced
 * ```
 * The file is rewritten (only the live records: each group's term, vote, snapshot and entries)
 * once it has grown to twice its size after the last rewrite (and at least `rewriteBytes`):
 * written to `wal.tmp`, synced, renamed over `wal`, the directory synced.
 *
 * Failure: after `kill -9` the file ends with the last flushed record or with a torn one (its
 * header or body runs past the end, its checksum fails at the very end, or only zero bytes
 * follow it): it was never acknowledged, so it is cut off with a warning and appending goes on
 * from there. A bad record with data after it is corruption of acknowledged data, reported as
 * {@linkcode RaftLogCorruptError} naming the file and the offset: a bad payload stops only its
 * group ({@linkcode RaftWal.log} throws for it; the others open, and the file is no longer
 * rewritten, so nothing of it is lost); a bad header leaves the rest unreadable, so opening the
 * WAL throws and no group of this node starts. The file is left as it is for inspection. A
 * checksum cannot tell a torn final record from a flipped bit in the final record: both are
 * dropped, as etcd's WAL does.
 *
 * @example
 * ```ts
 * import { RaftWal } from "./wal.ts";
 * const dir = await Deno.makeTempDir();
 * const wal = RaftWal.open(dir);
 * const a = wal.log("a"), b = wal.log("b");
 * a.saveMeta(1, "n1@h");
 * a.append([{ term: 1, index: 1, payload: { type: "command", command: "x" } }]);
 * b.append([{ term: 1, index: 1, payload: { type: "noop" } }]);
 * wal.flush(); // both groups, one fsync
 * console.assert(wal.fsyncs === 1);
 * wal.close();
 * const again = RaftWal.open(dir);
 * console.assert(again.groups().join() === "a,b" && again.log("a").load().votedFor === "n1@h");
 * again.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { RaftLogCorruptError } from "../errors.ts";
import { logger } from "../log.ts";
import { decode, encode } from "../term/codec.ts";
import type { DurableState, LogEntry, RaftSnapshot, RaftStorage, ServerId } from "./types.ts";
import { entryFromWire, entryToWire } from "./wire.ts";

const log = logger("raft");

/** The WAL's file name in its directory. */
export const WAL_FILE = "wal";

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
 * @param bytes the data
 * @returns the checksum, an unsigned 32-bit integer
 *
 * @example
 * ```ts
 * import { crc32 } from "./wal.ts";
 * console.assert(crc32(new TextEncoder().encode("123456789")) === 0xcbf43926);
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Options of {@linkcode RaftWal.open}. */
export interface RaftWalOptions {
  /** The smallest file size at which the WAL is rewritten to its live records. Default 64 MiB. */
  readonly rewriteBytes?: number;
}

interface GroupState {
  term: number;
  votedFor: ServerId | null;
  snapshot: RaftSnapshot | null;
  entries: LogEntry<unknown>[];
  /** Set while replaying a record that forgot the group. */
  forgotten?: boolean;
}

/** What a group's handle may do with the WAL. */
interface WalAccess {
  state(): GroupState;
  write(record: unknown[]): void;
  dirty(): boolean;
  flush(): void;
}

const emptyState = (): GroupState => ({ term: 0, votedFor: null, snapshot: null, entries: [] });

/**
 * A node's shared Raft write-ahead log: open it once on `<data dir>/raft`, take one
 * {@linkcode RaftWalLog} per group with {@linkcode log}, and {@linkcode flush} once per batch.
 *
 * @example
 * ```ts
 * import { RaftWal } from "./wal.ts";
 * const dir = await Deno.makeTempDir();
 * const wal = RaftWal.open(dir);
 * for (let g = 0; g < 100; g++) {
 *   const group = wal.log(`g${g}`);
 *   group.append([{ term: 1, index: 1, payload: { type: "command", command: g } }]);
 *   group.sync();
 * }
 * wal.flush();
 * console.assert(wal.fsyncs === 1 && wal.groups().length === 100);
 * wal.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class RaftWal {
  /** The WAL file's path. */
  readonly path: string;
  #dir: string;
  #file: Deno.FsFile;
  #size: number;
  #rewriteBytes: number;
  #rewriteAt: number;
  #groups: Map<string, GroupState>;
  #corrupt: Map<string, RaftLogCorruptError>;
  #handles = new Map<string, RaftWalLog<unknown>>();
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #fsyncs = 0;
  #rewrites = 0;
  #closed = false;

  private constructor(
    dir: string,
    file: Deno.FsFile,
    size: number,
    groups: Map<string, GroupState>,
    corrupt: Map<string, RaftLogCorruptError>,
    rewriteBytes: number,
  ) {
    this.#dir = dir;
    this.path = `${dir}/${WAL_FILE}`;
    this.#file = file;
    this.#size = size;
    this.#groups = groups;
    this.#corrupt = corrupt;
    this.#rewriteBytes = rewriteBytes;
    this.#rewriteAt = Math.max(rewriteBytes, 2 * size);
  }

  /**
   * Opens (creating) the WAL in `dir` and reads every group's state back, cutting off a torn
   * final record.
   *
   * @param dir the directory (created when missing), normally `<data dir>/raft`
   * @param options when to rewrite the file
   * @returns the open WAL
   * @throws {RaftLogCorruptError} when a record header before the last is corrupt
   * @throws {RangeError} when `rewriteBytes` is not a positive number
   */
  static open(dir: string, options: RaftWalOptions = {}): RaftWal {
    const rewriteBytes = options.rewriteBytes ?? 64 * 1024 * 1024;
    if (!(rewriteBytes > 0)) {
      throw new RangeError(
        `Cannot open Raft WAL: rewriteBytes must be positive, received ${rewriteBytes}`,
      );
    }
    Deno.mkdirSync(dir, { recursive: true });
    const path = `${dir}/${WAL_FILE}`;
    const file = Deno.openSync(path, { read: true, write: true, create: true });
    try {
      const { groups, corrupt, size } = replay(path, file);
      return new RaftWal(dir, file, size, groups, corrupt, rewriteBytes);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** The groups that have state in the WAL (corrupt ones included), in name order. */
  groups(): string[] {
    return [...new Set([...this.#groups.keys(), ...this.#corrupt.keys()])].sort();
  }

  /**
   * The storage of group `group` (the same handle each time): a {@linkcode RaftStorage} whose
   * `sync` calls `onDirty` (once per flush) so the owner flushes before releasing what depends
   * on the writes.
   *
   * @param group the group's name
   * @param onDirty called when a write of this group waits for {@linkcode flush}
   * @returns the group's log
   * @throws {TypeError} when `group` is not a non-empty string
   * @throws {RaftLogCorruptError} when a record of the group is corrupt
   */
  log<C = unknown>(group: string, onDirty?: () => void): RaftWalLog<C> {
    if (typeof group !== "string" || group === "") {
      throw new TypeError(`Cannot open Raft log: the group must be a non-empty string`);
    }
    const corrupt = this.#corrupt.get(group);
    if (corrupt !== undefined) throw corrupt;
    let handle = this.#handles.get(group);
    if (handle === undefined) {
      handle = new RaftWalLog(group, {
        state: () => {
          let state = this.#groups.get(group);
          if (state === undefined) this.#groups.set(group, state = emptyState());
          return state;
        },
        write: (record) => this.#write(group, record),
        dirty: () => this.dirty,
        flush: () => this.flush(),
      });
      this.#handles.set(group, handle);
    }
    handle.onDirty = onDirty;
    return handle as RaftWalLog<C>;
  }

  /**
   * Forgets group `group` (a corrupt one too): its records are dead (durable with the next
   * flush).
   */
  forget(group: string): void {
    const known = this.#groups.delete(group);
    if (!this.#corrupt.delete(group) && !known) return;
    this.#handles.delete(group);
    this.#write(group, [4]);
  }

  /** Whether writes wait for {@linkcode flush}. */
  get dirty(): boolean {
    return this.#pending.length > 0;
  }

  /** How many `fdatasync`s the WAL has made since it was opened. */
  get fsyncs(): number {
    return this.#fsyncs;
  }

  /** How many times the file was rewritten to its live records. */
  get rewrites(): number {
    return this.#rewrites;
  }

  /** The file's size in bytes (flushed records only). */
  get size(): number {
    return this.#size;
  }

  /** Writes every group's buffered records and `fdatasync`s the file: one fsync for all. */
  flush(): void {
    if (this.#closed) throw new TypeError(`Cannot flush Raft WAL ${this.path}: it is closed`);
    if (this.#pending.length === 0) return;
    const buf = this.#pending.length === 1
      ? this.#pending[0]!
      : concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    for (const handle of this.#handles.values()) handle.notified = false;
    let written = 0;
    while (written < buf.length) written += this.#file.writeSync(buf.subarray(written));
    this.#file.syncDataSync();
    this.#fsyncs++;
    this.#size += buf.length;
    // A corrupt group's records are kept as they are: a rewrite would drop them.
    if (this.#size >= this.#rewriteAt && this.#corrupt.size === 0) this.#rewrite();
  }

  /** Closes the file; writes not flushed are dropped, as a crash would. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#file.close();
  }

  #write(group: string, record: unknown[]): void {
    if (this.#closed) throw new TypeError(`Cannot write to Raft WAL ${this.path}: it is closed`);
    const frame = frameRecord(group, record);
    this.#pending.push(frame);
    this.#pendingBytes += frame.length;
  }

  /** Replaces the file with the live records of every group (durably, by rename). */
  #rewrite(): void {
    const parts: Uint8Array[] = [];
    let bytes = 0;
    const add = (group: string, record: unknown[]) => {
      const frame = frameRecord(group, record);
      parts.push(frame);
      bytes += frame.length;
    };
    for (const [group, state] of this.#groups) {
      add(group, [0, state.term, state.votedFor]);
      const s = state.snapshot;
      if (s !== null) {
        add(group, [3, s.index, s.term, [s.config.voters, s.config.learners], s.data]);
      }
      for (let i = 0; i < state.entries.length; i += 256) {
        add(group, [1, state.entries.slice(i, i + 256).map(entryToWire)]);
      }
    }
    const tmp = `${this.path}.tmp`;
    const out = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      const buf = concat(parts, bytes);
      let written = 0;
      while (written < buf.length) written += out.writeSync(buf.subarray(written));
      out.syncSync();
    } finally {
      out.close();
    }
    Deno.renameSync(tmp, this.path);
    syncDir(this.#dir);
    this.#file.close();
    this.#file = Deno.openSync(this.path, { read: true, write: true });
    this.#file.seekSync(0, Deno.SeekMode.End);
    this.#size = bytes;
    this.#rewriteAt = Math.max(this.#rewriteBytes, 2 * bytes);
    this.#rewrites++;
  }
}

/**
 * One group's storage in the node's {@linkcode RaftWal}: what a {@linkcode RaftServer} is given.
 * Writes go to the WAL's buffer; {@linkcode sync} asks the owner (through `onDirty`) to flush.
 */
export class RaftWalLog<C = unknown> implements RaftStorage<C> {
  /** The group's name. */
  readonly group: string;
  /** Called when a write of this group waits for a flush (set by {@linkcode RaftWal.log}). */
  onDirty: (() => void) | undefined;
  /** @internal Whether `onDirty` was called since the last flush. */
  notified = false;
  #wal: WalAccess;
  #written = false;

  /** @internal Made by {@linkcode RaftWal.log}. */
  constructor(group: string, wal: WalAccess) {
    this.group = group;
    this.#wal = wal;
  }

  /** The group's state as the WAL holds it (flushed or buffered writes). */
  load(): DurableState<C> {
    const s = this.#wal.state();
    return {
      term: s.term,
      votedFor: s.votedFor,
      snapshot: s.snapshot,
      entries: s.entries.slice() as LogEntry<C>[],
    };
  }

  /** Records the term and vote. */
  saveMeta(term: number, votedFor: ServerId | null): void {
    const s = this.#wal.state();
    s.term = term;
    s.votedFor = votedFor;
    this.#record([0, term, votedFor]);
  }

  /** Appends entries that follow the stored log. */
  append(entries: readonly LogEntry<C>[]): void {
    if (entries.length === 0) return;
    this.#wal.state().entries.push(...entries);
    this.#record([1, entries.map(entryToWire)]);
  }

  /** Drops the entry at `index` and every later one. */
  truncateFrom(index: number): void {
    const s = this.#wal.state();
    s.entries = s.entries.filter((e) => e.index < index);
    this.#record([2, index]);
  }

  /** Stores `snapshot` and drops the entries up to its index, in one record. */
  saveSnapshot(snapshot: RaftSnapshot): void {
    const s = this.#wal.state();
    s.snapshot = snapshot;
    s.entries = s.entries.filter((e) => e.index > snapshot.index);
    const { voters, learners } = snapshot.config;
    this.#record([3, snapshot.index, snapshot.term, [voters, learners], snapshot.data]);
  }

  /** Asks for the writes on disk: calls `onDirty` once until the next flush. */
  sync(): void {
    if (!this.#written) return;
    this.#written = false;
    if (!this.notified) {
      this.notified = true;
      this.onDirty?.();
    }
  }

  /** Whether the WAL holds writes not yet flushed (of this group or another). */
  get dirty(): boolean {
    return this.#wal.dirty();
  }

  /** Flushes the whole WAL (every group: one fsync). */
  flush(): void {
    this.#wal.flush();
  }

  #record(record: unknown[]): void {
    this.#wal.write(record);
    this.#written = true;
  }
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

function frameRecord(group: string, record: unknown[]): Uint8Array {
  const payload = encode(record);
  const name = utf8.encode(group);
  if (name.length > 0xffff) throw new RangeError(`Cannot write Raft log: group name too long`);
  const headerBytes = 6 + name.length;
  const out = new Uint8Array(headerBytes + 8 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  view.setUint16(4, name.length);
  out.set(name, 6);
  view.setUint32(headerBytes, crc32(out.subarray(0, headerBytes)));
  view.setUint32(headerBytes + 4, crc32(payload));
  out.set(payload, headerBytes + 8);
  return out;
}

function concat(parts: readonly Uint8Array[], bytes: number): Uint8Array {
  const buf = new Uint8Array(bytes);
  let at = 0;
  for (const part of parts) {
    buf.set(part, at);
    at += part.length;
  }
  return buf;
}

function syncDir(dir: string): void {
  try {
    const d = Deno.openSync(dir, { read: true });
    try {
      d.syncSync();
    } finally {
      d.close();
    }
  } catch {
    // Some systems cannot fsync a directory; the rename is then as durable as they make it.
  }
}

function readAll(file: Deno.FsFile): Uint8Array {
  const size = file.statSync().size;
  const bytes = new Uint8Array(size);
  let got = 0;
  file.seekSync(0, Deno.SeekMode.Start);
  while (got < size) {
    const n = file.readSync(bytes.subarray(got));
    if (n === null) break;
    got += n;
  }
  return bytes.subarray(0, got);
}

function zeroFrom(bytes: Uint8Array, at: number): boolean {
  for (let i = at; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Reads every record back into the groups' states; cuts off a torn tail. */
function replay(
  path: string,
  file: Deno.FsFile,
): {
  groups: Map<string, GroupState>;
  corrupt: Map<string, RaftLogCorruptError>;
  size: number;
} {
  const bytes = readAll(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const groups = new Map<string, GroupState>();
  const corrupt = new Map<string, RaftLogCorruptError>();
  const state = (group: string) => {
    let s = groups.get(group);
    if (s === undefined) groups.set(group, s = emptyState());
    return s;
  };
  let at = 0;
  const error = (why: string, cause?: unknown) =>
    new RaftLogCorruptError(
      `Cannot open Raft log: ${path} holds a corrupt record at offset ${at} (${why})`,
      path,
      at,
      cause === undefined ? undefined : { cause },
    );
  while (at < bytes.length) {
    let torn: string | null = null;
    let group = "";
    let body = at;
    let end = at;
    if (zeroFrom(bytes, at)) torn = "zeros";
    else if (bytes.length - at < 6) torn = "short header";
    else {
      const headerBytes = 6 + view.getUint16(at + 4);
      body = at + headerBytes + 8;
      end = body + view.getUint32(at);
      if (body > bytes.length) torn = "header past the end";
      else if (crc32(bytes.subarray(at, at + headerBytes)) !== view.getUint32(at + headerBytes)) {
        // Its length cannot be trusted, so nothing after it can be found, and a torn write
        // leaves no whole header with a bad checksum: all of this node's groups stop.
        throw error("header checksum mismatch");
      } else if (end > bytes.length) torn = "length past the end";
      else {
        try {
          group = fromUtf8.decode(bytes.subarray(at + 6, at + headerBytes));
        } catch (e) {
          throw error("group name is not UTF-8", e);
        }
        if (crc32(bytes.subarray(body, end)) !== view.getUint32(body - 4)) {
          if (end === bytes.length || zeroFrom(bytes, end)) torn = "checksum of the final record";
          else {
            if (!corrupt.has(group)) {
              corrupt.set(group, error(`checksum mismatch in group ${group}`));
            }
            groups.delete(group);
            at = end;
            continue;
          }
        }
      }
    }
    if (torn !== null) {
      log.warning("Raft log {path}: dropped a torn final record at offset {at} ({why})", {
        path,
        at,
        why: torn,
      });
      file.truncateSync(at);
      file.syncDataSync();
      break;
    }
    if (corrupt.has(group)) {
      at = end;
      continue;
    }
    try {
      applyRecord(state(group), decode(bytes.subarray(body, end)));
    } catch (e) {
      // Checksummed, yet unreadable: this group's data cannot be trusted; the others can.
      corrupt.set(group, error(`group ${group} does not read: ${(e as Error).message}`, e));
      groups.delete(group);
    }
    if (groups.get(group)?.forgotten) {
      groups.delete(group);
      corrupt.delete(group);
    }
    at = end;
  }
  file.seekSync(0, Deno.SeekMode.End);
  return { groups, corrupt, size: at };
}

/** Applies one record to its group's state (marking it forgotten for [4]). */
function applyRecord(s: GroupState, record: unknown): void {
  if (!Array.isArray(record)) throw new Error("not a record");
  switch (record[0]) {
    case 0: {
      const [, term, votedFor] = record;
      if (!Number.isSafeInteger(term) || !(votedFor === null || typeof votedFor === "string")) {
        throw new Error("malformed term and vote");
      }
      s.term = term;
      s.votedFor = votedFor;
      return;
    }
    case 1: {
      if (!Array.isArray(record[1])) throw new Error("malformed entries");
      for (const wire of record[1]) {
        const entry = entryFromWire(wire);
        const last = s.entries.at(-1)?.index ?? s.snapshot?.index ?? 0;
        if (entry.index !== last + 1) {
          throw new Error(`entry ${entry.index} does not follow ${last}`);
        }
        s.entries.push(entry);
      }
      return;
    }
    case 2: {
      const index = record[1];
      if (!Number.isSafeInteger(index)) throw new Error("malformed truncation");
      s.entries = s.entries.filter((e) => e.index < index);
      return;
    }
    case 3: {
      const [, index, term, config, data] = record;
      if (
        !Number.isSafeInteger(index) || !Number.isSafeInteger(term) || !Array.isArray(config) ||
        !Array.isArray(config[0]) || !Array.isArray(config[1]) || !(data instanceof Uint8Array)
      ) throw new Error("malformed snapshot");
      s.snapshot = {
        index,
        term,
        config: { voters: config[0] as string[], learners: config[1] as string[] },
        data,
      };
      s.entries = s.entries.filter((e) => e.index > index);
      return;
    }
    case 4:
      s.forgotten = true;
      return;
    default:
      throw new Error(`unknown record type ${record[0]}`);
  }
}
