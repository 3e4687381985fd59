import assert from "node:assert/strict";
import { TimeoutError } from "../../src/errors.ts";
import { LocalCluster, startPeer } from "../../src/testing/mod.ts";

Deno.test("LocalCluster: start, partition, heal, kill -9, restart and stop real nodes", async () => {
  const cluster = await LocalCluster.start(["lct1", "lct2", "lct3"]);
  try {
    const [n1, n2, n3] = cluster.names as [string, string, string];
    assert.deepEqual((await cluster.list(n1)).sort(), [n2, n3]);
    await cluster.partition([n1], [n2, n3]);
    assert.deepEqual(await cluster.list(n1), []);
    assert.deepEqual(await cluster.list(n2), [n3]);
    await cluster.heal();
    assert.deepEqual((await cluster.list(n1)).sort(), [n2, n3]);
    const pid = cluster.peer(n3).pid;
    await cluster.kill(n3);
    assert.equal(cluster.peer(n3).exited, true);
    assert.deepEqual(cluster.running(), [n1, n2]);
    await cluster.restart(n3);
    assert.notEqual(cluster.peer(n3).pid, pid);
    assert.deepEqual((await cluster.list(n3)).sort(), [n1, n2]);
    await cluster.stop(n2);
    assert.deepEqual(cluster.running(), [n1, n3]);
    assert.equal(await cluster.call(n1, (x: number) => x * 2, [21]), 42);
    assert.throws(
      () => cluster.peer("nope@127.0.0.1"),
      /Cannot find node "nope@127.0.0.1" in the local cluster/,
    );
  } finally {
    await cluster.close();
  }
  await cluster.close(); // idempotent
});

Deno.test("LocalCluster.start() and startPeer() refuse bad names with a TypeError", async () => {
  await assert.rejects(() => LocalCluster.start([]), TypeError);
  await assert.rejects(() => LocalCluster.start(["a@host"]), /a name must be letters, digits/);
  await assert.rejects(() => LocalCluster.start(["a", "a"]), /node names repeat/);
  await assert.rejects(() => startPeer("x y"), TypeError);
});

Deno.test("startPeer() fails with a TimeoutError holding the output when the node never gets ready", async () => {
  const err = await startPeer("lct_never", {
    eval: "console.log('starting'); await receive();",
    readyLine: /NEVER-PRINTED/,
    timeout: 3000,
  }).catch((e) => e);
  assert.ok(err instanceof TimeoutError);
  assert.match(err.message, /NEVER-PRINTED/);
  assert.match(err.message, /starting/);
});

Deno.test("docs/testing.md shows the example files as they are", async () => {
  const root = new URL("../../", import.meta.url);
  const guide = await Deno.readTextFile(new URL("docs/testing.md", root));
  for (const file of ["singleton_app.ts", "process_migrates_test.ts"]) {
    const text = await Deno.readTextFile(new URL(`docs/examples/${file}`, root));
    assert.ok(
      guide.includes("```ts ignore\n" + text + "```"),
      `docs/testing.md lacks ${file} as it is`,
    );
  }
});
