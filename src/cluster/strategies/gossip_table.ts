/**
 * The member table of the gossip strategy, apart from its sockets: for
 * each node the newest `[incarnation, seq]` heard (first hand or relayed)
 * and when it last grew. A member whose seq stops growing for
 * `expireAfter` ms is dropped, and remembered for a while as a tombstone
 * so that relays of its last heartbeat (from nodes that have not dropped
 * it yet) cannot bring it back; only a newer heartbeat does.
 *
 * @example
 * ```ts
 * import { GossipTable } from "./gossip_table.ts";
 * const t = new GossipTable("a@h", 1000);
 * const b = { name: "b@h", incarnation: 1, seq: 1, dist: { hostname: "h", port: 1 }, gossip: { hostname: "h", port: 2 } };
 * console.assert(t.merge(b, 0) === "new" && t.merge(b, 10) === "stale");
 * console.assert(t.expire(2000)[0] === "b@h" && t.merge(b, 2001) === "stale");
 * console.assert(t.merge({ ...b, seq: 2 }, 2002) === "new");
 * ```
 *
 * @module
 */

import type { GossipMember } from "./gossip_packet.ts";

/** A member and when its `[incarnation, seq]` last grew (local clock). */
export interface KnownMember extends GossipMember {
  changedAt: number;
}

/**
 * What {@linkcode GossipTable.merge} made of a member: `new` (first heard,
 * or a new incarnation), `moved` (its distribution address changed),
 * `refreshed` (a newer heartbeat), `stale` (nothing newer; ignored).
 */
export type MergeResult = "new" | "moved" | "refreshed" | "stale";

/** The members gossip believes in. */
export class GossipTable {
  #self: string;
  #expireAfter: number;
  #members = new Map<string, KnownMember>();
  #tombstones = new Map<string, { incarnation: number; seq: number; until: number }>();

  /**
   * @param self this node (never a member)
   * @param expireAfter ms without a newer heartbeat before a member is dropped
   */
  constructor(self: string, expireAfter: number) {
    this.#self = self;
    this.#expireAfter = expireAfter;
  }

  /**
   * Takes a member heard of at `now`.
   *
   * @returns what changed
   */
  merge(m: GossipMember, now: number): MergeResult {
    if (m.name === this.#self) return "stale";
    const dead = this.#tombstones.get(m.name);
    if (dead !== undefined) {
      if (!newer(m, dead)) return "stale";
      this.#tombstones.delete(m.name);
    }
    const known = this.#members.get(m.name);
    if (known !== undefined && !newer(m, known)) return "stale";
    this.#members.set(m.name, { ...m, changedAt: now });
    if (known === undefined || known.incarnation !== m.incarnation) return "new";
    if (known.dist.hostname !== m.dist.hostname || known.dist.port !== m.dist.port) return "moved";
    return "refreshed";
  }

  /**
   * Drops the members silent for longer than `expireAfter`.
   *
   * @returns their names
   */
  expire(now: number): string[] {
    const gone: string[] = [];
    for (const [name, m] of this.#members) {
      if (now - m.changedAt <= this.#expireAfter) continue;
      this.#members.delete(name);
      this.#tombstones.set(name, {
        incarnation: m.incarnation,
        seq: m.seq,
        until: now + 2 * this.#expireAfter,
      });
      gone.push(name);
    }
    for (const [name, t] of this.#tombstones) if (t.until < now) this.#tombstones.delete(name);
    return gone;
  }

  /** The members, most recently refreshed first. */
  members(): KnownMember[] {
    return [...this.#members.values()].sort((a, b) => b.changedAt - a.changedAt);
  }

  /** The members' names. */
  names(): string[] {
    return [...this.#members.keys()];
  }
}

function newer(m: GossipMember, than: { incarnation: number; seq: number }): boolean {
  return m.incarnation > than.incarnation ||
    (m.incarnation === than.incarnation && m.seq > than.seq);
}
