/**
 * The cluster cookie: given on the command line, or read from a cookie file
 * (`~/.weft.cookie` by default) that is created with a random cookie and
 * mode 0600 on first use, as Erlang does with `~/.erlang.cookie`.
 *
 * @example
 * ```ts
 * import { readOrCreateCookie } from "./cookie.ts";
 * const dir = await Deno.makeTempDir();
 * const cookie = await readOrCreateCookie(`${dir}/.weft.cookie`);
 * console.assert(cookie.length === 20);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** The default cookie file: `$HOME/.weft.cookie`. */
export function defaultCookiePath(): string {
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  return `${home}/.weft.cookie`;
}

/** A random cookie of 20 upper-case letters, like Erlang's. */
export function randomCookie(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join("");
}

/**
 * Reads the cookie from `path`, creating the file with a random cookie and
 * mode 0600 when it does not exist.
 *
 * @param path the cookie file (default `~/.weft.cookie`)
 * @returns the cookie, surrounding whitespace trimmed
 * @throws {Error} when the file exists but is empty or unreadable
 */
export async function readOrCreateCookie(path: string = defaultCookiePath()): Promise<string> {
  try {
    const text = (await Deno.readTextFile(path)).trim();
    if (text.length === 0) throw new Error(`Cannot use cookie file: ${path} is empty`);
    return text;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const cookie = randomCookie();
  try {
    await Deno.writeTextFile(path, cookie, { mode: 0o600, createNew: true });
  } catch (e) {
    // Another node created it between our read and write: use theirs.
    if (e instanceof Deno.errors.AlreadyExists) return (await Deno.readTextFile(path)).trim();
    throw e;
  }
  await Deno.chmod(path, 0o600).catch(() => {});
  return cookie;
}
