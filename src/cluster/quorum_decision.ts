/**
 * Quorum-based decisions, as the seed's `MyApp.Quorum` module: ask every
 * node the same question with `rpc.multicall` and take the answer most of
 * them give, or fail with {@linkcode QuorumNotAchieved} when too few
 * answered.
 *
 * ```
 * caller C                      every node N of `nodes` (C included when listed)
 *   C ---- rpc.multicall(fn) ----> N runs fn()
 *   C <--- answer | error -------- (one deadline for all: options.timeout)
 *   answered >= size ?  -> the answer given most often (ties: the first node's order)
 *                       :  QuorumNotAchieved {required, answered, failed}
 * ```
 *
 * A node that is down, times out or throws gives no vote: its error is in
 * `QuorumNotAchieved.failed` (the seed counted `{:badrpc, _}` as a vote;
 * Weft counts answers only). Answers are compared as values (two equal
 * objects are one answer), by their wire encoding. The size defaults to a
 * strict majority of the nodes asked ({@linkcode quorumCount}), the
 * maths of `quorumStatus` in quorum.ts.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { quorum } from "./quorum_decision.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const answer = await quorum.makeDecision([a.name], () => "yes", { runtime: a.runtime });
 * console.assert(answer === "yes");
 * await a.stop();
 * ```
 *
 * @module
 */

import { QuorumNotAchieved } from "../errors.ts";
import { NetKernel } from "../distribution/net_kernel.ts";
import { current } from "../process/current.ts";
import type { Runtime } from "../process/runtime.ts";
import { rpc } from "../rpc/namespace.ts";
import { encode } from "../term/codec.ts";
import { quorumStatus } from "./quorum.ts";

/** Options of {@linkcode QuorumNamespace.makeDecision}. */
export interface DecisionOptions {
  /** Milliseconds every node has to answer (one deadline for all). Default 5000, as the seed's. */
  timeout?: number;
  /** Answers needed. Default a strict majority of the nodes asked. */
  size?: number;
  /** The node to ask from, when not called from one of its processes. */
  runtime?: Runtime;
}

/** Options of {@linkcode QuorumNamespace.quorumCount}. */
export interface QuorumCountOptions {
  /** The node whose cluster is counted, when not called from one of its processes. */
  runtime?: Runtime;
}

/** The `quorum` namespace: the seed's `MyApp.Quorum`. */
export interface QuorumNamespace {
  /**
   * A strict majority of `totalNodes`; by default of the calling node's
   * cluster (`Node.list().length + 1`), as the seed's `quorum_count/1`.
   */
  quorumCount(totalNodes?: number, options?: QuorumCountOptions): number;
  /** Whether `votes` reach the quorum of the calling node's cluster (the seed's `achieve_quorum?/1`). */
  achieveQuorum(votes: readonly unknown[], options?: QuorumCountOptions): boolean;
  /**
   * Runs the self-contained function `fn` on every node of `nodes` and
   * resolves with the answer given most often; rejects with
   * `QuorumNotAchieved` when fewer than `options.size` (default a majority
   * of `nodes`) answered within `options.timeout`.
   */
  makeDecision<R>(
    nodes: readonly string[],
    fn: () => R,
    options?: DecisionOptions,
  ): Promise<Awaited<R>>;
}

function runtimeFor(what: string, runtime: Runtime | undefined): Runtime {
  if (runtime !== undefined) return runtime;
  try {
    return current().runtime;
  } catch (e) {
    throw new Error(
      `Cannot ${what}: not inside a Weft process; call it from a process, inside ` +
        `runInProcess(), or pass the runtime option`,
      { cause: e },
    );
  }
}

function quorumCount(totalNodes?: number, options: QuorumCountOptions = {}): number {
  let total = totalNodes;
  if (total === undefined) {
    const router = runtimeFor("count the quorum", options.runtime).router;
    total = (router instanceof NetKernel ? router.nodes().length : 0) + 1;
  }
  if (!Number.isInteger(total) || total < 1) {
    throw new RangeError(
      `Cannot count the quorum: total nodes must be an integer >= 1, received ${total}`,
    );
  }
  return Math.floor(total / 2) + 1;
}

function achieveQuorum(votes: readonly unknown[], options: QuorumCountOptions = {}): boolean {
  if (!Array.isArray(votes)) throw new TypeError("Cannot check the quorum: votes must be an array");
  return votes.length >= quorumCount(undefined, options);
}

async function makeDecision<R>(
  nodes: readonly string[],
  fn: () => R,
  options: DecisionOptions = {},
): Promise<Awaited<R>> {
  if (!Array.isArray(nodes) || nodes.length === 0 || !nodes.every((n) => typeof n === "string")) {
    throw new TypeError("Cannot make a decision: nodes must be a non-empty array of node names");
  }
  if (typeof fn !== "function") {
    throw new TypeError("Cannot make a decision: expected a function to run on every node");
  }
  const asked = [...new Set(nodes)];
  const { size } = quorumStatus(asked[0]!, asked, [], options.size);
  const runtime = runtimeFor("make a decision", options.runtime);
  const { results } = await rpc.multicall(asked, fn, [], {
    timeout: options.timeout ?? 5000,
    runtime,
  });
  const tally = new Map<string, { value: Awaited<R>; count: number }>();
  const failed: Record<string, Error> = {};
  let answered = 0;
  for (const r of results) {
    if (r.status === "error") {
      failed[r.node] = r.error;
      continue;
    }
    answered++;
    const key = keyOf(r.value);
    const seen = tally.get(key);
    if (seen === undefined) tally.set(key, { value: r.value, count: 1 });
    else seen.count++;
  }
  if (answered < size) {
    throw new QuorumNotAchieved(
      `Cannot decide: quorum not achieved (${answered} of ${asked.length} nodes answered, ${size} needed)`,
      { required: size, answered, failed },
    );
  }
  let best: { value: Awaited<R>; count: number } | undefined;
  for (const t of tally.values()) if (best === undefined || t.count > best.count) best = t;
  return best!.value;
}

/** A value's identity for counting votes: its wire encoding (hex). */
function keyOf(value: unknown): string {
  const bytes = encode(value);
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Quorum-based decisions for the node of the running process (the seed's
 * `MyApp.Quorum`: `quorum_count`, `achieve_quorum?`, `make_decision`).
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { quorum } from "./quorum_decision.ts";
 * import { QuorumNotAchieved } from "../errors.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * console.assert(quorum.quorumCount(5) === 3);
 * console.assert(quorum.quorumCount(undefined, { runtime: a.runtime }) === 1);
 * try {
 *   // b and c are not running: 1 answer of 3, 2 needed.
 *   await quorum.makeDecision([a.name, "b@127.0.0.1", "c@127.0.0.1"], () => 1, {
 *     runtime: a.runtime,
 *     timeout: 500,
 *   });
 * } catch (e) {
 *   console.assert(e instanceof QuorumNotAchieved && e.answered === 1 && e.required === 2);
 * }
 * await a.stop();
 * ```
 */
export const quorum: QuorumNamespace = Object.freeze({
  quorumCount,
  achieveQuorum,
  makeDecision,
});
