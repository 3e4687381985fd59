/**
 * Names where in a value the part that cannot be sent sits, for the encoder's `TypeError`:
 * `Cannot send value: function at msg.handlers[2]`.
 *
 * Only runs after the encoder has failed, so the encoder's fast path keeps no path at all. It
 * walks the value in the encoder's order, so it finds the same culprit the encoder met first.
 * Paths start at `msg` and read like JavaScript: `.key` or `["odd key"]` for properties, `[2]` for
 * array items, `.get("k")` for a `Map` value, `.keys()[0]` for a `Map` key, `.values()[1]` for a
 * `Set` member, `.cause` / `.errors[0]` inside errors.
 *
 * @example
 * ```ts
 * import { unsendableError } from "./unsendable.ts";
 * const e = unsendableError({ a: [Symbol("s")] }, "symbol");
 * console.assert(e.message === "Cannot send value: symbol at msg.a[0]");
 * ```
 *
 * @module
 */

import { Pid, Ref } from "./pid.ts";
import { ERROR_FIELDS, MAX_DEPTH, pidProblem, refProblem, refusedClass } from "./cbor_tags.ts";

// ---------------------------------------------------------------------------
// Finding the path of what could not be sent. Only runs after a failure, so
// the fast path keeps no path at all; it walks in the encoder's order.

interface Found {
  what: string;
  path: string;
}

/**
 * The `TypeError` for a value the encoder refused.
 *
 * @param value the whole value given to the encoder
 * @param what what the encoder met: `typeof` of the value, a refused class name, "nesting",
 *   "cycle", "Pid" or "Ref"
 * @returns `Cannot send value: <what> at <path>` (without a path when none is found)
 */
export function unsendableError(value: unknown, what: string): TypeError {
  const found = locate(value, "msg", new Set(), 0);
  if (found === undefined) return new TypeError(`Cannot send value: ${describeWhat(what)}`);
  return new TypeError(`Cannot send value: ${describeWhat(found.what)} at ${shorten(found.path)}`);
}

function describeWhat(what: string): string {
  switch (what) {
    case "nesting":
      return `nested deeper than ${MAX_DEPTH} levels`;
    case "cycle":
      return "circular reference";
    case "Pid":
      return "malformed Pid (node must be a string, id, serial and creation non-negative integers)";
    case "Ref":
      return "malformed Ref (node must be a string, id and creation non-negative integers)";
    default:
      return what;
  }
}

function shorten(path: string): string {
  return path.length <= 200 ? path : `${path.slice(0, 100)}...${path.slice(-100)}`;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function propPath(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function keyText(key: unknown): string {
  switch (typeof key) {
    case "string":
      return JSON.stringify(key);
    case "bigint":
      return `${key}n`;
    case "number":
    case "boolean":
    case "undefined":
      return String(key);
    case "object":
      if (key === null) return "null";
      if (key instanceof Pid || key instanceof Ref) return String(key);
      return Array.isArray(key) ? "[...]" : "{...}";
    default:
      return typeof key;
  }
}

function locate(v: unknown, path: string, seen: Set<object>, level: number): Found | undefined {
  switch (typeof v) {
    case "function":
    case "symbol":
      return { what: typeof v, path };
    case "object":
      break;
    default:
      return undefined;
  }
  if (v === null) return undefined;
  if (v instanceof Pid) return pidProblem(v) === undefined ? undefined : { what: "Pid", path };
  if (v instanceof Ref) return refProblem(v) === undefined ? undefined : { what: "Ref", path };
  if (ArrayBuffer.isView(v) || v instanceof Date || v instanceof ArrayBuffer) return undefined;
  if (v instanceof SharedArrayBuffer) return undefined;
  if (seen.has(v)) return { what: "cycle", path };
  if (level >= MAX_DEPTH) return { what: "nesting", path };
  seen.add(v);
  try {
    return locateIn(v, path, seen, level + 1);
  } finally {
    seen.delete(v);
  }
}

function locateIn(v: object, path: string, seen: Set<object>, level: number): Found | undefined {
  let found: Found | undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length && !found; i++) {
      found = locate(v[i], `${path}[${i}]`, seen, level);
    }
    return found;
  }
  if (v instanceof Map) {
    let i = 0;
    for (const [key, value] of v) {
      found = locate(key, `${path}.keys()[${i++}]`, seen, level) ??
        locate(value, `${path}.get(${keyText(key)})`, seen, level);
      if (found) return found;
    }
    return undefined;
  }
  if (v instanceof Set) {
    let i = 0;
    for (const value of v) {
      found = locate(value, `${path}.values()[${i++}]`, seen, level);
      if (found) return found;
    }
    return undefined;
  }
  if (v instanceof Error) {
    if (Object.hasOwn(v, "cause")) found = locate(v.cause, `${path}.cause`, seen, level);
    if (!found && v instanceof AggregateError && Array.isArray(v.errors)) {
      found = locate(v.errors, `${path}.errors`, seen, level);
    }
    for (const key of Object.keys(v)) {
      if (found) break;
      if (!ERROR_FIELDS.has(key)) {
        found = locate(
          (v as unknown as Record<string, unknown>)[key],
          propPath(path, key),
          seen,
          level + 1,
        );
      }
    }
    return found;
  }
  const refused = refusedClass(v);
  if (refused !== undefined) return { what: refused, path };
  if (v instanceof Symbol) return { what: "symbol", path };
  if (v instanceof Number || v instanceof String || v instanceof Boolean || v instanceof BigInt) {
    return undefined;
  }
  const plain = (v as { constructor?: unknown }).constructor === Object;
  const keys = plain ? keysIn(v) : Object.keys(v);
  for (const key of keys) {
    found = locate((v as Record<string, unknown>)[key], propPath(path, key), seen, level);
    if (found) return found;
  }
  return undefined;
}

function keysIn(v: object): string[] {
  const keys: string[] = [];
  for (const key in v) keys.push(key);
  return keys;
}
