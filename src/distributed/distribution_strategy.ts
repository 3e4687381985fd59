/**
 * Where a distributed supervisor places a child: a strategy maps a child
 * id and the live members to one member. Every node must reach the same
 * answer from the same inputs, since the survivors of a lost member each
 * decide alone which of them restarts each of its children.
 *
 * | strategy            | places a child on                                       | moves when a member joins or leaves |
 * |---------------------|---------------------------------------------------------|-------------------------------------|
 * | `"uniform"`         | members sorted, index = hash(id) mod count              | most children                       |
 * | `"ring"`            | the first virtual node clockwise of hash(id) on a ring  | about 1/count of them               |
 * | `"least-loaded"`    | the member running fewest children (ties: by name)      | new children only                   |
 * | a function          | `(id, members, load) => member`                         | the function's call                 |
 *
 * Least-loaded placement depends on counts that differ a little between
 * nodes, so the children of a lost member are placed by the ring instead,
 * which every survivor computes alike.
 *
 * @example
 * ```ts
 * import { placeChild } from "./distribution_strategy.ts";
 * const members = ["a@h", "b@h", "c@h"];
 * const home = placeChild("ring", "worker-1", members, new Map());
 * console.assert(members.includes(home) && home === placeChild("ring", "worker-1", members, new Map()));
 * ```
 *
 * @module
 */

import { describeType } from "../errors.ts";

/** A user's placement: a member's name, from the child id, the live members (sorted), their loads. */
export type PlacementFunction = (
  id: string,
  members: readonly string[],
  load: ReadonlyMap<string, number>,
) => string;

/** How a distributed supervisor places children. */
export type DistributionStrategy = "uniform" | "ring" | "least-loaded" | PlacementFunction;

/** Virtual nodes per member on the ring. */
export const VIRTUAL_NODES = 64;

/**
 * A 32-bit FNV-1a hash of a string's UTF-16 code units, mixed at the end
 * so that close strings spread.
 *
 * @example
 * ```ts
 * import { hash32 } from "./distribution_strategy.ts";
 * console.assert(hash32("a") !== hash32("b") && hash32("a") === hash32("a"));
 * ```
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** The points of a consistent-hash ring, and the member owning each. */
export interface HashRing {
  /** The members it was built from, joined by spaces. */
  readonly members: string;
  /** Sorted points. */
  readonly points: Uint32Array;
  /** The member owning each point. */
  readonly owners: readonly string[];
}

/**
 * Builds the ring of `members`, {@linkcode VIRTUAL_NODES} points each.
 *
 * @example
 * ```ts
 * import { hashRing, VIRTUAL_NODES } from "./distribution_strategy.ts";
 * console.assert(hashRing(["a@h", "b@h"]).points.length === 2 * VIRTUAL_NODES);
 * ```
 */
export function hashRing(members: readonly string[]): HashRing {
  const pairs: [number, string][] = [];
  for (const m of members) {
    for (let v = 0; v < VIRTUAL_NODES; v++) pairs.push([hash32(`${m}#${v}`), m]);
  }
  pairs.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
  return {
    members: members.join(" "),
    points: Uint32Array.from(pairs, (p) => p[0]),
    owners: pairs.map((p) => p[1]),
  };
}

/**
 * The member that takes a child.
 *
 * @param strategy the strategy
 * @param id the child id
 * @param members the live members, sorted (not empty)
 * @param load children per member, for `"least-loaded"`
 * @param ring the ring of `members`, when the caller keeps one (built otherwise)
 * @returns one of `members`
 * @throws {TypeError} when a placement function returns something else than a member
 *
 * @example
 * ```ts
 * import { placeChild } from "./distribution_strategy.ts";
 * const load = new Map([["a@h", 5], ["b@h", 1]]);
 * console.assert(placeChild("least-loaded", "x", ["a@h", "b@h"], load) === "b@h");
 * ```
 */
export function placeChild(
  strategy: DistributionStrategy,
  id: string,
  members: readonly string[],
  load: ReadonlyMap<string, number>,
  ring?: HashRing,
): string {
  if (members.length === 0) throw new TypeError(`Cannot place child ${id}: no live member`);
  if (strategy === "uniform") return members[hash32(id) % members.length]!;
  if (strategy === "least-loaded") {
    let best = members[0]!;
    for (const m of members) if ((load.get(m) ?? 0) < (load.get(best) ?? 0)) best = m;
    return best;
  }
  if (typeof strategy === "function") {
    const chosen = strategy(id, members, load);
    if (typeof chosen !== "string" || !members.includes(chosen)) {
      throw new TypeError(
        `Cannot place child ${id}: the placement function returned ${
          describeType(chosen)
        }, not one of the live members ${members.join(", ")}`,
      );
    }
    return chosen;
  }
  const { points, owners } = ring !== undefined && ring.members === members.join(" ")
    ? ring
    : hashRing(members);
  const h = hash32(id);
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return owners[lo === points.length ? 0 : lo]!;
}

/**
 * Checks a strategy option.
 *
 * @throws {TypeError} when it is not one of the strategies
 */
export function checkStrategy(strategy: unknown, what: string): DistributionStrategy {
  if (
    strategy === "uniform" || strategy === "ring" || strategy === "least-loaded" ||
    typeof strategy === "function"
  ) {
    return strategy as DistributionStrategy;
  }
  throw new TypeError(
    `Cannot ${what}: strategy must be "uniform", "ring", "least-loaded" or a function, received ${
      describeType(strategy)
    }`,
  );
}
