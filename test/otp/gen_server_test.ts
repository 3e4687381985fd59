import assert from "node:assert/strict";
import { NameError, ProcessExitError, TimeoutError } from "../../src/errors.ts";
import { runInProcess, self, send, spawn, trapExit } from "../../src/process/current.ts";
import { Runtime } from "../../src/process/runtime.ts";
import type { ExitMessage } from "../../src/process/types.ts";
import { Pid } from "../../src/term/pid.ts";
import {
  type CallResult,
  type CastResult,
  type ContinueResult,
  type From,
  GenServer,
  type InfoResult,
  type InitResult,
} from "../../src/otp/gen_server.ts";
import { AlreadyStartedError, ExitError, StartError } from "../../src/otp/errors.ts";
import { setGlobalNameRegistry } from "../../src/otp/name.ts";
import { Registry } from "../../src/otp/registry.ts";
import { deferred, waitFor } from "../helpers/wait.ts";
import { exitReason, inProcess, labels } from "./_helpers.ts";

type KvCall = { get: string } | { put: string; value: number } | "keys" | "crash" | "slow";
type Kv = Map<string, number>;

/** A small key-value server used by most tests. */
class KvServer extends GenServer<Kv> {
  override init(entries: [string, number][] = []): InitResult<Kv> {
    return { ok: new Map(entries) };
  }
  override handleCall(req: KvCall, _from: From, kv: Kv): CallResult<Kv> {
    if (req === "keys") return { reply: [...kv.keys()], state: kv };
    if (req === "crash") throw new RangeError("asked to crash");
    if (req === "slow") return { noreply: true, state: kv };
    if ("get" in req) return { reply: kv.get(req.get), state: kv };
    kv.set(req.put, req.value);
    return { reply: "ok", state: kv };
  }
  override handleCast(req: { put: string; value: number }, kv: Kv): CastResult<Kv> {
    kv.set(req.put, req.value);
    return { noreply: true, state: kv };
  }
  override handleInfo(msg: unknown, kv: Kv): InfoResult<Kv> {
    const m = msg as { put?: string; value?: number };
    if (typeof m?.put === "string") kv.set(m.put, m.value ?? 0);
    return { noreply: true, state: kv };
  }
}

Deno.test("GenServer.start() runs init and serves call, cast and plain messages in order", async () => {
  await inProcess(async () => {
    const pid = await GenServer.start(KvServer, [["a", 1]]);
    assert.ok(pid instanceof Pid);
    assert.equal(await GenServer.call(pid, { get: "a" }), 1);
    GenServer.cast(pid, { put: "b", value: 2 });
    send(pid, { put: "c", value: 3 });
    assert.deepEqual(await GenServer.call(pid, "keys"), ["a", "b", "c"]);
    assert.equal(await GenServer.call(pid, { put: "d", value: 4 }), "ok");
    assert.equal(await GenServer.call(pid, { get: "d" }), 4);
  });
});

Deno.test("GenServer.start() registers a local name; a second start gets AlreadyStartedError", async () => {
  await inProcess(async (rt) => {
    const pid = await GenServer.start(KvServer, [["x", 9]], { name: "kv" });
    assert.ok(rt.whereis("kv")?.equals(pid));
    assert.equal(await GenServer.call("kv", { get: "x" }), 9);
    assert.equal(await GenServer.call({ name: "kv", node: rt.node }, { get: "x" }), 9);
    assert.ok((GenServer.whereis("kv") as Pid).equals(pid));
    const err = await GenServer.start(KvServer, [], { name: "kv" }).catch((e) => e);
    assert.ok(err instanceof AlreadyStartedError, String(err));
    assert.ok(err.pid.equals(pid));
    assert.ok(err instanceof StartError);
  });
});

class InitOutcome extends GenServer<null> {
  override init(mode: string): InitResult<null> {
    if (mode === "stop") return { stop: "bad_config" };
    if (mode === "ignore") return { ignore: true };
    if (mode === "throw") throw new TypeError("init blew up");
    if (mode === "bad") return 42 as unknown as InitResult<null>;
    return { ok: null };
  }
}

