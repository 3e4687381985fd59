/**
 * A far node of scripts/bench/groups.ts, in its own OS process: a Weft
 * node (no port mapper) with a process `bench_agent` that, on
 * `{from, op: "subscribe", topic, count, expect}`, starts `count`
 * processes subscribed to `topic` (and members of the pg group `topic`), each of which sends `"done"` to `from`
 * once it has received `expect` messages, and answers `{ready: true}`.
 *
 * Prints one JSON line `{"name", "port"}` on stdout once ready, and stops
 * when its stdin closes (so it never outlives the benchmark).
 *
 * ```sh
 * deno run -A scripts/bench/_groups_peer.ts --name wbga --cookie c
 * ```
 *
 * @module
 */

import { startNode } from "../../src/node.ts";
import type { Pid } from "../../src/term/pid.ts";
import { peerFlags, servePeer } from "./_peers.ts";

const flags = peerFlags("_groups_peer.ts", ["name", "cookie"]);

const node = await startNode({
  name: `${flags.name}@127.0.0.1`,
  cookie: flags.cookie!,
  hostname: "127.0.0.1",
  noEpmd: true,
});

interface Subscribe {
  from: Pid;
  op: "subscribe";
  topic: string;
  count: number;
  expect: number;
}

node.runtime.spawn(async (ctx) => {
  for (;;) {
    const m = await ctx.receive<Subscribe>();
    for (let i = 0; i < m.count; i++) {
      const pid = node.runtime.spawn(async (sub) => {
        for (let k = 0; k < m.expect; k++) await sub.receive();
        sub.send(m.from, "done");
      });
      node.pubsub.subscribe(m.topic, pid);
      node.pg.join(m.topic, pid);
    }
    ctx.send(m.from, { ready: true });
  }
}, { name: "bench_agent" });

await servePeer({ name: node.name, port: node.port }, () => node.stop());
