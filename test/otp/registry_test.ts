import assert from "node:assert/strict";
import { NameError } from "../../src/errors.ts";
import { receive, runInProcess, self, spawn } from "../../src/process/current.ts";
import { Runtime } from "../../src/process/runtime.ts";
import type { ExitMessage } from "../../src/process/types.ts";
import type { Pid } from "../../src/term/pid.ts";
import { GenServer } from "../../src/otp/gen_server.ts";
import { Registry } from "../../src/otp/registry.ts";
import { Supervisor } from "../../src/otp/supervisor.ts";
import { deferred, waitFor } from "../helpers/wait.ts";
import { exitReason, inProcess } from "./_helpers.ts";

/** A process that registers `entries` in `registry`, tells the test, and waits. */
async function registrant(
  registry: string,
  entries: [key: unknown, value: unknown][],
): Promise<Pid> {
  const ready = deferred<void>();
  const pid = spawn(async () => {
    for (const [key, value] of entries) Registry.register(registry, key, value);
    ready.resolve();
    await receive();
  });
  await ready.promise;
  return pid;
}

Deno.test("Registry with unique keys: one live process per key", async () => {
  await inProcess(async (rt, me) => {
    const reg = await Registry.start({ keys: "unique", name: "uniq" });
    const result = Registry.register("uniq", "db", { role: "primary" });
    assert.deepEqual(result, { ok: true, owner: reg });
    assert.deepEqual(Registry.lookup("uniq", "db"), [[me.self, { role: "primary" }]]);
    const other = await registrant("uniq", []);
    await runInProcess(rt.open(), () => {
      const taken = Registry.register("uniq", "db", 1);
      assert.deepEqual(taken, { ok: false, reason: "already_registered", pid: me.self });
    });
    const again = Registry.register("uniq", "db", 2);
    assert.equal(again.ok, false, "the same process cannot register a unique key twice");
    assert.deepEqual(Registry.lookup("uniq", "nothing"), []);
    rt.exit(other, "kill");
  });
});

Deno.test("Registry with duplicate keys keeps every registration, in order", async () => {
  await inProcess(async (_rt, me) => {
    await Registry.start({ keys: "duplicate", name: "dup" });
    const a = await registrant("dup", [["topic", "a1"]]);
    Registry.register("dup", "topic", "me1");
    Registry.register("dup", "topic", "me2");
    const b = await registrant("dup", [["topic", "b1"], ["other", "b2"]]);
    assert.deepEqual(Registry.lookup("dup", "topic"), [
      [a, "a1"],
      [me.self, "me1"],
      [me.self, "me2"],
      [b, "b1"],
    ]);
    assert.equal(Registry.count("dup"), 5);
    assert.deepEqual(Registry.keys("dup", b), ["topic", "other"]);
    assert.deepEqual(Registry.keys("dup", me.self), ["topic"]);
  });
});

Deno.test("Registry.dispatch() calls the function with the entries, not at all when there are none", async () => {
  await inProcess(async () => {
    await Registry.start({ keys: "duplicate", name: "pubsub" });
    const got: string[] = [];
    await registrant("pubsub", [["news", "x"]]);
    await registrant("pubsub", [["news", "y"]]);
    let calls = 0;
    Registry.dispatch<string>("pubsub", "news", (entries) => {
      calls++;
      for (const [, value] of entries) got.push(value);
    });
    Registry.dispatch("pubsub", "sports", () => calls++);
    assert.equal(calls, 1);
    assert.deepEqual(got, ["x", "y"]);
  });
});

Deno.test("Registry entries go when their process dies", async () => {
  await inProcess(async (rt) => {
    await Registry.start({ keys: "duplicate", name: "live" });
    const pid = await registrant("live", [["a", 1], ["b", 2], [["room", 7], 3]]);
    const keeper = await registrant("live", [["a", 4]]);
    assert.equal(Registry.count("live"), 4);
    rt.exit(pid, "kill");
    // Lookups never show the dead process, even before the registry cleans up.
    assert.deepEqual(Registry.lookup("live", "a"), [[keeper, 4]]);
    await waitFor(() => Registry.count("live") === 1, { message: "entries not cleaned up" });
    assert.deepEqual(Registry.keys("live", pid), []);
    assert.deepEqual(Registry.lookup("live", ["room", 7]), []);
  });
});

