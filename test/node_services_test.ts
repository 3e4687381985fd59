import { DISTRIBUTED } from "../src/distributed/service.ts";
import { RAFT } from "../src/raft/raft_service.ts";
import { EVENT_SOURCING } from "../src/event_sourcing/event_sourcing.ts";
import { REPLICATOR } from "../src/replicator/replicator.ts";
import assert from "node:assert/strict";
import { GLOBAL_NAMES } from "../src/global/name_server.ts";
import { importCookie } from "../src/distribution/handshake.ts";
import { MemoryNetwork } from "../src/distribution/memory.ts";
import { NetKernel } from "../src/distribution/net_kernel.ts";
import { ServiceAlreadyRunningError } from "../src/errors.ts";
import { startNodeServices, stopNodeServices } from "../src/node_services.ts";
import { PG_SCOPES } from "../src/pg/scope.ts";
import { Runtime } from "../src/process/runtime.ts";
import { PRESENCE } from "../src/pubsub/presence.ts";
import { PUBSUB } from "../src/pubsub/pubsub.ts";
import { RPC_SERVICE } from "../src/rpc/_service_key.ts";
import { startTestNode } from "./helpers/nodes.ts";

function bareNode(): { runtime: Runtime; kernel: NetKernel } {
  const runtime = new Runtime({ node: "a@h" });
  const kernel = new NetKernel({
    runtime,
    cookie: importCookie("c"),
    transport: new MemoryNetwork(),
    listenPort: 0,
  });
  return { runtime, kernel };
}

Deno.test("startNode() puts its services in the node's context, in start order", async () => {
  const node = await startTestNode("a");
  try {
    assert.deepEqual(node.runtime.context.keys(), [
      "rpc",
      "global",
      "global name registry", // global resolves {global: name} for the OTP behaviours
      "pg",
      "pubsub",
      "presence",
      "replicator",
      "distributed",
      "via names", // distributed registries resolve {via: "name", key}
      "raft",
      "event_sourcing",
    ]);
    assert.equal(node.runtime.context.require(RPC_SERVICE), node.rpc);
    assert.equal(node.runtime.context.require(GLOBAL_NAMES), node.global);
    assert.equal(node.runtime.context.require(PG_SCOPES).get("pg"), node.pg);
    assert.equal(node.runtime.context.require(PUBSUB), node.pubsub);
    assert.equal(node.runtime.context.require(PRESENCE), node.presence);
    assert.equal(node.runtime.context.require(REPLICATOR), node.replicator);
    assert.equal(node.runtime.context.require(DISTRIBUTED), node.distributed);
    assert.equal(node.runtime.context.require(RAFT), node.raft);
    assert.equal(node.runtime.context.require(EVENT_SOURCING), node.eventSourcing);
  } finally {
    await node.stop();
  }
  assert.deepEqual(node.runtime.context.keys(), [], "every service left the context");
});

Deno.test("stopNodeServices() stops the node's processes before rpc, and empties the context", async () => {
  const { runtime, kernel } = bareNode();
  const services = await startNodeServices(runtime, kernel, {});
  let closedWhenRpcStopped: boolean | undefined;
  const stop = services.rpc.stop.bind(services.rpc);
  services.rpc.stop = () => {
    closedWhenRpcStopped = runtime.closed;
    stop();
  };
  await stopNodeServices(services, runtime);
  await kernel.stop();
  assert.equal(closedWhenRpcStopped, true);
  assert.deepEqual(runtime.context.keys(), []);
});

Deno.test("startNodeServices() that fails stops the services it started and leaves the context empty", async () => {
  const { runtime, kernel } = bareNode();
  try {
    // A malformed rpc module: the first service refuses to start.
    await assert.rejects(
      () => startNodeServices(runtime, kernel, { modules: { m: 7 as unknown as object } }),
      TypeError,
    );
    assert.deepEqual(runtime.context.keys(), []);
    // pubsub already runs: rpc, global and pg start, then are stopped again.
    const services = await startNodeServices(runtime, kernel, {});
    const other = bareNode();
    try {
      other.runtime.context.provide(PUBSUB, services.pubsub);
      await assert.rejects(
        () => startNodeServices(other.runtime, other.kernel, {}),
        ServiceAlreadyRunningError,
      );
      assert.deepEqual(other.runtime.context.keys(), ["pubsub"]);
    } finally {
      other.runtime.context.remove(PUBSUB);
      await other.runtime.shutdown();
      await other.kernel.stop();
    }
    await stopNodeServices(services, runtime);
  } finally {
    await runtime.shutdown();
    await kernel.stop();
  }
});