Deno.test("GenServer.start() throws StartError when init stops, throws, ignores or returns garbage", async () => {
  await inProcess(async (rt) => {
    const before = rt.list().length;
    const stop = await GenServer.start(InitOutcome, "stop").catch((e) => e);
    assert.ok(stop instanceof StartError && stop.reason === "bad_config", String(stop));
    const thrown = await GenServer.start(InitOutcome, "throw").catch((e) => e);
    assert.ok(thrown instanceof StartError);
    assert.ok(thrown.reason instanceof TypeError && thrown.reason.message === "init blew up");
    const ignored = await GenServer.start(InitOutcome, "ignore").catch((e) => e);
    assert.ok(ignored instanceof StartError && ignored.reason === "ignore");
    const bad = await GenServer.start(InitOutcome, "bad").catch((e) => e);
    assert.ok(bad instanceof StartError && bad.reason instanceof TypeError);
    assert.match(bad.message, /Bad return value from init/);
    await waitFor(() => rt.list().length === before, { message: "failed servers still alive" });
  });
});

Deno.test("GenServer.startLink() links the server; a failing init sends the caller its exit signal", async () => {
  await inProcess(async (rt, me) => {
    const pid = await GenServer.startLink(KvServer, []);
    assert.ok(rt.info(pid)!.links.some((p) => p.equals(me.self)));
    const err = await GenServer.startLink(InitOutcome, "stop").catch((e) => e);
    assert.ok(err instanceof StartError && err.reason === "bad_config");
    const exit = await me.receive<ExitMessage>((m) => (m as ExitMessage).type === "EXIT", {
      timeout: 1000,
    });
    assert.equal(exit.reason, "bad_config");
  }, { trapExit: true });
});

Deno.test("GenServer.start() kills a server whose init outlasts the timeout", async () => {
  class Hang extends GenServer<null> {
    override async init(): Promise<InitResult<null>> {
      await new Promise(() => {}); // never settles
      return { ok: null };
    }
  }
  await inProcess(async (rt) => {
    const err = await GenServer.start(Hang, undefined, { timeout: 20 }).catch((e) => e);
    assert.ok(err instanceof TimeoutError, String(err));
    assert.ok(!labels(rt).includes("Hang"), "the server outlived its init timeout");
    assert.ok(!labels(rt).includes("gen:start"));
  });
});

Deno.test("GenServer.call() times out with TimeoutError and the late reply never reaches the caller", async () => {
  const release = deferred<void>();
  class Late extends GenServer<null> {
    override init() {
      return { ok: null };
    }
    override async handleCall(req: string, _from: From, state: null): Promise<CallResult<null>> {
      if (req === "late") await release.promise;
      return { reply: `reply to ${req}`, state };
    }
  }
  await inProcess(async (rt, me) => {
    const pid = await GenServer.start(Late, undefined);
    const started = performance.now();
    const err = await GenServer.call(pid, "late", { timeout: 30 }).catch((e) => e);
    assert.ok(err instanceof TimeoutError, String(err));
    assert.ok(performance.now() - started >= 25);
    release.resolve();
    // The server has now sent its reply to "late"; the next call proves it did.
    assert.equal(await GenServer.call(pid, "next"), "reply to next");
    assert.deepEqual(me.flush(), [], "a late reply landed in the caller's mailbox");
    assert.ok(!labels(rt).includes("gen:call"), "a call's alias outlived the call");
  });
});

Deno.test("GenServer.reply() answers a call later, from the server or another process", async () => {
  class Deferring extends GenServer<From[]> {
    override init() {
      return { ok: [] };
    }
    override handleCall(req: string, from: From, waiting: From[]): CallResult<From[]> {
      if (req === "wait") return { noreply: true, state: [...waiting, from] };
      if (req === "release") {
        for (const f of waiting) GenServer.reply(f, "released");
        return { reply: waiting.length, state: [] };
      }
      // Hand the answer to another process.
      spawn(() => GenServer.reply(from, `helper answered ${req}`));
      return { noreply: true, state: waiting };
    }
  }
  await inProcess(async (rt) => {
    const pid = await GenServer.start(Deferring, undefined);
    const a = GenServer.call(pid, "wait");
    const b = GenServer.call(pid, "wait", { runtime: rt }); // from outside the test process too
    assert.equal(await GenServer.call(pid, "other"), "helper answered other");
    assert.equal(await GenServer.call(pid, "release"), 2);
    assert.deepEqual(await Promise.all([a, b]), ["released", "released"]);
  });
});

