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
    public bitmap: number,
    readonly slots: Trie<K, V>[],
    readonly hash: number,
    readonly keys: K[],
    readonly values: V[],
    /** The owner that made this node and may change it in place (see `PMap.set`), if any. */
    readonly owner: Owner | null,
  ) {}
}

/**
 * An owner token (see `PMap.set`): nodes made under it may be changed in
 * place by later sets under the same token. Whoever holds the token promises
 * that no other map shares those nodes; to hand a map out, it stops using the
 * token (takes a new one), and those nodes are never changed again.
 */
export type Owner = object;

function branch<K, V>(bitmap: number, slots: Trie<K, V>[], owner: Owner | null): Trie<K, V> {
  return new Trie(false, bitmap, slots, 0, NONE, NONE, owner);
}

function bucket<K, V>(hash: number, keys: K[], values: V[], owner: Owner | null): Trie<K, V> {
  return new Trie<K, V>(true, 0, NONE, hash, keys, values, owner);
}

/** Whether `node` may be changed in place under `owner`. */
function owns(node: Trie<unknown, unknown>, owner: Owner | null): boolean {
  return owner !== null && node.owner === owner;
}

/** Set by {@linkcode setIn} when it added a key (rather than replaced a value). */
let grew = false;

const NONE: never[] = [];

const EMPTY_NODE: Trie<never, never> = branch(0, NONE, null);

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
  /**
   * This map with `key` set to `value`. With an `owner`, the nodes made under
   * it are changed in place rather than copied (the map returned shares them,
   * and so do earlier maps of the same owner: only their owner may still use
   * those); without one, this map is left as it is.
   *
   * @example
   * ```ts
   * import { PMap } from "./_pmap.ts";
   * const shared = PMap.empty<string, number>().set("a", 1);
   * let mine = shared;
   * const owner = {};
   * for (let i = 0; i < 100; i++) mine = mine.set(`k${i}`, i, owner); // in place after the first
   * console.assert(mine.size === 101 && shared.size === 1 && !shared.has("k0"));
   * ```
   */
  set(key: K, value: V, owner: Owner | null = null): PMap<K, V> {
    grew = false;
    const root = setIn(this.#root, hashOf(key), 0, key, value, owner);
    return new PMap(root, this.#size + (grew ? 1 : 0));
  }

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
  owner: Owner | null,
): Trie<K, V> {
  if (node.bucket) {
    if (node.hash === hash) {
      const keys = node.keys;
      for (let i = 0; i < keys.length; i++) {
        if (!same(keys[i], key)) continue;
        if (owns(node, owner)) {
          node.values[i] = value;
          return node;
        }
        const values = node.values.slice();
        values[i] = value;
        // An owned node gets arrays of its own (it may push to them later).
        return bucket(hash, owner === null ? keys : keys.slice(), values, owner);
      }
      grew = true;
      if (owns(node, owner)) {
        keys.push(key);
        node.values.push(value);
        return node;
      }
      return bucket(hash, [...keys, key], [...node.values, value], owner);
    }
    // Two hashes in one slot: push the old bucket one level down, then retry.
    const bit = 1 << ((node.hash >>> shift) & MASK);
    return setIn(branch(bit, [node], owner), hash, shift, key, value, owner);
  }
  const bit = 1 << ((hash >>> shift) & MASK);
  const i = popcount(node.bitmap & (bit - 1));
  if ((node.bitmap & bit) === 0) {
    grew = true;
    const leaf = bucket(hash, [key], [value], owner);
    if (owns(node, owner)) {
      node.slots.splice(i, 0, leaf);
      node.bitmap |= bit;
      return node;
    }
    const slots = node.slots.slice();
    slots.splice(i, 0, leaf);
    return branch(node.bitmap | bit, slots, owner);
  }
  const child = node.slots[i]!;
  const next = setIn(child, hash, shift + BITS, key, value, owner);
  if (owns(node, owner)) {
    node.slots[i] = next;
    return node;
  }
  const slots = node.slots.slice();
  slots[i] = next;
  return branch(node.bitmap, slots, owner);
}

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
      null,
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
    const rest = branch(node.bitmap & ~bit, slots, null);
    // A node left with one bucket collapses into it.
    return slots.length === 1 && slots[0]!.bucket ? slots[0]! : rest;
  }
  if (!child.bucket || node.slots.length > 1) {
    const slots = node.slots.slice();
    slots[i] = child;
    return branch(node.bitmap, slots, null);
  }
  return child;
}
