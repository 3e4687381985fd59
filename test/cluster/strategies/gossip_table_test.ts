import assert from "node:assert/strict";
import { GossipTable } from "../../../src/cluster/strategies/gossip_table.ts";
import type { GossipMember } from "../../../src/cluster/strategies/gossip_packet.ts";

const b = (incarnation: number, seq: number, port = 4370): GossipMember => ({
  name: "b@h",
  incarnation,
  seq,
  dist: { hostname: "h", port },
  gossip: { hostname: "h", port: 45892 },
});

Deno.test("GossipTable keeps the newest [incarnation, seq] and says what changed", () => {
  const t = new GossipTable("a@h", 1000);
  assert.equal(t.merge(b(1, 1), 0), "new");
  assert.equal(t.merge(b(1, 1), 1), "stale");
  assert.equal(t.merge(b(1, 0), 2), "stale");
  assert.equal(t.merge(b(1, 2), 3), "refreshed");
  assert.equal(t.merge(b(1, 3, 4999), 4), "moved");
  assert.equal(t.merge(b(2, 0), 5), "new"); // restarted
  assert.equal(t.merge({ ...b(9, 9), name: "a@h" }, 6), "stale"); // never itself
  assert.deepEqual(t.names(), ["b@h"]);
});

Deno.test("GossipTable expires a silent member and a relay of its last heartbeat cannot revive it", () => {
  const t = new GossipTable("a@h", 1000);
  t.merge(b(1, 5), 0);
  assert.deepEqual(t.expire(500), []);
  assert.deepEqual(t.expire(1001), ["b@h"]);
  assert.equal(t.merge(b(1, 5), 1100), "stale");
  assert.deepEqual(t.names(), []);
  // A newer heartbeat (it was only slow) or a restart brings it back.
  assert.equal(t.merge(b(1, 6), 1200), "new");
  t.expire(5000);
  assert.equal(t.merge(b(2, 0), 5001), "new");
});

Deno.test("GossipTable forgets tombstones after twice expireAfter", () => {
  const t = new GossipTable("a@h", 100);
  t.merge(b(1, 5), 0);
  t.expire(101);
  t.expire(400);
  assert.equal(t.merge(b(1, 5), 401), "new");
});
