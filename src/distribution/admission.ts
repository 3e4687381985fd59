/**
 * Admission of incoming connections before authentication: how many
 * handshakes a node holds open for peers that have not yet proved the
 * cookie, how many per address, and how long a peer may take to send its
 * HELLO. Without these, a stranger holding a few hundred idle sockets to
 * the distribution port would take every handshake slot, and no genuine
 * node could connect (nor reconnect after a restart or a netsplit).
 *
 * ```
 * stranger / node  --TCP connect-->  listener --admit()--> handshake (responder)
 *   its address at maxPerAddress: refused (closed at once)
 *   full, its address would then be the busiest: refused
 *   full, a less busy address: admitted; the busiest address's oldest
 *          unauthenticated handshake is closed to make room
 *   no complete HELLO within helloTimeout: closed
 *   HELLO, then the proof (authenticated()): no longer counted here
 * ```
 *
 * So a flood takes slots only in proportion to its addresses: from a few
 * addresses it is refused as cheaply as a close, and a node connecting
 * from another address always gets a slot, at the flood's expense. A flood
 * from more addresses than there are slots can still push a genuine
 * handshake out, but only by opening that many connections within the
 * round trip or two a genuine handshake takes; one from the genuine node's
 * own address competes with it for that address's share. Connections
 * closed here are counted and reported in one warning per interval, not
 * one log line each, so a flood cannot fill the log either.
 *
 * @example
 * ```ts
 * import { HandshakeAdmission } from "./admission.ts";
 * import { memoryPair } from "./memory.ts";
 * const admission = new HandshakeAdmission({ maxPending: 4, maxPerAddress: 1, helloTimeout: 1000 });
 * const [c1, s1] = memoryPair();
 * const [c2, s2] = memoryPair();
 * const first = admission.admit(s1);
 * const second = admission.admit(s2); // same address ("memory"), at its limit: refused
 * console.assert(first !== undefined && second === undefined && (await c2.read()) === null);
 * first?.done();
 * for (const c of [c1, s1]) c.close();
 * ```
 *
 * @module
 */

import { logger } from "../log.ts";
import type { Connection } from "./transport.ts";

const log = logger("dist");

/** Limits of {@linkcode HandshakeAdmission}. */
export interface AdmissionLimits {
  /** Unauthenticated handshakes held at once, in all. */
  maxPending: number;
  /** Unauthenticated handshakes held at once from one address. */
  maxPerAddress: number;
  /** Milliseconds a peer has, from its connect, to send a complete HELLO. */
  helloTimeout: number;
}

/** One admitted connection, as its handshake reports progress. */
export interface Admitted {
  /** HELLO arrived: the HELLO deadline no longer applies. */
  helloReceived(): void;
  /** The peer proved the cookie: it no longer counts as unauthenticated. */
  authenticated(): void;
  /** The handshake ended (either way): forget the connection. */
  done(): void;
  /** Closed to make room for a newer connection. */
  readonly evicted: boolean;
  /** Closed because no complete HELLO came in time. */
  readonly helloTimedOut: boolean;
}

interface Entry {
  readonly conn: Connection;
  readonly address: string;
  timer: ReturnType<typeof setTimeout> | undefined;
  evicted: boolean;
  helloTimedOut: boolean;
}

/** How often, at most, connections closed here are reported. */
const REPORT_INTERVAL_MS = 10_000;

/**
 * Keeps the unauthenticated handshakes of one node within its limits.
 *
 * @example
 * ```ts
 * import { HandshakeAdmission } from "./admission.ts";
 * const admission = new HandshakeAdmission({ maxPending: 256, maxPerAddress: 16, helloTimeout: 2000 });
 * console.assert(admission.pending === 0);
 * ```
 */
export class HandshakeAdmission {
  readonly #limits: AdmissionLimits;
  /** Unauthenticated handshakes, oldest first (a Map keeps insertion order). */
  readonly #entries = new Map<Connection, Entry>();
  readonly #perAddress = new Map<string, number>();
  #closed = 0;
  #lastReport = -Infinity;

