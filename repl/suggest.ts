/**
 * "Did you mean" for a mistyped name at the prompt: `Node.conect(...)`
 * fails with `Node.conect is not a function` and the shell adds
 * `(did you mean Node.connect?)`, as iex does for an undefined function.
 * Names are looked up in the shell's scope (namespace members too) and
 * among the globals; the closest one within a few edits wins.
 *
 * @example
 * ```ts
 * import { didYouMean } from "./suggest.ts";
 * const scope = { Node: { connect() {}, list() {} }, spawn() {} };
 * console.assert(didYouMean(new TypeError("Node.conect is not a function"), scope) === "Node.connect");
 * console.assert(didYouMean(new ReferenceError("spwan is not defined"), scope) === "spawn");
 * console.assert(didYouMean(new ReferenceError("zzz is not defined"), scope) === undefined);
 * console.assert(didYouMean(new ReferenceError("g is not defined"), { c: 1 }) === undefined);
 * ```
 *
 * @module
 */

/**
 * The name the user probably meant, for an error about an unknown name.
 *
 * @param error the error the input threw
 * @param scope the shell's names
 * @returns the suggested name (`Node.connect`), or `undefined`
 */
export function didYouMean(error: unknown, scope: Record<string, unknown>): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error instanceof ReferenceError) {
    const name = error.message.match(/^([\w$]+) is not defined$/)?.[1];
    if (name === undefined) return undefined;
    return closest(name, [...Object.keys(scope), ...Object.getOwnPropertyNames(globalThis)]);
  }
  if (error instanceof TypeError) {
    const m = error.message.match(/^([\w$.]+)\.([\w$]+) is not a function$/);
    if (m === null) return undefined;
    const [, path, member] = m as unknown as [string, string, string];
    let owner: unknown = scope;
    for (const part of path.split(".")) {
      if (owner === null || (typeof owner !== "object" && typeof owner !== "function")) {
        return undefined;
      }
      owner = part in (owner as object) ? (owner as Record<string, unknown>)[part] : undefined;
    }
    if (owner === null || (typeof owner !== "object" && typeof owner !== "function")) {
      return undefined;
    }
    const members = memberNames(owner as object)
      .filter((n) => typeof (owner as Record<string, unknown>)[n] === "function");
    const best = closest(member, members);
    return best === undefined ? undefined : `${path}.${best}`;
  }
  return undefined;
}

/** Own and inherited member names, up to (not including) Object.prototype. */
function memberNames(value: object): string[] {
  const names = new Set<string>();
  for (
    let o: object | null = value;
    o !== null && o !== Object.prototype && o !== Function.prototype;
    o = Object.getPrototypeOf(o)
  ) {
    for (const n of Object.getOwnPropertyNames(o)) if (n !== "constructor") names.add(n);
  }
  return [...names];
}

/**
 * The candidate nearest to `name`, if within a third of its length in edits
 * (at least 1); a name shorter than 3 is too short to guess from.
 */
function closest(name: string, candidates: readonly string[]): string | undefined {
  if (name.length < 3) return undefined;
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of new Set(candidates)) {
    if (candidate === name || Math.abs(candidate.length - name.length) > limit) continue;
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Edit distance with transpositions (optimal string alignment). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
