/**
 * A split-brain resolver, as Akka's: when some expected members have been
 * unreachable for a while and the membership has stopped changing
 * (`stableAfter`), each side decides by the same rule whether it keeps
 * running or downs itself, so that a singleton never runs on both sides
 * of a partition.
 *
 * ```
 * nodeup / nodedown on this node ----> reachable set changed: restart the stable timer
 * stable for stableAfter, someone unreachable:
 *   decide(strategy, view) --> "keep": event split_brain_decision {decision: "keep", downed}
 *                          \-> "down": event split_brain_decision {decision: "down"}, then the
 *                                      action: stop this node | exit the OS process | read-only
 * read-only and every member reachable again: event split_brain_healed, read-only lifted
 * ```
 *
 * Strategies (each side computes the same answer from its own view):
 * - `keep-majority`: the side with more than half of the members keeps
 *   running; on an even split, the side holding the smallest node name.
 * - `static-quorum`: a side with at least `quorumSize` members keeps running.
 * - `keep-oldest`: the side with the oldest member (started first, as the
 *   cluster processes tell each other on every connection) keeps running;
 *   with `downIfAlone` (default), an oldest member cut off alone downs
 *   itself and the others keep running.
 * - `keep-referee`: the side that reaches `referee` keeps running, if it
 *   has at least `downAllIfLessThanNodes` members.
 * - `off`: nothing is decided.
 *
 * The members are the quorum's expected set (`quorum.expected`, or every
 * listed node seen connected). A node that cannot tell (no view of the
 * oldest member's age) keeps running and logs why.
 *
 * @example
 * ```ts
 * import { decideSplitBrain } from "./split_brain.ts";
 * const d = decideSplitBrain({ strategy: "keep-majority" }, {
 *   self: "c@h",
 *   members: ["a@h", "b@h", "c@h"],
 *   reachable: ["c@h"],
 * });
 * console.assert(d.decision === "down");
 * ```
 *
 * @module
 */

import { configError, object, onlyKeys, optionalBoolean, optionalNumber } from "./_config.ts";

/** The downing strategies. */
export const SPLIT_BRAIN_STRATEGIES = [
  "keep-majority",
  "static-quorum",
  "keep-oldest",
  "keep-referee",
  "off",
] as const;

/** A downing strategy. */
export type SplitBrainStrategy = (typeof SPLIT_BRAIN_STRATEGIES)[number];

/** What the losing side does. */
export const SPLIT_BRAIN_ACTIONS = ["stop-node", "exit-process", "read-only"] as const;

/** What the losing side does: stop its node, exit its OS process, or stay up read-only. */
export type SplitBrainAction = (typeof SPLIT_BRAIN_ACTIONS)[number];

/** Options of the split-brain resolver (`ClusterOptions.splitBrainResolver`). */
export interface SplitBrainOptions {
  /** The downing strategy. */
  strategy: SplitBrainStrategy;
  /** Milliseconds the membership must stay unchanged before deciding. Default 10000. */
  stableAfter?: number;
  /** What a losing node does. Default `"stop-node"`. */
  action?: SplitBrainAction;
  /** `static-quorum`: members a side needs to keep running. */
  quorumSize?: number;
  /** `keep-oldest`: an oldest member cut off alone downs itself. Default `true`. */
  downIfAlone?: boolean;
  /** `keep-referee`: the node whose side keeps running. */
  referee?: string;
  /** `keep-referee`: fewer members than this on the referee's side down it too. Default 1. */
  downAllIfLessThanNodes?: number;
}

/** What one side sees when it decides. */
export interface SplitBrainView {
  /** This node. */
  self: string;
  /** Every member, this node included. */
  members: string[];
  /** The members this node reaches, itself included. */
  reachable: string[];
  /** The oldest member, when known. */
  oldest?: string;
}

/** A decision: keep running or down this side, and why. */
export interface SplitBrainDecision {
  /** `"keep"`: this side keeps running; `"down"`: it downs itself. */
  decision: "keep" | "down";
  /** Why, in a sentence. */
  reason: string;
}

/**
 * Decides for one side of a partition.
 *
 * @param options the strategy and its settings
 * @param view what this side sees
 * @returns keep or down, with the reason
 *
 * @example
 * ```ts
 * import { decideSplitBrain } from "./split_brain.ts";
 * const view = { self: "a@h", members: ["a@h", "b@h", "c@h", "d@h"], reachable: ["a@h", "b@h"] };
 * console.assert(decideSplitBrain({ strategy: "keep-majority" }, view).decision === "keep");
 * console.assert(decideSplitBrain({ strategy: "static-quorum", quorumSize: 3 }, view).decision === "down");
 * ```
 */
