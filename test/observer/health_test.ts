import assert from "node:assert/strict";
import { readiness } from "../../src/observer/health.ts";
import { serveMetrics } from "../../src/observer/metrics_server.ts";
import { startTestNode, startTestNodes, stopAll } from "../helpers/nodes.ts";

Deno.test("readiness(): a node told to connect is ready once connected", async () => {
  const [a, b] = await startTestNodes(["ready_a", "ready_b"]);
  try {
    assert.deepEqual(readiness(a!, true), {
      ready: false,
      reason: "not connected to any node yet",
    });
    assert.deepEqual(readiness(a!), { ready: true });
    assert.ok(await a!.connect(b!.address));
    assert.deepEqual(readiness(a!, true), { ready: true });
  } finally {
    await stopAll([a, b]);
  }
  assert.deepEqual(readiness(a!), { ready: false, reason: "the node has stopped" });
});

Deno.test("/health/ready: 503 with the reason while the configured quorum is not reached", async () => {
  const node = await startTestNode("ready_q", {
    cluster: {
      topologies: {},
      quorum: { expected: ["ready_q@127.0.0.1", "ready_x@127.0.0.1", "ready_y@127.0.0.1"] },
    },
  });
  const server = serveMetrics(node, { port: 0 });
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/health/ready`);
    assert.equal(res.status, 503);
    const body = await res.json();
    assert.equal(body.status, "not_ready");
    assert.match(body.reason, /^no quorum: 1 of 2 members needed reachable$/);
    const live = await fetch(`http://127.0.0.1:${server.port}/health/live`);
    assert.equal(live.status, 200);
    await live.body?.cancel();
  } finally {
    await server.close();
    await node.stop();
  }
});
