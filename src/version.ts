/**
 * Weft's version, kept in code rather than read from deno.json at run time
 * so that compiled binaries carry it.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * console.assert(/^\d+\.\d+\.\d+/.test(VERSION));
 * ```
 *
 * @module
 */

/** The Weft version. */
export const VERSION = "0.1.0";
