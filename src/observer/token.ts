/**
 * The observer's token: given (`--observer-token`) or derived from the
 * cluster cookie, so whoever may join the cluster may also look at it and
 * nobody else. The derivation is HMAC-SHA256 of a fixed label keyed with
 * the cookie: the token reveals nothing of the cookie.
 *
 * @example
 * ```ts
 * import { observerToken } from "./token.ts";
 * const t = await observerToken("secret-cookie");
 * console.assert(t.length === 32 && t === (await observerToken("secret-cookie")));
 * ```
 *
 * @module
 */

/**
 * The observer token derived from a cookie.
 *
 * @param cookie the cluster cookie
 * @returns 32 hex characters
 */
export async function observerToken(cookie: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(cookie),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("weft-observer-v1"));
  return [...new Uint8Array(mac).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/** Compares two strings in time that does not depend on where they differ. */
export function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