  /**
   * @param limits the limits
   * @throws {RangeError} when a limit is not a positive number
   */
  constructor(limits: AdmissionLimits) {
    for (const [key, value] of Object.entries(limits)) {
      if (!(typeof value === "number" && value >= 1)) {
        throw new RangeError(`Invalid admission limit: ${key} must be >= 1, received ${value}`);
      }
    }
    this.#limits = { ...limits };
  }

  /** Unauthenticated handshakes held now. */
  get pending(): number {
    return this.#entries.size;
  }

  /**
   * Admits `conn` and starts its HELLO deadline, or refuses it (closes it
   * at once) when its address already holds its share: at its own limit,
   * or, when the node is full, holding as many as the busiest address
   * would after it. When full and `conn` comes from a less busy address,
   * the oldest unauthenticated handshake of the busiest address is closed
   * to make room.
   *
   * @param conn a connection just accepted
   * @returns the handle its handshake reports progress on, or `undefined`
   *   when it was refused (and closed)
   */
  admit(conn: Connection): Admitted | undefined {
    const address = addressOf(conn.remoteAddr);
    const here = this.#perAddress.get(address) ?? 0;
    if (here >= this.#limits.maxPerAddress) return this.#refuse(conn);
    if (this.#entries.size >= this.#limits.maxPending) {
      const [busiest, most] = this.#busiestAddress();
      if (here + 1 > most) return this.#refuse(conn);
      this.#evictOldest(busiest);
    }
    const entry: Entry = { conn, address, timer: undefined, evicted: false, helloTimedOut: false };
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      entry.helloTimedOut = true;
      this.#drop(entry);
    }, this.#limits.helloTimeout);
    this.#entries.set(conn, entry);
    this.#perAddress.set(address, here + 1);
    return {
      helloReceived: () => {
        clearTimeout(entry.timer);
        entry.timer = undefined;
      },
      authenticated: () => this.#forget(entry),
      done: () => this.#forget(entry),
      get evicted() {
        return entry.evicted;
      },
      get helloTimedOut() {
        return entry.helloTimedOut;
      },
    };
  }

  /** Closes every held handshake (the node stops). */
  closeAll(): void {
    for (const entry of [...this.#entries.values()]) {
      this.#forget(entry);
      entry.conn.close();
    }
  }

  /** The address holding the most handshakes (the first such), and how many. */
  #busiestAddress(): [string, number] {
    let best = "";
    let most = 0;
    for (const [address, n] of this.#perAddress) {
      if (n > most) {
        best = address;
        most = n;
      }
    }
    return [best, most];
  }

  #refuse(conn: Connection): undefined {
    conn.close();
    this.#count();
    return undefined;
  }

  #evictOldest(address: string): void {
    for (const entry of this.#entries.values()) {
      if (entry.address !== address) continue;
      entry.evicted = true;
      this.#drop(entry);
      return;
    }
  }

  /** Closes an unauthenticated handshake, counted for the next report. */
  #drop(entry: Entry): void {
    this.#forget(entry);
    entry.conn.close();
    this.#count();
  }

  /** One more connection closed here; reported at most once per interval. */
  #count(): void {
    this.#closed++;
    const now = performance.now();
    if (now - this.#lastReport >= REPORT_INTERVAL_MS) {
      log.warning(
        "Closed {n} unauthenticated connections that were idle, too slow or over the limits " +
          "({pending} handshakes in progress; at most {max}, {perAddress} per address)",
        {
          n: this.#closed,
          pending: this.#entries.size,
          max: this.#limits.maxPending,
          perAddress: this.#limits.maxPerAddress,
        },
      );
      this.#closed = 0;
      this.#lastReport = now;
    }
  }

  #forget(entry: Entry): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    if (this.#entries.get(entry.conn) !== entry) return;
    this.#entries.delete(entry.conn);
    const n = (this.#perAddress.get(entry.address) ?? 1) - 1;
    if (n <= 0) this.#perAddress.delete(entry.address);
    else this.#perAddress.set(entry.address, n);
  }
}

/** The host part of a transport's `host:port` (IPv6 in brackets), as the per-address key. */
function addressOf(remoteAddr: string): string {
  const colon = remoteAddr.lastIndexOf(":");
  const host = colon > 0 ? remoteAddr.slice(0, colon) : remoteAddr;
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}
