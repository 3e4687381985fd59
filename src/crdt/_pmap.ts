/**
 * A persistent (immutable) hash map: `set` and `delete` return a new map
 * that shares all but a few small nodes with the old one, so a join that
 * changes one key of a state with 100 000 keys copies a handful of nodes
 * instead of the whole state. Private to `src/crdt/`.
 *
 * A hash array mapped trie (Bagwell): 32-way branching on 5 bits of the
 * key's hash per level, a bitmap per node telling which slots are used,
 * buckets for keys whose 30-bit hashes collide. Keys are compared as `Map`
 * compares them (SameValueZero); the hash is computed from primitives
 * (strings, numbers, bigints, booleans, null), which is all the CRDT types
 * use as keys.
 *
 * @module
 */

const BITS = 5;
const WIDTH = 1 << BITS;
const MASK = WIDTH - 1;

/**
 * A trie node: either a branch (a bitmap and, per set bit, a child) or a
 * bucket (keys of one hash, with their values). One class for both keeps
 * property access monomorphic.
 */
class Trie<K, V> {
  constructor(
    readonly bucket: boolean,
    readonly bitmap: number,
    readonly slots: readonly Trie<K, V>[],
    readonly hash: number,
    readonly keys: readonly K[],
    readonly values: readonly V[],
  ) {}
}

function branch<K, V>(bitmap: number, slots: readonly Trie<K, V>[]): Trie<K, V> {
  return new Trie(false, bitmap, slots, 0, NONE, NONE);
}

function bucket<K, V>(hash: number, keys: readonly K[], values: readonly V[]): Trie<K, V> {
  return new Trie<K, V>(true, 0, NONE, hash, keys, values);
}

const NONE: readonly never[] = [];

const EMPTY_NODE: Trie<never, never> = branch(0, NONE);

