import assert from "node:assert/strict";
import { CaptureError } from "../../src/errors.ts";
import { capturedNames, functionSource } from "../../src/rpc/remote_fn.ts";
import { rpc } from "../../src/rpc/namespace.ts";
import { runInProcess } from "../../src/process/current.ts";
import { startCluster } from "../helpers/cluster.ts";
import { stopAll, type TestNode } from "../helpers/nodes.ts";

// What a sent function finds on the node it runs on, as at the shell.
declare const Node: { self(): string; list(): string[] };
declare const global: { register(name: string): Promise<boolean>; whereis(name: string): unknown };
declare const GenServer: {
  start(cls: unknown, args: unknown, options: unknown): Promise<unknown>;
  call(server: unknown, request: unknown): Promise<unknown>;
};
declare const Logger: { info(message: string): void };

Deno.test("a function sent by rpc sees the shell's names on the remote node: Node, global, GenServer, Logger", async () => {
  const nodes = await startCluster(["a", "b"]);
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    const runtime = a.runtime;
    for (
      const name of [
        "Node",
        "global",
        "GenServer",
        "Supervisor",
        "Registry",
        "Task",
        "Logger",
        "pubsub",
      ]
    ) {
      assert.deepEqual(capturedNames(new Function(`return () => ${name}`)() as () => unknown), []);
    }
    assert.equal(await rpc.call(b.name, () => Node.self(), [], { runtime }), b.name);
    assert.deepEqual(await rpc.call(b.name, () => Node.list(), [], { runtime }), [a.name]);
    // `global` is Weft's global names there, not JavaScript's globalThis.
    const registered = await runInProcess(a.runtime.open(), () =>
      rpc.call(b.name, async () => {
        Logger.info("registering");
        const ok = await global.register("remote_shell");
        return [ok, String(global.whereis("remote_shell")).startsWith("#PID<b@127.0.0.1")];
      }));
    assert.deepEqual(registered, [true, true]);
    // The seed's GenServer, written inside the sent function.
    const reply = await rpc.call(
      b.name,
      async () => {
        class Echo extends (GenServer as unknown as new () => object) {
          init() {
            return { ok: null };
          }
          handleCall(request: unknown) {
            return { reply: { echo: request, on: Node.self() }, state: null };
          }
        }
        const pid = await GenServer.start(Echo, undefined, {});
        return await GenServer.call(pid, "hi");
      },
      [],
      { runtime },
    );
    assert.deepEqual(reply, { echo: "hi", on: b.name });
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("the error for a real capture says which names a sent function may use", () => {
  const local = 7;
  const err = (() => {
    try {
      return functionSource(() => local);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof CaptureError);
  assert.match(
    (err as Error).message,
    /captures local .*Available there besides JavaScript's globals: self, send, .*Node, monitorNodes, global, .*GenServer, .*Logger/,
  );
});
