// Call deadlines are kept by src/process/deadlines.ts (one timer per list of
// deadlines of a node, not one per call); these tests observe them through
// GenServer.call.
import assert from "node:assert/strict";
import { ProcessExitError, TimeoutError } from "../../src/errors.ts";
import { runInProcess } from "../../src/process/current.ts";
import { Runtime } from "../../src/process/runtime.ts";
import { ExitError } from "../../src/otp/errors.ts";
import { type CallResult, type From, GenServer } from "../../src/otp/gen_server.ts";
import { waitFor } from "../helpers/wait.ts";
import { inProcess, labels } from "./_helpers.ts";

/** Replies to "ping", never to anything else. */
class Silent extends GenServer<null> {
  override init() {
    return { ok: null };
  }
  override handleCall(req: string, _from: From, state: null): CallResult<null> {
    return req === "ping" ? { reply: "pong", state } : { noreply: true, state };
  }
}

Deno.test("call deadlines of different lengths each fall due in their own time", async () => {
  await inProcess(async () => {
    const pid = await GenServer.start(Silent, undefined);
    const order: string[] = [];
    const t0 = performance.now();
    const elapsed: Record<string, number> = {};
    const wait = (label: string, timeout: number) =>
      GenServer.call(pid, "hang", { timeout }).catch((e) => {
        assert.ok(e instanceof TimeoutError, String(e));
        order.push(label);
        elapsed[label] = performance.now() - t0;
      });
    await Promise.all([wait("long", 60), wait("short", 15), wait("short2", 15), wait("mid", 30)]);
    assert.deepEqual(order, ["short", "short2", "mid", "long"]);
    assert.ok(elapsed.short! >= 14 && elapsed.mid! >= 29 && elapsed.long! >= 59, String(elapsed));
  });
});

Deno.test("deadlines of finished calls never fire, and calls keep their own deadlines", async () => {
  await inProcess(async (rt, me) => {
    const pid = await GenServer.start(Silent, undefined);
    for (let i = 0; i < 500; i++) {
      assert.equal(await GenServer.call(pid, "ping", { timeout: 20 }), "pong");
    }
    const t0 = performance.now();
    const err = await GenServer.call(pid, "hang", { timeout: 20 }).catch((e) => e);
    assert.ok(err instanceof TimeoutError);
    assert.ok(performance.now() - t0 >= 19);
    await waitFor(() => performance.now() - t0 > 45);
    assert.deepEqual(me.flush(), []);
    assert.ok(!labels(rt).includes("gen:call"));
  });
});

Deno.test("a node's shutdown ends pending calls and clears their deadline timers", async () => {
  const rt = new Runtime();
  const pid = await GenServer.start(Silent, undefined, { runtime: rt });
  const pending = runInProcess(
    rt.open(),
    () => GenServer.call(pid, "hang", { timeout: 60_000 }).catch((e) => e),
  );
  await rt.shutdown();
  const err = await pending;
  // Whichever goes first, the server or the caller, the call ends with the node's reason.
  assert.ok(err instanceof ProcessExitError || err instanceof ExitError, String(err));
  assert.equal(err.reason, "shutdown");
  // The test's leak sanitizer fails it should a timer still be pending.
});

Deno.test("an idle deadline timer does not keep a program running", async () => {
  const script = `
    import { GenServer } from "${new URL("../../src/otp/gen_server.ts", import.meta.url)}";
    import { Runtime } from "${new URL("../../src/process/runtime.ts", import.meta.url)}";
    class Echo extends GenServer {
      init() { return { ok: null }; }
      handleCall(req, _from, state) { return { reply: req, state }; }
    }
    const rt = new Runtime();
    const pid = await GenServer.start(Echo, undefined, { runtime: rt });
    console.log(await GenServer.call(pid, "done", { runtime: rt, timeout: 30000 }));
  `;
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", new URL("../../deno.json", import.meta.url).pathname, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const took = performance.now() - t0;
  assert.equal(new TextDecoder().decode(out.stderr), "");
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "done");
  assert.ok(took < 20_000, `the program took ${took} ms to end: held by the call's deadline timer`);
});
