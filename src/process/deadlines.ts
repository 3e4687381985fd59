/**
 * Deadlines without a timer per deadline.
 *
 * A call (`GenServer.call`, `rpc.call`) has a deadline (5 s by default) and
 * almost always finishes long before it. A timer per call would cost a
 * `setTimeout` and a `clearTimeout`, which in Deno is several microseconds:
 * more than the rest of a local call. Instead the deadlines of the same
 * length sit in a list in the order they were set, which is the order they
 * fall due, and one timer per list is armed for its head:
 *
 * ```
 * start:  append (due = now + ms); arm the list's timer if it has none
 * cancel: unlink (O(1)); the timer stays, unref'd once the list is empty
 * timer:  fire every entry that is due; re-arm for the new head, if any
 * close:  every timer goes; later starts set none
 * ```
 *
 * So a steady stream of calls costs one timer operation per deadline
 * period, not two per call. The owner (a node's rpc service, the
 * behaviours of a node) calls `close()` when its node stops.
 *
 * @module
 */

/**
 * One pending deadline, as returned by {@linkcode Deadlines.start}: a
 * handle to pass to {@linkcode Deadlines.cancel}.
 *
 * @example
 * ```ts
 * import { type Deadline, Deadlines } from "./deadlines.ts";
 *
 * const deadlines = new Deadlines();
 * const d: Deadline | undefined = deadlines.start(1000, () => {});
 * console.assert(d !== undefined && d.due > performance.now());
 * deadlines.cancel(d);
 * deadlines.close();
 * ```
 */
export class Deadline {
  /** When it falls due, in `performance.now()` time. */
  readonly due: number;
  /** What to do when it does. */
  readonly fire: () => void;
  /** The previous deadline of its list (internal). */
  prev: Deadline | null = null;
  /** The next deadline of its list (internal). */
  next: Deadline | null = null;
  /** The list it is pending in; `null` once fired or cancelled (internal). */
  list: DeadlineList | null;

  /**
   * Made by {@linkcode Deadlines.start}, not directly.
   *
   * @param due when it falls due, in `performance.now()` time
   * @param fire what to do when it does
   * @param list the list it is pending in
   */
  constructor(due: number, fire: () => void, list: DeadlineList) {
    this.due = due;
    this.fire = fire;
    this.list = list;
  }
}

/** Deadlines of one length, oldest (first due) first. */
class DeadlineList {
  /** Called when the timer finds the list empty and lets it go. */
  readonly #drop: () => void;
  head: Deadline | null = null;
  tail: Deadline | null = null;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
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
        // A deadline's action only delivers a message or settles a promise; nothing to report.
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

/**
 * The deadlines of one owner (a node's rpc service, a node's behaviours),
 * by length.
 *
 * @example
 * ```ts
 * import { Deadlines } from "./deadlines.ts";
 *
 * const deadlines = new Deadlines();
 * const fired = await new Promise<string>((resolve) => {
 *   deadlines.start(10, () => resolve("due"));
 * });
 * console.assert(fired === "due");
 * deadlines.close();
 * ```
 */
export class Deadlines {
  #lists = new Map<number, DeadlineList>();
  #closed = false;

  /**
   * Calls `fire` in `ms` milliseconds unless cancelled first.
   *
   * @param ms the delay; `Infinity` sets no deadline
   * @param fire what to do when it falls due
   * @returns the deadline, to cancel; `undefined` for `Infinity` or after `close()`
   */
  start(ms: number, fire: () => void): Deadline | undefined {
    if (ms === Infinity || this.#closed) return undefined;
    let list = this.#lists.get(ms);
    if (list === undefined) {
      const created: DeadlineList = new DeadlineList(() => {
        if (this.#lists.get(ms) === created) this.#lists.delete(ms);
      });
      this.#lists.set(ms, created);
      list = created;
    }
    const d = new Deadline(performance.now() + ms, fire, list);
    list.append(d);
    return d;
  }

  /**
   * Cancels a deadline; nothing happens if it fired or was cancelled.
   *
   * @param d the deadline `start` returned
   */
  cancel(d: Deadline | undefined): void {
    d?.list?.unlink(d);
  }

  /** Clears every timer; later `start`s set none. */
  close(): void {
    this.#closed = true;
    for (const list of this.#lists.values()) list.close();
    this.#lists.clear();
  }
}
