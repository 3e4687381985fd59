import assert from "node:assert/strict";
import { Faults, startFaultAgent } from "../../src/cluster/faults.ts";
import { NameError, TimeoutError } from "../../src/errors.ts";
import { converged, startCluster } from "../helpers/cluster.ts";
import { startTestNode, stopAll, type TestNode } from "../helpers/nodes.ts";

const sees = (n: TestNode) => n.list().sort();

Deno.test("cut() separates two sets of nodes both ways, and the mesh does not route around it", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  const faults = new Faults();
  try {
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    await faults.cut([a], [b, c]);
    assert.deepEqual(sees(a), []);
    await converged([b], sees, [c.name]);
    await converged([c], sees, [b.name]);
    assert.equal(await a.connect(b.address), false);
    assert.equal(await b.connect(a.address), false);
    assert.equal(await c.ping(a.name), "pang");
    // A send from b to a is dropped, a monitor says noconnection.
    const me = b.runtime.open();
    const ref = me.monitor(a.runtime.open().self);
    const down = await me.receive<{ ref: unknown; reason: string }>(undefined, { timeout: 3000 });
    assert.equal(down.reason, "noconnection");
    assert.ok(ref);
    assert.deepEqual(faults.cuts(), [[a.name, b.name], [a.name, c.name]]);
    await faults.heal();
    assert.deepEqual(faults.cuts(), []);
    await converged(nodes, (n) => n.list().length, 2);
    assert.deepEqual(a.kernel.blocked(), []);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("partition() cuts every pair across sides; heal(a, b) heals only those", async () => {
  const nodes = await startCluster(["a", "b", "c", "d"]);
  const faults = new Faults();
  try {
    const [a, b, c, d] = nodes as [TestNode, TestNode, TestNode, TestNode];
    await faults.partition([a, b], [c], [d]);
    await converged([a], sees, [b.name]);
    await converged([c], sees, []);
    await faults.heal([c], [d]);
    await converged([c], sees, [d.name]);
    assert.deepEqual(faults.cuts().length, 4);
    await faults.heal();
    await converged(nodes, (n) => n.list().length, 3);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("nodes driven by name go through their fault agent and a controller", async () => {
  const nodes = await startCluster(["a", "b"]);
  const ctl = await startTestNode("ctl", { hidden: true });
  const faults = new Faults({ controller: ctl, timeout: 3000 });
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    startFaultAgent(a.runtime);
    startFaultAgent(b.runtime);
    assert.throws(() => startFaultAgent(a.runtime), NameError);
    await faults.cut([a.address], [b.address]);
    assert.deepEqual(sees(a), []);
    assert.deepEqual(sees(b), []);
    assert.deepEqual(a.kernel.blocked(), [b.name]);
    // The controller is hidden: not cut, still connected to both.
    assert.deepEqual(ctl.list("hidden").sort(), [a.name, b.name].sort());
    await faults.heal();
    await converged([a], sees, [b.name]);
    // A node without an agent does not answer.
    const lone = await startTestNode("lone");
    try {
      await assert.rejects(
        new Faults({ controller: ctl, timeout: 200 }).cut([lone.address], [a.address]),
        TimeoutError,
      );
    } finally {
      await lone.stop();
    }
    await assert.rejects(new Faults().cut([a.address], [b]), /needs a controller/);
  } finally {
    faults.close();
    await stopAll([...nodes, ctl]);
  }
});
