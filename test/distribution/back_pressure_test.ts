import assert from "node:assert/strict";
import { importCookie } from "../../src/distribution/handshake.ts";
import { MemoryNetwork } from "../../src/distribution/memory.ts";
import { NetKernel } from "../../src/distribution/net_kernel.ts";
import type {
  Connection,
  Listener,
  Transport,
  TransportAddress,
} from "../../src/distribution/transport.ts";
import { Runtime } from "../../src/process/runtime.ts";
import type { Pid } from "../../src/term/pid.ts";
import { waitFor } from "../helpers/wait.ts";

const KIB = 1024;

/**
 * A memory network whose accepted connections stop reading while `paused`:
 * the node behind them ticks on, but reads nothing, as a peer that stalled.
 */
class StallableNetwork implements Transport {
  readonly kind = "memory";
  readonly #net = new MemoryNetwork({ capacity: 64 * KIB });
  #gate: PromiseWithResolvers<void> | undefined;

  pause(): void {
    this.#gate ??= Promise.withResolvers();
  }

  resume(): void {
    this.#gate?.resolve();
    this.#gate = undefined;
  }

  connect(addr: TransportAddress): Promise<Connection> {
    return this.#net.connect(addr);
  }

  listen(addr: TransportAddress): Listener {
    const inner = this.#net.listen(addr);
    const gated = (conn: Connection): Connection => {
      const read = conn.read.bind(conn);
      conn.read = async (max?: number) => {
        while (this.#gate !== undefined) await this.#gate.promise;
        return read(max);
      };
      return conn;
    };
    return {
      addr: inner.addr,
      accept: async () => {
        const conn = await inner.accept();
        return conn === null ? null : gated(conn);
      },
      close: () => inner.close(),
      [Symbol.asyncIterator]: async function* () {
        for (let c = await inner.accept(); c !== null; c = await inner.accept()) yield gated(c);
      },
    };
  }
}

async function pair(busyLimit: number) {
  const net = new StallableNetwork();
  const cookie = importCookie("back-pressure");
  const make = (node: string) => {
    const runtime = new Runtime({ node });
    const listener = net.listen({ hostname: "mem", port: 0 });
    const kernel = new NetKernel({
      runtime,
      cookie,
      transport: net,
      listenPort: listener.addr.port,
      busyLimit,
    });
    kernel.serve(listener);
    return { runtime, kernel, listener };
  };
  const a = make("a@mem");
  const b = make("b@mem");
  a.kernel.addAddress("b@mem", b.listener.addr);
  assert.ok(await a.kernel.connect("b@mem"));
  const stop = async () => {
    net.resume();
    for (const n of [a, b]) {
      await n.kernel.stop();
      await n.runtime.shutdown();
    }
  };
  return { net, a, b, stop };
}

Deno.test("a process sending to a stalled peer is held at its receive until the connection drains, and nothing is lost", async () => {
  const limit = 256 * KIB;
  const size = 16 * KIB;
  const n = 200; // 3.2 MiB in all: twelve times the busy limit
  const { net, a, b, stop } = await pair(limit);
  try {
    const got: number[] = [];
    const sink = b.runtime.spawn(async (ctx) => {
      while (true) got.push((await ctx.receive<{ i: number }>()).i);
    });
    b.runtime.register("sink", sink);

    net.pause();
    let sent = 0;
    let maxQueued = 0;
    const producer: Pid = a.runtime.spawn(async (ctx) => {
      for (let i = 0; i < n; i++) {
        ctx.send({ name: "sink", node: "b@mem" }, { i, data: new Uint8Array(size).fill(i) });
        sent = i + 1;
        maxQueued = Math.max(maxQueued, a.kernel.bytesQueued("b@mem"));
        // A producer that looks at its mailbox between messages: this is where it is held.
        await ctx.receive((m) => m === "stop", { timeout: 0 }).catch(() => {});
      }
    });

    await waitFor(() => a.runtime.info(producer)?.status === "suspended", {
      message: "the producer was never held back",
    });
    assert.ok(a.kernel.busy("b@mem"));
    const heldAt = sent;
    assert.ok(heldAt < n, "held before it sent everything");
    // An observation window (not synchronisation): held, it sends nothing more.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(sent, heldAt, "a held producer sends nothing more");
    assert.equal(a.runtime.info(producer)?.status, "suspended");
    assert.ok(
      maxQueued <= limit + size + 64,
      `queued ${maxQueued} bytes: more than the busy limit plus one message`,
    );
    assert.deepEqual(a.kernel.nodes(), ["b@mem"], "a stalled reader is not a dead node");

    net.resume();
    await waitFor(() => got.length === n, { timeout: 10_000 });
    assert.deepEqual(got, Array.from({ length: n }, (_, i) => i), "every message, in order");
    assert.ok(maxQueued <= limit + size + 64);
    await waitFor(() => a.runtime.info(producer) === undefined);
  } finally {
    await stop();
  }
});

Deno.test("a process held back for a busy connection can still be killed, and its receive rejects", async () => {
  const { net, a, stop } = await pair(32 * KIB);
  try {
    net.pause();
    let outcome = "";
    const producer = a.runtime.spawn(async (ctx) => {
      try {
        while (true) {
          ctx.send({ name: "nobody", node: "b@mem" }, new Uint8Array(8 * KIB));
          await ctx.receive(() => false, { timeout: 0 }).catch((e) => {
            if (e.name !== "TimeoutError") throw e;
          });
        }
      } catch (e) {
        outcome = (e as Error).name;
        throw e;
      }
    });
    await waitFor(() => a.runtime.info(producer)?.status === "suspended");
    a.runtime.exit(producer, "kill");
    await waitFor(() => outcome !== "");
    assert.equal(outcome, "ProcessExitError");
    assert.equal(a.runtime.isAlive(producer), false);
  } finally {
    await stop();
  }
});

Deno.test("a held process is released when its connection closes", async () => {
  const { net, a, stop } = await pair(32 * KIB);
  try {
    net.pause();
    let released = false;
    const producer = a.runtime.spawn(async (ctx) => {
      for (let i = 0; i < 100; i++) {
        ctx.send({ name: "nobody", node: "b@mem" }, new Uint8Array(8 * KIB));
        await ctx.receive(() => false, { timeout: 0 }).catch(() => {});
      }
      released = true;
    });
    await waitFor(() => a.runtime.info(producer)?.status === "suspended");
    a.kernel.disconnect("b@mem");
    await waitFor(() => released, { message: "the producer stayed held after the disconnect" });
  } finally {
    await stop();
  }
});

Deno.test("code outside any process is never held back; it may wait with drain()", async () => {
  const { net, a, stop } = await pair(32 * KIB);
  try {
    net.pause();
    for (let i = 0; i < 20; i++) {
      a.runtime.send({ name: "nobody", node: "b@mem" }, new Uint8Array(8 * KIB));
    }
    assert.ok(a.kernel.busy("b@mem"));
    const drained = a.kernel.drain("b@mem");
    assert.equal(a.kernel.drain("b@mem"), drained, "one promise per busy spell");
    net.resume();
    await drained;
    assert.ok(a.kernel.bytesQueued("b@mem") <= 16 * KIB);
  } finally {
    await stop();
  }
});
