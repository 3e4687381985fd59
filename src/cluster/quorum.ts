/**
 * Quorum against an expected member set: the expected members this node
 * reaches (itself included, when expected) against a size, by default a
 * strict majority. A node on the minority side of a partition has no
 * quorum; that is what a singleton or a leader should check before acting
 * alone.
 *
 * Transitions are reported once each: `partition` when the reachable part
 * falls below the size, `quorum_regained` when it reaches it again. A
 * node that starts without a quorum (still forming) reports nothing until
 * it has had one.
 *
 * Without an `expected` list, the expected set is every node a topology
 * listed and this node was connected to at some point, plus the node
 * itself: the largest membership seen. It only grows, so it notices a
 * split of a cluster that formed; give `expected` for a real guarantee
 * (a node that starts alone on the minority side knows no better).
 *
 * @example
 * ```ts
 * import { quorumStatus } from "./quorum.ts";
 * const q = quorumStatus("a@h", ["a@h", "b@h", "c@h"], ["b@h"]);
 * console.assert(q.hasQuorum && q.size === 2 && q.unreachable[0] === "c@h");
 * ```
 *
 * @module
 */

import { parseNodeName } from "../term/node_name.ts";
import { configError, object, onlyKeys, optionalNumber, stringList } from "./_config.ts";
import type { QuorumView } from "./events.ts";

/** Options for quorum checks. */
export interface QuorumOptions {
  /** The full membership, this node included (`name@host`). Default: every node ever discovered. */
  expected?: string[];
  /** Members needed. Default: a strict majority of `expected`. */
  size?: number;
}

/** The quorum now. */
export interface QuorumStatus extends QuorumView {
  /** Whether `reachable` holds at least `size` members. */
  hasQuorum: boolean;
}

/**
 * Computes the quorum.
 *
 * @param self this node
 * @param expected the expected members
 * @param connected the nodes connected now
 * @param size members needed (default a strict majority)
 * @returns the status
 * @throws {RangeError} when `size` is not in 1..expected
 *
 * @example
 * ```ts
 * import { quorumStatus } from "./quorum.ts";
 * const q = quorumStatus("a@h", ["a@h", "b@h", "c@h", "d@h"], []);
 * console.assert(!q.hasQuorum && q.size === 3 && q.reachable.length === 1);
 * ```
 */
export function quorumStatus(
  self: string,
  expected: Iterable<string>,
  connected: Iterable<string>,
  size?: number,
): QuorumStatus {
  const all = [...new Set(expected)].sort();
  const up = new Set(connected);
  up.add(self);
  const needed = size ?? Math.floor(all.length / 2) + 1;
  if (!(Number.isInteger(needed) && needed >= 1 && needed <= Math.max(all.length, 1))) {
    throw new RangeError(
      `Invalid quorum size: must be 1-${all.length} for ${all.length} expected members, received ${needed}`,
    );
  }
  const reachable = all.filter((n) => up.has(n));
  return {
    expected: all,
    reachable,
    unreachable: all.filter((n) => !up.has(n)),
    size: needed,
    hasQuorum: reachable.length >= needed,
  };
}

/**
 * Follows the quorum of one node and tells its transitions.
 *
 * @example
 * ```ts
 * import { QuorumWatch } from "./quorum.ts";
 * const w = new QuorumWatch("a@h", { expected: ["a@h", "b@h", "c@h"] });
 * console.assert(w.update(["b@h"], []).transition === undefined);
 * console.assert(w.update([], []).transition === "lost");
 * console.assert(w.update(["c@h"], []).transition === "regained");
 * ```
 */
export class QuorumWatch {
  #self: string;
  #expected: string[] | undefined;
  #size: number | undefined;
  #seen = new Set<string>();
  #had = false;
  #has = false;

  /**
   * @param self this node
   * @param options the expected members and size
   * @throws {TypeError} when a member name is malformed
   * @throws {RangeError} when the size does not fit the members
   */
  constructor(self: string, options: QuorumOptions = {}) {
    this.#self = self;
    if (options.expected !== undefined) {
      this.#expected = options.expected.map((n) => parseNodeName(n).full);
      quorumStatus(self, this.#expected, [], options.size);
    } else if (
      options.size !== undefined && !(Number.isInteger(options.size) && options.size >= 1)
    ) {
      throw new RangeError(
        `Invalid quorum size: must be an integer >= 1, received ${options.size}`,
      );
    }
    this.#size = options.size;
    this.#seen.add(self);
  }

  /**
   * The quorum now.
   *
   * @param connected the visible nodes connected now
   * @param believed the nodes the topologies list now
   */
  status(connected: Iterable<string>, believed: Iterable<string>): QuorumStatus {
    const up = new Set(connected);
    // Without an expected list: every listed node ever seen connected, so
    // that discovery alone never makes the quorum look lost.
    for (const n of believed) if (up.has(n)) this.#seen.add(n);
    const expected = this.#expected ?? [...this.#seen];
    const size = this.#size !== undefined ? Math.min(this.#size, expected.length) : undefined;
    return quorumStatus(this.#self, expected, up, size);
  }

  /**
   * Recomputes the quorum and says whether it was just lost or regained.
   *
   * @param connected the visible nodes connected now
   * @param believed the nodes the topologies list now
   */
  update(
    connected: Iterable<string>,
    believed: Iterable<string>,
  ): { status: QuorumStatus; transition?: "lost" | "regained" } {
    const status = this.status(connected, believed);
    const was = this.#has;
    this.#has = status.hasQuorum;
    if (status.hasQuorum && !was) {
      const first = !this.#had;
      this.#had = true;
      return first ? { status } : { status, transition: "regained" };
    }
    if (!status.hasQuorum && was) return { status, transition: "lost" };
    return { status };
  }
}

/**
 * Reads a `quorum` config from JSON.
 *
 * @param raw the `quorum` value
 * @param path where it sits, for error messages
 * @returns the options
 * @throws {TypeError} naming the bad value
 *
 * @example
 * ```ts
 * import { parseQuorumConfig } from "./quorum.ts";
 * console.assert(parseQuorumConfig({ expected: ["a@h", "b@h", "c@h"] }, "quorum").expected?.length === 3);
 * ```
 */
export function parseQuorumConfig(raw: unknown, path: string): QuorumOptions {
  const o = object(raw, path);
  onlyKeys(o, ["expected", "size"], path);
  const q: QuorumOptions = {};
  if (o.expected !== undefined) {
    q.expected = stringList(o, "expected", path, false);
    q.expected.forEach((n, i) => {
      try {
        parseNodeName(n);
      } catch (e) {
        throw configError(`${path}.expected[${i}]`, (e as Error).message);
      }
    });
  }
  const size = optionalNumber(o, "size", path, { min: 1, integer: true });
  if (size !== undefined) q.size = size;
  if (q.expected !== undefined && size !== undefined && size > q.expected.length) {
    throw new RangeError(
      `Invalid cluster config: ${path}.size: must be at most the ${q.expected.length} expected members`,
    );
  }
  return q;
}
