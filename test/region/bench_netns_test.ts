/**
 * The multi-region benchmark's kernel WAN (scripts/bench/_netns.ts): the
 * namespaces reach each other on their private addresses, a process left
 * inside is killed and no namespace is left after `close()`. Needs root and
 * `ip netns`: skipped elsewhere. The netem shaping itself needs a kernel
 * with sch_netem, which `kernelWan()` reports.
 */

import assert from "node:assert/strict";
import { createRegionNetwork, kernelWan } from "../../scripts/bench/_netns.ts";

async function ip(...args: string[]): Promise<string> {
  const r = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).output();
  return new TextDecoder().decode(r.stdout);
}

const canNetns = Deno.build.os === "linux" && Deno.uid() === 0 &&
  await new Deno.Command("ip", { args: ["netns", "list"], stdout: "null", stderr: "null" })
    .output().then((r) => r.success, () => false);

Deno.test({
  name: "region namespaces: nodes of two regions talk over their addresses; close() leaves nothing",
  ignore: !canNetns,
  async fn() {
    const wan = await kernelWan();
    assert(wan.ok || wan.reason.length > 0);
    const net = await createRegionNetwork({ east: 2, west: 1 });
    const listed = () => ip("netns", "list");
    let sleeper: Deno.ChildProcess | undefined;
    try {
      assert.deepEqual(net.regions.east!.hosts, ["10.231.0.11", "10.231.0.12"]);
      assert.deepEqual(net.regions.west!.hosts, ["10.231.0.21"]);
      assert((await listed()).includes(net.regions.west!.ns));
      const inNs = (region: string, code: string) => {
        const [cmd, ...args] = net.exec(region);
        return new Deno.Command(cmd!, {
          args: [...args, Deno.execPath(), "eval", code],
          stdout: "piped",
          stderr: "piped",
        });
      };
      // A server in east on its second address, a client in west.
      const server = inNs(
        "east",
        `const l = Deno.listen({ hostname: "10.231.0.12", port: 9101 }); console.log("up");
         const c = await l.accept(); await c.write(new TextEncoder().encode("hello from east"));
         c.close(); l.close();`,
      ).spawn();
      const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
      assert.deepEqual((await reader.read()).value?.trim(), "up");
      const client = await inNs(
        "west",
        `const c = await Deno.connect({ hostname: "10.231.0.12", port: 9101 });
         const b = new Uint8Array(64); const n = await c.read(b);
         console.log(new TextDecoder().decode(b.subarray(0, n ?? 0))); c.close();`,
      ).output();
      assert.deepEqual(new TextDecoder().decode(client.stdout).trim(), "hello from east");
      // The pipe holds server.stdout until it ends: cancel through the reader.
      await reader.cancel();
      await server.stderr.cancel();
      assert((await server.status).success);
      // Something still running inside at close() is killed.
      const [cmd, ...args] = net.exec("west");
      sleeper = new Deno.Command(cmd!, {
        args: [...args, "sleep", "600"],
        stdout: "null",
        stderr: "null",
      }).spawn();
      const west = net.regions.west!.ns;
      const deadline = Date.now() + 10_000;
      while (!(await ip("netns", "pids", west)).trim()) {
        assert(Date.now() < deadline, "the sleeper never showed up in the namespace");
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await net.close();
    }
    assert.deepEqual((await sleeper.status).signal, "SIGKILL");
    const left = await listed();
    for (const r of Object.values(net.regions)) assert(!left.includes(r.ns), `${r.ns} left behind`);
    assert(!left.includes(`weft-bench-${Deno.pid}-`), "a namespace was left behind");
  },
});
