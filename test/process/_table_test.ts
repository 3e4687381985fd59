import assert from "node:assert/strict";
import { ProcTable } from "../../src/process/_table.ts";

interface Entry {
  self: { id: number; serial: number };
}

function add(table: ProcTable<Entry>): Entry {
  const entry = { self: { id: table.allocate(), serial: table.serial } };
  table.insert(entry);
  return entry;
}

Deno.test("ProcTable hands out growing numbers from 1 and finds entries by number", () => {
  const table = new ProcTable<Entry>();
  const a = add(table);
  const b = add(table);
  assert.equal(a.self.id, 1);
  assert.equal(b.self.id, 2);
  assert.equal(table.get(1), a);
  assert.equal(table.get(2), b);
  assert.equal(table.get(3), undefined);
  assert.equal(table.get(1 + 1024), undefined, "same slot, other number");
  assert.equal(table.size, 2);
  assert.equal(table.delete(1), true);
  assert.equal(table.delete(1), false);
  assert.equal(table.get(1), undefined);
  assert.equal(add(table).self.id, 3, "numbers are not reused");
});

Deno.test("ProcTable skips a number whose slot a long-lived entry holds", () => {
  const table = new ProcTable<Entry>();
  const old = add(table); // id 1, slot 1 of 1024
  const ids: number[] = [];
  for (let i = 0; i < 1100; i++) {
    const e = add(table);
    ids.push(e.self.id);
    table.delete(e.self.id);
  }
  assert.ok(!ids.includes(1025), "1025 maps to the slot of 1");
  assert.equal(table.get(1), old);
  assert.equal(new Set(ids).size, ids.length);
});

Deno.test("ProcTable grows past half full and shrinks when mostly empty", () => {
  const table = new ProcTable<Entry>();
  const entries: Entry[] = [];
  for (let i = 0; i < 100_000; i++) entries.push(add(table));
  assert.equal(table.size, 100_000);
  for (const e of entries) assert.equal(table.get(e.self.id), e);
  for (const e of entries.slice(0, 99_990)) table.delete(e.self.id);
  assert.equal(table.size, 10);
  for (const e of entries.slice(99_990)) assert.equal(table.get(e.self.id), e);
  assert.deepEqual(
    [...table.values()].map((e) => e.self.id).sort((x, y) => x - y),
    entries.slice(99_990).map((e) => e.self.id),
  );
});

Deno.test("ProcTable keeps its size when shrinking would put two live entries in one slot", () => {
  const table = new ProcTable<Entry>();
  const first = add(table); // id 1
  const many: Entry[] = [];
  for (let i = 0; i < 5000; i++) many.push(add(table)); // capacity 16384
  const clash = many.find((e) => (e.self.id & 1023) === 1)!;
  for (const e of many) if (e !== clash) table.delete(e.self.id);
  assert.equal(table.get(first.self.id), first);
  assert.equal(table.get(clash.self.id), clash);
  table.delete(clash.self.id);
  assert.equal(table.get(first.self.id), first);
  assert.equal(table.size, 1);
});

Deno.test("ProcTable starts again from 1 with the next serial past 2^31 - 1", () => {
  const table = new ProcTable<Entry>(0x7fffffff - 1);
  const a = add(table);
  const b = add(table);
  const c = add(table);
  assert.deepEqual([a.self, b.self], [{ id: 0x7ffffffe, serial: 0 }, {
    id: 0x7fffffff,
    serial: 0,
  }]);
  assert.deepEqual(c.self, { id: 1, serial: 1 });
  assert.equal(table.get(1), c);
  assert.equal(table.get(0x7fffffff), b);
});
