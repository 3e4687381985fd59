/**
 * A linearizability checker: the Wing & Gong / Lowe search as Porcupine implements it.
 *
 * A history is a set of operations, each with the time it was called and the time it returned
 * (`Infinity` when the caller never learned the outcome: then the operation may take effect at
 * any point after its call, or never matter). The history is linearizable if the operations can
 * be put in one order that (1) respects real time: an operation that returned before another was
 * called comes first, and (2) is a legal run of the sequential model.
 *
 * The search walks a doubly linked list of call and return events in time order. At a call it
 * tries to linearize that operation now (the model must accept its output) and removes both its
 * events from the list; at a return whose operation is not yet linearized, it backtracks. A cache
 * of (set of linearized operations, model state) pairs already explored prunes repeats. Models
 * may split a history into independent parts (one per key), which are checked one by one.
 *
 * @module
 */

/** One operation of a history. */
export interface Operation<I, O> {
  readonly input: I;
  /** `undefined` when the outcome is unknown (the caller timed out). */
  readonly output: O | undefined;
  readonly call: number;
  /** `Infinity` when the outcome is unknown. */
  readonly return: number;
}

/** A sequential specification. */
export interface Model<S, I, O> {
  init(): S;
  /** Whether `input` with `output` is legal in `state`, and the next state. */
  step(state: S, input: I, output: O | undefined): { ok: boolean; next: S };
  /** A key that equal states share (used by the cache). */
  key(state: S): string;
  /** Splits the history into parts that do not affect each other. */
  partition?(history: readonly Operation<I, O>[]): Operation<I, O>[][];
}

interface Node {
  call: boolean;
  id: number;
  time: number;
  match: Node | null; // a call's return node
  prev: Node | null;
  next: Node | null;
}

/**
 * True if `history` is linearizable with respect to `model`. The search is exponential in the
 * worst case; past `maxSteps` steps on one part it throws rather than run on.
 */
export function isLinearizable<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  maxSteps = 20_000_000,
): boolean {
  const parts = model.partition ? model.partition(history) : [history.slice()];
  return parts.every((part) => checkPart(model, part, maxSteps));
}

function checkPart<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  maxSteps: number,
): boolean {
  if (ops.length === 0) return true;
  const events: Node[] = [];
  ops.forEach((op, id) => {
    if (!(op.return >= op.call)) {
      throw new RangeError(`Operation ${id} returns before its call`);
    }
    const ret: Node = { call: false, id, time: op.return, match: null, prev: null, next: null };
    const call: Node = { call: true, id, time: op.call, match: ret, prev: null, next: null };
    events.push(call, ret);
  });
  // Calls before returns at equal times: touching operations count as concurrent.
  events.sort((a, b) => a.time - b.time || (a.call === b.call ? 0 : a.call ? -1 : 1));
  const head: Node = { call: false, id: -1, time: -Infinity, match: null, prev: null, next: null };
  let last = head;
  for (const e of events) {
    e.prev = last;
    last.next = e;
    last = e;
  }
  const lift = (call: Node) => {
    call.prev!.next = call.next;
    call.next!.prev = call.prev;
    const ret = call.match!;
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  };
  const unlift = (call: Node) => {
    const ret = call.match!;
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
    call.prev!.next = call;
    call.next!.prev = call;
  };
  const linearized = new Uint8Array(ops.length);
  const cache = new Set<string>();
  const stack: { node: Node; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  let steps = 0;
  while (head.next !== null) {
    if (++steps > maxSteps) {
      throw new Error(
        `Linearizability undecided after ${maxSteps} steps (${ops.length} operations)`,
      );
    }
    if (entry === null) throw new Error("unreachable: ran off the event list");
    if (entry.call) {
      const op = ops[entry.id]!;
      const { ok, next } = model.step(state, op.input, op.output);
      let advanced = false;
      if (ok) {
        linearized[entry.id] = 1;
        const key = `${linearizedKey(linearized)}|${model.key(next)}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ node: entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          advanced = true;
        } else {
          linearized[entry.id] = 0;
        }
      }
      if (!advanced) entry = entry.next;
    } else {
      // A return whose call could not be linearized before it: undo the last choice.
      const top = stack.pop();
      if (top === undefined) return false;
      state = top.state;
      linearized[top.node.id] = 0;
      unlift(top.node);
      entry = top.node.next;
    }
  }
  return true;
}

function linearizedKey(bits: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bits.length; i += 16) {
    let word = 0;
    for (let j = i; j < Math.min(i + 16, bits.length); j++) word = word * 2 + bits[j]!;
    out += String.fromCharCode(word + 1);
  }
  return out;
}

/** A command to the key-value register model. */
export type KvInput =
  | { readonly op: "get"; readonly key: string }
  | { readonly op: "put"; readonly key: string; readonly value: string }
  | { readonly op: "cas"; readonly key: string; readonly from: string | null; readonly to: string };

/** `get` returns the value (or null), `put` returns "ok", `cas` whether it swapped. */
export type KvOutput = string | null | boolean;

/** Independent registers, one per key, with get, put and compare-and-set. */
export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.op) {
      case "get":
        return { ok: output === undefined || output === state, next: state };
      case "put":
        return { ok: true, next: input.value };
      case "cas": {
        const swapped = state === input.from;
        if (output !== undefined && output !== swapped) return { ok: false, next: state };
        // With an unknown outcome the state decides; one that never took effect is placed last,
        // after every known operation (its return is at Infinity), where it changes nothing seen.
        return { ok: true, next: swapped ? input.to : state };
      }
    }
  },
  key: (state) => JSON.stringify(state),
  partition(history) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of history) {
      const list = byKey.get(op.input.key) ?? [];
      list.push(op);
      byKey.set(op.input.key, list);
    }
    return [...byKey.values()];
  },
};
