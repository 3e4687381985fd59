import assert from "node:assert/strict";
import { LinkFaults } from "../../src/distribution/link_faults.ts";
import { waitFor } from "../helpers/wait.ts";

const body = (n: number) => new Uint8Array([n]);

Deno.test("LinkFaults passes other nodes straight on and holds a delayed link's messages in order", async () => {
  const sent: Array<[string, number]> = [];
  const faults = new LinkFaults((node, b) => sent.push([node, (b as Uint8Array)[0]!]));
  try {
    faults.set("b@h", { delay: 30, jitter: 20 });
    for (let i = 0; i < 5; i++) faults.send("b@h", body(i), undefined, true);
    faults.send("c@h", body(9), undefined, true);
    assert.deepEqual(sent, [["c@h", 9]]);
    // Removing the fault lets what is held go out, when due, in order.
    faults.set("b@h", undefined);
    await waitFor(() => sent.length === 6);
    assert.deepEqual(sent.slice(1).map(([, n]) => n), [0, 1, 2, 3, 4]);
    assert.deepEqual(faults.list(), {});
  } finally {
    faults.clear();
  }
});

Deno.test("LinkFaults drops at the rate set, lists what is in force, and refuses bad faults", () => {
  const sent: string[] = [];
  const faults = new LinkFaults((node) => sent.push(node));
  faults.set("b@h", { drop: 1 });
  for (let i = 0; i < 10; i++) faults.send("b@h", body(i), undefined, false);
  assert.deepEqual(sent, []);
  assert.deepEqual(faults.list(), { "b@h": { delay: 0, jitter: 0, drop: 1 } });
  assert.throws(() => faults.set("b@h", { drop: 2 }), RangeError);
  assert.throws(() => faults.set("b@h", { loss: -0.1 }), RangeError);
  assert.throws(() => faults.set("b@h", { delay: -1 }), RangeError);
  faults.clear();
  faults.send("b@h", body(0), undefined, false);
  assert.deepEqual(sent, ["b@h"]);
});

Deno.test("LinkFaults loss sends every message, a lost one a retransmission timeout late with the rest behind it", async () => {
  const sent: number[] = [];
  const faults = new LinkFaults((_node, b) => sent.push((b as Uint8Array)[0]!));
  try {
    faults.set("b@h", { loss: 1 });
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) faults.send("b@h", new Uint8Array([i]), undefined, false);
    await waitFor(() => sent.length === 5, { timeout: 5000 });
    assert.deepEqual(sent, [0, 1, 2, 3, 4]);
    assert.ok(performance.now() - t0 >= 190, "each came at least 200 ms late");
  } finally {
    faults.clear();
  }
});

Deno.test("LinkFaults bandwidth: messages take their size over the rate on the wire, one after another, in order", async () => {
  const sent: Array<[number, number]> = [];
  const faults = new LinkFaults((_node, b) =>
    sent.push([(b as Uint8Array)[0]!, performance.now()])
  );
  try {
    // 10 KiB/s: each 1 KiB message takes 100 ms of wire time.
    faults.set("b@h", { bandwidth: 10_240 });
    assert.deepEqual(faults.list(), { "b@h": { delay: 0, jitter: 0, drop: 0, bandwidth: 10_240 } });
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) {
      const m = new Uint8Array(1024);
      m[0] = i;
      faults.send("b@h", m, undefined, false);
    }
    await waitFor(() => sent.length === 3, { timeout: 5000 });
    assert.deepEqual(sent.map(([n]) => n), [0, 1, 2]);
    // The third is on the wire after the first two: about 300 ms after the start.
    assert.ok(sent[2]![1] - t0 >= 290, `the third came after ${sent[2]![1] - t0} ms`);
    assert.throws(() => faults.set("b@h", { bandwidth: -1 }), RangeError);
  } finally {
    faults.clear();
  }
});
