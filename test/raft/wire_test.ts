import assert from "node:assert/strict";
import { decodeRaftMessage, encodeRaftMessage } from "../../src/raft/wire.ts";
import type { RaftMessage } from "../../src/raft/types.ts";
import { decode, encode } from "../../src/term/codec.ts";

const roundTrip = (m: RaftMessage<unknown>) =>
  decodeRaftMessage(decode(encode(encodeRaftMessage(m))));

Deno.test("encodeRaftMessage/decodeRaftMessage carry snapshots, their answers and configuration entries", () => {
  const config = { voters: ["a", "b"], learners: ["c"] };
  const messages: RaftMessage<unknown>[] = [
    {
      type: "install_snapshot",
      from: "a",
      to: "c",
      term: 3,
      index: 40,
      lastTerm: 2,
      config,
      offset: 8,
      size: 20,
      data: new Uint8Array([9, 8, 7]),
    },
    {
      type: "install_snapshot_response",
      from: "c",
      to: "a",
      term: 3,
      index: 40,
      received: 11,
      done: false,
    },
    {
      type: "append_entries",
      from: "a",
      to: "c",
      term: 3,
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [
        { term: 1, index: 1, payload: { type: "config", config } },
        { term: 1, index: 2, payload: { type: "noop" } },
        { term: 1, index: 3, payload: { type: "command", command: ["put", "k", 1] } },
      ],
      leaderCommit: 2,
      readSeq: 0,
    },
  ];
  for (const m of messages) assert.deepEqual(roundTrip(m), m);
});

Deno.test("decodeRaftMessage refuses a malformed snapshot chunk or configuration", () => {
  const good = encodeRaftMessage({
    type: "install_snapshot",
    from: "a",
    to: "c",
    term: 3,
    index: 40,
    lastTerm: 2,
    config: { voters: ["a"], learners: [] },
    offset: 0,
    size: 3,
    data: new Uint8Array(3),
  });
  assert.throws(() => decodeRaftMessage(good.with(9, "not bytes")), TypeError);
  assert.throws(() => decodeRaftMessage(good.with(6, [["a", 1], []])), TypeError);
  assert.throws(
    () => decodeRaftMessage([4, "a", "b", 1, 0, 0, [[1, 1, [["a"], []], 7]], 0, 0]),
    TypeError,
  );
});