Deno.test("GenServer.call() throws ExitError with the reason when the server dies during the call", async () => {
  await inProcess(async (rt) => {
    const pid = await GenServer.start(KvServer, []);
    const pending = GenServer.call(pid, "slow");
    await waitFor(() => rt.info(pid)?.messagesHandled === 1);
    rt.exit(pid, "boom");
    const err = await pending.catch((e) => e);
    assert.ok(err instanceof ExitError, String(err));
    assert.equal(err.reason, "boom");

    const crashing = await GenServer.start(KvServer, []);
    const exited = exitReason(rt, crashing);
    const crash = await GenServer.call(crashing, "crash").catch((e) => e);
    assert.ok(crash instanceof ExitError);
    assert.ok(crash.reason instanceof RangeError && crash.reason.message === "asked to crash");
    assert.ok(crash.cause === crash.reason);
    assert.equal(await exited, crash.reason);
  });
});

Deno.test("GenServer.call() throws ExitError noproc for a dead pid or an unregistered name", async () => {
  await inProcess(async (rt) => {
    const pid = await GenServer.start(KvServer, []);
    await GenServer.stop(pid);
    for (const target of [pid, "nobody", { name: "nobody", node: rt.node }]) {
      const err = await GenServer.call(target, "keys").catch((e) => e);
      assert.ok(err instanceof ExitError && err.reason === "noproc", String(err));
    }
  });
});

Deno.test("GenServer.call() refuses a call to the calling process itself", async () => {
  await inProcess(async () => {
    const err = await GenServer.call(self(), "x").catch((e) => e);
    assert.ok(err instanceof ExitError && err.reason === "calling_self");
  });
});

Deno.test("GenServer.call() rejects with ProcessExitError when the caller is killed while waiting", async () => {
  await inProcess(async (rt) => {
    const server = await GenServer.start(KvServer, []);
    const result = deferred<unknown>();
    const caller = spawn(async () => {
      try {
        await GenServer.call(server, "slow", { timeout: Infinity });
        result.resolve("returned");
      } catch (e) {
        result.resolve(e);
      }
    });
    await waitFor(() => rt.info(server)?.messagesHandled === 1);
    rt.exit(caller, "kill");
    const err = await result.promise;
    assert.ok(err instanceof ProcessExitError && err.reason === "killed", String(err));
    assert.ok(!labels(rt).includes("gen:call"));
  });
});

Deno.test("GenServer.stop() runs terminate with the reason and waits for the exit", async () => {
  const terminated: unknown[] = [];
  class Tracked extends GenServer<string> {
    override init(tag: string) {
      return { ok: tag };
    }
    override terminate(reason: unknown, state: string): void {
      terminated.push([reason, state]);
    }
  }
  await inProcess(async (rt) => {
    const a = await GenServer.start(Tracked, "a");
    await GenServer.stop(a);
    assert.equal(rt.isAlive(a), false);
    const b = await GenServer.start(Tracked, "b", { name: "b" });
    await GenServer.stop("b", { shutdown: "bye" });
    assert.deepEqual(terminated, [["normal", "a"], [{ shutdown: "bye" }, "b"]]);
    const err = await GenServer.stop(b).catch((e) => e);
    assert.ok(err instanceof ExitError && err.reason === "noproc");
  });
});

Deno.test("GenServer.stop() times out when the server is stuck, and it keeps running", async () => {
  const release = deferred<void>();
  class Stuck extends GenServer<null> {
    override init() {
      return { ok: null };
    }
    override async handleCast(_req: unknown, state: null): Promise<CastResult<null>> {
      await release.promise;
      return { noreply: true, state };
    }
  }
  await inProcess(async (rt) => {
    const pid = await GenServer.start(Stuck, undefined);
    GenServer.cast(pid, "block");
    const err = await GenServer.stop(pid, "normal", { timeout: 20 }).catch((e) => e);
    assert.ok(err instanceof TimeoutError, String(err));
    assert.ok(rt.isAlive(pid));
    release.resolve();
    await waitFor(() => !rt.isAlive(pid), { message: "the queued stop was not handled" });
  });
});

