/**
 * Cluster-service benchmarks on three nodes in three OS processes, side by
 * side with Erlang/OTP:
 *
 * - global registration latency: `node.global.register(name, pid)` from
 *   this node (a fresh pid per name), against `global:register_name/2`,
 *   each returning once every connected node knows the name. The far
 *   nodes are `wbga` and `wbgb` and this one `wbgmain`, so the boss that
 *   serialises registrations is a far node: every registration takes the
 *   longer path (the claim to the boss, relayed by it to the other peer,
 *   which acknowledges to this node);
 * - fan-out, like for like: deliveries per second of `node.pubsub.broadcast`
 *   to 100 subscribers on each of two far nodes (one network message per
 *   node, fanned out there), against a dispatcher process on each Erlang
 *   node that sends what it gets to `pg:get_local_members(G)` (the same
 *   work); and both sides sending one message per member of the pg group
 *   (`[P ! M || P <- pg:get_members(G)]`), each run until every
 *   subscriber has every message.
 *
 * scripts/bench/_groups_peer.ts runs the far Weft nodes (without a port
 * mapper); scripts/bench/erlang/weft_bench_groups.erl runs the Erlang side
 * with `peer` nodes and Erlang's `epmd` on a private port. The two sides
 * run interleaved, pinned and unpinned (scripts/bench/_harness.ts);
 * nothing is left running.
 *
 * Run with `deno run -A scripts/bench/groups.ts` (or `deno task bench groups`).
 *
 * @module
 */

import { startNode, type WeftNode } from "../../src/node.ts";
import type { ProcessContext } from "../../src/process/types.ts";
import { hasErlang, median, runErlang } from "./_erlang.ts";
import { interleave, reportAB } from "./_harness.ts";
import { freePort, startErlangEpmd, startPeer } from "./_peers.ts";

/** Runs within one side's run; the harness repeats and interleaves the sides. */
const RUNS = 1;
const N_REGISTER = 1000;
const N_MESSAGES = 5000;
const PER_NODE = 100;
const COOKIE = "weft-bench-groups";

const PEER = new URL("./_groups_peer.ts", import.meta.url).pathname;

/** The figures measured on each side. */
interface GroupFigures {
  registerUs: number;
  deliveriesPerSec: number;
  memberDeliveriesPerSec: number;
}

/** A far node child; resolves with its address once it is ready. */
async function startFarNode(name: string) {
  const peer = await startPeer<{ name: string; port: number }>(
    PEER,
    ["--name", name, "--cookie", COOKIE],
    `The peer node ${name}`,
  );
  return { name: peer.name, address: `${peer.name}:${peer.port}`, stop: peer.stop };
}

/** Mean microseconds of one registration, over `n` names, each with a fresh pid. */
async function registerUs(node: WeftNode, n: number, run: string): Promise<number> {
  const pids = Array.from({ length: n }, () => node.runtime.open({ label: "named" }));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (!(await node.global.register(`${run}:${i}`, pids[i]!.self))) {
      throw new Error(`Registration ${run}:${i} refused`);
    }
  }
  const us = ((performance.now() - t0) * 1000) / n;
  for (let i = 0; i < n; i++) await node.global.unregister(`${run}:${i}`);
  for (const p of pids) p.exit("normal");
  return us;
}

/**
 * Deliveries per second of `N_MESSAGES` messages to `PER_NODE` subscribers
 * on each far node: `"broadcast"` sends each through `node.pubsub.broadcast`
 * (one network message per node, fanned out there), `"member"` sends each
 * to every member of the pg group the subscribers joined, one by one.
 */
