/**
 * The process table: live processes by pid number, in an array indexed by
 * `id & mask`, as ERTS keeps its process table. Pid numbers grow; a number
 * whose slot is taken by a long-lived process is skipped. Past 2^31 - 1
 * they start again from 1 with the next `serial`, so `(id, serial)` never
 * names two processes. The array doubles when half full, so a
 * lookup is one index and one compare, and neighbouring pids share cache
 * lines — far cheaper than a hash map when processes come and go by the
 * hundred thousand.
 *
 * @module
 */

/** What the table holds: anything that knows its pid number. */
export interface TableEntry {
  readonly self: { readonly id: number };
}

const MIN_CAPACITY = 1024;
const MAX_ID = 0x7fffffff;

/**
 * An array of `n` empty slots in fast (packed) elements: `new Array(n)` of
 * a large `n` would make a slow dictionary-backed array.
 */
function emptySlots<T>(n: number): (T | undefined)[] {
  const slots: (T | undefined)[] = [];
  for (let i = 0; i < n; i++) slots.push(undefined);
  return slots;
}

/** Live processes by pid number. */
export class ProcTable<T extends TableEntry> {
  #slots: (T | undefined)[] = emptySlots(MIN_CAPACITY);
  #mask = MIN_CAPACITY - 1;
  #next: number;
  #serial = 0;
  #size = 0;
  /** Try shrinking once `size` drops below this. */
  #shrinkBelow = 0;

  /** @param firstId the first number to hand out (0 is the runtime's own pid) */
  constructor(firstId = 1) {
    this.#next = firstId;
  }

  /** Number of live entries. */
  get size(): number {
    return this.#size;
  }

  /** The serial that goes with numbers from {@linkcode ProcTable.allocate}. */
  get serial(): number {
    return this.#serial;
  }

  /**
   * A fresh pid number whose slot is free. Call {@linkcode ProcTable.insert}
   * with the entry for it before allocating again.
   */
  allocate(): number {
    if (this.#size + 1 > (this.#mask + 1) >> 1) this.#resize((this.#mask + 1) * 2);
    const slots = this.#slots;
    const mask = this.#mask;
    let id = this.#next;
    while (id > MAX_ID || slots[id & mask] !== undefined) {
      if (id > MAX_ID) {
        id = 1;
        this.#serial++;
      } else {
        id++;
      }
    }
    this.#next = id + 1;
    return id;
  }

  /** Puts `entry` in the slot of its (freshly allocated) number. */
  insert(entry: T): void {
    this.#slots[entry.self.id & this.#mask] = entry;
    this.#size++;
  }

  /** The entry numbered `id`, if live. */
  get(id: number): T | undefined {
    const entry = this.#slots[id & this.#mask];
    return entry !== undefined && entry.self.id === id ? entry : undefined;
  }

  /** Removes the entry numbered `id`; `false` when there was none. */
  delete(id: number): boolean {
    const index = id & this.#mask;
    const entry = this.#slots[index];
    if (entry === undefined || entry.self.id !== id) return false;
    this.#slots[index] = undefined;
    this.#size--;
    if (this.#size < this.#shrinkBelow) this.#resize((this.#mask + 1) >> 1);
    return true;
  }

  /** Every live entry, in slot order. */
  *values(): IterableIterator<T> {
    const slots = this.#slots;
    for (let i = 0; i < slots.length; i++) {
      const entry = slots[i];
      if (entry !== undefined) yield entry;
    }
  }

  /**
   * Changes the table to `capacity` slots (double or half the current
   * size) in place. Growing moves each entry to `id & newMask`, which is
   * its slot or the one `capacity / 2` above. Shrinking folds the upper
   * half down, unless two live numbers would meet in one slot.
   */
  #resize(capacity: number): void {
    const slots = this.#slots;
    const old = slots.length;
    const mask = capacity - 1;
    if (capacity > old) {
      slots.length = capacity;
      for (let i = 0; i < old; i++) {
        const entry = slots[i];
        if (entry === undefined) continue;
        const index = entry.self.id & mask;
        if (index !== i) {
          slots[index] = entry;
          slots[i] = undefined;
        }
      }
    } else {
      for (let i = capacity; i < old; i++) {
        if (slots[i] !== undefined && slots[i & mask] !== undefined) {
          // Try again only once half of the processes left have gone.
          this.#shrinkBelow = this.#size >> 1;
          return;
        }
      }
      for (let i = capacity; i < old; i++) {
        const entry = slots[i];
        if (entry !== undefined) slots[i & mask] = entry;
      }
      slots.length = capacity;
    }
    this.#mask = mask;
    this.#shrinkBelow = capacity > MIN_CAPACITY ? capacity >> 3 : 0;
  }
}
