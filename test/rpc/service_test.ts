import assert from "node:assert/strict";
import {
  CaptureError,
  NoConnectionError,
  NotAliveError,
  PolicyError,
  RemoteError,
  TimeoutError,
  UndefinedFunctionError,
} from "../../src/errors.ts";
import type { NodeOptions } from "../../src/node.ts";
import { CAP_SPAWN } from "../../src/distribution/types.ts";
import { receive, register, runInProcess, self, send } from "../../src/process/current.ts";
import type { DownMessage, ExitMessage, ProcessContext } from "../../src/process/types.ts";
import type { ConsoleLevel } from "../../src/rpc/types.ts";
import { Pid } from "../../src/term/pid.ts";
import { rpc } from "../../src/rpc/namespace.ts";
import { startTestNode, type TestNode } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

/** Two connected nodes `a` and `b` (b started with `bOptions`), stopped after `fn`. */
async function withNodes(
  fn: (a: TestNode, b: TestNode, me: ProcessContext) => Promise<void>,
  bOptions: Partial<NodeOptions> = {},
): Promise<void> {
  const a = await startTestNode("a");
  const b = await startTestNode("b", bOptions);
  try {
    assert.ok(await a.connect(b.address));
    const me = a.runtime.open({ label: "test" });
    await runInProcess(me, () => fn(a, b, me));
  } finally {
    await a.stop();
    await b.stop();
  }
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new assert.AssertionError({ message: "expected a rejection" });
}

const math = {
  add: (x: number, y: number) => x + y,
  slowly: async (x: number) => {
    await new Promise((r) => setTimeout(r, 5));
    return x;
  },
  boom: (message: string) => {
    throw new RangeError(message);
  },
  whoami() {
    return this === math;
  },
  fn: () => () => 1,
};

Deno.test("call() runs a module's function on another node and resolves with its result", async () => {
  await withNodes(async (a, b) => {
    b.rpc.registerModule("math", math);
    assert.equal(await a.rpc.call(b.name, "math", "add", [2, 3]), 5);
    assert.equal(await a.rpc.call(b.name, "math", "slowly", [7]), 7);
    assert.equal(await a.rpc.call(b.name, "math", "whoami"), true);
    assert.deepEqual(
      await Promise.all([1, 2, 3].map((n) => a.rpc.call(b.name, "math", "add", [n, n]))),
      [2, 4, 6],
    );
    assert.equal(a.rpc.lateReplies, 0);
  });
});

Deno.test("call() of a function that throws rejects with RemoteError keeping the error's name and message", async () => {
  await withNodes(async (a, b) => {
    b.rpc.registerModule("math", math);
    const err = await rejection(a.rpc.call(b.name, "math", "boom", ["far too big"]));
    assert.ok(err instanceof RemoteError);
    assert.equal(err.node, b.name);
    const cause = err.cause as Error;
    assert.ok(cause instanceof Error);
    assert.equal(cause.name, "RangeError");
    assert.equal(cause.message, "far too big");
    assert.match(cause.stack ?? "", /boom/);
    assert.match(err.message, /RangeError: far too big/);

    const thrown = await rejection(a.rpc.call(b.name, () => {
      throw "a plain string";
    }));
    assert.ok(thrown instanceof RemoteError);
    assert.equal(thrown.cause, "a plain string");
  });
});

Deno.test("a nested call's typed error reaches the first caller as the cause, with its class and fields", async () => {
  await withNodes(async (a, b) => {
    const err = await rejection(
      a.rpc.call(b.name, (home: string) => rpc.call(home, "nomod", "f"), [a.name]),
    );
    assert.ok(err instanceof RemoteError);
    const cause = err.cause as UndefinedFunctionError;
    assert.ok(cause instanceof UndefinedFunctionError, String(cause));
    assert.deepEqual([cause.node, cause.module, cause.fn], [a.name, "nomod", undefined]);
  }, { remoteEval: true });
});

Deno.test("call() tells an unknown module from an unknown function with UndefinedFunctionError", async () => {
  await withNodes(async (a, b) => {
    b.rpc.registerModule("math", math);
    const noModule = await rejection(a.rpc.call(b.name, "nomath", "add", [1, 2]));
    assert.ok(noModule instanceof UndefinedFunctionError);
    assert.deepEqual([noModule.node, noModule.module, noModule.fn], [b.name, "nomath", undefined]);
    const noFn = await rejection(a.rpc.call(b.name, "math", "sub", [1, 2]));
    assert.ok(noFn instanceof UndefinedFunctionError);
    assert.deepEqual([noFn.module, noFn.fn], ["math", "sub"]);
    // Inherited properties are not functions of a module.
    const inherited = await rejection(a.rpc.call(b.name, "math", "constructor"));
    assert.ok(inherited instanceof UndefinedFunctionError);
  });
});

