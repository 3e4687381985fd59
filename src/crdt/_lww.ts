/**
 * Timestamped writes, shared by the last-write-wins types. Private to
 * `src/crdt/`.
 *
 * @module
 */

import { compareTimestamps, type Hlc, type HlcTimestamp, timestampFromWire } from "./hlc.ts";
import { malformed } from "./_wire.ts";

/** One timestamped write. */
export interface LwwWrite {
  /** When it was written. */
  readonly timestamp: HlcTimestamp;
  /** Who wrote it. */
  readonly replica: string;
  /** What was written (any value Weft's codec can send). */
  readonly value: unknown;
}

/** Orders writes by timestamp, then replica. */
export function compareWrites(a: LwwWrite, b: LwwWrite): number {
  const c = compareTimestamps(a.timestamp, b.timestamp);
  if (c !== 0) return c;
  return a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0;
}

/** A timestamp for a write replacing one stamped `current`: later than it, whatever the clock says. */
export function stamp(clock: Hlc, current: HlcTimestamp | undefined): HlcTimestamp {
  const now = clock.now();
  if (current === undefined || compareTimestamps(now, current) > 0) return now;
  return { wall: current.wall, logical: current.logical + 1 };
}

/** Reads `[timestamp, replica, value]` strictly. */
export function decodeWrite(wire: unknown, type: string): LwwWrite {
  if (!Array.isArray(wire) || wire.length !== 3) {
    throw malformed(type, "a write is not [timestamp, replica, value]");
  }
  let timestamp: HlcTimestamp;
  try {
    timestamp = timestampFromWire(wire[0]);
  } catch {
    throw malformed(type, "a write's timestamp is not [wall, logical]");
  }
  if (typeof wire[1] !== "string") throw malformed(type, "a write's replica is not a string");
  return { timestamp, replica: wire[1], value: wire[2] };
}
