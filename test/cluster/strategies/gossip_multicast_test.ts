/**
 * Multicast gossip, in a child process run with --unstable-net (the only
 * way Deno 2 offers UDP multicast). Ignored, saying why, where the machine
 * cannot loop multicast back to itself.
 */

import assert from "node:assert/strict";
import { GossipStrategy } from "../../../src/cluster/strategies/gossip.ts";
import { multicastAvailable } from "../../../src/cluster/strategies/_udp.ts";

const MAIN = new URL("../_gossip_multicast_main.ts", import.meta.url).pathname;
const ROOT = new URL("../../../", import.meta.url).pathname;

async function child(args: string[]): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-net", MAIN, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return {
    code: out.code,
    out: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

const probe = await child(["--probe"]);
const available = /^AVAILABLE$/m.test(probe.out);
if (!available) console.warn(`Multicast gossip test ignored: ${probe.out.trim()}`);

Deno.test({
  name: "gossip (multicast, --unstable-net): 4 nodes mesh through a multicast group",
  ignore: !available,
  fn: async () => {
    const run = await child([]);
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /^MESH \d+ multicast,multicast,multicast,multicast$/m);
  },
});

Deno.test({
  name: "gossip without seeds and without --unstable-net says how to get multicast",
  ignore: multicastAvailable(),
  fn: async () => {
    const g = new GossipStrategy({ port: 45999 });
    await assert.rejects(
      () =>
        g.start({
          self: "a@127.0.0.1",
          topology: "t",
          cookie: "c",
          listenPort: 1,
          signal: new AbortController().signal,
          update: () => {},
        }),
      /multicast only with --unstable-net .* give config\.seeds for unicast gossip/,
    );
    await g.stop();
  },
});