Deno.test("call() sends a self-contained function's source; it runs on the other node", async () => {
  await withNodes(async (a, b) => {
    assert.equal(await a.rpc.call(b.name, () => self().node), b.name);
    assert.equal(await a.rpc.call(b.name, () => Deno.hostname()), Deno.hostname());
    assert.equal(await a.rpc.call(b.name, (x: number, y: number) => x * y, [6, 7]), 42);
    assert.equal(
      await a.rpc.call(b.name, async (n: number) => (await Promise.resolve(n)) + 1, [1]),
      2,
    );
  });
});

Deno.test("call() refuses at the caller a function that captures outer variables, naming them", async () => {
  await withNodes(async (a, b) => {
    const factor = 3;
    const offset = 1;
    const err = await rejection(a.rpc.call(b.name, (n: number) => n * factor + offset, [2]));
    assert.ok(err instanceof CaptureError);
    assert.deepEqual(err.captured, ["factor", "offset"]);
    assert.match(err.message, /captures factor, offset/);
    assert.throws(() => a.rpc.cast(b.name, () => factor), CaptureError);
    // Nothing was sent: b ran no process for it.
    assert.equal(a.rpc.lateReplies, 0);
  });
});

Deno.test("--rpc-allow patterns refuse other functions with PolicyError, and function source too", async () => {
  await withNodes(async (a, b) => {
    b.rpc.registerModule("math", math);
    assert.equal(await a.rpc.call(b.name, "math", "add", [1, 1]), 2);
    assert.equal(typeof await a.rpc.call(b.name, "node", "uptime"), "number");
    const refused = await rejection(a.rpc.call(b.name, "node", "memory"));
    assert.ok(refused instanceof PolicyError);
    assert.equal(refused.node, b.name);
    assert.match(refused.message, /node\.memory/);
    assert.match(refused.message, /--rpc-allow/);
    const source = await rejection(a.rpc.call(b.name, () => 1));
    assert.ok(source instanceof PolicyError);
    assert.match(source.message, /remote evaluation is off/);
    // A refused module that does not exist is refused, not reported missing: nothing is revealed.
    assert.ok(await rejection(a.rpc.call(b.name, "secret", "x")) instanceof PolicyError);
    // The node's own calls are not subject to its policy.
    assert.equal(typeof await b.rpc.call(b.name, "node", "memory"), "object");
  }, { rpcAllow: ["math.*", "node.uptime"] });
});

Deno.test("remoteEval: false refuses function source with PolicyError but allows module calls", async () => {
  await withNodes(async (a, b) => {
    const err = await rejection(a.rpc.call(b.name, () => 1));
    assert.ok(err instanceof PolicyError);
    const spawn = await rejection(a.rpc.spawn(b.name, () => 1));
    assert.ok(spawn instanceof PolicyError);
    assert.equal(await a.rpc.call(b.name, "node", "self"), b.name);
  }, { remoteEval: false });
});

Deno.test("call() times out with TimeoutError, and the late reply is dropped, never given to a later call", async () => {
  await withNodes(async (a, b) => {
    const t0 = performance.now();
    const err = await rejection(a.rpc.call(
      b.name,
      async () => {
        register("late", self());
        return await receive();
      },
      [],
      { timeout: 100 },
    ));
    assert.ok(err instanceof TimeoutError);
    assert.ok(performance.now() - t0 >= 99);
    assert.match(err.message, /no reply within 100 ms/);
    // Release the slow function: its reply arrives now, after its call has ended.
    await waitFor(() => b.runtime.whereis("late") !== undefined);
    b.runtime.send("late", "stale value");
    await waitFor(() => a.rpc.lateReplies === 1);
    assert.equal(await a.rpc.call(b.name, () => "fresh value"), "fresh value");
    assert.equal(a.rpc.lateReplies, 1);
  });
});

