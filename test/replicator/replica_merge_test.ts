/**
 * What a merge that adds nothing does: nothing. A peer's entry equal to what
 * this replica holds (an anti-entropy repair sent twice, a delta relayed
 * again) must not count as a change: no subscriber is told, and the key is
 * not held back from anti-entropy as if it were still changing.
 */
import assert from "node:assert/strict";
import { Replica } from "../../src/replicator/replica.ts";
import { crdtType } from "../../src/crdt/crdt_type.ts";
import type { ReplicatedType } from "../../src/replicator/replica.ts";

for (
  const [type, op] of [
    ["or-set", (h: { add(x: string): void }) => h.add("x")],
    [
      "or-map",
      (h: { counter(k: string): { increment(n: number): void } }) => h.counter("a").increment(2),
    ],
    ["lww-register", (h: { set(v: string): void }) => h.set("v")],
    ["g-counter", (h: { increment(n: number): void }) => h.increment(3)],
  ] as const
) {
  Deno.test(`Replica: merging a ${type} entry it already holds is no change`, () => {
    let time = 0;
    const changes: string[] = [];
    const make = (node: string) =>
      new Replica({
        node,
        replica: `${node}#1`,
        types: crdtType as (name: string) => ReplicatedType,
        send: () => {},
        quiet: 1000,
        now: () => time,
        onChange: (key) => changes.push(`${node}:${key}`),
      });
    const a = make("a");
    const b = make("b");
    a.open("k", type);
    // deno-lint-ignore no-explicit-any
    a.update("k", op as any);
    const entry = a.entry("k")!;
    assert.ok(b.load(entry, "a"));
    assert.deepEqual(changes.filter((c) => c.startsWith("b:")), ["b:k"]);
    const root = b.rootHash();
    time += 5000;
    // The same entry again, and once more after a round trip through a.
    assert.ok(b.load(entry, "a"));
    assert.ok(b.load(a.entry("k")!, "a"));
    assert.deepEqual(changes.filter((c) => c.startsWith("b:")), ["b:k"]);
    assert.deepEqual(b.rootHash(), root);
    assert.deepEqual(b.value("k"), a.value("k"));
  });
}

Deno.test("Replica: local updates join in place, yet a state handed out (state()) never changes afterwards", () => {
  const r = new Replica({
    node: "a",
    replica: "a#1",
    types: crdtType as (name: string) => ReplicatedType,
    send: () => {},
  });
  for (const type of ["or-set", "or-map"]) {
    r.open(type, type);
    // deno-lint-ignore no-explicit-any
    const op = (i: number) => (h: any) =>
      type === "or-set" ? h.add(i % 40) : h.counter(`k${i % 40}`).increment(1);
    const t = crdtType(type as "or-set");
    const snapshots: [unknown, string][] = [];
    for (let i = 0; i < 400; i++) {
      r.update(type, op(i));
      const gone = type === "or-set" ? i % 40 : `k${i % 40}`;
      if (i % 7 === 0) r.update(type, (h) => (h as { remove(x: unknown): void }).remove(gone));
      if (i % 50 === 0) {
        const s = r.state(type)!.state;
        snapshots.push([s, JSON.stringify(t.encode(s as never))]);
      }
    }
    for (const [s, wire] of snapshots) assert.equal(JSON.stringify(t.encode(s as never)), wire);
  }
});
