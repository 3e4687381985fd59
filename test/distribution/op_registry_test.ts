import assert from "node:assert/strict";
import { OpTakenError } from "../../src/errors.ts";
import * as distribution from "../../src/distribution/types.ts";
import {
  checkOpCode,
  OP_RANGES,
  type OpOwner,
  opRangeOf,
  OpRegistry,
} from "../../src/distribution/op_registry.ts";
import * as global from "../../src/global/types.ts";
import * as pg from "../../src/pg/types.ts";
import * as pubsub from "../../src/pubsub/types.ts";
import * as raft from "../../src/raft/wire.ts";
import * as replicator from "../../src/replicator/types.ts";
import * as rpc from "../../src/rpc/types.ts";
import { startTestNode } from "../helpers/nodes.ts";

Deno.test("OpRegistry: a registered handler serves its code until its owner unregisters", () => {
  const ops = new OpRegistry();
  const got: unknown[] = [];
  ops.register("crdt", 96, (node, fields) => got.push([node, fields]));
  ops.register("crdt", 97, () => {});
  ops.register("raft", 128, () => {});
  ops.handler(96)!("b@h", [1]);
  assert.deepEqual(got, [["b@h", [1]]]);
  assert.equal(ops.ownerOf(96), "crdt");
  assert.deepEqual(ops.list(), [
    { op: 96, owner: "crdt" },
    { op: 97, owner: "crdt" },
    { op: 128, owner: "raft" },
  ]);
  ops.unregister("crdt", 97);
  assert.equal(ops.has(97), false);
  ops.unregister("crdt");
  assert.deepEqual(ops.list(), [{ op: 128, owner: "raft" }], "another owner's code stays");
  ops.unregister("raft", 96);
  assert.equal(ops.has(128), true, "unregister of a code the owner does not hold does nothing");
});

Deno.test("OpRegistry.register() of a taken code throws OpTakenError naming both owners, and keeps the first handler", () => {
  const ops = new OpRegistry();
  const first = () => {};
  ops.register("pubsub", 80, first);
  assert.throws(
    () => ops.register("pubsub", 80, () => {}),
    (e: unknown) =>
      e instanceof OpTakenError && e.op === 80 && e.owner === "pubsub" && e.holder === "pubsub",
  );
  assert.equal(ops.handler(80), first);
});

Deno.test("OpRegistry.register() of a code outside every range, or in another owner's, throws a RangeError", () => {
  const ops = new OpRegistry();
  assert.throws(
    () => ops.register("crdt", 50, () => {}),
    /operation 50 for crdt: it is in no allocated range \(96-111 belong to crdt/,
  );
  assert.throws(() => ops.register("crdt", 300, () => {}), RangeError);
  assert.throws(() => ops.register("crdt", 96.5, () => {}), RangeError);
  assert.throws(
    () => ops.register("pg", 80, () => {}),
    /operation 80 for pg: 80-83 belong to pubsub/,
  );
  assert.throws(() => ops.register("rpc", 1, () => {}), /0-9 belong to distribution/);
  assert.throws(() => ops.register("pg", 77, "x" as never), TypeError);
  assert.deepEqual(ops.list(), []);
});

Deno.test("OP_RANGES are ordered, disjoint, and name the ranges the layers agreed on", () => {
  for (let i = 1; i < OP_RANGES.length; i++) {
    assert.ok(OP_RANGES[i - 1]!.last < OP_RANGES[i]!.first, `${OP_RANGES[i]!.owner} overlaps`);
  }
  const agreed: [OpOwner, number, number][] = [
    ["rpc", 32, 39],
    ["global", 64, 75],
    ["pg", 76, 79],
    ["pubsub", 80, 83],
    ["presence", 84, 87],
    ["chaos", 88, 95],
    ["crdt", 96, 111],
    ["registry", 112, 127],
    ["raft", 128, 143],
    ["event_sourcing", 144, 159],
    ["observer", 160, 175],
    ["multi_region", 176, 191],
    ["erlang_bridge", 192, 207],
    ["application", 1024, 65535],
  ];
  for (const [owner, first, last] of agreed) {
    assert.deepEqual([opRangeOf(first)?.owner, opRangeOf(last)?.owner], [owner, owner]);
    assert.notEqual(opRangeOf(first - 1)?.owner, owner);
    assert.notEqual(opRangeOf(last + 1)?.owner, owner);
  }
});

Deno.test("every op constant of a layer lies in its owner's range, and no two share a code", () => {
  const constants = (module: Record<string, unknown>, prefix: string) =>
    Object.entries(module).filter(([name, v]) => name.startsWith(prefix) && typeof v === "number");
  const layers: [OpOwner, [string, unknown][]][] = [
    ["rpc", [
      ...constants(rpc, "OP_"),
      ["OP_SPAWN_REQUEST", distribution.OP_SPAWN_REQUEST],
      ["OP_SPAWN_REPLY", distribution.OP_SPAWN_REPLY],
    ]],
    ["global", constants(global, "OP_GLOBAL_")],
    ["pg", constants(pg, "OP_PG_")],
    ["pubsub", constants(pubsub, "OP_PUBSUB_")],
    ["presence", constants(pubsub, "OP_PRESENCE_")],
    ["crdt", constants(replicator, "OP_")],
    ["raft", constants(raft, "OP_RAFT_")],
  ];
  const seen = new Map<number, string>();
  for (const [owner, list] of layers) {
    assert.ok(list.length > 0, `${owner} has op constants`);
    for (const [name, op] of list) {
      checkOpCode(owner, op as number);
      assert.equal(
        seen.get(op as number),
        undefined,
        `${name} shares ${op} with ${seen.get(op as number)}`,
      );
      seen.set(op as number, name);
    }
  }
});

Deno.test("a node's services register their codes on start and unregister them on stop", async () => {
  const node = await startTestNode("a");
  try {
    const owners = new Set(node.kernel.ops.list().map((e) => e.owner));
    assert.deepEqual([...owners].sort(), [
      "crdt",
      "global",
      "pg",
      "presence",
      "pubsub",
      "raft",
      "rpc",
    ]);
    assert.throws(
      () => node.kernel.ops.register("pubsub", pubsub.OP_PUBSUB_BROADCAST, () => {}),
      OpTakenError,
    );
  } finally {
    await node.stop();
  }
  assert.deepEqual(node.kernel.ops.list(), []);
});
