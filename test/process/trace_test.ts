import assert from "node:assert/strict";
import { Runtime } from "../../src/process/runtime.ts";
import type { TraceEvent } from "../../src/process/trace.ts";
import { dbgNamespace } from "../../repl/dbg_scope.ts";
import { waitFor } from "../helpers/wait.ts";

Deno.test("Runtime.trace() reports what a process sends and receives, in order", async () => {
  const rt = new Runtime();
  const me = rt.open();
  const echo = rt.spawn(async (ctx) => {
    const m = await ctx.receive<{ from: typeof me.self; text: string }>();
    ctx.send(m.from, m.text.toUpperCase());
  });
  const events: TraceEvent[] = [];
  const trace = rt.trace(echo, { onEvent: (e) => events.push(e) });
  me.send(echo, { from: me.self, text: "hi" });
  assert.equal(await me.receive(), "HI");
  assert.deepEqual(events.map((e) => [e.kind, e.n]), [["receive", 1], ["send", 2]]);
  assert.ok(events[1]!.to !== undefined && me.self.equals(events[1]!.to));
  await waitFor(() => !trace.active, { message: "the trace outlived its process" });
  await rt.shutdown();
});

Deno.test("Runtime.trace() of a process that floods stops at its limit and says so", async () => {
  const rt = new Runtime();
  const flood = rt.spawn(async (ctx) => {
    for (let i = 0; i < 100_000; i++) {
      ctx.send(ctx.self, i);
      await ctx.receive();
    }
  });
  const events: TraceEvent[] = [];
  const { promise: stopped, resolve } = Promise.withResolvers<[string, number]>();
  rt.trace(flood, {
    limit: 50,
    onEvent: (e) => events.push(e),
    onStop: (why, n) => resolve([why, n]),
  });
  assert.deepEqual(await stopped, ["limit", 50]);
  assert.equal(events.length, 50);
  // The trace is off: tracing again works, and the flood goes on untraced.
  const again = rt.trace(flood, { limit: 1, events: "send", onEvent: () => {} });
  again.stop();
  await rt.shutdown();
});

Deno.test("Runtime.trace() refuses bad input and a second trace of one process", async () => {
  const rt = new Runtime();
  const me = rt.open();
  assert.throws(() => rt.trace(me.self, { onEvent: "x" as never }), TypeError);
  assert.throws(() => rt.trace(me.self, { limit: 0, onEvent: () => {} }), RangeError);
  assert.throws(() => rt.trace(me.self, { events: "all" as never, onEvent: () => {} }), TypeError);
  const t = rt.trace(me.self, { onEvent: () => {} });
  assert.throws(() => rt.trace(me.self, { onEvent: () => {} }), RangeError);
  let why = "";
  rt.trace(rt.open().self, { onEvent: () => {}, onStop: (w) => (why = w) }).stop();
  assert.equal(why, "stopped");
  t.stop();
  me.exit();
  assert.throws(() => rt.trace(me.self, { onEvent: () => {} }), TypeError);
  await rt.shutdown();
});

Deno.test("dbg.trace() prints messages as dbg does and the limit line", async () => {
  const rt = new Runtime();
  const lines: string[] = [];
  const dbg = dbgNamespace(rt, (l) => lines.push(l));
  const me = rt.open();
  rt.register("worker", me.self);
  dbg.trace("worker", { limit: 3 });
  assert.equal(dbg.traces().length, 1);
  me.send(me.self, { op: "ping" });
  me.send(me.self, "b");
  assert.deepEqual(lines, [
    `(${me.self}) ${me.self} ! { op: "ping" }`,
    `(${me.self}) << { op: "ping" }`,
    `(${me.self}) ${me.self} ! "b"`,
    `dbg: trace of ${me.self} stopped at its limit of 3 messages`,
  ]);
  assert.equal(dbg.traces().length, 0);
  dbg.trace(me.self);
  assert.equal(dbg.stop(), 1);
  assert.throws(() => dbg.trace("ghost"), /no process is registered as "ghost"/);
  await rt.shutdown();
});
