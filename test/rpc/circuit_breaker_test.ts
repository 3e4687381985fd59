import assert from "node:assert/strict";
import { CircuitBreaker } from "../../src/rpc/circuit_breaker.ts";
import { CircuitOpenError, NoConnectionError, RemoteError } from "../../src/errors.ts";
import { RPC_CIRCUIT_CHANGED } from "../../src/telemetry/events.ts";
import { startTestNode, startTestNodes, stopAll } from "../helpers/nodes.ts";

Deno.test("CircuitBreaker opens after N failures in the window, not N spread wider", () => {
  let now = 0;
  const b = new CircuitBreaker({ failures: 3, windowMs: 1000, resetAfterMs: 500 }, () => now);
  b.failure();
  now = 600;
  b.failure();
  now = 1200; // the first failure left the window
  b.failure();
  assert.equal(b.state, "closed");
  b.failure();
  assert.equal(b.state, "open");
  assert.equal(b.allow(), false);
  assert.equal(b.retryInMs, 500);
});

Deno.test("CircuitBreaker half-open lets one probe through: failure reopens, success closes", () => {
  let now = 0;
  const b = new CircuitBreaker({ failures: 1, windowMs: 1000, resetAfterMs: 100 }, () => now);
  b.failure();
  assert.equal(b.state, "open");
  now = 100;
  assert.equal(b.state, "half_open");
  assert.equal(b.allow(), true);
  assert.equal(b.allow(), false, "only one probe at a time");
  b.failure();
  assert.equal(b.state, "open");
  now = 250;
  assert.equal(b.allow(), true);
  b.success();
  assert.equal(b.state, "closed");
  assert.equal(b.allow(), true);
});

Deno.test("CircuitBreaker refuses bad settings", () => {
  assert.throws(() => new CircuitBreaker({ failures: 0 }), RangeError);
  assert.throws(() => new CircuitBreaker({ windowMs: 1.5 }), RangeError);
  assert.throws(() => new CircuitBreaker({ resetAfterMs: -1 }), RangeError);
});

Deno.test("rpc.call: calls to a dead node open its breaker, then fail fast with CircuitOpenError", async () => {
  const [a, b] = await startTestNodes(["cb_a", "cb_b"], {
    circuitBreaker: { failures: 2, windowMs: 60_000, resetAfterMs: 60_000 },
  });
  try {
    const changes: unknown[] = [];
    a!.runtime.telemetry.attach("cb", RPC_CIRCUIT_CHANGED, (_e, _m, md) => changes.push(md.to));
    assert.ok(await a!.connect(b!.address));
    // A function that throws there is an answer: the breaker stays closed.
    await assert.rejects(
      a!.rpc.call(b!.address, () => {
        throw new Error("boom");
      }),
      RemoteError,
    );
    assert.equal(a!.rpc.breakers()[0]!.state, "closed");
    const address = b!.address;
    await b!.stop();
    for (let i = 0; i < 2; i++) {
      await assert.rejects(a!.rpc.call(address, () => 1, [], { timeout: 2000 }), NoConnectionError);
    }
    const err = await a!.rpc.call(address, () => 1).catch((e) => e);
    assert.ok(err instanceof CircuitOpenError, String(err));
    assert.ok(err instanceof NoConnectionError);
    assert.match(err.message, /circuit breaker is open after 2 failures/);
    assert.deepEqual(a!.rpc.breakers().map((x) => [x.node, x.state]), [[b!.name, "open"]]);
    assert.deepEqual(changes, ["open"]);
    // The observer module shows it.
    assert.equal(a!.rpc.observer.figures().breakers[0]!.state, "open");
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("rpc.call: a breaker opened while its node was gone closes when the node is connected again", async () => {
  const [a, b] = await startTestNodes(["cb_c", "cb_d"], {
    circuitBreaker: { failures: 2, windowMs: 60_000, resetAfterMs: 60_000 },
  });
  let b2: Awaited<ReturnType<typeof startTestNode>> | undefined;
  try {
    const port = b!.port;
    await b!.stop();
    const address = `${b!.name}:${port}`;
    for (let i = 0; i < 2; i++) {
      await assert.rejects(a!.rpc.call(address, () => 1, [], { timeout: 2000 }), NoConnectionError);
    }
    await assert.rejects(a!.rpc.call(address, () => 1), CircuitOpenError);
    b2 = await startTestNode("cb_d", { port });
    assert.ok(await a!.connect(b2.address));
    assert.equal(await a!.rpc.call(b2.address, () => 1), 1);
    assert.equal(a!.rpc.breakers()[0]!.state, "closed");
  } finally {
    await stopAll([a, b, b2]);
  }
});