Deno.test("a call whose process is killed before its function completes fails with RemoteError at once", async () => {
  await withNodes(async (a, b) => {
    const pending = a.rpc.call(
      b.name,
      async () => {
        register("doomed", self());
        await new Promise(() => {});
      },
      [],
      { timeout: 10_000 },
    );
    const outcome = rejection(pending);
    await waitFor(() => b.runtime.whereis("doomed") !== undefined);
    const t0 = performance.now();
    b.runtime.exit(b.runtime.whereis("doomed")!, "kill");
    const err = await outcome;
    assert.ok(err instanceof RemoteError, String(err));
    assert.equal((err.cause as Error).name, "ProcessExitError");
    assert.match((err.cause as Error).message, /killed/);
    assert.ok(performance.now() - t0 < 1000);
  });
});

Deno.test("call() to a node that cannot be reached rejects with NoConnectionError", async () => {
  const a = await startTestNode("a");
  try {
    const t0 = performance.now();
    const err = await rejection(
      a.rpc.call("nobody@127.0.0.1:1", "node", "self", [], { timeout: 10_000 }),
    );
    assert.ok(err instanceof NoConnectionError);
    assert.equal(err.node, "nobody@127.0.0.1");
    assert.ok(performance.now() - t0 < 5000);
  } finally {
    await a.stop();
  }
});

Deno.test("a pending call fails with NoConnectionError as soon as the node is lost, not at its deadline", async () => {
  await withNodes(async (a, b) => {
    const pending = a.rpc.call(b.name, () => new Promise(() => {}), [], { timeout: 10_000 });
    const outcome = rejection(pending);
    await waitFor(() => b.runtime.list().length > 0);
    const t0 = performance.now();
    await a.disconnect(b.name);
    const err = await outcome;
    assert.ok(err instanceof NoConnectionError, String(err));
    assert.match(err.message, /unreachable \(disconnect\)/);
    assert.ok(performance.now() - t0 < 1000);
    // And the node can be called again once it is back.
    assert.equal(await a.rpc.call(b.address, "node", "self"), b.name);
  });
});

Deno.test("multicall() returns each node's outcome in order and the bad nodes", async () => {
  await withNodes(async (a, b) => {
    const nodes = [b.name, "ghost@127.0.0.1:1", a.name];
    const { results, badNodes } = await a.rpc.multicall(nodes, "node", "self");
    assert.deepEqual(badNodes, ["ghost@127.0.0.1:1"]);
    assert.deepEqual(results.map((r) => r.node), nodes);
    assert.deepEqual(results[0], { node: b.name, status: "ok", value: b.name });
    assert.equal(results[1]!.status, "error");
    assert.ok(results[1]!.status === "error" && results[1]!.error instanceof NoConnectionError);
    assert.deepEqual(results[2], { node: a.name, status: "ok", value: a.name });

    // A function that throws is an error outcome, but not a bad node.
    const thrown = await a.rpc.multicall([a.name, b.name], (n: number) => {
      if (self().node.startsWith("b@")) throw new Error("no");
      return n;
    }, [1]);
    assert.deepEqual(thrown.badNodes, []);
    assert.equal(thrown.results[0]!.status, "ok");
    assert.ok(
      thrown.results[1]!.status === "error" && thrown.results[1]!.error instanceof RemoteError,
    );

    // A node that is too slow is a bad node too.
    const slow = await a.rpc.multicall([b.name], () => new Promise(() => {}), [], { timeout: 50 });
    assert.deepEqual(slow.badNodes, [b.name]);
  });
});

Deno.test("cast() and multicast() run the function without waiting", async () => {
  await withNodes(async (a, b) => {
    const seen: unknown[] = [];
    b.rpc.registerModule("log", { note: (x: unknown) => void seen.push(x) });
    a.rpc.cast(b.name, "log", "note", ["one"]);
    a.rpc.multicast([b.name], "log", "note", ["two"]);
    a.rpc.cast(b.name, "log", "missing"); // logged on b, nothing here
    await waitFor(() => seen.length === 2);
    assert.deepEqual(seen.sort(), ["one", "two"]);
  });
});

Deno.test("call() to this node itself runs in a process of its own", async () => {
  await withNodes(async (a, _b, me) => {
    a.rpc.registerModule("local", {
      pid: () => self(),
      boom: () => Promise.reject(new Error("x")),
    });
    const pid = await a.rpc.call(a.name, "local", "pid");
    assert.ok(pid instanceof Pid && !pid.equals(me.self) && pid.node === a.name);
    const err = await rejection(a.rpc.call(a.name, "local", "boom"));
    assert.ok(err instanceof RemoteError && (err.cause as Error).message === "x");
    assert.ok(
      await rejection(a.rpc.call(a.name, "local", "none")) instanceof UndefinedFunctionError,
    );
    const late = await rejection(
      a.rpc.call(a.name, () => new Promise(() => {}), [], { timeout: 20 }),
    );
    assert.ok(late instanceof TimeoutError);
  });
});

