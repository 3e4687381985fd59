/**
 * The bucketed hash tree anti-entropy compares: every key's digest (64 bits,
 * two u32 halves) is XORed into one leaf chosen by a hash of the key, and
 * every inner node holds the XOR of its 16 children. Two replicas whose root
 * hashes agree hold the same keys with the same states (up to a 2^-64
 * collision); where they differ, descending only into the children that differ
 * finds the differing leaves, and within them the differing keys, in
 * `DEPTH + 1` exchanges whose size grows with the number of differing keys,
 * not with the number of keys held.
 *
 * ```
 * level 0        [root]                      1 node
 * level 1        [0 .. 15]                   16 nodes
 * level 2        [0 .. 255]                  256 nodes
 * level 3        [0 .. 4095]                 4096 leaves -> the keys hashed into each
 * ```
 *
 * XOR makes an update O(depth): a key whose digest changes from `d` to `d'`
 * XORs `d ^ d'` into its leaf and each ancestor. The tree is pure data; it
 * knows nothing of states, only of key digests.
 *
 * @example
 * ```ts
 * import { DigestTree } from "./digest_tree.ts";
 * const a = new DigestTree();
 * const b = new DigestTree();
 * a.set("cart", [1, 2]);
 * console.assert(!a.sameRoot(b));
 * b.set("cart", [1, 2]);
 * console.assert(a.sameRoot(b));
 * ```
 *
 * @module
 */

/** Levels below the root: leaves are at level `DEPTH`. */
export const DEPTH = 3;
/** Children per inner node. */
export const FANOUT = 16;
/** Leaves of the tree. */
export const LEAVES = FANOUT ** DEPTH;

/** A 64-bit digest as two unsigned 32-bit halves. */
export type Digest = readonly [number, number];

/**
 * A 32-bit FNV-1a hash of a string's UTF-16 code units (keys to leaves).
 *
 * @param s the string
 * @returns an unsigned 32-bit hash
 *
 * @example
 * ```ts
 * import { hashString } from "./digest_tree.ts";
 * console.assert(hashString("a") === hashString("a") && hashString("a") !== hashString("b"));
 * ```
 */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A 64-bit digest of bytes: FNV-1a and a multiply-rotate hash side by side.
 *
 * @param bytes the bytes
 * @returns the digest, never `[0, 0]` (which stands for "no key")
 *
 * @example
 * ```ts
 * import { digestBytes } from "./digest_tree.ts";
 * const d = digestBytes(new Uint8Array([1, 2, 3]));
 * console.assert(d[0] !== 0 || d[1] !== 0);
 * ```
 */
export function digestBytes(bytes: Uint8Array): Digest {
  let h1 = 0x811c9dc5;
  let h2 = 0x9e3779b9 ^ bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    h1 = Math.imul(h1 ^ b, 0x01000193);
    h2 = Math.imul(h2 ^ b, 0x85ebca6b);
    h2 = (h2 << 13) | (h2 >>> 19);
  }
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0xc2b2ae35);
  h2 ^= h2 >>> 13;
  h1 >>>= 0;
  h2 >>>= 0;
  return h1 === 0 && h2 === 0 ? [1, 0] : [h1, h2];
}

/** The leaf a key's digest is XORed into. */
export function leafOf(key: string): number {
  return hashString(key) % LEAVES;
}

/**
 * Key digests in a hash tree of XORed buckets.
 *
 * @example
 * ```ts
 * import { DigestTree } from "./digest_tree.ts";
 * const t = new DigestTree();
 * t.set("k", [5, 6]);
 * t.delete("k");
 * console.assert(t.hashes(0, [0])[0] === 0);
 * ```
 */
export class DigestTree {
  /** Per level, two u32 per node. */
  #levels: Uint32Array[] = [];
  #digests = new Map<string, Digest>();
  #leafKeys = new Map<number, Set<string>>();

  constructor() {
    for (let l = 0; l <= DEPTH; l++) this.#levels.push(new Uint32Array(2 * FANOUT ** l));
  }

