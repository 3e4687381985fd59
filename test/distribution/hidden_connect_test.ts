/**
 * Hidden connections to one peer (`connectHidden`, as Erlang's
 * `net_kernel:hidden_connect_node/1`) and relayed bodies: the two kernel
 * hooks multi-region gateways stand on.
 */
import assert from "node:assert/strict";
import type { Relay } from "../../src/distribution/net_kernel.ts";
import { startTestNodes, stopAll } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

Deno.test("connectHidden links two nodes of meshes that stay apart: each lists the other as hidden only, and neither meshes with the other's peers", async () => {
  const [a, b, c, d] = await startTestNodes(["a", "b", "c", "d"]);
  try {
    assert.ok(await a!.connect(b!.address)); // mesh 1: a, b
    assert.ok(await c!.connect(d!.address)); // mesh 2: c, d
    assert.ok(await a!.kernel.connectHidden(c!.address));
    assert.deepEqual(a!.list(), [b!.name]);
    assert.deepEqual(a!.list("hidden"), [c!.name]);
    assert.deepEqual(c!.list("hidden"), [a!.name]);
    assert.deepEqual(c!.list(), [d!.name]);
    // A PEERS round went by: b and d still know nothing of the other mesh.
    assert.equal(await b!.ping(a!.name), "pong");
    assert.equal(await d!.ping(c!.name), "pong");
    assert.deepEqual(b!.list("all"), [a!.name]);
    assert.deepEqual(d!.list("all"), [c!.name]);
  } finally {
    await stopAll([a, b, c, d]);
  }
});

Deno.test("a relay carries sends, links and monitors to a node the kernel never dials, and 'unreachable' fails links at once", async () => {
  const [a, b] = await startTestNodes(["a", "b"]);
  try {
    // a reaches "far@127.0.0.1" (which is really b) only through its relay.
    const far = "far@127.0.0.1";
    let reachable = true;
    const relayed: string[] = [];
    const relay: Relay = {
      reachable: (node) => node === far ? reachable : undefined,
      route(node, body) {
        if (node !== far) return "direct";
        if (!reachable) return "unreachable";
        relayed.push(node);
        queueMicrotask(() => b!.kernel.deliverRelayed(a!.name, body));
        return "relayed";
      },
    };
    a!.kernel.relay = relay;
    const onB = b!.runtime.open();
    const { Pid } = await import("../../src/term/pid.ts");
    const target = new Pid(far, onB.self.id, onB.self.serial, onB.self.creation);
    const sender = a!.runtime.open();
    sender.send(target, "through the relay");
    assert.equal(await onB.receive(undefined, { timeout: 5000 }), "through the relay");
    assert.ok(relayed.length >= 1);
    assert.deepEqual(a!.list("all"), [], "a never dialled anyone");

    reachable = false;
    const watcher = a!.runtime.open();
    watcher.monitor(target);
    const down = await watcher.receive<{ type: string; reason: unknown }>(undefined, {
      timeout: 5000,
    });
    assert.equal(down.type, "DOWN");
    assert.equal(down.reason, "noconnection");
    await waitFor(() => a!.list("all").length === 0);
  } finally {
    await stopAll([a, b]);
  }
});
