/**
 * Node names: `name@host`, long (`a@example.com`, `a@10.0.0.1`) or short
 * (`a@myhost`), plus the `name@host:port` form used without a port mapper.
 *
 * @example
 * ```ts
 * import { parseNodeName } from "./node_name.ts";
 * const n = parseNodeName("a@127.0.0.1");
 * console.assert(n.name === "a" && n.host === "127.0.0.1" && n.long);
 * ```
 *
 * @module
 */

/** A parsed node name. */
export interface NodeName {
  /** The whole name, `name@host` (without any port). */
  full: string;
  /** The part before `@`. */
  name: string;
  /** The part after `@`. */
  host: string;
  /** Whether the host is a long name (holds a dot or is an IP address). */
  long: boolean;
  /** A port given as `name@host:port`, for use without a port mapper. */
  port?: number;
}

const NAME_PART = /^[A-Za-z0-9_-]+$/;
const HOST_PART = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+|[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*)$/;

/** Most characters in the name part of a node name (an atom's limit, as `epmd` keeps it). */
export const MAX_ALIVE_NAME = 255;

/**
 * Whether `name` may be the name part of a node name (before `@`): 1 to
 * {@linkcode MAX_ALIVE_NAME} ASCII letters, digits, `_` and `-`, the
 * characters Erlang's `net_kernel` allows. The port mapper holds nothing
 * else, so its `NAMES` lines cannot carry forged entries.
 *
 * @param name the candidate
 * @returns whether it is a valid name part
 *
 * @example
 * ```ts
 * import { isAliveName } from "./node_name.ts";
 * console.assert(isAliveName("web-1_a") && !isAliveName("a b") && !isAliveName("x\nname y"));
 * ```
 */
export function isAliveName(name: unknown): name is string {
  return typeof name === "string" && name.length <= MAX_ALIVE_NAME && NAME_PART.test(name);
}

/**
 * Parses and validates a node name.
 *
 * @param text `name@host` or `name@host:port`
 * @returns the parsed name
 * @throws {TypeError} when the text is not a valid node name
 *
 * @example
 * ```ts
 * import { parseNodeName } from "./node_name.ts";
 * console.assert(parseNodeName("b@host:4370").port === 4370);
 * ```
 */
export function parseNodeName(text: string): NodeName {
  if (typeof text !== "string") {
    throw new TypeError(`Invalid node name: expected a string, received ${typeof text}`);
  }
  const at = text.indexOf("@");
  if (at <= 0 || at !== text.lastIndexOf("@") || at === text.length - 1) {
    throw new TypeError(`Invalid node name: must be name@host, received "${text}"`);
  }
  const name = text.slice(0, at);
  let host = text.slice(at + 1);
  let port: number | undefined;
  const bracketed = /^\[(.+)\](?::(\d+))?$/.exec(host);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else {
    const colons = host.split(":").length - 1;
    if (colons === 1) {
      const [h, p] = host.split(":") as [string, string];
      if (!/^\d+$/.test(p)) {
        throw new TypeError(`Invalid node name: bad port in "${text}"`);
      }
      host = h;
      port = Number(p);
    }
  }
  if (!NAME_PART.test(name)) {
    throw new TypeError(
      `Invalid node name: name part may hold letters, digits, _ and -, received "${text}"`,
    );
  }
  if (!HOST_PART.test(host) || host.startsWith(".") || host.endsWith(".")) {
    throw new TypeError(`Invalid node name: bad host in "${text}"`);
  }
  if (port !== undefined && (port < 1 || port > 65535)) {
    throw new RangeError(`Invalid node name: port must be 1-65535, received ${port}`);
  }
  const long = host.includes(".") || host.includes(":");
  const full = `${name}@${host.includes(":") ? `[${host}]` : host}`;
  return port === undefined ? { full, name, host, long } : { full, name, host, long, port };
}

/**
 * Builds a short node name `name@<short hostname>` from a bare name, as
 * `erl -sname` does; a name that already holds `@` is only validated.
 *
 * @param name `a` or `a@host`
 * @param hostname the machine's host name (defaults to `Deno.hostname()`)
 * @throws {TypeError} when the result is not a valid node name
 *
 * @example
 * ```ts
 * import { shortNodeName } from "./node_name.ts";
 * console.assert(shortNodeName("a", "box.example.com").full === "a@box");
 * ```
 */
export function shortNodeName(name: string, hostname: string = Deno.hostname()): NodeName {
  if (name.includes("@")) return parseNodeName(name);
  const host = hostname.split(".")[0] || "localhost";
  return parseNodeName(`${name}@${host}`);
}

/**
 * Builds a long node name: `name@host` as given, or `name@<fqdn>` from a
 * bare name, as `erl -name` does.
 *
 * @param name `a` or `a@host.domain`
 * @param hostname the machine's host name (defaults to `Deno.hostname()`)
 * @throws {TypeError} when the result is not a valid node name
 *
 * @example
 * ```ts
 * import { longNodeName } from "./node_name.ts";
 * console.assert(longNodeName("a@127.0.0.1").long);
 * ```
 */
export function longNodeName(name: string, hostname: string = Deno.hostname()): NodeName {
  if (name.includes("@")) return parseNodeName(name);
  return parseNodeName(`${name}@${hostname}`);
}

/**
 * The node a `name@host:port` address names: `name@host` (an IPv6 host
 * keeps its brackets). Any other text comes back unchanged, a node name
 * without a port as well as text that is no node name at all, so callers
 * on hot paths (every send to a remote name) pay one regular expression
 * and no validation. The one place that strips a port; validate with
 * {@linkcode parseNodeName}.
 *
 * @param node a node name, with or without a port
 * @returns the name without its port
 *
 * @example
 * ```ts
 * import { withoutPort } from "./node_name.ts";
 * console.assert(withoutPort("b@127.0.0.1:4370") === "b@127.0.0.1");
 * console.assert(withoutPort("b@[::1]:4370") === "b@[::1]");
 * console.assert(withoutPort("b@host") === "b@host");
 * ```
 */
export function withoutPort(node: string): string {
  const m = /^([^@]+@(?:\[[^\]]+\]|[^:@]+)):\d+$/.exec(node);
  return m === null ? node : m[1]!;
}