Deno.test("arguments and results that cannot cross the wire are TypeErrors naming where", async () => {
  await withNodes(async (a, b) => {
    b.rpc.registerModule("math", math);
    await assert.rejects(
      () => a.rpc.call(b.name, "math", "add", [1, { f: () => 1 }]),
      (e: Error) => e instanceof TypeError && /function at args\[1\]\.f/.test(e.message),
    );
    await assert.rejects(
      () => a.rpc.call(b.name, "math", "fn"),
      (e: Error) =>
        e instanceof TypeError &&
        /result cannot cross the wire: function at result/.test(e.message),
    );
  });
});

Deno.test("malformed arguments are TypeErrors at once", async () => {
  await withNodes(async (a, b) => {
    const bad: [() => Promise<unknown>, RegExp][] = [
      [() => a.rpc.call(b.name, 42 as unknown as string, "f"), /expected a module/],
      [() => a.rpc.call(b.name, "m.x", "f"), /module name/],
      [() => a.rpc.call(b.name, "m", ""), /function name/],
      [() => a.rpc.call(b.name, "m", "f", "x" as unknown as []), /args must be an array/],
      [() => a.rpc.call(b.name, "m", "f", [], { timeout: -1 }), /timeout/],
      [() => a.rpc.call("not a node", "m", "f"), /Cannot call/],
      [() => a.rpc.multicall("b" as unknown as string[], "m", "f"), /array of node names/],
    ];
    for (const [call, pattern] of bad) {
      await assert.rejects(
        call,
        (e: Error) =>
          (e instanceof TypeError || e instanceof RangeError) && pattern.test(e.message),
      );
    }
  });
});

Deno.test("the built-in node module answers facts about its node", async () => {
  await withNodes(async (a, b) => {
    b.rpc.registerModule("math", math);
    assert.equal(await a.rpc.call(b.name, "node", "self"), b.name);
    assert.deepEqual(await a.rpc.call(b.name, "node", "list"), [a.name]);
    assert.ok((await a.rpc.call<number>(b.name, "node", "uptime")) >= 0);
    assert.ok((await a.rpc.call<Deno.MemoryUsage>(b.name, "node", "memory")).heapUsed > 0);
    assert.deepEqual(await a.rpc.call(b.name, "node", "denoVersion"), { ...Deno.version });
    assert.equal(await a.rpc.call(b.name, "node", "hostname"), Deno.hostname());
    assert.equal(await a.rpc.call(b.name, "node", "osPid"), Deno.pid);
    assert.equal(typeof await a.rpc.call(b.name, "node", "processCount"), "number");
    const modules = await a.rpc.call<Record<string, string[]>>(b.name, "node", "modules");
    assert.deepEqual(modules.math, ["add", "boom", "fn", "slowly", "whoami"]);
    assert.ok(modules.node!.includes("uptime"));
    assert.throws(() => b.rpc.registerModule("node", {}), /built-in/);
  });
});

Deno.test("spawn() starts a process on the other node and returns its pid", async () => {
  await withNodes(async (a, b, me) => {
    const pid = await a.rpc.spawn(b.name, async (parent: Pid) => {
      const msg = await receive<string>();
      send(parent, { echo: msg, node: self().node });
    }, [me.self]);
    assert.equal(pid.node, b.name);
    assert.ok(b.runtime.isAlive(pid));
    me.send(pid, "hello");
    assert.deepEqual(await me.receive(undefined, { timeout: 3000 }), {
      echo: "hello",
      node: b.name,
    });
  });
});

Deno.test("spawn() runs a module's function, and spawns on this node itself work the same way", async () => {
  await withNodes(async (a, b, me) => {
    const worker = {
      report(to: Pid, tag: string) {
        send(to, { tag, node: self().node });
      },
    };
    b.rpc.registerModule("worker", worker);
    a.rpc.registerModule("worker", worker);
    await a.rpc.spawn(b.name, "worker", "report", [me.self, "remote"]);
    assert.deepEqual(await me.receive(undefined, { timeout: 3000 }), {
      tag: "remote",
      node: b.name,
    });
    await a.rpc.spawn(a.name, "worker", "report", [me.self, "local"]);
    assert.deepEqual(await me.receive(undefined, { timeout: 3000 }), {
      tag: "local",
      node: a.name,
    });
    const [pid, ref] = await a.rpc.spawnMonitor(a.name, () => {
      throw new Error("local crash");
    });
    const down = await me.receive<DownMessage>(
      (m) => (m as DownMessage).type === "DOWN" && (m as DownMessage).ref.equals(ref),
      { timeout: 3000 },
    );
    assert.ok((down.pid as Pid).equals(pid));
    assert.equal((down.reason as Error).message, "local crash");
    assert.ok(await rejection(a.rpc.spawn(a.name, "none", "f")) instanceof UndefinedFunctionError);
  });
});

