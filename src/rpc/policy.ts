/**
 * What peers may run on this node. The cookie is the trust boundary, as in
 * Erlang: by default an authenticated peer may call any function of any
 * registered module, and may send function source to run. A node narrows
 * that with allow patterns (`--rpc-allow`, repeatable) and can refuse
 * function source (`--no-remote-eval`). A refused request is answered with
 * a `PolicyError` at the caller; nothing runs.
 *
 * Patterns name `module.function`, with `*` matching any run of
 * characters: `math.*` (every function of `math`), `node.uptime`,
 * `*.status`, `*` (everything). A pattern without a dot names a whole
 * module (`math` is `math.*`).
 *
 * Function source is arbitrary code, which would make an allow list
 * pointless, so a node with allow patterns runs no function source unless
 * `remoteEval` is set to `true` explicitly.
 *
 * @example
 * ```ts
 * import { RpcPolicy } from "./policy.ts";
 * const policy = new RpcPolicy({ allow: ["math.*", "node.uptime"] });
 * console.assert(policy.allows("math", "add") && policy.allows("node", "uptime"));
 * console.assert(!policy.allows("node", "memory") && !policy.remoteEval);
 * ```
 *
 * @module
 */

/** Options for {@linkcode RpcPolicy}. */
export interface RpcPolicyOptions {
  /** `module.function` patterns peers may call; absent: everything. */
  allow?: readonly string[] | undefined;
  /** Whether peers may send function source. Default: `true` without `allow`, `false` with it. */
  remoteEval?: boolean | undefined;
}

const PATTERN = /^[\w$*-]+(\.[\w$*-]+)?$/;

/**
 * Checks an allow pattern.
 *
 * @param pattern the pattern
 * @throws {TypeError} when it is not `module.function` made of names and `*`
 *
 * @example
 * ```ts
 * import { checkAllowPattern } from "./policy.ts";
 * checkAllowPattern("math.*");
 * try {
 *   checkAllowPattern("math add");
 * } catch (e) {
 *   console.assert(e instanceof TypeError);
 * }
 * ```
 */
export function checkAllowPattern(pattern: unknown): asserts pattern is string {
  if (typeof pattern !== "string" || !PATTERN.test(pattern)) {
    throw new TypeError(
      `Invalid rpc allow pattern: expected module.function with * as a wildcard (e.g. math.*), received ${
        typeof pattern === "string" ? JSON.stringify(pattern) : typeof pattern
      }`,
    );
  }
}

function toRegExp(pattern: string): RegExp {
  const full = pattern.includes(".") ? pattern : `${pattern}.*`;
  const body = full.split("*").map((part) => part.replace(/[.$\\^+?()[\]{}|-]/g, "\\$&")).join(
    ".*",
  );
  return new RegExp(`^${body}$`);
}

/**
 * The rpc policy of one node.
 *
 * @example
 * ```ts
 * import { RpcPolicy } from "./policy.ts";
 * const open = new RpcPolicy();
 * console.assert(open.allows("anything", "at_all") && open.remoteEval);
 * const closed = new RpcPolicy({ remoteEval: false });
 * console.assert(closed.allows("math", "add") && !closed.remoteEval);
 * ```
 */
export class RpcPolicy {
  /** The allow patterns, or `undefined` when everything is allowed. */
  readonly allow: readonly string[] | undefined;
  /** Whether peers may send function source. */
  readonly remoteEval: boolean;
  #patterns: RegExp[] | undefined;
  /** Decisions so far, by `module.function` (bounded). */
  #decided = new Map<string, boolean>();

  /**
   * @param options the allow patterns and whether function source may run
   * @throws {TypeError} when a pattern is malformed
   */
  constructor(options: RpcPolicyOptions = {}) {
    const allow = options.allow;
    if (allow !== undefined) {
      if (!Array.isArray(allow)) {
        throw new TypeError("Invalid rpc allow patterns: expected an array");
      }
      for (const p of allow) checkAllowPattern(p);
      this.allow = Object.freeze([...allow]);
      this.#patterns = allow.map(toRegExp);
    } else {
      this.allow = undefined;
      this.#patterns = undefined;
    }
    const remoteEval = options.remoteEval ?? allow === undefined;
    if (typeof remoteEval !== "boolean") {
      throw new TypeError("Invalid rpc policy: remoteEval must be a boolean");
    }
    this.remoteEval = remoteEval;
  }

  /**
   * Whether peers may call `module.fn`.
   *
   * @param module the module name
   * @param fn the function name
   */
  allows(module: string, fn: string): boolean {
    const patterns = this.#patterns;
    if (patterns === undefined) return true;
    const key = `${module}.${fn}`;
    let ok = this.#decided.get(key);
    if (ok === undefined) {
      ok = patterns.some((p) => p.test(key));
      if (this.#decided.size >= 4096) this.#decided.clear();
      this.#decided.set(key, ok);
    }
    return ok;
  }
}
