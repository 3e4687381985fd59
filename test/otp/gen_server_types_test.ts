import assert from "node:assert/strict";
import {
  type CallReply,
  type CallRequest,
  type CallResult,
  type From,
  GenServer,
  type ServerPid,
} from "../../src/otp/gen_server.ts";
import { Runtime } from "../../src/process/runtime.ts";
import type { Pid } from "../../src/term/pid.ts";

/** `true` only when A and B are the same type (checked by the compiler). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

class Counter extends GenServer<number> {
  override init(n: number) {
    return { ok: n };
  }
  // No annotation: the reply type is inferred from the results.
  override handleCall(request: "get" | { add: number }, _from: From, n: number) {
    if (request === "get") return { reply: n, state: n };
    return { reply: n + request.add, state: n + request.add };
  }
}

class Deferred extends GenServer<From[]> {
  override init() {
    return { ok: [] };
  }
  override handleCall(
    request: "later" | "now" | "quit",
    from: From,
    waiting: From[],
  ): CallResult<From[], string> {
    if (request === "now") {
      for (const f of waiting) GenServer.reply(f, "released");
      return { reply: "now", state: [] };
    }
    if (request === "quit") return { stop: "normal", reply: "bye", state: waiting };
    return { noreply: true, state: [...waiting, from] };
  }
}

Deno.test("GenServer.call on the pid start returned: the request is checked and the reply typed by handleCall", async () => {
  const rt = new Runtime();
  try {
    const pid = await GenServer.start(Counter, 1, { runtime: rt });
    const same: Same<typeof pid, ServerPid<Counter>> = true;
    const plain: Pid = pid; // still a Pid wherever one is wanted
    const n = await GenServer.call(pid, { add: 41 }, { runtime: rt });
    const typed: Same<typeof n, number> = true;
    assert.ok(same && typed && plain.equals(pid));
    assert.equal(n, 42);
    assert.equal(await GenServer.call(pid, "get", { runtime: rt }), 42);
    // Never run: what the compiler refuses.
    const refused = () => {
      // @ts-expect-error: Counter's handleCall takes "get" or { add: number }
      GenServer.call(pid, "reset");
      // @ts-expect-error: the reply is a number, not a string
      GenServer.call(pid, "get").then((s: string) => s);
    };
    assert.equal(typeof refused, "function");
  } finally {
    await rt.shutdown();
  }
});

Deno.test("CallReply is the reply of reply and stop results, not of noreply ones; CallRequest the request", () => {
  const reply: Same<CallReply<Deferred>, string> = true;
  const request: Same<CallRequest<Deferred>, "later" | "now" | "quit"> = true;
  // A server whose handleCall is untyped replies unknown, as a call by name does.
  class _Untyped extends GenServer<null> {
    override init() {
      return { ok: null };
    }
  }
  const untyped: Same<CallReply<_Untyped>, unknown> = true;
  assert.ok(reply && request && untyped);
});

Deno.test("a typed server that answers later with GenServer.reply: the callers get the typed replies", async () => {
  const rt = new Runtime();
  try {
    const pid = await GenServer.start(Deferred, undefined, { runtime: rt });
    const later = GenServer.call(pid, "later", { runtime: rt });
    const now: string = await GenServer.call(pid, "now", { runtime: rt });
    assert.equal(now, "now");
    assert.equal(await later, "released");
    assert.equal(await GenServer.call(pid, "quit", { runtime: rt }), "bye");
  } finally {
    await rt.shutdown();
  }
});

Deno.test("GenServer.call by name or plain pid stays untyped, or typed by the caller's R", async () => {
  const rt = new Runtime();
  try {
    const pid: Pid = await GenServer.start(Counter, 5, { name: "counter", runtime: rt });
    const byName = await GenServer.call("counter", "get", { runtime: rt });
    const byPid = await GenServer.call<number>(pid, "get", { runtime: rt });
    const unknownReply: Same<typeof byName, unknown> = true;
    const stated: Same<typeof byPid, number> = true;
    assert.ok(unknownReply && stated);
    assert.equal(byName, 5);
    assert.equal(byPid, 5);
  } finally {
    await rt.shutdown();
  }
});
