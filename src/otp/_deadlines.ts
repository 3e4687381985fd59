/**
 * Deadlines of calls, without a timer per call.
 *
 * A `GenServer.call` has a deadline (5 s by default) and almost always
 * finishes long before it. A timer per call would cost a `setTimeout` and
 * a `clearTimeout`, which in Deno is several microseconds: more than the
 * rest of a local call. Instead the deadlines of one node with the same
 * length sit in a list in the order they were set, which is the order
 * they fall due, and one timer per list is armed for its head:
 *
 * ```
 * start:  append (due = now + ms); arm the list's timer if it has none
 * cancel: unlink (O(1)); the timer stays, unref'd once the list is empty
 * timer:  fire every entry that is due; re-arm for the new head, if any
 * node shutdown: the timers go (a process of the node, its keeper, tells us)
 * ```
 *
 * So a steady stream of calls costs one timer operation per deadline
 * period, not two per call.
 *
 * @module
 */

import type { Runtime } from "../process/runtime.ts";

/** One pending deadline. */
export class Deadline {
  /** When it falls due, in `performance.now()` time. */
  readonly due: number;
  /** What to do when it does. */
  readonly fire: () => void;
  prev: Deadline | null = null;
  next: Deadline | null = null;
  list: DeadlineList | null;

  constructor(due: number, fire: () => void, list: DeadlineList) {
    this.due = due;
    this.fire = fire;
    this.list = list;
  }
}

/** Deadlines of one length on one node, oldest (first due) first. */
class DeadlineList {
  /** Called when the timer finds the list empty and lets it go. */
  readonly #drop: () => void;
  head: Deadline | null = null;
  tail: Deadline | null = null;
  timer: number | undefined = undefined;
  /** Whether the timer keeps the event loop alive (only while deadlines are pending). */
  refed = false;

  constructor(drop: () => void) {
    this.#drop = drop;
  }

  append(d: Deadline): void {
    d.prev = this.tail;
    if (this.tail === null) this.head = d;
    else this.tail.next = d;
    this.tail = d;
    if (this.timer === undefined) {
      this.timer = setTimeout(this.#onTimer, Math.max(0, d.due - performance.now()));
      this.refed = true;
    } else if (!this.refed) {
      Deno.refTimer(this.timer);
      this.refed = true;
    }
  }

  unlink(d: Deadline): void {
    if (d.prev === null) this.head = d.next;
    else d.prev.next = d.next;
    if (d.next === null) this.tail = d.prev;
    else d.next.prev = d.prev;
    d.prev = d.next = null;
    d.list = null;
    if (this.head === null && this.timer !== undefined && this.refed) {
      // Nothing pending: the timer may stay for the next call, but must not hold the program.
      Deno.unrefTimer(this.timer);
      this.refed = false;
    }
  }

  #onTimer = (): void => {
    this.timer = undefined;
    this.refed = false;
    const now = performance.now();
    // Timers may fire a hair early against performance.now(): allow a millisecond.
    while (this.head !== null && this.head.due <= now + 1) {
      const d = this.head;
      this.unlink(d);
      try {
        d.fire();
      } catch {
        // A deadline's action only delivers a message; nothing to report.
      }
    }
    if (this.head !== null) {
      this.timer = setTimeout(this.#onTimer, Math.max(0, this.head.due - performance.now()));
      this.refed = true;
    } else {
      this.#drop();
    }
  };

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (let d = this.head; d !== null; d = d.next) d.list = null;
    this.head = this.tail = null;
  }
}

/** The deadline lists of one node, by length. */
interface NodeDeadlines {
  lists: Map<number, DeadlineList>;
}

const nodes = new WeakMap<Runtime, NodeDeadlines>();

function deadlinesOf(runtime: Runtime): NodeDeadlines | undefined {
  let entry = nodes.get(runtime);
  if (entry !== undefined) return entry;
  if (runtime.closed) return undefined;
  // A process of the node, doing nothing, whose exit (the node's shutdown)
  // clears the timers, so that none outlives its node.
  const keeper = runtime.open({ label: "otp:deadlines" });
  const created: NodeDeadlines = { lists: new Map() };
  entry = created;
  nodes.set(runtime, created);
  keeper.signal.addEventListener("abort", () => {
    if (nodes.get(runtime) === created) nodes.delete(runtime);
    for (const list of created.lists.values()) list.close();
    created.lists.clear();
  }, { once: true });
  return entry;
}

/**
 * Calls `fire` in `ms` milliseconds unless cancelled first.
 *
 * @param runtime the node the wait belongs to (its shutdown clears the timers)
 * @param ms the delay; `Infinity` sets no deadline
 * @param fire what to do when it falls due
 * @returns the deadline, to cancel; `undefined` for `Infinity` or a node that has shut down
 */
export function startDeadline(
  runtime: Runtime,
  ms: number,
  fire: () => void,
): Deadline | undefined {
  if (ms === Infinity) return undefined;
  const node = deadlinesOf(runtime);
  if (node === undefined) return undefined;
  let list = node.lists.get(ms);
  if (list === undefined) {
    const created = new DeadlineList(() => {
      if (node.lists.get(ms) === created) node.lists.delete(ms);
    });
    node.lists.set(ms, created);
    list = created;
  }
  const d = new Deadline(performance.now() + ms, fire, list);
  list.append(d);
  return d;
}

/** Cancels a deadline (nothing happens if it has fired or was cancelled). */
export function cancelDeadline(d: Deadline | undefined): void {
  d?.list?.unlink(d);
}
