import assert from "node:assert/strict";
import { Runtime } from "../../src/process/runtime.ts";
import { isShellEvent, watchMailbox } from "../../repl/mailbox_watch.ts";

Deno.test("watchMailbox() announces events as they arrive and leaves them in the mailbox", async () => {
  const rt = new Runtime();
  try {
    const shell = rt.open();
    const seen: unknown[] = [];
    watchMailbox(shell, (m) => seen.push(m));
    rt.send(shell.self, { type: "nodedown", node: "b@h", reason: "connection_closed" });
    rt.send(shell.self, "ordinary message");
    assert.equal(seen.length, 1);
    assert.equal(shell.flush().length, 2);
  } finally {
    await rt.shutdown();
  }
});

Deno.test("watchMailbox() does not stand in the way of the shell's own receive", async () => {
  const rt = new Runtime();
  try {
    const shell = rt.open();
    watchMailbox(shell, () => {});
    const got = shell.receive((m) => (m as { type?: string }).type === "DOWN");
    rt.send(shell.self, { type: "DOWN", ref: rt.makeRef(), pid: shell.self, reason: "normal" });
    assert.equal(((await got) as { type: string }).type, "DOWN");
    const any = shell.receive();
    rt.send(shell.self, 7);
    assert.equal(await any, 7);
  } finally {
    await rt.shutdown();
  }
});

Deno.test("watchMailbox(): while inactive nothing is shown; rescan() shows what is still queued, once", async () => {
  const rt = new Runtime();
  try {
    const shell = rt.open();
    const seen: unknown[] = [];
    const watch = watchMailbox(shell, (m) => seen.push(m));
    watch.active = false;
    rt.send(shell.self, { type: "nodeup", node: "b@h" });
    rt.send(shell.self, { type: "EXIT", from: shell.self, reason: "x" });
    assert.equal(seen.length, 0);
    await shell.receive((m) => (m as { type: string }).type === "EXIT");
    watch.active = true;
    watch.rescan();
    watch.rescan();
    assert.deepEqual(seen, [{ type: "nodeup", node: "b@h" }]);
  } finally {
    await rt.shutdown();
  }
});

Deno.test("watchMailbox() tells when the shell process exits", async () => {
  const rt = new Runtime();
  try {
    const shell = rt.open();
    const exited = Promise.withResolvers<unknown>();
    watchMailbox(shell, () => {}, exited.resolve);
    shell.exit("boom");
    assert.equal(((await exited.promise) as { reason: unknown }).reason, "boom");
  } finally {
    await rt.shutdown();
  }
});

Deno.test("isShellEvent() knows nodeup, nodedown, DOWN and EXIT", () => {
  for (const type of ["nodeup", "nodedown", "DOWN", "EXIT"]) assert.ok(isShellEvent({ type }));
  for (const msg of [null, "DOWN", { type: "other" }, 1]) assert.ok(!isShellEvent(msg));
});
