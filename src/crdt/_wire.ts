/**
 * Helpers the types share to read their wire form strictly, and to order
 * values canonically for equality.
 *
 * @module
 */

import { describeType } from "../errors.ts";

/** The error every `decode` throws: the type, then what is wrong. */
export function malformed(type: string, detail: string): TypeError {
  return new TypeError(`Malformed ${type} state: ${detail}`);
}

/** A set element or map key: a string, finite number, bigint, boolean or null. */
export type Element = string | number | bigint | boolean | null;

/** Whether a value can be a set element (compared by value, as `Map` keys are). */
export function isElement(value: unknown): value is Element {
  switch (typeof value) {
    case "string":
    case "bigint":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    default:
      return value === null;
  }
}

/** Checks a set element given by a user, turning `-0` into `0`. */
export function checkElement(value: unknown, what: string): Element {
  if (!isElement(value)) {
    throw new TypeError(
      `Invalid ${what}: must be a string, finite number, bigint, boolean or null, received ${
        describeType(value)
      }`,
    );
  }
  return Object.is(value, -0) ? 0 : value;
}

/** Checks a count given by a user: a positive safe integer. */
export function checkAmount(n: unknown, what: string): number {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(
      `Invalid ${what}: must be a positive safe integer, received ${describeType(n)}`,
    );
  }
  return n;
}

/** Checks a map key given by a user: a string. */
export function checkKey(key: unknown, what: string): string {
  if (typeof key !== "string") {
    throw new TypeError(`Invalid ${what}: must be a string, received ${describeType(key)}`);
  }
  return key;
}

/** Checks a replica id given by a caller. */
export function checkReplica(replica: unknown): string {
  if (typeof replica !== "string" || replica === "") {
    throw new TypeError(
      `Invalid replica: must be a non-empty string, received ${describeType(replica)}`,
    );
  }
  return replica;
}

/** Whether a value is a non-negative safe integer. */
export function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/** A total order on elements (by type, then value), for canonical forms. */
export function compareElements(a: Element, b: Element): number {
  const ta = rank(a), tb = rank(b);
  if (ta !== tb) return ta - tb;
  // deno-lint-ignore no-explicit-any
  return (a as any) < (b as any) ? -1 : (a as any) > (b as any) ? 1 : 0;
}

function rank(e: Element): number {
  if (e === null) return 0;
  switch (typeof e) {
    case "boolean":
      return 1;
    case "number":
      return 2;
    case "bigint":
      return 3;
    default:
      return 4;
  }
}
