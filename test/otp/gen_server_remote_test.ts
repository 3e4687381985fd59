import assert from "node:assert/strict";
import { TimeoutError } from "../../src/errors.ts";
import { runInProcess } from "../../src/process/current.ts";
import type { Pid } from "../../src/term/pid.ts";
import {
  type CallResult,
  type CastResult,
  type From,
  GenServer,
} from "../../src/otp/gen_server.ts";
import { ExitError } from "../../src/otp/errors.ts";
import { startTestNodes, stopAll } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

type Req = "count" | "hang" | "whoami" | { add: number };

class Counter extends GenServer<number> {
  override init(n: number) {
    return { ok: n };
  }
  override handleCall(req: Req, from: From, n: number): CallResult<number> {
    if (req === "count") return { reply: n, state: n };
    if (req === "hang") return { noreply: true, state: n };
    if (req === "whoami") return { reply: from.pid, state: n };
    return { reply: n + req.add, state: n + req.add };
  }
  override handleCast(req: { add: number }, n: number): CastResult<number> {
    return { noreply: true, state: n + req.add };
  }
}

Deno.test("GenServer.call() reaches a server on another node by {name, node} and by pid", async () => {
  const [a, b] = await startTestNodes(["gsa", "gsb"]);
  try {
    assert.ok(await a!.connect(b!.address));
    const pid = await GenServer.start(Counter, 10, { name: "counter", runtime: b!.runtime });
    const caller = a!.runtime.open({ label: "caller" });
    await runInProcess(caller, async () => {
      const remote = { name: "counter", node: b!.name };
      assert.equal(await GenServer.call(remote, "count"), 10);
      assert.equal(await GenServer.call(remote, { add: 5 }), 15);
      GenServer.cast(remote, { add: 1 });
      assert.equal(await GenServer.call(pid, "count"), 16);
      const who = await GenServer.call<Pid>(pid, "whoami");
      assert.ok(who.equals(caller.self), "from.pid is the calling process");
      const missing = await GenServer.call({ name: "nobody", node: b!.name }, "count").catch((
        e,
      ) => e);
      assert.ok(missing instanceof ExitError && missing.reason === "noproc", String(missing));
      await GenServer.stop(remote, { shutdown: "done" });
      assert.equal(b!.runtime.isAlive(pid), false);
    });
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("GenServer.call() to another node times out, and the late reply is dropped", async () => {
  const [a, b] = await startTestNodes(["gsc", "gsd"]);
  try {
    assert.ok(await a!.connect(b!.address));
    const pid = await GenServer.start(Counter, 0, { runtime: b!.runtime });
    const caller = a!.runtime.open({ label: "caller" });
    await runInProcess(caller, async () => {
      let held: From | undefined;
      class Holder extends GenServer<null> {
        override init() {
          return { ok: null };
        }
        override handleCall(_req: unknown, from: From, state: null): CallResult<null> {
          held = from;
          return { noreply: true, state };
        }
      }
      const holder = await GenServer.start(Holder, undefined, { runtime: b!.runtime });
      const err = await GenServer.call(holder, "x", { timeout: 50 }).catch((e) => e);
      assert.ok(err instanceof TimeoutError, String(err));
      // Answer now, from node b, to the call that has given up.
      await runInProcess(b!.runtime.open(), () => GenServer.reply(held!, "too late"));
      assert.equal(await GenServer.call(pid, "count"), 0); // the same connection, later
      assert.deepEqual(caller.flush(), []);
    });
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("GenServer.call() fails with noconnection well before its timeout when the connection is lost", async () => {
  const [a, b] = await startTestNodes(["gse", "gsf"]);
  try {
    assert.ok(await a!.connect(b!.address));
    await GenServer.start(Counter, 0, { name: "counter", runtime: b!.runtime });
    const caller = a!.runtime.open({ label: "caller" });
    await runInProcess(caller, async () => {
      const started = performance.now();
      const pending = GenServer.call({ name: "counter", node: b!.name }, "hang", {
        timeout: 10_000,
      }).catch((e) => e);
      await waitFor(() =>
        (b!.runtime.info(b!.runtime.whereis("counter")!)?.messagesHandled ?? 0) > 0
      );
      // The connection is lost while the server lives on: only the monitor can tell.
      assert.equal(await a!.disconnect(b!.name), true);
      const err = await pending;
      assert.ok(err instanceof ExitError, String(err));
      assert.equal(err.reason, "noconnection");
      assert.match(err.message, /not connected/);
      assert.ok(performance.now() - started < 5000, "the caller waited for the deadline");
    });
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("GenServer.call() to an unreachable node fails with noconnection at once", async () => {
  const [a] = await startTestNodes(["gsg"]);
  try {
    await runInProcess(a!.runtime.open(), async () => {
      const err = await GenServer.call({ name: "x", node: "ghost@127.0.0.1" }, "count", {
        timeout: 10_000,
      }).catch((e) => e);
      assert.ok(err instanceof ExitError && err.reason === "noconnection", String(err));
    });
  } finally {
    await stopAll([a]);
  }
});

Deno.test("a reply that cannot cross the wire reaches the caller as a TypeError", async () => {
  class Leaky extends GenServer<null> {
    override init() {
      return { ok: null };
    }
    override handleCall(req: string, _from: From, state: null): CallResult<null> {
      return { reply: req === "fn" ? { callback: () => 1 } : "fine", state };
    }
  }
  const [a, b] = await startTestNodes(["gsj", "gsk"]);
  try {
    assert.ok(await a!.connect(b!.address));
    const pid = await GenServer.start(Leaky, undefined, { runtime: b!.runtime });
    await runInProcess(a!.runtime.open(), async () => {
      const err = await GenServer.call(pid, "fn", { timeout: 10_000 }).catch((e) => e);
      assert.ok(err instanceof TypeError, String(err));
      assert.match(err.message, /cannot be sent to another node.*function/);
      assert.equal(await GenServer.call(pid, "ok"), "fine", "the server went down");
    });
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("GenServer.call() with a request that cannot cross the wire throws TypeError", async () => {
  const [a, b] = await startTestNodes(["gsh", "gsi"]);
  try {
    assert.ok(await a!.connect(b!.address));
    const pid = await GenServer.start(Counter, 0, { runtime: b!.runtime });
    await runInProcess(a!.runtime.open(), async () => {
      await assert.rejects(() => GenServer.call(pid as Pid, { add: () => 1 }), TypeError);
      assert.equal(await GenServer.call(pid, "count"), 0);
    });
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("OTP errors keep their class when they cross the wire", async () => {
  const { decode, encode } = await import("../../src/term/codec.ts");
  const { ExitError, SupervisorError } = await import("../../src/otp/errors.ts");
  const exit = decode(encode(new ExitError("noproc")));
  assert.ok(exit instanceof ExitError);
  assert.equal(exit.reason, "noproc");
  assert.ok(decode(encode(new SupervisorError("not_found", "x"))) instanceof SupervisorError);
});
