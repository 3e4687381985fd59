import assert from "node:assert/strict";
import { importCookie } from "../../src/distribution/handshake.ts";
import { MemoryNetwork } from "../../src/distribution/memory.ts";
import { NetKernel, type NetKernelOptions } from "../../src/distribution/net_kernel.ts";
import { CAP_SPAWN, OP_SPAWN_REQUEST, OP_USER_MIN } from "../../src/distribution/types.ts";
import type { Listener } from "../../src/distribution/transport.ts";
import { Runtime } from "../../src/process/runtime.ts";
import { Pid } from "../../src/term/pid.ts";
import { captureLogs } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

interface TestKernel {
  runtime: Runtime;
  kernel: NetKernel;
  listener: Listener;
  stop(): Promise<void>;
}

function kernels(
  names: string[],
  options: Partial<NetKernelOptions> = {},
): TestKernel[] {
  const net = new MemoryNetwork();
  const cookie = importCookie("kernel-test");
  const made = names.map((name) => {
    const runtime = new Runtime({ node: name });
    const listener = net.listen({ hostname: "mem", port: 0 });
    const kernel = new NetKernel({
      runtime,
      cookie,
      transport: net,
      listenPort: listener.addr.port,
      ...options,
    });
    kernel.serve(listener);
    return {
      runtime,
      kernel,
      listener,
      stop: async () => {
        await kernel.stop();
        await runtime.shutdown();
      },
    };
  });
  for (const a of made) {
    for (const b of made) {
      if (a !== b) a.kernel.addAddress(b.runtime.node, b.listener.addr);
    }
  }
  return made;
}

Deno.test("NetKernel connects over any transport and becomes the runtime's router", async () => {
  const [a, b] = kernels(["a@mem", "b@mem"]);
  try {
    assert.equal(a!.runtime.router, a!.kernel);
    assert.equal(await a!.kernel.connect("b@mem"), true);
    assert.deepEqual(a!.kernel.nodes(), ["b@mem"]);
    await waitFor(() => b!.kernel.nodes().includes("a@mem"));
    assert.equal(a!.kernel.peer("b@mem")?.creation, b!.runtime.creation);
    assert.equal(a!.kernel.disconnect("nobody@mem"), false);
    assert.equal(a!.kernel.disconnect("b@mem"), true);
    assert.deepEqual(a!.kernel.nodes(), []);
  } finally {
    await a!.stop();
    await b!.stop();
  }
});

Deno.test("NetKernel.sendOp() reaches the handler registered in kernel.ops on the other node", async () => {
  const [a, b] = kernels(["a@mem", "b@mem"]);
  try {
    const got: [string, unknown[]][] = [];
    b!.kernel.ops.register("raft", 128, (node, fields) => got.push([node, fields]));
    a!.kernel.sendOp("b@mem", 128, ["hello", 1]);
    a!.kernel.sendOp("b@mem", 129, ["nobody listens"]);
    a!.kernel.sendOp("b@mem", 128, ["again"]);
    await waitFor(() => got.length === 2);
    assert.deepEqual(got, [["a@mem", ["hello", 1]], ["a@mem", ["again"]]]);
    assert.deepEqual(b!.kernel.nodes(), ["a@mem"], "an op without a handler is ignored, not fatal");
    assert.throws(() => a!.kernel.sendOp("b@mem", OP_USER_MIN, [() => 1]), TypeError);
  } finally {
    await a!.stop();
    await b!.stop();
  }
});

Deno.test("NetKernel announces CAP_SPAWN only while a spawn handler is installed", async () => {
  const [a, b] = kernels(["a@mem", "b@mem"]);
  try {
    await a!.kernel.connect("b@mem");
    assert.equal((a!.kernel.peer("b@mem")!.capabilities & CAP_SPAWN) !== 0, false);
    a!.kernel.disconnect("b@mem");
    b!.kernel.ops.register("rpc", OP_SPAWN_REQUEST, () => {});
    await a!.kernel.connect("b@mem");
    assert.equal((a!.kernel.peer("b@mem")!.capabilities & CAP_SPAWN) !== 0, true);
  } finally {
    await a!.stop();
    await b!.stop();
  }
});