export function decideSplitBrain(
  options: SplitBrainOptions,
  view: SplitBrainView,
): SplitBrainDecision {
  const members = [...new Set([...view.members, view.self])].sort();
  const reachable = members.filter((m) => m === view.self || view.reachable.includes(m));
  const n = reachable.length;
  const total = members.length;
  const keep = (reason: string): SplitBrainDecision => ({ decision: "keep", reason });
  const down = (reason: string): SplitBrainDecision => ({ decision: "down", reason });
  switch (options.strategy) {
    case "off":
      return keep("the resolver is off");
    case "keep-majority": {
      if (2 * n > total) return keep(`${n} of ${total} members is a majority`);
      if (2 * n < total) return down(`${n} of ${total} members is a minority`);
      const lowest = members[0]!;
      return reachable.includes(lowest)
        ? keep(`an even split (${n} of ${total}), and this side holds ${lowest}`)
        : down(`an even split (${n} of ${total}), and the other side holds ${lowest}`);
    }
    case "static-quorum": {
      const size = options.quorumSize ?? Math.floor(total / 2) + 1;
      return n >= size
        ? keep(`${n} members reach the quorum of ${size}`)
        : down(`${n} members are fewer than the quorum of ${size}`);
    }
    case "keep-oldest": {
      const oldest = view.oldest;
      if (oldest === undefined) return keep("the oldest member is not known here");
      const here = reachable.includes(oldest);
      const alone = (here ? n : total - n) === 1 && total > 1;
      if ((options.downIfAlone ?? true) && alone) {
        return here
          ? down(`the oldest member ${oldest} is alone on this side`)
          : keep(`the oldest member ${oldest} is alone on the other side`);
      }
      return here
        ? keep(`this side holds the oldest member ${oldest}`)
        : down(`the other side holds the oldest member ${oldest}`);
    }
    case "keep-referee": {
      const referee = options.referee ?? "";
      const least = options.downAllIfLessThanNodes ?? 1;
      if (!reachable.includes(referee)) return down(`the referee ${referee} is on the other side`);
      return n >= least
        ? keep(`this side holds the referee ${referee}`)
        : down(`the referee's side has ${n} members, fewer than ${least}`);
    }
  }
}

/**
 * Reads a `splitBrainResolver` config from JSON.
 *
 * @param raw the value
 * @param path where it sits, for error messages
 * @returns the options
 * @throws {TypeError} naming the bad value
 * @throws {RangeError} when a number is out of range
 *
 * @example
 * ```ts
 * import { parseSplitBrainConfig } from "./split_brain.ts";
 * const o = parseSplitBrainConfig({ strategy: "keep-majority", stableAfter: 2000 }, "splitBrainResolver");
 * console.assert(o.strategy === "keep-majority" && o.stableAfter === 2000);
 * ```
 */
export function parseSplitBrainConfig(raw: unknown, path: string): SplitBrainOptions {
  const o = object(raw, path);
  onlyKeys(o, [
    "strategy",
    "stableAfter",
    "action",
    "quorumSize",
    "downIfAlone",
    "referee",
    "downAllIfLessThanNodes",
  ], path);
  const strategy = o.strategy;
  if (!(SPLIT_BRAIN_STRATEGIES as readonly unknown[]).includes(strategy)) {
    throw configError(
      `${path}.strategy`,
      `expected one of ${SPLIT_BRAIN_STRATEGIES.join(", ")}, received ${JSON.stringify(strategy)}`,
    );
  }
  const options: SplitBrainOptions = { strategy: strategy as SplitBrainStrategy };
  if (o.action !== undefined) {
    if (!(SPLIT_BRAIN_ACTIONS as readonly unknown[]).includes(o.action)) {
      throw configError(
        `${path}.action`,
        `expected one of ${SPLIT_BRAIN_ACTIONS.join(", ")}, received ${JSON.stringify(o.action)}`,
      );
    }
    options.action = o.action as SplitBrainAction;
  }
  const stable = optionalNumber(o, "stableAfter", path, { min: 0 });
  if (stable !== undefined) options.stableAfter = stable;
  const size = optionalNumber(o, "quorumSize", path, { min: 1, integer: true });
  if (size !== undefined) options.quorumSize = size;
  const least = optionalNumber(o, "downAllIfLessThanNodes", path, { min: 1, integer: true });
  if (least !== undefined) options.downAllIfLessThanNodes = least;
  const alone = optionalBoolean(o, "downIfAlone", path);
  if (alone !== undefined) options.downIfAlone = alone;
  if (o.referee !== undefined) {
    if (typeof o.referee !== "string" || !o.referee.includes("@")) {
      throw configError(`${path}.referee`, "expected a node name name@host");
    }
    options.referee = o.referee;
  }
  checkSplitBrainOptions(options, path);
  return options;
}

/**
 * Checks options given in code.
 *
 * @throws {TypeError} when a strategy lacks what it needs
 */
export function checkSplitBrainOptions(
  options: SplitBrainOptions,
  path = "splitBrainResolver",
): void {
  if (!(SPLIT_BRAIN_STRATEGIES as readonly unknown[]).includes(options.strategy)) {
    throw configError(`${path}.strategy`, `expected one of ${SPLIT_BRAIN_STRATEGIES.join(", ")}`);
  }
  if (options.strategy === "static-quorum" && options.quorumSize === undefined) {
    throw configError(`${path}.quorumSize`, "static-quorum needs a quorumSize");
  }
  if (options.strategy === "keep-referee" && options.referee === undefined) {
    throw configError(`${path}.referee`, "keep-referee needs a referee");
  }
}
