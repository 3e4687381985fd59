/**
 * The arguments of an rpc operation, checked: `(module, fn, args?, options?)`
 * as Erlang's MFA, or `(fn, args?, options?)` for a function whose source
 * is sent.
 *
 * @module
 */

import type { Runtime } from "../process/runtime.ts";
import { checkModuleName } from "./module_registry.ts";
import { functionSource } from "./remote_fn.ts";
import type { Target } from "./types.ts";

/** Options of `rpc.call`, `rpc.multicall` and the spawns. */
export interface RpcCallOptions {
  /**
   * Milliseconds to wait for the answer, or `Infinity`. Default 5000 (as
   * `GenServer.call`). Spawns ignore it: they are answered at once unless
   * the node is lost, which fails them anyway.
   */
  timeout?: number;
  /**
   * The node to act from, when the code does not run in one of its
   * processes (the `rpc` namespace functions find it from the running
   * process otherwise). Methods of an `RpcService` act for its own node.
   */
  runtime?: Runtime;
}

/** The default deadline of a call, in milliseconds. */
export const DEFAULT_TIMEOUT = 5000;

/** A checked request. */
export interface Request {
  target: Target;
  args: unknown[];
  options: RpcCallOptions;
  timeout: number;
}

/**
 * Reads `(module, fn, args?, options?)` or `(fn, args?, options?)`.
 *
 * @param what the operation, for messages (`"call"`)
 * @param rest the arguments after the node
 * @throws {TypeError} for a malformed argument; `CaptureError` for a function that captures
 */
export function parseRequest(what: string, rest: readonly unknown[]): Request {
  const [a, b, c, d] = rest;
  if (typeof a === "function") {
    if (rest.length > 3) {
      throw new TypeError(`Cannot ${what}: a function takes (fn, args?, options?), received more`);
    }
    const options = checkOptions(what, c);
    return {
      target: { kind: "source", source: functionSource(a) },
      args: checkArgs(what, b),
      options,
      timeout: timeoutOf(what, options),
    };
  }
  if (typeof a === "string") {
    checkModuleName(a, what);
    if (typeof b !== "string" || b.length === 0 || b.length > 255) {
      throw new TypeError(
        `Cannot ${what}: the function name must be a non-empty string, received ${describeType(b)}`,
      );
    }
    const options = checkOptions(what, d);
    return {
      target: { kind: "mfa", module: a, fn: b },
      args: checkArgs(what, c),
      options,
      timeout: timeoutOf(what, options),
    };
  }
  throw new TypeError(
    `Cannot ${what}: expected a module and a function name, or a function, received ${
      describeType(a)
    }`,
  );
}

/**
 * Reads the options alone (for an operation whose request was checked already).
 *
 * @throws {TypeError} when malformed
 */
export function checkOptions(what: string, options: unknown): RpcCallOptions {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(
      `Cannot ${what}: options must be an object, received ${describeType(options)}`,
    );
  }
  return options as RpcCallOptions;
}

function timeoutOf(what: string, options: RpcCallOptions): number {
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  if (typeof timeout !== "number") {
    throw new TypeError(
      `Cannot ${what}: timeout must be a number, received ${describeType(timeout)}`,
    );
  }
  if (!(timeout >= 0) || (timeout !== Infinity && timeout > 0x7fffffff)) {
    throw new RangeError(
      `Cannot ${what}: timeout must be 0-2147483647 ms or Infinity, received ${timeout}`,
    );
  }
  return timeout;
}

function checkArgs(what: string, args: unknown): unknown[] {
  if (args === undefined) return [];
  if (!Array.isArray(args)) {
    throw new TypeError(`Cannot ${what}: args must be an array, received ${describeType(args)}`);
  }
  return args;
}

/**
 * Checks a node name argument.
 *
 * @throws {TypeError} when it is not a non-empty string
 */
export function checkNode(what: string, node: unknown): asserts node is string {
  if (typeof node !== "string" || node.length === 0) {
    throw new TypeError(
      `Cannot ${what}: node must be a node name (name@host), received ${describeType(node)}`,
    );
  }
}

/** A value's kind for messages. */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value);
  return typeof value;
}
