/**
 * The cluster cookie: given on the command line, or read from a cookie file
 * (`~/.weft.cookie` by default) that is created with a random cookie and
 * mode 0600 on first use, as Erlang does with `~/.erlang.cookie`.
 *
 * The cookie is the whole of a node's trust boundary (an authenticated
 * peer may run code on it), so, as Erlang does, a cookie file that its
 * group or others can read or write is refused rather than used: the
 * error names the file and the `chmod 600` that fixes it.
 *
 * @example
 * ```ts
 * import { readOrCreateCookie } from "./cookie.ts";
 * const dir = await Deno.makeTempDir();
 * const cookie = await readOrCreateCookie(`${dir}/.weft.cookie`);
 * console.assert(cookie.length === 20);
 * console.assert(((await Deno.stat(`${dir}/.weft.cookie`)).mode! & 0o777) === 0o600);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { CookieFileError } from "../errors.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/**
 * The default cookie file: `$HOME/.weft.cookie`.
 *
 * @returns the path
 *
 * @example
 * ```ts
 * import { defaultCookiePath } from "./cookie.ts";
 * console.assert(defaultCookiePath().endsWith("/.weft.cookie"));
 * ```
 */
export function defaultCookiePath(): string {
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  return `${home}/.weft.cookie`;
}

/**
 * A random cookie of 20 upper-case letters, like Erlang's.
 *
 * @returns the cookie
 *
 * @example
 * ```ts
 * import { randomCookie } from "./cookie.ts";
 * console.assert(/^[A-Z]{20}$/.test(randomCookie()));
 * ```
 */
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
 * @throws {CookieFileError} when the file is accessible by its group or
 *   others (on systems with file modes), empty, or not a file
 * @throws {Deno.errors.PermissionDenied} when it cannot be read or created
 *
 * @example
 * ```ts
 * import { readOrCreateCookie } from "./cookie.ts";
 * import { CookieFileError } from "../errors.ts";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/cookie`;
 * await Deno.writeTextFile(path, "secret\n", { mode: 0o644 });
 * await Deno.chmod(path, 0o644);
 * try {
 *   await readOrCreateCookie(path);
 * } catch (e) {
 *   console.assert(e instanceof CookieFileError && e.message.endsWith(`chmod 600 ${path}`));
 * }
 * await Deno.chmod(path, 0o600);
 * console.assert((await readOrCreateCookie(path)) === "secret");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readOrCreateCookie(path: string = defaultCookiePath()): Promise<string> {
  try {
    return await readCookieFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const cookie = randomCookie();
  try {
    await Deno.writeTextFile(path, cookie, { mode: 0o600, createNew: true });
  } catch (e) {
    // Another node created it between our read and write: use theirs.
    if (e instanceof Deno.errors.AlreadyExists) return await readCookieFile(path);
    throw e;
  }
  // The umask can only narrow the mode; this makes it exactly 0600 wherever modes exist.
  if (Deno.build.os !== "windows") await Deno.chmod(path, 0o600);
  return cookie;
}

/** Reads an existing cookie file after checking, as Erlang's `auth` does, that only its owner may use it. */
async function readCookieFile(path: string): Promise<string> {
  const info = await Deno.stat(path);
  if (!info.isFile) {
    throw new CookieFileError(path, `Cannot use cookie file: ${path} is not a file`);
  }
  // `mode` is null where the system has no file modes (Windows).
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
    throw new CookieFileError(
      path,
      `Cannot use cookie file: ${path} is accessible by others than its owner (mode ${mode}): ` +
        `run chmod 600 ${path}`,
    );
  }
  const text = (await Deno.readTextFile(path)).trim();
  if (text.length === 0) {
    throw new CookieFileError(
      path,
      `Cannot use cookie file: ${path} is empty: write a cookie into it, or remove it to have one made`,
    );
  }
  return text;
}
