import assert from "node:assert/strict";
import {
  isLinearizable,
  type KvInput,
  kvModel,
  type KvOutput,
  type Operation,
} from "../helpers/linearizability.ts";

type Op = Operation<KvInput, KvOutput>;

const put = (value: string, call: number, ret: number, key = "k"): Op => ({
  input: { op: "put", key, value },
  output: "ok",
  call,
  return: ret,
});
const get = (output: string | null, call: number, ret: number, key = "k"): Op => ({
  input: { op: "get", key },
  output,
  call,
  return: ret,
});
const cas = (from: string | null, to: string, output: boolean, call: number, ret: number): Op => ({
  input: { op: "cas", key: "k", from, to },
  output,
  call,
  return: ret,
});
const lost = (op: Op): Op => ({ ...op, output: undefined, return: Infinity });

Deno.test("isLinearizable() accepts a read overlapping the write it sees", () => {
  assert.ok(isLinearizable(kvModel, [put("1", 0, 10), get("1", 5, 15)]));
  assert.ok(isLinearizable(kvModel, [put("1", 0, 10), get(null, 5, 15)]));
});

Deno.test("isLinearizable() refuses a stale read after the write returned", () => {
  assert.ok(!isLinearizable(kvModel, [put("1", 0, 5), get(null, 6, 10)]));
});

Deno.test("isLinearizable() refuses two reads that see concurrent writes in opposite orders", () => {
  const history = [
    put("1", 0, 100),
    put("2", 0, 100),
    get("1", 10, 20),
    get("2", 30, 40),
    get("1", 50, 60),
  ];
  assert.ok(!isLinearizable(kvModel, history));
  assert.ok(isLinearizable(kvModel, history.slice(0, 4)));
});

Deno.test("isLinearizable() lets a write with an unknown outcome take effect or not", () => {
  assert.ok(isLinearizable(kvModel, [lost(put("1", 0, 0)), get("1", 50, 60)]));
  assert.ok(isLinearizable(kvModel, [lost(put("1", 0, 0)), get(null, 50, 60)]));
  // ... but not both: once seen, it stays.
  assert.ok(
    !isLinearizable(kvModel, [lost(put("1", 0, 0)), get("1", 50, 60), get(null, 70, 80)]),
  );
  // Nor before it was called.
  assert.ok(!isLinearizable(kvModel, [get("1", 0, 10), lost(put("1", 20, 20))]));
});

Deno.test("isLinearizable() checks compare-and-set outcomes", () => {
  assert.ok(isLinearizable(kvModel, [put("a", 0, 5), cas("a", "b", true, 6, 9), get("b", 10, 12)]));
  assert.ok(!isLinearizable(kvModel, [put("a", 0, 5), cas("a", "b", false, 6, 9)]));
  // Two concurrent CAS from the same value cannot both win.
  assert.ok(
    !isLinearizable(kvModel, [
      put("a", 0, 5),
      cas("a", "b", true, 6, 9),
      cas("a", "c", true, 6, 9),
    ]),
  );
});

Deno.test("isLinearizable() keeps keys apart", () => {
  assert.ok(isLinearizable(kvModel, [put("1", 0, 5, "x"), get(null, 6, 9, "y")]));
  assert.ok(!isLinearizable(kvModel, [put("1", 0, 5, "x"), get(null, 6, 9, "x")]));
});

/** Tries every order: the definition, for small histories. */
function bruteForce(history: readonly Op[]): boolean {
  const n = history.length;
  const used = new Array<boolean>(n).fill(false);
  const search = (state: string | null, done: number): boolean => {
    if (done === n) return true;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      const op = history[i]!;
      // Every operation not yet placed that returned before op was called must come first.
      let blocked = false;
      for (let j = 0; j < n; j++) {
        if (!used[j] && j !== i && history[j]!.return < op.call) blocked = true;
      }
      if (blocked) continue;
      const { ok, next } = kvModel.step(state, op.input, op.output);
      if (!ok) continue;
      used[i] = true;
      if (search(next, done + 1)) return true;
      used[i] = false;
    }
    return false;
  };
  return search(null, 0);
}

Deno.test("isLinearizable() agrees with trying every order on 3000 random small histories", () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const values = ["a", "b", null] as const;
  let linearizable = 0;
  for (let round = 0; round < 3000; round++) {
    const history: Op[] = [];
    const size = 1 + Math.floor(random() * 6);
    for (let i = 0; i < size; i++) {
      const call = Math.floor(random() * 20);
      const ret = call + Math.floor(random() * 8);
      const v = values[Math.floor(random() * 2)]!;
      const kind = random();
      let op: Op = kind < 0.4
        ? put(v, call, ret)
        : kind < 0.75
        ? get(values[Math.floor(random() * 3)]!, call, ret)
        : cas(values[Math.floor(random() * 3)]!, v, random() < 0.5, call, ret);
      if (op.input.op !== "get" && random() < 0.15) op = lost(op);
      history.push(op);
    }
    const expected = bruteForce(history);
    if (expected) linearizable++;
    assert.equal(isLinearizable(kvModel, history), expected, JSON.stringify(history));
  }
  // Both answers occur, so the comparison means something.
  assert.ok(linearizable > 300 && linearizable < 2700, `${linearizable} linearizable`);
});
