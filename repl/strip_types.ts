/**
 * TypeScript input for the shell: type annotations, interfaces, type
 * aliases, `as` casts, generics and access modifiers are removed (and
 * `enum`s compiled) by sucrase's `typescript` transform, so what the user
 * types at the prompt or puts in a `--script` file may be TypeScript.
 *
 * sucrase is pure JavaScript, has no native parts and reads no files, so
 * it works from `node_modules` offline and inside a `deno compile`d binary.
 *
 * @example
 * ```ts
 * import { stripTypes } from "./strip_types.ts";
 * console.assert(stripTypes("const x: number = 1").trim() === "const x = 1");
 * ```
 *
 * @module
 */

import { transform } from "sucrase";

/** A syntax error in shell input, with the offset where parsing stopped. */
export interface PositionedSyntaxError extends SyntaxError {
  /** Offset into the input where the parser gave up, when known. */
  pos?: number;
}

// sucrase compiles `namespace N { ... }` to nothing at all; a shell must
// not silently drop what the user typed, so such input is refused.
const NAMESPACE = /(^|[;{}\n])\s*(export\s+)?(namespace|module)\s+[A-Za-z_$][\w$.]*\s*\{/;

/**
 * Removes TypeScript syntax from `code`, leaving JavaScript that runs as
 * written. Plain JavaScript passes through unchanged (but for spacing).
 * Imports are kept even when unused, since a later input may use them.
 *
 * @param code TypeScript or JavaScript source
 * @returns JavaScript source
 * @throws {SyntaxError} when `code` does not parse; its `pos` says where
 *   parsing stopped, so a caller can tell unfinished input from wrong input
 *
 * @example
 * ```ts
 * import { stripTypes } from "./strip_types.ts";
 * const js = stripTypes("interface P { x: number }\nconst p = { x: 1 } as P; p.x");
 * console.assert(!js.includes("interface") && !js.includes(" as "));
 * ```
 */
export function stripTypes(code: string): string {
  if (NAMESPACE.test(code)) {
    const error: PositionedSyntaxError = new SyntaxError(
      "Cannot use a TypeScript namespace here: use a plain object instead",
    );
    error.pos = code.search(NAMESPACE);
    throw error;
  }
  try {
    return transform(code, {
      transforms: ["typescript"],
      disableESTransforms: true,
      keepUnusedImports: true,
      preserveDynamicImport: true,
    }).code;
  } catch (e) {
    const cause = e as Error & { pos?: number };
    const message = cause.message.replace(/\s*\(\d+:\d+\)$/, "");
    const error: PositionedSyntaxError = new SyntaxError(message);
    if (typeof cause.pos === "number") error.pos = cause.pos;
    throw error;
  }
}