Deno.test("Registry lets a unique key go to a new process once its holder died", async () => {
  await inProcess(async (rt) => {
    await Registry.start({ keys: "unique", name: "u" });
    const first = await registrant("u", [["job", 1]]);
    rt.exit(first, "kill");
    assert.deepEqual(Registry.register("u", "job", 2).ok, true);
    assert.deepEqual(Registry.lookup("u", "job"), [[self(), 2]]);
  });
});

Deno.test("Registry.unregister() removes the caller's entries and unlinks it when none are left", async () => {
  await inProcess(async (rt, me) => {
    const reg = await Registry.start({ keys: "duplicate", name: "un" });
    Registry.register("un", "k", 1);
    Registry.register("un", "k", 2);
    Registry.register("un", "j", 3);
    assert.ok(rt.info(me.self)!.links.some((p) => p.equals(reg)));
    Registry.unregister("un", "k");
    assert.deepEqual(Registry.lookup("un", "k"), []);
    assert.ok(rt.info(me.self)!.links.some((p) => p.equals(reg)), "unlinked too early");
    Registry.unregister("un", "j");
    assert.ok(!rt.info(me.self)!.links.some((p) => p.equals(reg)), "still linked");
    Registry.unregister("un", "never registered");
    assert.equal(Registry.count("un"), 0);
  });
});

Deno.test("Registry keys compare by content: arrays, objects and maps", async () => {
  await inProcess(async (_rt, me) => {
    await Registry.start({ keys: "unique", name: "terms" });
    Registry.register("terms", ["room", 42], "r");
    Registry.register("terms", { user: "ann", tags: ["a", "b"] }, "u");
    Registry.register("terms", new Map([["x", 1]]), "m");
    Registry.register("terms", 42, "n");
    Registry.register("terms", "42", "s");
    assert.deepEqual(Registry.lookup("terms", ["room", 42]), [[me.self, "r"]]);
    assert.deepEqual(Registry.lookup("terms", { tags: ["a", "b"], user: "ann" }), [[me.self, "u"]]);
    assert.deepEqual(Registry.lookup("terms", new Map([["x", 1]])), [[me.self, "m"]]);
    assert.deepEqual(Registry.lookup("terms", 42), [[me.self, "n"]]);
    assert.deepEqual(Registry.lookup("terms", "42"), [[me.self, "s"]]);
    assert.deepEqual(Registry.lookup("terms", ["room", "42"]), []);
    assert.throws(() => Registry.register("terms", () => 1, 0), TypeError);
  });
});

Deno.test("Registry meta: initial values, putMeta, meta and deleteMeta", async () => {
  await inProcess(async () => {
    await Registry.start({ keys: "unique", name: "m", meta: [["version", 1]] });
    assert.equal(Registry.meta("m", "version"), 1);
    Registry.putMeta("m", ["cfg", "x"], { on: true });
    assert.deepEqual(Registry.meta("m", ["cfg", "x"]), { on: true });
    Registry.deleteMeta("m", "version");
    assert.equal(Registry.meta("m", "version"), undefined);
  });
});

Deno.test("Registry.updateValue() changes the caller's own value under a unique key", async () => {
  await inProcess(async () => {
    await Registry.start({ keys: "unique", name: "uv" });
    Registry.register("uv", "counter", 1);
    assert.deepEqual(Registry.updateValue<number>("uv", "counter", (n) => n + 1), {
      value: 2,
      old: 1,
    });
    assert.equal(Registry.lookup("uv", "counter")[0]![1], 2);
    assert.equal(Registry.updateValue("uv", "missing", (n) => n), undefined);
    const other = await registrant("uv", [["theirs", 5]]);
    assert.equal(Registry.updateValue("uv", "theirs", () => 6), undefined);
    assert.equal(Registry.lookup("uv", "theirs")[0]![0].equals(other), true);
    await Registry.start({ keys: "duplicate", name: "uvd" });
    assert.throws(() => Registry.updateValue("uvd", "k", (n) => n), TypeError);
  });
});