/** A 30-bit hash of a primitive key. */
function hashOf(key: unknown): number {
  let s: string;
  switch (typeof key) {
    case "string":
      s = key;
      break;
    case "number":
      if (Number.isInteger(key) && key >= 0 && key < 0x40000000) return key ^ 0x2a5a5a5a;
      s = `#${key}`;
      break;
    default:
      s = `${typeof key}:${String(key)}`;
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function same(a: unknown, b: unknown): boolean {
  return a === b || (a !== a && b !== b);
}

/**
 * An immutable map from primitive keys to values, readable as a
 * `ReadonlyMap`.
 */
export class PMap<K, V> implements ReadonlyMap<K, V> {
  readonly #root: Trie<K, V>;
  readonly #size: number;

  private constructor(root: Trie<K, V>, size: number) {
    this.#root = root;
    this.#size = size;
  }

  static #empty = new PMap<never, never>(EMPTY_NODE, 0);

  /** The empty map. */
  static empty<K, V>(): PMap<K, V> {
    return PMap.#empty as PMap<K, V>;
  }

  /** A map of the entries (later entries win). */
  static from<K, V>(entries: Iterable<readonly [K, V]>): PMap<K, V> {
    let m = PMap.empty<K, V>();
    for (const [k, v] of entries) m = m.set(k, v);
    return m;
  }

  /** How many entries. */
  get size(): number {
    return this.#size;
  }

  /** The value under `key`, if any. */
  get(key: K): V | undefined {
    const hash = hashOf(key);
    let node: Trie<K, V> = this.#root;
    for (let shift = 0;; shift += BITS) {
      if (node.bucket) {
        if (node.hash !== hash) return undefined;
        for (let i = 0; i < node.keys.length; i++) {
          if (same(node.keys[i], key)) return node.values[i];
        }
        return undefined;
      }
      const bit = 1 << ((hash >>> shift) & MASK);
      if ((node.bitmap & bit) === 0) return undefined;
      node = node.slots[popcount(node.bitmap & (bit - 1))]!;
    }
  }

  /** Whether `key` has an entry. */
  has(key: K): boolean {
    const hash = hashOf(key);
    let node: Trie<K, V> = this.#root;
    for (let shift = 0;; shift += BITS) {
      if (node.bucket) {
        if (node.hash !== hash) return false;
        for (const k of node.keys) if (same(k, key)) return true;
        return false;
      }
      const bit = 1 << ((hash >>> shift) & MASK);
      if ((node.bitmap & bit) === 0) return false;
      node = node.slots[popcount(node.bitmap & (bit - 1))]!;
    }
  }

  /** A map with `key` set to `value`. */
  set(key: K, value: V): PMap<K, V> {
    const added = { grew: false };
    const root = setIn(this.#root, hashOf(key), 0, key, value, added);
    return new PMap(root, this.#size + (added.grew ? 1 : 0));
  }

  /** A map without `key` (this one when it has no such key). */
  delete(key: K): PMap<K, V> {
    const root = deleteIn(this.#root, hashOf(key), 0, key);
    if (root === this.#root) return this;
    return root === undefined ? PMap.empty() : new PMap(root, this.#size - 1);
  }

  /** Every entry. */
  *entries(): MapIterator<[K, V]> {
    const stack: (Trie<K, V>)[] = [this.#root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.bucket) {
        for (let i = 0; i < node.keys.length; i++) yield [node.keys[i]!, node.values[i]!];
      } else {
        for (const slot of node.slots) stack.push(slot);
      }
    }
  }

  /** Every key. */
  *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  /** Every value. */
  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  /** Every entry. */
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  /** Calls `fn` for every entry. */
  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
}

function setIn<K, V>(
  node: Trie<K, V>,
  hash: number,
  shift: number,
  key: K,
  value: V,
  added: { grew: boolean },
): Trie<K, V> {
  if (node.bucket) {
    if (node.hash === hash) {
      const i = node.keys.findIndex((k) => same(k, key));
      if (i >= 0) {
        const values = node.values.slice();
        values[i] = value;
        return bucket(hash, node.keys, values);
      }
      added.grew = true;
      return bucket(hash, [...node.keys, key], [...node.values, value]);
    }
    // Two hashes in one slot: push the old bucket one level down, then retry.
    const bit = 1 << ((node.hash >>> shift) & MASK);
    return setIn(branch(bit, [node]), hash, shift, key, value, added);
  }
  const bit = 1 << ((hash >>> shift) & MASK);
  const i = popcount(node.bitmap & (bit - 1));
  if ((node.bitmap & bit) === 0) {
    added.grew = true;
    const slots = node.slots.slice();
    slots.splice(i, 0, bucket(hash, [key], [value]));
    return branch(node.bitmap | bit, slots);
  }
  const next = setIn(node.slots[i]!, hash, shift + BITS, key, value, added);
  const slots = node.slots.slice();
  slots[i] = next;
  return branch(node.bitmap, slots);
}

/**
 * The node without `key`: the same node when it does not hold it,
 * `undefined` when nothing is left.
 */
function deleteIn<K, V>(
  node: Trie<K, V>,
  hash: number,
  shift: number,
  key: K,
): Trie<K, V> | undefined {
  if (node.bucket) {
    if (node.hash !== hash) return node;
    const i = node.keys.findIndex((k) => same(k, key));
    if (i < 0) return node;
    if (node.keys.length === 1) return undefined;
    return bucket(
      hash,
      node.keys.filter((_, j) => j !== i),
      node.values.filter((_, j) => j !== i),
    );
  }
  const bit = 1 << ((hash >>> shift) & MASK);
  if ((node.bitmap & bit) === 0) return node;
  const i = popcount(node.bitmap & (bit - 1));
  const child = deleteIn(node.slots[i]!, hash, shift + BITS, key);
  if (child === node.slots[i]) return node;
  if (child === undefined) {
    if (node.bitmap === bit) return undefined;
    const slots = node.slots.slice();
    slots.splice(i, 1);
    const rest = branch(node.bitmap & ~bit, slots);
    // A node left with one bucket collapses into it.
    return slots.length === 1 && slots[0]!.bucket ? slots[0]! : rest;
  }
  if (!child.bucket || node.slots.length > 1) {
    const slots = node.slots.slice();
    slots[i] = child;
    return branch(node.bitmap, slots);
  }
  return child;
}
