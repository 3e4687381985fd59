/**
 * LWW-Map: a map whose keys each hold a last-write-wins value (settings,
 * a cache). A remove is a write too (of "nothing"), so a put and a remove
 * of one key are settled like two puts: the later wins.
 *
 * ```
 * state         = key -> (timestamp, replica, value | removed)
 * join(A, B)[k] = the one of A[k], B[k] with the larger (timestamp, replica)
 * set(k, v)     : delta = { k -> (stamp, self, v) }
 * remove(k)     : delta = { k -> (stamp, self, removed) }
 * value         = the keys not removed, with their values
 * ```
 *
 * A removed key keeps its timestamp (a tombstone): without it a late copy
 * of an older put would bring the key back.
 *
 * @example
 * ```ts
 * import { lwwMap } from "./lww_map.ts";
 * import { Hlc } from "./hlc.ts";
 * const clock = new Hlc();
 * const d = lwwMap.mutate(lwwMap.empty(), "a", clock, (m) => {
 *   m.set("theme", "dark");
 *   m.set("lang", "en");
 *   m.remove("lang");
 * });
 * console.assert([...lwwMap.value(d).keys()].join() === "theme");
 * ```
 *
 * @module
 */

import type { CrdtType } from "./crdt_type.ts";
import { PMap } from "./_pmap.ts";
import { compareTimestamps, type HlcTimestamp, timestampToWire } from "./hlc.ts";
import { compareWrites, decodeWrite, type LwwWrite, stamp } from "./_lww.ts";
import { checkKey, checkReplica, malformed } from "./_wire.ts";

/** One key's last write; `removed` marks a remove. */
export interface LwwMapEntry extends LwwWrite {
  /** Whether the write removed the key. */
  readonly removed: boolean;
}

/** An LWW-Map state. Never changed once made. */
export type LwwMapState = PMap<string, LwwMapEntry>;

/** What a mutation of an LWW-Map can do. */
export interface LwwMapHandle {
  /** Writes a key's value. */
  set(key: string, value: unknown): void;
  /** Removes a key. */
  remove(key: string): void;
}

/**
 * The LWW-Map type.
 *
 * @example
 * ```ts
 * import { lwwMap } from "./lww_map.ts";
 * const s = lwwMap.decode([["lang", [5, 0], "a", false, "en"]]);
 * console.assert(lwwMap.value(s).get("lang") === "en");
 * ```
 */
/** The first element of a packed state (an unpacked one starts with an entry, an array). */
const PACKED = 1;

/** Reads what `pack` made, strictly. */
function unpack(wire: unknown[]): LwwMapState {
  const [, replicas, flat] = wire;
  if (wire.length !== 3 || !Array.isArray(replicas) || !Array.isArray(flat)) {
    throw malformed("lww-map", "a packed state is not [1, replicas, entries]");
  }
  if (flat.length % 5 !== 0) throw malformed("lww-map", "packed entries are not in fives");
  for (const r of replicas) {
    if (typeof r !== "string" || r === "") throw malformed("lww-map", "a replica is not a string");
  }
  let out = PMap.empty<string, LwwMapEntry>();
  let wall = 0;
  for (let i = 0; i < flat.length; i += 5) {
    const [k, dWall, logical, flags, value] = flat.slice(i, i + 5);
    if (typeof k !== "string") throw malformed("lww-map", "a key is not a string");
    if (out.has(k)) throw malformed("lww-map", `key ${JSON.stringify(k)} appears twice`);
    if (
      !Number.isSafeInteger(dWall) || (dWall as number) < 0 || !Number.isSafeInteger(logical) ||
      (logical as number) < 0
    ) {
      throw malformed("lww-map", "a write's timestamp is not [wall, logical]");
    }
    wall += dWall as number;
    if (!Number.isSafeInteger(flags) || (flags as number) < 0) {
      throw malformed("lww-map", "an entry's writer is not an index");
    }
    const replica = replicas[(flags as number) >> 1] as string | undefined;
    if (replica === undefined) throw malformed("lww-map", "an entry's writer is not in the table");
    const removed = ((flags as number) & 1) === 1;
    out = out.set(k, {
      timestamp: { wall, logical: logical as number },
      replica,
      value: removed ? undefined : value,
      removed,
    });
  }
  return out;
}

