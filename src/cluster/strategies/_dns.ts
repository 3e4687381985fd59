/**
 * DNS lookups for the DNS strategies, through `Deno.resolveDns`: the
 * system's resolver, or a given name server (`"10.0.0.2"`,
 * `"127.0.0.1:5353"`, `"[::1]:53"`), with a deadline. A name with no
 * record of the type asked is an empty answer, not an error.
 *
 * @module
 */

import { configError } from "../_config.ts";

/** A name server for `Deno.resolveDns`. */
export interface NameServer {
  /** Its address. */
  ipAddr: string;
  /** Its port (53 unless given). */
  port: number;
}

/**
 * Reads `"ip"`, `"ip:port"` or `"[ipv6]:port"`.
 *
 * @param text the name server as written in config
 * @param path where it sits, for error messages
 * @throws {TypeError} when it is not an address with an optional port
 */
export function parseNameServer(text: string, path: string): NameServer {
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(text);
  const v4 = /^([0-9.]+)(?::(\d+))?$/.exec(text);
  const bare6 = /^[0-9A-Fa-f]*:[0-9A-Fa-f:.]*$/.test(text) ? [text, text, undefined] : null;
  const m = v6 ?? v4 ?? bare6;
  if (m === null) {
    throw configError(path, `expected an IP address with an optional :port, received "${text}"`);
  }
  const port = m[2] === undefined ? 53 : Number(m[2]);
  if (!(port >= 1 && port <= 65535)) {
    throw configError(path, `port must be 1-65535, received ${port}`);
  }
  return { ipAddr: m[1]!, port };
}

/** Options for {@linkcode resolve}. */
export interface ResolveOptions {
  /** Ask this server instead of the system's resolver. */
  nameServer?: NameServer | undefined;
  /** Deadline in milliseconds. */
  timeout: number;
}

/**
 * Looks `query` up.
 *
 * @returns the records; none when the name has no record of that type
 * @throws {Error} when the server cannot be asked or does not answer in time
 */
export async function resolve(
  query: string,
  type: "A" | "AAAA",
  options: ResolveOptions,
): Promise<string[]>;
export async function resolve(
  query: string,
  type: "SRV",
  options: ResolveOptions,
): Promise<Deno.SrvRecord[]>;
export async function resolve(
  query: string,
  type: "A" | "AAAA" | "SRV",
  options: ResolveOptions,
): Promise<string[] | Deno.SrvRecord[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.timeout);
  const opts = {
    signal: abort.signal,
    ...(options.nameServer !== undefined ? { nameServer: options.nameServer } : {}),
  };
  try {
    return type === "SRV"
      ? await Deno.resolveDns(query, "SRV", opts)
      : await Deno.resolveDns(query, type, opts);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    if (abort.signal.aborted) {
      throw new Error(`No DNS answer for ${query} (${type}) within ${options.timeout} ms`);
    }
    throw new Error(
      `DNS lookup of ${query} (${type}) failed: ${e instanceof Error ? e.message : e}`,
      {
        cause: e,
      },
    );
  } finally {
    clearTimeout(timer);
  }
}
