/**
 * Global names, pg and presence across OS processes: the test runs nodes
 * in process and real `deno run main.ts` nodes as children (see
 * _probe_peer.ts), kills them with SIGKILL and cuts them apart through
 * their fault agents.
 */
import assert from "node:assert/strict";
import { Faults } from "../../src/cluster/faults.ts";
import type { GlobalNameConflictMessage } from "../../src/global/types.ts";
import type { PresenceList } from "../../src/pubsub/presence.ts";
import type { Pid } from "../../src/term/pid.ts";
import { converged } from "../helpers/cluster.ts";
import { startTestNode, stopAll, type TestNode } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  PROBE_COOKIE,
  ProbeClient,
  type ProbePeer,
  type ProbeState,
  startProbePeer,
} from "./_probe_peer.ts";

/** What every node must agree on: global names, members of "g", who is on "room". */
interface View {
  names: Record<string, string>;
  members: string[];
  presences: Record<string, unknown[]>;
}

function summary(list: PresenceList | ProbeState["presences"]): Record<string, unknown[]> {
  return Object.fromEntries(
    Object.entries(list).map(([k, { metas }]) => [k, metas.map((m) => m.presenceRef).sort()]),
  );
}

function localView(n: TestNode): View {
  const names: Record<string, string> = {};
  for (const name of n.global.registered().sort()) names[name] = String(n.global.whereis(name));
  return {
    names,
    members: n.pg.getMembers("g").map(String).sort(),
    presences: summary(n.presence.list("room")),
  };
}

async function remoteView(client: ProbeClient, peer: ProbePeer): Promise<View> {
  const s = await client.ask<ProbeState>(peer.name, { op: "state", group: "g", topic: "room" });
  return { names: s.names, members: s.members, presences: summary(s.presences) };
}

/** Waits until every node, in process or not, has the same view; returns it. */
async function agree(
  client: ProbeClient,
  local: TestNode[],
  peers: ProbePeer[],
  check: (v: View) => boolean = () => true,
): Promise<View> {
  let last = "";
  await waitFor(async () => {
    const views = [
      ...local.map(localView),
      ...(await Promise.all(peers.map((p) => remoteView(client, p)))),
    ].map((v) => JSON.stringify(v));
    last = views.join("\n  ");
    return views.every((v) => v === views[0]) && check(JSON.parse(views[0]!));
  }, { timeout: 20_000, interval: 50, message: `Nodes disagree:\n  ${last}` });
  return localView(local[0]!);
}

Deno.test("kill -9 of a node: its global names, pg members and presences leave every other node", async () => {
  const a = await startTestNode("a", { cookie: PROBE_COOKIE, presenceDownPeriod: 300 });
  const peers: ProbePeer[] = [];
  try {
    peers.push(...(await Promise.all([startProbePeer("b"), startProbePeer("c")])));
    const [b, c] = peers as [ProbePeer, ProbePeer];
    assert.ok(await a.connect(b.address));
    assert.ok(await a.connect(c.address));
    await waitFor(() => a.list().length === 2);
    await a.global.sync();
    const client = new ProbeClient(a.runtime.open());
    await client.ask(c.name, { op: "downPeriod", ms: 300 });
    const pb = await client.ask<Pid>(b.name, { op: "spawn" });
    const pc = await client.ask<Pid>(c.name, { op: "spawn" });
    const pa = a.runtime.open().self;
    assert.equal(await client.ask(b.name, { op: "register", name: "svc_b", pid: pb }), true);
    assert.equal(await client.ask(c.name, { op: "register", name: "svc_c", pid: pc }), true);
    await client.ask(b.name, { op: "join", group: "g", pid: pb });
    await client.ask(c.name, { op: "join", group: "g", pid: pc });
    a.pg.join("g", pa);
    await client.ask(b.name, { op: "track", topic: "room", key: "bob", meta: {}, pid: pb });
    await client.ask(c.name, { op: "track", topic: "room", key: "cy", meta: {}, pid: pc });
    a.presence.track("room", "ann", {}, { pid: pa });
    const before = await agree(client, [a], [b, c], (v) => Object.keys(v.presences).length === 3);
    assert.deepEqual(Object.keys(before.names), ["svc_b", "svc_c"]);
    assert.equal(before.members.length, 3);

    b.proc.kill("SIGKILL");
    await b.proc.exited();
    const after = await agree(
      client,
      [a],
      [c],
      (v) => Object.keys(v.presences).length === 2,
    );
    assert.deepEqual(after.names, { svc_c: String(pc) });
    assert.deepEqual(after.members, [String(pa), String(pc)].sort());
    assert.deepEqual(Object.keys(after.presences), ["ann", "cy"]);
  } finally {
    await a.stop();
    await Promise.all(peers.map((p) => p.close()));
  }
});

