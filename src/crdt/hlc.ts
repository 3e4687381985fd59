/**
 * A hybrid logical clock (HLC, Kulkarni et al. 2014): timestamps that follow
 * physical time closely yet never go backwards and always order an event
 * after every event it has heard of, across nodes whose clocks disagree.
 *
 * A timestamp is `(wall, logical)`: `wall` is the highest physical time (ms)
 * seen, `logical` counts events within one `wall`. Last-write-wins types
 * order writes by timestamp, then by replica id.
 *
 * ```
 * now():          wall' = max(wall, physical)
 *                 logical' = wall' == wall ? logical + 1 : 0
 * receive(r):     refuse r when r.wall > physical + maxOffset   (ClockSkewError)
 *                 wall' = max(wall, r.wall, physical)
 *                 logical' = ... + 1 of whichever of wall / r.wall reached wall'
 * ```
 *
 * The maximum tolerated offset is what keeps one node with a clock hours
 * ahead from dragging every timestamp in the cluster forward: its timestamp
 * is refused, nothing is merged, and the clock stays where it was. The
 * physical clock is a function, so tests and simulations set the time.
 *
 * @example
 * ```ts
 * import { compareTimestamps, Hlc } from "./hlc.ts";
 * let t = 1_000;
 * const a = new Hlc({ physical: () => t });
 * const b = new Hlc({ physical: () => t - 200 }); // b's clock runs 200 ms late
 * const sent = a.now();
 * const after = b.receive(sent);
 * console.assert(compareTimestamps(after, sent) > 0);
 * ```
 *
 * @module
 */

import { ClockSkewError } from "../errors.ts";

/** A hybrid logical clock timestamp. */
export interface HlcTimestamp {
  /** The highest physical time seen, in ms since the epoch. */
  readonly wall: number;
  /** Events counted within `wall`. */
  readonly logical: number;
}

/** Options of {@linkcode Hlc}. */
export interface HlcOptions {
  /** The physical clock, ms since the epoch (default `Date.now`). */
  physical?: () => number;
  /** How far ahead of the physical clock a peer's timestamp may be, in ms (default 500). */
  maxOffset?: number;
}

/**
 * The default maximum tolerated clock offset, in ms (CockroachDB's default).
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_OFFSET, Hlc } from "./hlc.ts";
 * console.assert(new Hlc().maxOffset === DEFAULT_MAX_OFFSET);
 * ```
 */
export const DEFAULT_MAX_OFFSET = 500;

/**
 * A hybrid logical clock.
 *
 * @example
 * ```ts
 * import { ClockSkewError } from "../errors.ts";
 * import { Hlc } from "./hlc.ts";
 * const clock = new Hlc({ physical: () => 5_000, maxOffset: 1_000 });
 * try {
 *   clock.receive({ wall: 60_000, logical: 0 });
 * } catch (e) {
 *   console.assert(e instanceof ClockSkewError);
 * }
 * console.assert(clock.now().wall === 5_000);
 * ```
 */
export class Hlc {
  readonly #physical: () => number;
  readonly #maxOffset: number;
  #wall = 0;
  #logical = 0;

  /**
   * @param options the physical clock and the maximum tolerated offset
   * @throws {RangeError} when `maxOffset` is not a non-negative number
   */
  constructor(options: HlcOptions = {}) {
    const maxOffset = options.maxOffset ?? DEFAULT_MAX_OFFSET;
    if (typeof maxOffset !== "number" || !(maxOffset >= 0)) {
      throw new RangeError(`Invalid HLC maximum offset: must be >= 0 ms, received ${maxOffset}`);
    }
    this.#physical = options.physical ?? Date.now;
    this.#maxOffset = maxOffset;
  }

  /** The maximum tolerated offset, in ms. */
  get maxOffset(): number {
    return this.#maxOffset;
  }

