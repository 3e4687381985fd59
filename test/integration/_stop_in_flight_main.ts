/**
 * The reproduction of issue 12 item 10, as a program whose exit status is
 * the verdict: three nodes in this one process, 200 `global.register`
 * calls on the first (the boss, which decides them at once and relays each
 * to the others), then `stop()` on each node in turn right away, with the
 * relays still in flight. Deno 2.6.8 printed `corrupted double-linked
 * list` and aborted (status 134), after every `stop()` had returned.
 * Exits 0 when all went well, 3 when something kept the process alive.
 *
 * `deno run -A test/integration/_stop_in_flight_main.ts`
 *
 * @module
 */

import { startNode, type WeftNode } from "../../src/node.ts";

// Whatever happens, this process must end: a hang is a failure too (not an abort).
const watchdog = setTimeout(() => {
  console.error("still running 30 s after start");
  Deno.exit(3);
}, 30_000);
Deno.unrefTimer(watchdog);

const nodes: WeftNode[] = [];
for (const name of ["boss", "w1", "w2"]) {
  nodes.push(
    await startNode({
      name: `${name}@127.0.0.1`,
      cookie: "stop-in-flight",
      hostname: "127.0.0.1",
      noEpmd: true,
    }),
  );
}
const [boss, w1, w2] = nodes as [WeftNode, WeftNode, WeftNode];
for (const peer of [w1, w2]) {
  if (!(await boss.connect(`${peer.name}:${peer.port}`))) {
    throw new Error(`no connection to ${peer.name}`);
  }
}
const owner = boss.runtime.open({ label: "owner" });
for (let i = 0; i < 200; i++) {
  if (!(await boss.global.register(`name_${i}`, owner.self))) throw new Error(`name_${i} refused`);
}
for (const node of nodes) await node.stop();
console.log("stopped");