Deno.test("a partition across OS processes with names and presences on both sides heals to one view; the loser is told", async () => {
  const opts = { cookie: PROBE_COOKIE };
  const [a, d] = [await startTestNode("a", opts), await startTestNode("d", opts)];
  const ctl = await startTestNode("ctl", { ...opts, hidden: true });
  const peers: ProbePeer[] = [];
  const faults = new Faults({ controller: ctl });
  try {
    peers.push(...(await Promise.all([startProbePeer("b"), startProbePeer("c")])));
    const [b, c] = peers as [ProbePeer, ProbePeer];
    for (const p of peers) assert.ok(await ctl.connect(p.address));
    assert.ok(await a.connect(b.address));
    assert.ok(await a.connect(c.address));
    assert.ok(await a.connect(d.address));
    await waitFor(() => a.list().length === 3 && d.list().length === 3);
    await Promise.all([a.global.sync(), d.global.sync()]);
    const me = a.runtime.open();
    const client = new ProbeClient(me);
    await agree(client, [a, d], [b, c]);

    await faults.partition([a, b.address], [c.address, d]);
    assert.deepEqual(a.list(), [b.name]);
    assert.deepEqual(d.list(), [c.name]);

    // Side 1 (a, b): "leader" on b first; side 2 (c, d): "leader" on d later.
    const pb = await client.ask<Pid>(b.name, { op: "spawn", report: me.self });
    assert.equal(await client.ask(b.name, { op: "register", name: "leader", pid: pb }), true);
    await new Promise((r) => setTimeout(r, 5)); // a later registration time on the other side
    const pd = d.runtime.open();
    assert.equal(await d.global.register("leader", pd.self), true);
    const pa = a.runtime.open().self;
    assert.ok(await a.global.register("side1", pa));
    // c is on the other side: asked from d.
    const clientD = new ProbeClient(d.runtime.open());
    const pc = await clientD.ask<Pid>(c.name, { op: "spawn" });
    assert.equal(await clientD.ask(c.name, { op: "register", name: "side2", pid: pc }), true);
    a.pg.join("g", pa);
    d.pg.join("g", pd.self);
    a.presence.track("room", "ann", {}, { pid: pa });
    await client.ask(b.name, { op: "track", topic: "room", key: "bo", meta: {}, pid: pb });
    await clientD.ask(c.name, { op: "track", topic: "room", key: "cy", meta: {}, pid: pc });
    d.presence.track("room", "di", {}, { pid: pd.self });
    assert.ok(a.global.whereis("leader")?.equals(pb));
    assert.ok(d.global.whereis("leader")?.equals(pd.self));

    await faults.heal();
    const view = await agree(
      client,
      [a, d],
      [b, c],
      (v) => Object.keys(v.presences).length === 4 && v.members.length === 2,
    );
    assert.deepEqual(view.names, {
      leader: String(pb),
      side1: String(pa),
      side2: String(pc),
    });
    assert.deepEqual(Object.keys(view.presences), ["ann", "bo", "cy", "di"]);
    const told = await pd.receive<GlobalNameConflictMessage>(
      (m) => (m as GlobalNameConflictMessage)?.type === "global_name_conflict",
      { timeout: 10_000 },
    );
    assert.deepEqual([told.name, String(told.other)], ["leader", String(pb)]);
    // The winner, on b, was told nothing: its process forwards all it gets to us.
    assert.equal(me.flush().filter((m) => (m as { got?: unknown })?.got !== undefined).length, 0);
    assert.ok(await converged([a, d], (n) => n.list().length, 3));
  } finally {
    faults.close();
    await stopAll([a, d, ctl]);
    await Promise.all(peers.map((p) => p.close()));
  }
});