async function fanOut(
  node: WeftNode,
  me: ProcessContext,
  far: string[],
  run: string,
  mode: "broadcast" | "member",
): Promise<number> {
  const topic = `fan${run}`;
  for (const name of far) {
    me.send({ name: "bench_agent", node: name }, {
      from: me.self,
      op: "subscribe",
      topic,
      count: PER_NODE,
      expect: N_MESSAGES,
    });
  }
  for (const _ of far) await me.receive((m) => (m as { ready?: boolean })?.ready === true);
  const total = PER_NODE * far.length;
  const deadline = Date.now() + 30_000;
  while (
    node.pubsub.subscriberNodes(topic).length < far.length ||
    node.pg.getMembers(topic).length < total
  ) {
    if (Date.now() > deadline) throw new Error(`The subscribers of ${topic} never all showed`);
    await new Promise((r) => setTimeout(r, 1));
  }
  const members = node.pg.getMembers(topic);
  const t0 = performance.now();
  for (let i = 0; i < N_MESSAGES; i++) {
    const msg = { msg: i };
    if (mode === "broadcast") node.pubsub.broadcast(topic, msg);
    else for (const pid of members) me.send(pid, msg);
    if (i % 200 === 199) {
      for (const name of far) if (node.kernel.busy(name)) await node.kernel.drain(name);
      await new Promise((r) => setTimeout(r, 0));
    }
  }
  for (let k = 0; k < total; k++) await me.receive((m) => m === "done");
  const seconds = (performance.now() - t0) / 1000;
  return (total * N_MESSAGES) / seconds;
}

async function measureWeft(): Promise<GroupFigures> {
  const peers = await Promise.all([startFarNode("wbga"), startFarNode("wbgb")]);
  let node: WeftNode | undefined;
  try {
    node = await startNode({
      name: "wbgmain@127.0.0.1",
      cookie: COOKIE,
      hostname: "127.0.0.1",
      noEpmd: true,
    });
    for (const p of peers) {
      if (!(await node.connect(p.address))) throw new Error(`Cannot connect to ${p.name}`);
    }
    await node.global.sync();
    const far = peers.map((p) => p.name);
    await registerUs(node, 300, "warm");
    const reg: number[] = [];
    for (let r = 0; r < RUNS; r++) reg.push(await registerUs(node, N_REGISTER, `run${r}`));
    const me = node.runtime.open({ label: "bench" });
    const fan: number[] = [];
    for (let r = 0; r < RUNS; r++) fan.push(await fanOut(node, me, far, `b${r}`, "broadcast"));
    const perMember: number[] = [];
    for (let r = 0; r < RUNS; r++) perMember.push(await fanOut(node, me, far, `m${r}`, "member"));
    me.exit("normal");
    return {
      registerUs: median(reg),
      deliveriesPerSec: median(fan),
      memberDeliveriesPerSec: median(perMember),
    };
  } finally {
    await node?.stop();
    await Promise.all(peers.map((p) => p.stop()));
  }
}

async function measureErlang(): Promise<GroupFigures | undefined> {
  if (!(await hasErlang())) return undefined;
  const epmdPort = freePort();
  const epmd = await startErlangEpmd(epmdPort);
  try {
    return await runErlang<GroupFigures>(
      "weft_bench_groups",
      [N_REGISTER, N_MESSAGES, RUNS, PER_NODE].map(String),
      { erlArgs: ["-setcookie", COOKIE], env: { ERL_EPMD_PORT: String(epmdPort) } },
    );
  } finally {
    await epmd.stop();
  }
}

const samples = await interleave({
  weft: async () => ({ ...await measureWeft() }),
  erlang: async () => {
    const figures = await measureErlang();
    return figures && { ...figures };
  },
});

reportAB("Cluster services on three OS processes", [
  {
    key: "registerUs",
    name: `global registration, ${
      N_REGISTER.toLocaleString("en-US")
    } names, each returning once every node knows it (global:register_name)`,
    unit: "µs",
    higherIsBetter: false,
    target: { max: 1 },
  },
  {
    key: "deliveriesPerSec",
    name: `fan-out to ${PER_NODE} subscribers on each of 2 nodes, one message per node ` +
      "(pubsub.broadcast; Erlang: a dispatcher per node sending to pg:get_local_members)",
    unit: "deliveries/s",
    higherIsBetter: true,
    target: { min: 1 },
  },
  {
    key: "memberDeliveriesPerSec",
    name: `fan-out to the same ${2 * PER_NODE} pg members, one message per member ` +
      "(pg.getMembers; Erlang: pg:get_members)",
    unit: "deliveries/s",
    higherIsBetter: true,
    target: { min: 1 },
  },
], samples);
