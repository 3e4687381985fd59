/**
 * One node of the multi-region benchmark (scripts/bench/multi_region.ts),
 * in its own OS process: starts with the benchmark's multi-region config
 * and region, records how long each `lag:` key took to arrive (its value
 * is the writer's `Date.now()`), and serves the benchmark over rpc
 * (module `bench`). Listens on `--host` (default 127.0.0.1: a region's
 * namespace address when the benchmark runs regions in network
 * namespaces). Prints one JSON line when ready; stops when its stdin
 * closes.
 *
 * @module
 */

import { startNode } from "../../src/node.ts";
import { parseMultiRegionConfig } from "../../src/region/region_config.ts";
import { peerFlags, servePeer } from "./_peers.ts";

const flags = peerFlags("_region_peer.ts", ["name", "port", "region", "config", "host"]);
const config = JSON.parse(await Deno.readTextFile(flags.config!));
const { regions } = parseMultiRegionConfig(config, flags.region);
const node = await startNode({
  name: flags.name!,
  port: Number(flags.port),
  cookie: "bench",
  noEpmd: true,
  hostname: flags.host ?? "127.0.0.1",
  regions,
  replicator: { deltaInterval: 10, antiEntropyInterval: 500 },
});
let lags: number[] = [];
node.replicator.watch((key) => {
  if (!key.startsWith("lag:")) return;
  const sent = node.replicator.value(key);
  if (typeof sent === "number") lags.push(Date.now() - sent);
});
node.rpc.registerModule("bench", {
  set: async (key: string, value: unknown) => {
    if (!node.replicator.keys().includes(key)) node.replicator.open(key, "lww-register");
    await node.replicator.update(key, (r) => r.set(value));
  },
  setMany: async (prefix: string, n: number, value: unknown) => {
    for (let i = 0; i < n; i++) {
      const key = `${prefix}${i}`;
      if (!node.replicator.keys().includes(key)) node.replicator.open(key, "lww-register");
      await node.replicator.update(key, (r) => r.set(value));
    }
  },
  lags: () => {
    const out = lags;
    lags = [];
    return out;
  },
  count: (prefix: string, value: unknown) =>
    node.replicator.keys().filter((k) => k.startsWith(prefix) && node.replicator.value(k) === value)
      .length,
  /** Cuts this node off from `nodes` for `ms` (it heals itself: nobody could reach it to ask). */
  cut: (nodes: string[], ms: number) => {
    for (const n of nodes) node.kernel.block(n);
    setTimeout(() => nodes.forEach((n) => node.kernel.unblock(n)), ms);
  },
  sentBytes: () => node.regions!.traffic().reduce((n, t) => n + t.bytes, 0),
  links: () => node.list("hidden").length,
  leader: () => node.regions!.leader(),
  regions: () => node.regions!.status(),
});
await servePeer({ name: node.name, pid: Deno.pid }, () => node.stop());
