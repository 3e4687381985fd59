/**
 * An authenticated peer is trusted with its own processes only: a signal
 * whose `from` is a process of another node (or whose monitor reference
 * another node made) is refused and logged, and the connection stays up.
 */
import assert from "node:assert/strict";
import { encode } from "../../src/term/codec.ts";
import { encodeFrame } from "../../src/distribution/frame_format.ts";
import { FRAME_MESSAGE } from "../../src/distribution/types.ts";
import { Pid, Ref } from "../../src/term/pid.ts";
import { captureLogs, rawPeer, startTestNodes, stopAll } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

Deno.test("signals whose sender is not on the sending peer's node are refused, each kind, and logged", async () => {
  const logs = await captureLogs("warning");
  const [a, c] = await startTestNodes(["a", "c"]);
  try {
    assert.ok(await a!.connect(c!.address));
    const raw = await rawPeer(a!.port, a!.name, { name: "evil@127.0.0.1", creation: 9 });
    assert.ok(raw.result.ok);
    const send = (body: unknown[]) =>
      raw.conn.write(encodeFrame(new Uint8Array([FRAME_MESSAGE, ...encode(body)])));

    // On a: a victim, a process that monitors one on c, and one evil may kill.
    const victim = a!.runtime.open();
    const watcher = a!.runtime.open();
    const onC = c!.runtime.open();
    const realRef = watcher.monitor(onC.self);
    const killable = a!.runtime.open();
    // A process of c, named by evil: a third node's pid.
    const third = onC.self;
    const evilPid = new Pid("evil@127.0.0.1", 7, 0, 9);
    const aRef = new Ref(a!.name, 1, a!.runtime.creation);
    const forged: unknown[][] = [
      [5, third, victim.self, "kill"], // EXIT "from" c
      [3, third, victim.self], // LINK "from" c ...
      [6, third, victim.self, "boom"], // ... then LINK_EXIT
      [4, third, victim.self], // UNLINK
      [7, third, victim.self, new Ref("evil@127.0.0.1", 1, 9)], // MONITOR "from" c
      [7, evilPid, victim.self, aRef], // MONITOR with a reference a made
      [8, third, victim.self, realRef], // DEMONITOR "from" c
      [9, third, watcher.self, realRef, "forged"], // MONITOR_EXIT of c's process
    ];
    for (const body of forged) await send(body);
    // A genuine signal after them, on the same connection: once it has
    // acted, every forged one before it has been dealt with.
    await send([5, evilPid, killable.self, "kill"]);
    await waitFor(() => !a!.runtime.isAlive(killable.self));

    assert.ok(a!.runtime.isAlive(victim.self), "the victim survived");
    await assert.rejects(victim.receive(undefined, { timeout: 0 }), { name: "TimeoutError" });
    await assert.rejects(watcher.receive(undefined, { timeout: 0 }), { name: "TimeoutError" });
    const refused = logs.lines.filter((l) => /Refused a \w+ signal from node evil@127/.test(l));
    assert.equal(refused.length, forged.length, logs.lines.join(""));
    assert.ok(refused.some((l) => /its sender #PID<c@127\.0\.0\.1/.test(l)), refused.join(""));
    assert.ok(refused.some((l) => /reference was not made by evil/.test(l)), refused.join(""));
    // The peer stays connected; the genuine monitor still works.
    assert.ok(a!.list().includes("evil@127.0.0.1"));
    raw.conn.close();
    await c!.stop();
    const down = await watcher.receive<{ type: string; reason: unknown }>(undefined, {
      timeout: 5000,
    });
    assert.equal(down.type, "DOWN");
  } finally {
    await stopAll([a, c]);
    await logs.restore();
  }
});

Deno.test("a peer sending forged signals in a loop cannot flood the log: lines per peer are bounded and say how many were not shown", async () => {
  const logs = await captureLogs("warning");
  const [a] = await startTestNodes(["a"]);
  try {
    const raw = await rawPeer(a!.port, a!.name, { name: "evil@127.0.0.1", creation: 9 });
    assert.ok(raw.result.ok);
    const send = (body: unknown[]) =>
      raw.conn.write(encodeFrame(new Uint8Array([FRAME_MESSAGE, ...encode(body)])));
    const victim = a!.runtime.open();
    const killable = a!.runtime.open();
    const third = new Pid("c@127.0.0.1", 1, 0, 1);
    for (let i = 0; i < 500; i++) await send([5, third, victim.self, "kill"]);
    await send([5, new Pid("evil@127.0.0.1", 7, 0, 9), killable.self, "kill"]);
    await waitFor(() => !a!.runtime.isAlive(killable.self));
    const refused = logs.lines.filter((l) => /Refused a \w+ signal from node evil@127/.test(l));
    assert.ok(refused.length >= 1 && refused.length <= 20, `${refused.length} lines`);
    assert.ok(a!.runtime.isAlive(victim.self));
    assert.ok(a!.list().includes("evil@127.0.0.1"), "the peer stays connected");
    raw.conn.close();
  } finally {
    await stopAll([a]);
    await logs.restore();
  }
});