  /** The last timestamp this clock gave out or took in. */
  get last(): HlcTimestamp {
    return { wall: this.#wall, logical: this.#logical };
  }

  /**
   * A timestamp for a local event: later than every timestamp before it.
   *
   * @returns the timestamp
   */
  now(): HlcTimestamp {
    const physical = Math.floor(this.#physical());
    if (physical > this.#wall) {
      this.#wall = physical;
      this.#logical = 0;
    } else {
      this.#logical++;
    }
    return { wall: this.#wall, logical: this.#logical };
  }

  /**
   * Refuses a peer timestamp too far in the future, without changing the
   * clock.
   *
   * @param remote a timestamp from a peer
   * @throws {ClockSkewError} when `remote` is further ahead of the physical clock than `maxOffset`
   */
  check(remote: HlcTimestamp): void {
    const physical = Math.floor(this.#physical());
    const offset = remote.wall - physical;
    if (offset > this.#maxOffset) {
      throw new ClockSkewError(
        `Timestamp too far in the future: ${offset} ms ahead of the local clock, limit ${this.#maxOffset} ms`,
        { offset, maxOffset: this.#maxOffset },
      );
    }
  }

  /**
   * Takes in a peer's timestamp (a message received): the clock moves past
   * it, and the timestamp returned orders the receipt after the send.
   *
   * @param remote a timestamp from a peer
   * @returns the timestamp of the receipt
   * @throws {ClockSkewError} when `remote` is too far ahead (the clock is unchanged)
   * @throws {TypeError} when `remote` is not a timestamp
   */
  receive(remote: HlcTimestamp): HlcTimestamp {
    if (!isTimestamp(remote)) {
      throw new TypeError(
        "Invalid HLC timestamp: expected { wall, logical } of non-negative integers",
      );
    }
    this.check(remote);
    const physical = Math.floor(this.#physical());
    const wall = Math.max(this.#wall, remote.wall, physical);
    if (wall === this.#wall && wall === remote.wall) {
      this.#logical = Math.max(this.#logical, remote.logical) + 1;
    } else if (wall === this.#wall) {
      this.#logical++;
    } else if (wall === remote.wall) {
      this.#logical = remote.logical + 1;
    } else {
      this.#logical = 0;
    }
    this.#wall = wall;
    return { wall: this.#wall, logical: this.#logical };
  }
}

/**
 * Orders two timestamps.
 *
 * @param a a timestamp
 * @param b another
 * @returns negative when `a` is earlier, positive when later, 0 when equal
 *
 * @example
 * ```ts
 * import { compareTimestamps } from "./hlc.ts";
 * console.assert(compareTimestamps({ wall: 1, logical: 5 }, { wall: 2, logical: 0 }) < 0);
 * ```
 */
export function compareTimestamps(a: HlcTimestamp, b: HlcTimestamp): number {
  return a.wall !== b.wall ? a.wall - b.wall : a.logical - b.logical;
}

/**
 * Whether a value is a well-formed timestamp.
 *
 * @param value the value
 * @returns whether it is `{ wall, logical }` of non-negative safe integers
 *
 * @example
 * ```ts
 * import { isTimestamp } from "./hlc.ts";
 * console.assert(isTimestamp({ wall: 1, logical: 0 }) && !isTimestamp({ wall: -1, logical: 0 }));
 * ```
 */
export function isTimestamp(value: unknown): value is HlcTimestamp {
  if (typeof value !== "object" || value === null) return false;
  const { wall, logical } = value as HlcTimestamp;
  return Number.isSafeInteger(wall) && wall >= 0 && Number.isSafeInteger(logical) && logical >= 0;
}

/**
 * A timestamp as it crosses the wire: `[wall, logical]`.
 *
 * @param ts the timestamp
 * @returns the pair
 *
 * @example
 * ```ts
 * import { timestampFromWire, timestampToWire } from "./hlc.ts";
 * const ts = { wall: 10, logical: 2 };
 * console.assert(timestampFromWire(timestampToWire(ts)).logical === 2);
 * ```
 */
export function timestampToWire(ts: HlcTimestamp): [number, number] {
  return [ts.wall, ts.logical];
}

/**
 * A timestamp read from the wire.
 *
 * @param wire what {@linkcode timestampToWire} made
 * @returns the timestamp
 * @throws {TypeError} when `wire` is not `[wall, logical]` of non-negative integers
 *
 * @example
 * ```ts
 * import { timestampFromWire } from "./hlc.ts";
 * console.assert(timestampFromWire([5, 0]).wall === 5);
 * ```
 */
export function timestampFromWire(wire: unknown): HlcTimestamp {
  if (Array.isArray(wire) && wire.length === 2) {
    const ts = { wall: wire[0] as number, logical: wire[1] as number };
    if (isTimestamp(ts)) return ts;
  }
  throw new TypeError("Malformed HLC timestamp: expected [wall, logical] of non-negative integers");
}
