/**
 * Deadlines of rpc calls without a timer per call. A call almost always
 * finishes long before its deadline, and a `setTimeout`/`clearTimeout`
 * pair costs more than the rest of the caller's work, so deadlines of the
 * same length sit in a list in the order they were set (the order they
 * fall due) with one timer armed for the head. `close()` (the node
 * stopping) clears every timer.
 *
 * @module
 */

/** One pending deadline. */
export class Deadline {
  readonly due: number;
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

class DeadlineList {
  head: Deadline | null = null;
  tail: Deadline | null = null;
  timer: number | undefined = undefined;
  refed = false;
  readonly #drop: () => void;

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
      // Kept for the next call, but it must not keep the program alive.
      Deno.unrefTimer(this.timer);
      this.refed = false;
    }
  }

  #onTimer = (): void => {
    this.timer = undefined;
    this.refed = false;
    const now = performance.now();
    while (this.head !== null && this.head.due <= now + 1) {
      const d = this.head;
      this.unlink(d);
      try {
        d.fire();
      } catch {
        // A deadline's action settles a promise; nothing to report.
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

/** The deadlines of one node, by length. */
export class Deadlines {
  #lists = new Map<number, DeadlineList>();
  #closed = false;

  /**
   * Calls `fire` in `ms` milliseconds unless cancelled first.
   *
   * @returns the deadline; `undefined` for `Infinity` or after `close()`
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

  /** Cancels a deadline; nothing happens if it fired or was cancelled. */
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
