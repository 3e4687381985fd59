import assert from "node:assert/strict";
import {
  decodeGossip,
  encodeGossip,
  GOSSIP_MAGIC,
  type GossipMember,
  importGossipKey,
} from "../../../src/cluster/strategies/gossip_packet.ts";

const member: GossipMember = {
  name: "a@127.0.0.1",
  incarnation: 1700000000000,
  seq: 3,
  dist: { hostname: "127.0.0.1", port: 4370 },
  gossip: { hostname: "127.0.0.1", port: 45892 },
};

Deno.test("encodeGossip()/decodeGossip() round-trip a signed heartbeat", async () => {
  const key = await importGossipKey("cookie");
  const packet = { sender: member.name, time: 123, members: [member, { ...member, name: "b@h" }] };
  const back = await decodeGossip(await encodeGossip(packet, key), key);
  assert.deepEqual(back, { ok: true, packet });
});

Deno.test("decodeGossip() refuses tampered, foreign, malformed and oversized datagrams", async () => {
  const key = await importGossipKey("cookie");
  const bytes = await encodeGossip({ sender: member.name, time: 1, members: [member] }, key);
  const tampered = bytes.slice();
  tampered[tampered.length - 2] = tampered[tampered.length - 2]! ^ 1;
  assert.deepEqual(await decodeGossip(tampered, key), { ok: false, reason: "bad signature" });
  assert.deepEqual(await decodeGossip(bytes, await importGossipKey("other")), {
    ok: false,
    reason: "bad signature",
  });
  assert.deepEqual(await decodeGossip(bytes.slice(0, 10), key), {
    ok: false,
    reason: "not a gossip datagram",
  });
  assert.deepEqual(await decodeGossip(new Uint8Array(70_000), key), {
    ok: false,
    reason: "not a gossip datagram",
  });
  // Well signed, badly formed: the sender is not the first member, a port out of range.
  const wrongSender = await encodeGossip({ sender: "z@h", time: 1, members: [member] }, key);
  assert.equal(
    (await decodeGossip(wrongSender, key) as { reason: string }).reason,
    "sender is not the first member",
  );
  const badPort = await encodeGossip(
    { sender: member.name, time: 1, members: [{ ...member, dist: { hostname: "h", port: 0 } }] },
    key,
  );
  assert.equal((await decodeGossip(badPort, key) as { reason: string }).reason, "malformed member");
  assert.deepEqual([...bytes.subarray(0, 4)], [...GOSSIP_MAGIC]);
});

Deno.test("importGossipKey() refuses an empty secret", async () => {
  await assert.rejects(() => importGossipKey(""), /secret must be a non-empty string/);
});