Deno.test("handleCall() returning { stop, reply } replies, runs terminate, then exits", async () => {
  const events: string[] = [];
  class Quitter extends GenServer<null> {
    override init() {
      return { ok: null };
    }
    override handleCall(_req: unknown, _from: From, state: null): CallResult<null> {
      return { stop: "normal", reply: "bye", state };
    }
    override terminate(reason: unknown): void {
      events.push(`terminate ${reason}`);
    }
  }
  await inProcess(async (rt) => {
    const pid = await GenServer.start(Quitter, undefined);
    const exited = exitReason(rt, pid);
    assert.equal(await GenServer.call(pid, "quit"), "bye");
    assert.deepEqual(events, ["terminate normal"]);
    assert.equal(await exited, "normal");
  });
});

Deno.test("handleInfo() gets 'timeout' when nothing arrives in time, and continue runs first", async () => {
  const seen: unknown[] = [];
  class Ticker extends GenServer<number> {
    override init(): InitResult<number> {
      return { ok: 0, continue: "warm-up" };
    }
    override handleContinue(cont: unknown, n: number): ContinueResult<number> {
      seen.push(cont);
      return { noreply: true, state: n, timeout: 10 };
    }
    override handleInfo(msg: unknown, n: number): InfoResult<number> {
      seen.push(msg);
      return n < 2 ? { noreply: true, state: n + 1, timeout: 10 } : { noreply: true, state: n };
    }
    override handleCall(_req: unknown, _from: From, n: number): CallResult<number> {
      return { reply: n, state: n };
    }
  }
  await inProcess(async () => {
    const pid = await GenServer.start(Ticker, undefined);
    await waitFor(() => seen.length === 4);
    assert.deepEqual(seen, ["warm-up", "timeout", "timeout", "timeout"]);
    assert.equal(await GenServer.call(pid, "n"), 2);
  });
});

Deno.test("a server trapping exits runs terminate when its parent exits; killed, it does not", async () => {
  const terminated: unknown[] = [];
  class Trapper extends GenServer<string> {
    override init(tag: string) {
      trapExit(true);
      return { ok: tag };
    }
    override terminate(reason: unknown, tag: string): void {
      terminated.push([tag, reason]);
    }
  }
  const rt = new Runtime();
  try {
    const parent = rt.open({ label: "parent" });
    const child = await runInProcess(parent, () => GenServer.startLink(Trapper, "child"));
    const childExited = exitReason(rt, child);
    parent.exit("shutdown");
    assert.equal(await childExited, "shutdown");
    assert.deepEqual(terminated, [["child", "shutdown"]]);

    const lone = await GenServer.start(Trapper, "lone", { runtime: rt });
    const loneExited = exitReason(rt, lone);
    rt.exit(lone, "kill");
    assert.equal(await loneExited, "killed");
    assert.deepEqual(terminated, [["child", "shutdown"]]);
  } finally {
    await rt.shutdown();
  }
});

Deno.test("a handler crash runs terminate with the error and exits with it", async () => {
  const terminated: unknown[] = [];
  class Fragile extends GenServer<null> {
    override init() {
      return { ok: null };
    }
    override handleCast(_req: unknown, _state: null): CastResult<null> {
      throw new Error("cast failed");
    }
    override terminate(reason: unknown): void {
      terminated.push(reason);
    }
  }
  await inProcess(async (rt) => {
    const pid = await GenServer.start(Fragile, undefined);
    const exited = exitReason(rt, pid);
    GenServer.cast(pid, "anything");
    const reason = await exited;
    assert.ok(reason instanceof Error && reason.message === "cast failed");
    assert.deepEqual(terminated, [reason]);
  });
});

Deno.test("a bad return value from a handler crashes the server with a TypeError", async () => {
  class Sloppy extends GenServer<null> {
    override init() {
      return { ok: null };
    }
    override handleCall(): CallResult<null> {
      return { answer: 1 } as unknown as CallResult<null>;
    }
  }
  await inProcess(async () => {
    const pid = await GenServer.start(Sloppy, undefined);
    const err = await GenServer.call(pid as Pid, "x").catch((e) => e);
    assert.ok(err instanceof ExitError && err.reason instanceof TypeError);
    assert.match((err.reason as Error).message, /Bad return value from handleCall/);
  });
});

