import assert from "node:assert/strict";
import { Runtime } from "../../src/process/runtime.ts";

Deno.test("receive() lets timers run while processes keep each other busy", async () => {
  const runtime = new Runtime();
  // A process that messages itself forever, never awaiting anything but receive.
  const busy = runtime.spawn(async (ctx) => {
    ctx.send(ctx.self, "again");
    for (;;) {
      await ctx.receive();
      ctx.send(ctx.self, "again");
    }
  });
  // Ping-pong between two processes, also forever.
  const pong = runtime.spawn(async (ctx) => {
    for (;;) {
      const from = await ctx.receive();
      ctx.send(from as never, "pong");
    }
  });
  const ping = runtime.spawn(async (ctx) => {
    for (;;) {
      ctx.send(pong, ctx.self);
      await ctx.receive();
    }
  });
  const fired = await new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 5));
  assert.equal(fired, true);
  const me = runtime.open();
  // A timed receive on another process still times out on schedule.
  await assert.rejects(me.receive(undefined, { timeout: 5 }), { name: "TimeoutError" });
  for (const pid of [busy, pong, ping]) runtime.exit(pid, "kill");
  await runtime.shutdown();
});