Deno.test("a registry that exits takes its table and sends its exit signal to registrants", async () => {
  await inProcess(async (rt, me) => {
    const reg = await Registry.start({ keys: "unique", name: "doomed" });
    Registry.register("doomed", "me", 1);
    rt.exit(reg, "kill");
    const exit = await me.receive<ExitMessage>((m) => (m as ExitMessage).type === "EXIT", {
      timeout: 1000,
    });
    assert.ok(exit.from.equals(reg) && exit.reason === "killed");
    assert.throws(() => Registry.lookup("doomed", "me"), NameError);
    assert.throws(() => Registry.lookup(reg, "me"), NameError);
  }, { trapExit: true });
});

Deno.test("a Registry runs under a supervisor and names servers with { via }", async () => {
  class Named extends GenServer<string> {
    override init(tag: string) {
      return { ok: tag };
    }
    override handleCall(_req: unknown, _from: unknown, tag: string) {
      return { reply: tag, state: tag };
    }
  }
  await inProcess(async (rt) => {
    const sup = await Supervisor.start([
      Registry.childSpec({ keys: "unique", name: "servers" }),
      GenServer.childSpec(Named, "one", { id: "one", name: { via: "servers", key: "one" } }),
      GenServer.childSpec(Named, "two", { id: "two", name: { via: "servers", key: ["n", 2] } }),
    ], { strategy: "rest_for_one" });
    assert.equal(await GenServer.call({ via: "servers", key: "one" }, "who"), "one");
    assert.equal(await GenServer.call({ via: "servers", key: ["n", 2] }, "who"), "two");
    const one = Registry.lookup("servers", "one")[0]![0];
    const down = exitReason(rt, one);
    rt.exit(one, "kill");
    await down;
    await waitFor(() => Registry.lookup("servers", "one").length === 1);
    assert.equal(await GenServer.call({ via: "servers", key: "one" }, "who"), "one");
    await Supervisor.stop(sup);
  });
});

Deno.test("a duplicate-key registry cannot name servers", async () => {
  class Idle extends GenServer<null> {
    override init() {
      return { ok: null };
    }
  }
  await inProcess(async () => {
    await Registry.start({ keys: "duplicate", name: "many" });
    await assert.rejects(
      () => GenServer.start(Idle, undefined, { name: { via: "many", key: "x" } }),
      TypeError,
    );
  });
});

Deno.test("Registry functions refuse bad arguments and unknown registries", async () => {
  await inProcess(async () => {
    await assert.rejects(() => Registry.start({ keys: "many" as never }), TypeError);
    await assert.rejects(() => Registry.start(undefined as never), TypeError);
    await assert.rejects(() => Registry.start({ keys: "unique", name: "" }), TypeError);
    assert.throws(() => Registry.lookup("nope", "k"), NameError);
    assert.throws(() => Registry.register("nope", "k", 1), NameError);
    assert.throws(() => Registry.lookup(42 as never, "k"), TypeError);
    await Registry.start({ keys: "unique", name: "r" });
    assert.throws(() => Registry.keys("r", "not a pid" as never), TypeError);
    assert.throws(() => Registry.dispatch("r", "k", "nope" as never), TypeError);
  });
});

Deno.test("a process of another node cannot register in a registry", async () => {
  const other = new Runtime({ node: "other@localhost" });
  try {
    await inProcess(async () => {
      const reg = await Registry.start({ keys: "unique" });
      await runInProcess(other.open(), () => {
        assert.throws(() => Registry.register(reg, "k", 1), TypeError);
      });
    });
  } finally {
    await other.shutdown();
  }
});