  /** How many keys the tree holds. */
  get size(): number {
    return this.#digests.size;
  }

  /** The digest of `key`, if held. */
  get(key: string): Digest | undefined {
    return this.#digests.get(key);
  }

  /**
   * Sets (or replaces) the digest of `key`.
   *
   * @param key the key
   * @param digest its digest
   */
  set(key: string, digest: Digest): void {
    const old = this.#digests.get(key);
    const leaf = leafOf(key);
    if (old === undefined) {
      let keys = this.#leafKeys.get(leaf);
      if (keys === undefined) this.#leafKeys.set(leaf, keys = new Set());
      keys.add(key);
      this.#xor(leaf, digest[0], digest[1]);
    } else {
      this.#xor(leaf, old[0] ^ digest[0], old[1] ^ digest[1]);
    }
    this.#digests.set(key, digest);
  }

  /** Removes `key` from the tree. */
  delete(key: string): void {
    const old = this.#digests.get(key);
    if (old === undefined) return;
    const leaf = leafOf(key);
    this.#digests.delete(key);
    const keys = this.#leafKeys.get(leaf)!;
    keys.delete(key);
    if (keys.size === 0) this.#leafKeys.delete(leaf);
    this.#xor(leaf, old[0], old[1]);
  }

  /** Whether both trees have the same root hash. */
  sameRoot(other: DigestTree): boolean {
    const [a, b] = [this.#levels[0]!, other.#levels[0]!];
    return a[0] === b[0] && a[1] === b[1];
  }

  /**
   * The hashes of nodes of one level, flat: `[hi0, lo0, hi1, lo1, ...]`.
   *
   * @param level 0 (root) to `DEPTH` (leaves)
   * @param indices the nodes' indices within the level
   */
  hashes(level: number, indices: readonly number[]): number[] {
    const arr = this.#levels[level]!;
    const out: number[] = [];
    for (const i of indices) out.push(arr[2 * i]!, arr[2 * i + 1]!);
    return out;
  }

  /**
   * Which of the given nodes differ from the peer's hashes.
   *
   * @param level the level of the nodes
   * @param indices the nodes
   * @param theirs the peer's hashes of those nodes, flat
   * @returns the indices whose hashes differ
   * @throws {TypeError} when an index or hash is malformed
   */
  differing(level: number, indices: readonly number[], theirs: readonly number[]): number[] {
    const arr = this.#levels[level];
    if (arr === undefined || theirs.length !== 2 * indices.length) {
      throw new TypeError("Malformed digest tree level");
    }
    const out: number[] = [];
    const size = FANOUT ** level;
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      if (!Number.isInteger(i) || i < 0 || i >= size) {
        throw new TypeError("Malformed digest tree index");
      }
      if (arr[2 * i] !== theirs[2 * k] || arr[2 * i + 1] !== theirs[2 * k + 1]) out.push(i);
    }
    return out;
  }

  /** The keys hashed into `leaf`, with their digests. */
  leafEntries(leaf: number): [string, number, number][] {
    const out: [string, number, number][] = [];
    for (const key of this.#leafKeys.get(leaf) ?? []) {
      const d = this.#digests.get(key)!;
      out.push([key, d[0], d[1]]);
    }
    return out;
  }

  #xor(leaf: number, hi: number, lo: number): void {
    let i = leaf;
    for (let l = DEPTH; l >= 0; l--) {
      const arr = this.#levels[l]!;
      arr[2 * i] = arr[2 * i]! ^ hi;
      arr[2 * i + 1] = arr[2 * i + 1]! ^ lo;
      i = Math.floor(i / FANOUT);
    }
  }
}

/**
 * The children of inner nodes, for the next level down.
 *
 * @param indices nodes of one level
 * @returns the indices of their children
 */
export function childrenOf(indices: readonly number[]): number[] {
  const out: number[] = [];
  for (const i of indices) for (let c = 0; c < FANOUT; c++) out.push(i * FANOUT + c);
  return out;
}