Deno.test("NetKernel queues signals for a pending node and sends them in order once up", async () => {
  const [a, b] = kernels(["a@mem", "b@mem"]);
  try {
    const sink = b!.runtime.open();
    for (let i = 0; i < 100; i++) a!.runtime.send(sink.self, i);
    assert.ok(a!.kernel.bytesQueued("b@mem") > 0, "queued while connecting");
    for (let i = 0; i < 100; i++) assert.equal(await sink.receive(undefined, { timeout: 3000 }), i);
    assert.equal(a!.kernel.busy("b@mem"), false);
    await a!.kernel.drain("b@mem");
    await assert.rejects(a!.kernel.drain("c@mem"), { name: "NoConnectionError" });
  } finally {
    await a!.stop();
    await b!.stop();
  }
});

Deno.test("NetKernel does not connect for exit, unlink or demonitor signals", async () => {
  const [a, b] = kernels(["a@mem", "b@mem"]);
  try {
    const me = a!.runtime.open();
    const remote = new Pid("b@mem", 1, 0, b!.runtime.creation);
    a!.runtime.exit(remote, "bye", me.self);
    me.unlink(remote);
    assert.deepEqual(a!.kernel.nodes("all"), []);
    assert.equal(a!.kernel.bytesQueued("b@mem"), 0);
  } finally {
    await a!.stop();
    await b!.stop();
  }
});

Deno.test("NetKernel.stop() refuses new connects and ends every connection", async () => {
  const [a, b] = kernels(["a@mem", "b@mem"]);
  try {
    await a!.kernel.connect("b@mem");
    await a!.kernel.stop();
    assert.equal(a!.runtime.router, undefined);
    assert.equal(await a!.kernel.connect("b@mem"), false);
    await waitFor(() => b!.kernel.nodes().length === 0);
  } finally {
    await a!.stop();
    await b!.stop();
  }
});

Deno.test("NetKernel.connect() throws TypeError on an invalid node name", async () => {
  const [a] = kernels(["a@mem"]);
  try {
    assert.throws(() => a!.kernel.connect("no-at-sign"), TypeError);
  } finally {
    await a!.stop();
  }
});

/** A memory network that counts the connects made to each port. */
class CountingNetwork extends MemoryNetwork {
  readonly connects = new Map<number, number>();
  override connect(addr: Parameters<MemoryNetwork["connect"]>[0]) {
    this.connects.set(addr.port, (this.connects.get(addr.port) ?? 0) + 1);
    return super.connect(addr);
  }
}

Deno.test("NetKernel.connect() makes one attempt: a wrong cookie is refused once, logged once on each side", async () => {
  const logs = await captureLogs("info");
  const net = new CountingNetwork();
  const make = (name: string, cookie: string) => {
    const runtime = new Runtime({ node: name });
    const listener = net.listen({ hostname: "mem", port: 0 });
    const kernel = new NetKernel({
      runtime,
      cookie: importCookie(cookie),
      transport: net,
      listenPort: listener.addr.port,
    });
    kernel.serve(listener);
    return { runtime, kernel, listener };
  };
  const a = make("a@mem", "one");
  const b = make("b@mem", "two");
  try {
    a.kernel.addAddress("b@mem", b.listener.addr);
    // A waiting caller and a queued signal: both used to make a failed attempt try again.
    a.runtime.send({ name: "sink", node: "b@mem" }, "must not arrive");
    assert.equal(await a.kernel.connect("b@mem"), false);
    assert.equal(net.connects.get(b.listener.addr.port), 1);
    await logs.waitFor(/Refused connection from .* \(a@mem\): bad_cookie/);
    const refusals = logs.lines.filter((l) => /Refused connection/.test(l));
    const failures = logs.lines.filter((l) => /Cannot connect to b@mem/.test(l));
    assert.equal(refusals.length, 1, refusals.join(""));
    assert.equal(failures.length, 1, failures.join(""));
    assert.match(failures[0]!, /bad_cookie/);
  } finally {
    await a.kernel.stop();
    await b.kernel.stop();
    await a.runtime.shutdown();
    await b.runtime.shutdown();
    await logs.restore();
  }
});
