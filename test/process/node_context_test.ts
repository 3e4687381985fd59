import assert from "node:assert/strict";
import {
  NameError,
  NotAliveError,
  ServiceAlreadyRunningError,
  ServiceNotRunningError,
} from "../../src/errors.ts";
import { NodeContext, ServiceKey } from "../../src/process/node_context.ts";
import { Runtime } from "../../src/process/runtime.ts";

const COUNTER = new ServiceKey<{ n: number }>("counter");

Deno.test("NodeContext: a provided service is found by its key, and gone once removed", async () => {
  const rt = new Runtime({ node: "a@h" });
  try {
    assert.equal(rt.context.get(COUNTER), undefined);
    const counter = { n: 1 };
    rt.context.provide(COUNTER, counter);
    assert.equal(rt.context.get(COUNTER), counter);
    assert.equal(rt.context.require(COUNTER), counter);
    assert.deepEqual(rt.context.keys(), ["counter"]);
    assert.equal(rt.context.remove(COUNTER), true);
    assert.equal(rt.context.get(COUNTER), undefined);
    assert.equal(rt.context.remove(COUNTER), false);
  } finally {
    await rt.shutdown();
  }
});

Deno.test("NodeContext.provide() refuses a service that already runs, naming it and the node", () => {
  const context = new NodeContext(() => "a@h");
  context.provide(COUNTER, { n: 1 });
  assert.throws(() => context.provide(COUNTER, { n: 2 }), ServiceAlreadyRunningError);
  assert.throws(
    () => context.provide(COUNTER, { n: 2 }),
    (e: unknown) =>
      e instanceof NameError && e.message === "Cannot start counter: it already runs on a@h",
  );
  assert.equal(context.require(COUNTER).n, 1);
});

Deno.test("NodeContext.require() of a service not running throws ServiceNotRunningError", () => {
  const context = new NodeContext(() => "a@h");
  assert.throws(
    () => context.require(COUNTER),
    (e: unknown) =>
      e instanceof ServiceNotRunningError && e instanceof NotAliveError &&
      e.message === "counter is not running on node a@h" && e.service === "counter" &&
      e.node === "a@h",
  );
});

Deno.test("NodeContext: two keys of one name are two services", () => {
  const context = new NodeContext(() => "a@h");
  const other = new ServiceKey<{ n: number }>("counter");
  context.provide(COUNTER, { n: 1 });
  context.provide(other, { n: 2 });
  assert.equal(context.require(COUNTER).n, 1);
  assert.equal(context.require(other).n, 2);
});

Deno.test("NodeContext.remove(key, value) leaves a later instance of the service alone", () => {
  const context = new NodeContext(() => "a@h");
  const first = { n: 1 };
  const second = { n: 2 };
  context.provide(COUNTER, first);
  context.remove(COUNTER, first);
  context.provide(COUNTER, second);
  assert.equal(context.remove(COUNTER, first), false, "a stale stop");
  assert.equal(context.get(COUNTER), second);
});

Deno.test("ServiceKey refuses an empty name with a TypeError", () => {
  assert.throws(() => new ServiceKey(""), TypeError);
  assert.throws(() => new ServiceKey(7 as unknown as string), TypeError);
});

Deno.test("each runtime has a context of its own", async () => {
  const a = new Runtime({ node: "a@h" });
  const b = new Runtime({ node: "b@h" });
  try {
    a.context.provide(COUNTER, { n: 1 });
    assert.equal(b.context.get(COUNTER), undefined);
    assert.throws(() => b.context.require(COUNTER), /counter is not running on node b@h/);
  } finally {
    await a.shutdown();
    await b.shutdown();
  }
});