Deno.test("spawn() of an unknown function or a refused one fails with the typed error", async () => {
  await withNodes(async (a, b) => {
    assert.ok(await rejection(a.rpc.spawn(b.name, "nomod", "f")) instanceof UndefinedFunctionError);
    assert.ok(await rejection(a.rpc.spawn(b.name, "node", "memory")) instanceof PolicyError);
    assert.ok(
      await rejection(a.rpc.spawn("ghost@127.0.0.1:1", "node", "self")) instanceof
        NoConnectionError,
    );
  }, { rpcAllow: ["node.uptime", "nomod.*"] });
});

Deno.test("spawnMonitor() gives the real exit reason of a process that crashes at once", async () => {
  await withNodes(async (a, b, me) => {
    const [pid, ref] = await a.rpc.spawnMonitor(b.name, () => {
      throw new TypeError("crashed at once");
    });
    const down = await me.receive<DownMessage>((m) => (m as DownMessage).type === "DOWN", {
      timeout: 3000,
    });
    assert.ok(down.ref.equals(ref));
    assert.ok((down.pid as Pid).equals(pid));
    assert.equal((down.reason as Error).name, "TypeError");
    assert.equal((down.reason as Error).message, "crashed at once");

    const [, ref2] = await a.rpc.spawnMonitor(b.name, () => "done at once");
    const normal = await me.receive<DownMessage>(
      (m) => (m as DownMessage).type === "DOWN" && (m as DownMessage).ref.equals(ref2),
      { timeout: 3000 },
    );
    assert.equal(normal.reason, "normal");
  });
});

Deno.test("spawnLink() links before the process runs: its crash reaches the caller", async () => {
  await withNodes(async (a, b) => {
    const trapper = a.runtime.open({ label: "trapper", trapExit: true });
    await runInProcess(trapper, async () => {
      const pid = await a.rpc.spawnLink(b.name, () => {
        throw new Error("linked crash");
      });
      const exit = await trapper.receive<ExitMessage>((m) => (m as ExitMessage).type === "EXIT", {
        timeout: 3000,
      });
      assert.ok(exit.from.equals(pid));
      assert.equal((exit.reason as Error).message, "linked crash");
    });
    // Without a process of the calling node there is nothing to link to.
    await assert.rejects(() => b.rpc.spawnLink(a.name, () => 1), /not inside a process/);
    await assert.rejects(() => b.rpc.spawnMonitor(a.name, () => 1), /not inside a process/);
  });
});

Deno.test("console output of a process spawned from another node appears on the spawning node", async () => {
  await withNodes(async (a, b) => {
    const here: string[] = [];
    const there: string[] = [];
    a.rpc.setConsoleWriter((level: ConsoleLevel, text) => here.push(`${level}: ${text}`));
    b.rpc.setConsoleWriter((level: ConsoleLevel, text) => there.push(`${level}: ${text}`));
    await a.rpc.spawn(b.name, () => {
      console.log("hi from %s", self().node);
      console.error("an error line");
    });
    await waitFor(() => here.length === 2);
    assert.deepEqual(here, [`log: hi from ${b.name}`, "error: an error line"]);
    assert.deepEqual(there, []);

    // A called function's output too, before its result arrives.
    const value = await a.rpc.call(b.name, () => {
      console.info("during the call");
      return 1;
    });
    assert.equal(value, 1);
    assert.equal(here[2], "info: during the call");
  });
});

Deno.test("every node announces CAP_SPAWN while its rpc service runs", async () => {
  await withNodes((a, b) => {
    assert.ok((a.kernel.peer(b.name)!.capabilities & CAP_SPAWN) !== 0);
    assert.ok((b.kernel.peer(a.name)!.capabilities & CAP_SPAWN) !== 0);
    return Promise.resolve();
  });
});

Deno.test("after stop() calls fail with NotAliveError", async () => {
  const a = await startTestNode("a");
  await a.stop();
  await assert.rejects(() => a.rpc.call(a.name, "node", "self"), NotAliveError);
  assert.throws(() => a.rpc.cast(a.name, "node", "self"), NotAliveError);
});
