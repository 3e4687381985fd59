/**
 * Structural equality of terms, as Erlang compares them: two values that
 * would print the same are the same, whether or not they are the same
 * object. Registry keys use it (`["room", 42]` looked up with a fresh
 * array finds the entry) and so does `GenServer.stop` when it compares the
 * exit reason it asked for with the one it got back from another node.
 *
 * @module
 */

import { Pid, Ref } from "../term/pid.ts";

/**
 * A `Map` key equal for structurally equal terms: primitives stay as they
 * are (a `Map` already tells `1` from `"1"`), everything else becomes a
 * canonical string that cannot clash with a plain string key.
 *
 * @throws {TypeError} when the term holds a function, a symbol or a cycle
 */
export function termKey(term: unknown): unknown {
  switch (typeof term) {
    case "string":
      // Canonical strings start with NUL; keep user strings that do apart.
      return term.charCodeAt(0) === 0 ? `\u0000s${term}` : term;
    case "object":
      if (term === null) return null;
      return `\u0000${canonical(term, [])}`;
    case "function":
    case "symbol":
      throw new TypeError(`Cannot use a ${typeof term} as a key`);
    default:
      return term;
  }
}

/**
 * Whether two terms are equal as Erlang's `==:=` would have them: same
 * primitives (with `NaN` equal to itself), pids and refs naming the same
 * thing, arrays, plain objects, maps and sets with equal contents, errors
 * with the same name and message.
 */
export function sameTerm(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  try {
    return canonical(a, []) === canonical(b, []);
  } catch {
    return false;
  }
}

function canonical(term: unknown, seen: object[]): string {
  switch (typeof term) {
    case "string":
      return JSON.stringify(term);
    case "number":
      return Object.is(term, -0) ? "n-0" : `n${term}`;
    case "bigint":
      return `b${term}`;
    case "boolean":
      return term ? "T" : "F";
    case "undefined":
      return "U";
    case "object":
      break;
    default:
      throw new TypeError(`Cannot use a ${typeof term} inside a key`);
  }
  if (term === null) return "N";
  if (term instanceof Pid) return `P${term.key}`;
  if (term instanceof Ref) return `R${term.key}`;
  if (term instanceof Date) return `D${term.getTime()}`;
  if (seen.includes(term)) throw new TypeError("Cannot use a cyclic value as a key");
  seen.push(term);
  try {
    if (Array.isArray(term)) return `[${term.map((v) => canonical(v, seen)).join(",")}]`;
    if (term instanceof Uint8Array) return `Y${Array.from(term).join(".")}`;
    if (term instanceof Error) return `E${JSON.stringify([term.name, term.message])}`;
    if (term instanceof Map) {
      const entries = [...term].map(([k, v]) => `${canonical(k, seen)}=>${canonical(v, seen)}`);
      return `M{${entries.sort().join(",")}}`;
    }
    if (term instanceof Set) {
      return `S{${[...term].map((v) => canonical(v, seen)).sort().join(",")}}`;
    }
    const keys = Object.keys(term).sort();
    const record = term as Record<string, unknown>;
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(record[k], seen)}`).join(",")}}`;
  } finally {
    seen.pop();
  }
}
