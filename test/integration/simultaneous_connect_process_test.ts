/**
 * Simultaneous connects between real `weft` processes: four nodes, each
 * told at the same moment to connect to the three others, round after
 * round. Every round must end in a full mesh with exactly one connection
 * per pair: each node sees one nodeup per peer and no nodedown until the
 * round's connections are taken down on purpose.
 */
import assert from "node:assert/strict";
import { startEpmdServer } from "../../src/distribution/epmd/mod.ts";
import { startTestNode } from "../helpers/nodes.ts";
import { WeftProcess } from "../helpers/weft_process.ts";
import { waitFor } from "../helpers/wait.ts";

const COOKIE = "race-cookie";

/** The `--eval` code of a racing node: `racer` obeys the test, `counter` counts node events. */
const RACER_CODE = `
const pause = (ms) => new Promise((r) => setTimeout(r, Math.random() * ms));
const counter = spawn(async () => {
  monitorNodes();
  let ups = 0, downs = 0;
  for (;;) {
    const m = await receive();
    if (m.type === "nodeup") ups++;
    else if (m.type === "nodedown") downs++;
    else send(m.from, { n: m.n, ups, downs, list: Node.list() });
  }
});
register("racer", spawn(async () => {
  for (;;) {
    const m = await receive();
    if (m.connect) {
      const ok = await Promise.all(m.connect.map(async (a) => {
        await pause(m.spread);
        return Node.connect(a);
      }));
      send(m.from, { n: m.n, ok });
    } else if (m.disconnect) {
      for (const x of Node.list()) await Node.disconnect(x);
      send(m.from, { n: m.n, done: true });
    } else {
      send(counter, m);
    }
  }
}));
console.log("RACER-READY");
for (;;) await receive();
`;

interface Racer {
  proc: WeftProcess;
  name: string;
  address: string;
}

async function startRacer(name: string, epmdPort: number): Promise<Racer> {
  const full = `${name}@127.0.0.1`;
  const proc = new WeftProcess([
    "--name",
    full,
    "--cookie",
    COOKIE,
    "--port",
    "0",
    "--epmd-port",
    String(epmdPort),
    "--log-level",
    "info",
    "--eval",
    RACER_CODE,
  ]);
  try {
    const listening = await proc.waitForOutput(/listening on [^\s]+:(\d+)/, 60_000);
    await proc.waitForOutput(/^RACER-READY$/m, 60_000);
    return { proc, name: full, address: `${full}:${listening[1]}` };
  } catch (e) {
    await proc.close();
    throw e;
  }
}

Deno.test("simultaneous connects between real processes: 4 nodes, 20 rounds, always a full mesh", async () => {
  // A port mapper of the test's own: each dial starts with a lookup, so
  // attempts start at scattered moments, as in a real cluster.
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const racers = await Promise.all(["p1", "p2", "p3", "p4"].map((n) => startRacer(n, epmd.port)));
  // The test's own node is hidden, so it takes no part in the mesh.
  const hub = await startTestNode("hub", { cookie: COOKIE, hidden: true, epmdPort: epmd.port });
  const me = hub.runtime.open();
  let n = 0;
  /** Asks every racer the same thing at once; returns the answers in racer order. */
  const askAll = async <T>(make: (r: Racer) => Record<string, unknown>): Promise<T[]> => {
    const tags = racers.map((r) => {
      const tag = ++n;
      hub.runtime.send({ name: "racer", node: r.name }, { from: me.self, n: tag, ...make(r) });
      return tag;
    });
    const answers = new Map<number, T>();
    while (answers.size < tags.length) {
      const m = await me.receive<T & { n: number }>(undefined, { timeout: 30_000 });
      answers.set(m.n, m);
    }
    return tags.map((t) => answers.get(t)!);
  };
  try {
    for (const r of racers) assert.ok(await hub.connect(r.address), `hub -> ${r.name}`);
    for (let round = 0; round < 20; round++) {
      const connected = await askAll<{ ok: boolean[] }>((r) => ({
        connect: racers.filter((o) => o !== r).map((o) => o.name),
        spread: 15,
      }));
      for (const [i, c] of connected.entries()) {
        assert.deepEqual(c.ok, [true, true, true], `round ${round}: ${racers[i]!.name}`);
      }
      let counts: Array<{ ups: number; downs: number; list: string[] }> = [];
      await waitFor(async () => {
        counts = await askAll((_r) => ({ count: true }));
        return counts.every((c) => c.list.length === 3 && c.ups === 3 * (round + 1));
      }, { timeout: 20_000, message: `round ${round}: not meshed: ${JSON.stringify(counts)}` });
      for (const [i, c] of counts.entries()) {
        // One nodeup per peer per round, and a nodedown only for the previous
        // rounds' deliberate disconnects: no connection was replaced or lost.
        assert.equal(c.downs, 3 * round, `round ${round}: ${racers[i]!.name} ${JSON.stringify(c)}`);
        assert.deepEqual(
          c.list.sort(),
          racers.filter((_, j) => j !== i).map((o) => o.name).sort(),
        );
      }
      await askAll((_r) => ({ disconnect: true }));
      await waitFor(async () => {
        counts = await askAll((_r) => ({ count: true }));
        return counts.every((c) => c.list.length === 0 && c.downs === 3 * (round + 1));
      }, { timeout: 20_000, message: `round ${round}: not torn down: ${JSON.stringify(counts)}` });
    }
  } finally {
    await hub.stop();
    await Promise.all(racers.map((r) => r.proc.close()));
    await epmd.close();
  }
});
