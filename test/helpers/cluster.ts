/**
 * Test helpers for the cluster services: a meshed cluster of in-process
 * nodes whose global name servers have exchanged their tables, and
 * waiting for every node to agree on something.
 *
 * @example
 * ```ts
 * import { startCluster } from "./cluster.ts";
 * import { stopAll } from "./nodes.ts";
 * const nodes = await startCluster(["a", "b", "c"]);
 * console.assert(nodes.every((n) => n.list().length === 2));
 * await stopAll(nodes);
 * ```
 *
 * @module
 */

import type { NodeOptions } from "../../src/node.ts";
import { startTestNodes, stopAll, type TestNode } from "./nodes.ts";
import { waitFor } from "./wait.ts";

/**
 * Starts nodes `name@127.0.0.1`, connects them into one mesh and waits
 * until each node's global name server has synced with every other.
 *
 * @param names bare node names
 * @param options options for every node
 */
export async function startCluster(
  names: string[],
  options: Partial<NodeOptions> = {},
): Promise<TestNode[]> {
  const nodes = await startTestNodes(names, options);
  try {
    await connectAll(nodes);
    return nodes;
  } catch (e) {
    await stopAll(nodes);
    throw e;
  }
}

/**
 * Connects every node to every other and waits for the mesh and the
 * global name servers' sync.
 *
 * @param nodes the nodes
 * @param timeout milliseconds
 */
export async function connectAll(nodes: TestNode[], timeout = 10_000): Promise<void> {
  for (const a of nodes) {
    for (const b of nodes) {
      if (a !== b && !a.list().includes(b.name)) await a.connect(b.address);
    }
  }
  await waitFor(() => nodes.every((n) => n.list().length >= nodes.length - 1), {
    timeout,
    message: `No full mesh: ${nodes.map((n) => `${n.name} sees [${n.list()}]`).join("; ")}`,
  });
  await Promise.all(nodes.map((n) => n.global.sync({ timeout })));
}

/**
 * Waits until `view(node)` is the same (as JSON) on every node, and
 * equals `expected` when given; returns the common view.
 *
 * @param nodes the nodes
 * @param view what each node sees
 * @param expected what they must all see
 * @param timeout milliseconds
 */
export async function converged<T>(
  nodes: TestNode[],
  view: (node: TestNode) => T,
  expected?: T,
  timeout = 10_000,
): Promise<T> {
  const text = (v: unknown) => JSON.stringify(v);
  await waitFor(() => {
    const views = nodes.map((n) => text(view(n)));
    return views.every((v) => v === views[0]) &&
      (expected === undefined || views[0] === text(expected));
  }, {
    timeout,
    message: `Nodes disagree: ${nodes.map((n) => `\n  ${n.name}: ${text(view(n))}`).join("")}${
      expected === undefined ? "" : `\n  expected: ${text(expected)}`
    }`,
  });
  return view(nodes[0]!);
}