export const lwwMap: CrdtType<LwwMapState, LwwMapHandle, Map<string, unknown>> = {
  name: "lww-map",
  empty: () => PMap.empty(),
  join(a, b) {
    // Commutative: fold the smaller map into the larger.
    if (a.size < b.size) [a, b] = [b, a];
    let out = a;
    for (const [k, e] of b) {
      const mine = a.get(k);
      if (mine === undefined || compareWrites(e, mine) > 0) out = out.set(k, e);
    }
    return out;
  },
  mutate(state, replica, clock, fn) {
    checkReplica(replica);
    let delta = PMap.empty<string, LwwMapEntry>();
    const write = (key: unknown, value: unknown, removed: boolean) => {
      const k = checkKey(key, "LWW-Map key");
      const current = delta.get(k) ?? state.get(k);
      delta = delta.set(k, {
        timestamp: stamp(clock, current?.timestamp),
        replica,
        value,
        removed,
      });
    };
    fn({
      set: (key, value) => write(key, value, false),
      remove: (key) => write(key, undefined, true),
    });
    return delta;
  },
  value(state) {
    const out = new Map<string, unknown>();
    for (const k of [...state.keys()].sort()) {
      const e = state.get(k)!;
      if (!e.removed) out.set(k, e.value);
    }
    return out;
  },
  encode: (state) =>
    [...state].map((
      [k, e],
    ) => [k, timestampToWire(e.timestamp), e.replica, e.removed, e.removed ? null : e.value]),
  pack(state) {
    // Columns, sorted by timestamp: each wall a difference from the one before
    // (mostly 0 or a few ms: one byte), the writer an index into a table.
    const entries = [...state].sort(([, a], [, b]) => compareTimestamps(a.timestamp, b.timestamp));
    const replicas: string[] = [];
    const index = new Map<string, number>();
    const flat: unknown[] = [];
    let wall = 0;
    for (const [k, e] of entries) {
      let r = index.get(e.replica);
      if (r === undefined) {
        index.set(e.replica, r = replicas.length);
        replicas.push(e.replica);
      }
      flat.push(k, e.timestamp.wall - wall, e.timestamp.logical, r * 2 + (e.removed ? 1 : 0));
      flat.push(e.removed ? null : e.value);
      wall = e.timestamp.wall;
    }
    return [PACKED, replicas, flat];
  },
  decode(wire) {
    if (Array.isArray(wire) && wire[0] === PACKED) return unpack(wire);
    if (!Array.isArray(wire)) throw malformed("lww-map", "not an array of entries");
    let out = PMap.empty<string, LwwMapEntry>();
    for (const item of wire) {
      if (!Array.isArray(item) || item.length !== 5 || typeof item[0] !== "string") {
        throw malformed("lww-map", "an entry is not [key, timestamp, replica, removed, value]");
      }
      if (typeof item[3] !== "boolean") {
        throw malformed("lww-map", "an entry's removed is not a boolean");
      }
      if (out.has(item[0])) {
        throw malformed("lww-map", `key ${JSON.stringify(item[0])} appears twice`);
      }
      const w = decodeWrite([item[1], item[2], item[4]], "lww-map");
      out = out.set(item[0], { ...w, value: item[3] ? undefined : w.value, removed: item[3] });
    }
    return out;
  },
  equals(a, b) {
    if (a.size !== b.size) return false;
    for (const [k, e] of a) {
      const f = b.get(k);
      if (f === undefined || compareWrites(e, f) !== 0) return false;
    }
    return true;
  },
  prune: (state) => state,
  cleanup: (state) => state,
  latest(state) {
    let latest: HlcTimestamp | undefined;
    for (const e of state.values()) {
      if (latest === undefined || compareTimestamps(e.timestamp, latest) > 0) latest = e.timestamp;
    }
    return latest;
  },
};
