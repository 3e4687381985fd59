import assert from "node:assert/strict";
import { decodeBody, encodeOp, encodeSignal } from "../../src/distribution/ops.ts";
import type { Signal } from "../../src/process/types.ts";
import { encode, EncodedParts } from "../../src/term/codec.ts";
import { Pid, Ref } from "../../src/term/pid.ts";
import {
  MAX_PEERS,
  OP_PEERS,
  OP_PING,
  OP_SPAWN_REQUEST,
  OP_USER_MIN,
} from "../../src/distribution/types.ts";

const A = "a@h";
const B = "b@h";
const pa = new Pid(A, 3, 0, 11);
const pb = new Pid(B, 4, 1, 22);
const ref = new Ref(A, 9, 11);

/** A body as bytes, joined when it came in parts. */
function bytes(body: Uint8Array | EncodedParts): Uint8Array {
  return body instanceof EncodedParts ? body.toBytes() : body;
}

Deno.test("encodeSignal() and decodeBody() carry every signal, names resolved on the right node", () => {
  const cases: [Signal, Signal][] = [
    [{ op: "send", to: pb, msg: { x: [1, "two"] }, from: pa }, {
      op: "send",
      to: pb,
      msg: { x: [1, "two"] },
    }],
    [
      { op: "reg_send", to: { name: "srv", node: B }, msg: 1, from: pa },
      { op: "reg_send", to: { name: "srv", node: B }, msg: 1 },
    ],
    [{ op: "link", from: pa, to: pb }, { op: "link", from: pa, to: pb }],
    [{ op: "unlink", from: pa, to: pb }, { op: "unlink", from: pa, to: pb }],
    [{ op: "exit", from: pa, to: pb, reason: "kill" }, {
      op: "exit",
      from: pa,
      to: pb,
      reason: "kill",
    }],
    [
      { op: "link_exit", from: pa, to: pb, reason: { why: 1 } },
      { op: "link_exit", from: pa, to: pb, reason: { why: 1 } },
    ],
    [{ op: "monitor", from: pa, to: pb, ref }, { op: "monitor", from: pa, to: pb, ref }],
    [
      { op: "monitor", from: pa, to: { name: "srv", node: B }, ref },
      { op: "monitor", from: pa, to: { name: "srv", node: B }, ref },
    ],
    [
      { op: "demonitor", from: pa, to: { name: "srv", node: B }, ref },
      { op: "demonitor", from: pa, to: { name: "srv", node: B }, ref },
    ],
    [
      { op: "down", from: { name: "srv", node: A }, to: pb, ref, reason: "noproc" },
      { op: "down", from: { name: "srv", node: A }, to: pb, ref, reason: "noproc" },
    ],
  ];
  for (const [sent, expected] of cases) {
    const decoded = decodeBody(bytes(encodeSignal(sent)), B, A);
    assert.equal(decoded.kind, "signal");
    assert.deepEqual(decoded.kind === "signal" ? decoded.signal : undefined, expected, sent.op);
  }
});

Deno.test("encodeSignal() throws TypeError naming where an unsendable value sits", () => {
  assert.throws(() => encodeSignal({ op: "send", to: pb, msg: { f: [() => 1] } }), {
    name: "TypeError",
    message: /function at msg\.f\[0\]/,
  });
});

Deno.test("encodeSignal() and encodeOp() reference large byte strings instead of copying them", () => {
  const file = new Uint8Array(1 << 20).fill(1);
  const sent = encodeSignal({ op: "send", to: pb, msg: { file } });
  assert.ok(sent instanceof EncodedParts);
  assert.ok(sent.parts.includes(file));
  const decoded = decodeBody(sent.toBytes(), B, A);
  assert.ok(decoded.kind === "signal" && decoded.signal.op === "send");
  assert.deepEqual(decoded.signal.msg, { file });
  const op = encodeOp(OP_USER_MIN, [file]);
  assert.ok(op instanceof EncodedParts && op.parts.includes(file));
});

Deno.test("decodeBody() decodes kernel and higher-layer ops", () => {
  assert.deepEqual(decodeBody(bytes(encodeOp(OP_PEERS, [4370, [["c@h", 4371]]])), B, A), {
    kind: "peers",
    listenPort: 4370,
    peers: [{ name: "c@h", port: 4371 }],
  });
  assert.deepEqual(decodeBody(bytes(encodeOp(OP_PING, [7])), B, A), { kind: "ping", id: 7 });
  assert.deepEqual(decodeBody(bytes(encodeOp(OP_SPAWN_REQUEST, [ref, pa, "m:f", {}])), B, A), {
    kind: "op",
    op: OP_SPAWN_REQUEST,
    fields: [ref, pa, "m:f", {}],
  });
  assert.deepEqual(decodeBody(bytes(encodeOp(OP_USER_MIN + 1, ["x"])), B, A), {
    kind: "op",
    op: OP_USER_MIN + 1,
    fields: ["x"],
  });
});

Deno.test("decodeBody() throws DecodeError on every malformed body", () => {
  const bad: unknown[] = [
    "not an array",
    [],
    [30],
    [0x10000],
    [1, 4, 1],
    [1, -1, 0, 1, "m"],
    [1, 1.5, 0, 1, "m"],
    [1, 1, 0, 2 ** 33, "m"],
    [2, 5, "m"],
    [3, pa],
    [3, "x", pb],
    [7, pa, pb, "not a ref"],
    [9, pa, "x", ref, "r"],
    [20, 70000, []],
    [20, 1, [["c@h"]]],
    [20, 1, [["c@h:4370", 4370]]],
    [20, 1, [["not a node", 4370]]],
    [20, 1, [["c@h\nname admin at port 2222", 1]]],
    [20, 1, [["c@h", 70000]]],
    [20, 1, Array.from({ length: MAX_PEERS + 1 }, (_, i) => [`n${i}@h`, 4370])],
    [21, "x"],
    [10, ref, "not a pid", 1, 2],
  ];
  for (const body of bad) {
    assert.throws(
      () => decodeBody(encode(body), B, A),
      { name: "DecodeError" },
      JSON.stringify(body),
    );
  }
  assert.throws(() => decodeBody(new Uint8Array([0x9f]), B, A), { name: "DecodeError" });
});

Deno.test("decodeBody() takes a PEERS list of MAX_PEERS valid node names", () => {
  const list = Array.from({ length: MAX_PEERS }, (_, i) => [`n${i}@h`, 4370 + i]);
  const d = decodeBody(bytes(encodeOp(OP_PEERS, [1, list])), B, A);
  assert.ok(d.kind === "peers" && d.peers.length === MAX_PEERS);
});