Deno.test("a server without handleCall or handleCast crashes on one, as in Elixir", async () => {
  class Bare extends GenServer<null> {
    override init() {
      return { ok: null };
    }
  }
  await inProcess(async (rt) => {
    const pid = await GenServer.start(Bare, undefined);
    const err = await GenServer.call(pid, "hello").catch((e) => e);
    assert.ok(err instanceof ExitError);
    assert.match((err.reason as Error).message, /no handleCall/);
    const other = await GenServer.start(Bare, undefined);
    const exited = exitReason(rt, other);
    GenServer.cast(other, "hello");
    assert.match(((await exited) as Error).message, /no handleCast/);
  });
});

Deno.test("a { via: registry, key } name registers, resolves and is freed when the server stops", async () => {
  await inProcess(async () => {
    await Registry.start({ keys: "unique", name: "names" });
    const name = { via: "names", key: ["kv", 1] };
    const pid = await GenServer.start(KvServer, [["k", 5]], { name });
    assert.ok((GenServer.whereis({ via: "names", key: ["kv", 1] }) as Pid).equals(pid));
    assert.equal(await GenServer.call({ via: "names", key: ["kv", 1] }, { get: "k" }), 5);
    GenServer.cast(name, { put: "j", value: 6 });
    assert.equal(await GenServer.call(name, { get: "j" }), 6);
    const dup = await GenServer.start(KvServer, [], { name }).catch((e) => e);
    assert.ok(dup instanceof AlreadyStartedError && dup.pid.equals(pid));
    await GenServer.stop(name);
    await waitFor(() => Registry.lookup("names", ["kv", 1]).length === 0);
    const gone = await GenServer.call(name, "keys").catch((e) => e);
    assert.ok(gone instanceof ExitError && gone.reason === "noproc");
    const unknown = await GenServer.start(KvServer, [], { name: { via: "nope", key: 1 } }).catch((
      e,
    ) => e);
    assert.ok(unknown instanceof NameError, String(unknown));
  });
});

Deno.test("a { global } name needs the global module; a plugged-in name service serves it", async () => {
  await inProcess(async (rt) => {
    const err = await GenServer.start(KvServer, [], { name: { global: "kv" } }).catch((e) => e);
    assert.ok(err instanceof NameError && /global module/.test(err.message), String(err));
    assert.throws(() => GenServer.cast({ global: "kv" }, "x"), NameError);

    const names = new Map<unknown, Pid>();
    setGlobalNameRegistry(rt, {
      registerName: (key, pid) => names.has(key) ? false : (names.set(key, pid), true),
      unregisterName: (key) => void names.delete(key),
      whereisName: (key) => names.get(key),
    });
    try {
      const pid = await GenServer.start(KvServer, [["g", 7]], { name: { global: "kv" } });
      assert.ok(names.get("kv")?.equals(pid));
      assert.equal(await GenServer.call({ global: "kv" }, { get: "g" }), 7);
      const dup = await GenServer.start(KvServer, [], { name: { global: "kv" } }).catch((e) => e);
      assert.ok(dup instanceof AlreadyStartedError);
    } finally {
      setGlobalNameRegistry(rt, undefined);
    }
  });
});

Deno.test("GenServer functions refuse malformed arguments with TypeError or RangeError", async () => {
  class NotAServer {}
  await inProcess(async () => {
    await assert.rejects(
      () => GenServer.start(NotAServer as never, undefined),
      TypeError,
    );
    await assert.rejects(() => GenServer.call(42 as unknown as Pid, "x"), TypeError);
    await assert.rejects(() => GenServer.call("x", "y", { timeout: -1 }), RangeError);
    await assert.rejects(
      () => GenServer.start(KvServer, [], { name: new Pid("a@b", 1, 0, 1) as never }),
      TypeError,
    );
    assert.throws(() => GenServer.reply({} as never, 1), TypeError);
    assert.throws(() => GenServer.cast({ via: 12, key: 1 } as never, 1), TypeError);
  });
  await assert.rejects(() => GenServer.call("x", "y"), /not inside a Weft process/);
});

Deno.test("GenServer.start() takes the argument type of the class's init", () => {
  // Compile-time only: the functions below are never called.
  const _wrongArgs = () =>
    // @ts-expect-error KvServer's init takes [string, number][]
    GenServer.start(KvServer, "not entries");
  const _rightArgs = () => GenServer.start(KvServer, [["a", 1]]);
  const _typedReply = async () => {
    const keys: string[] = await GenServer.call<string[]>("kv", "keys");
    return keys;
  };
  assert.equal(typeof _wrongArgs, "function");
});
