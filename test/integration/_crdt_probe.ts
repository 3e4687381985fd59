/**
 * Loaded into real `weft` nodes (`--load`) by the replicator's process
 * tests: rpc calls from the test drive the node's replicator and start its
 * fault agent.
 *
 * @module
 */

import { startFaultAgent } from "../../src/cluster/faults.ts";
import { current } from "../../src/process/current.ts";
import { replicatorOf } from "../../src/replicator/replicator.ts";
import type { Consistency } from "../../src/replicator/types.ts";

/** The module name rpc calls use. */
export const name = "crdt_probe";

function replicator() {
  return replicatorOf(current().runtime);
}

/** Starts the node's fault agent (Faults partitions it from the test). */
export function agent(): boolean {
  startFaultAgent(current().runtime);
  return true;
}

/** Increments PN-Counter `key` (durable when asked); resolves once the write level is met. */
export async function increment(
  key: string,
  n: number,
  write: Consistency = "local",
  durable = false,
): Promise<string> {
  const r = replicator();
  const counter = r.open(key, "pn-counter", { durable });
  try {
    await counter.update((c) => c.increment(n), { write, timeout: 2000 });
    return "ok";
  } catch (e) {
    return (e as Error).name;
  }
}

/** The value of `key` here, or null when this node does not hold it. */
export function value(key: string): unknown {
  const r = replicator();
  return r.keys().includes(key) ? r.value(key) : null;
}
