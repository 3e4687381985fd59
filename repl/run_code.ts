/**
 * Running shell code without a prompt: `weft --eval CODE` and
 * `weft --script file.ts [args]`. The code sees exactly the names the
 * prompt has (the same scope, the same evaluator: TypeScript, top-level
 * `await`, `import` statements), runs as the shell process, and ends with
 * an exit status:
 *
 * - 0 when it completes (`--eval` prints the value of its last expression),
 * - 1 when it throws (the error is printed to stderr),
 * - the code given to `q(code)` (the run stops there, the node is stopped
 *   cleanly), or what `Deno.exit(code)` gives.
 *
 * A script also has `args` (its own arguments) and sees them as
 * `Deno.args`; `import.meta.url` is the script's URL and
 * `import.meta.main` is true.
 *
 * @example
 * ```ts ignore
 * import { runCode } from "./run_code.ts";
 * const status = await runCode({ code: "1 + 1", printValue: true, shell, scope, quit });
 * ```
 *
 * @module
 */

import { runInProcess } from "../src/process/current.ts";
import type { ProcessContext } from "../src/process/types.ts";
import { Evaluator } from "./evaluator.ts";
import { formatError, formatValue } from "./format.ts";
import type { QuitSignal } from "./quit.ts";
import { SILENT } from "./scope.ts";

/** What {@linkcode runCode} runs, and how. */
export interface RunCodeOptions {
  /** The code (TypeScript or JavaScript). */
  code: string;
  /** The shell process the code runs as. */
  shell: ProcessContext;
  /** The shell's names. */
  scope: Record<string, unknown>;
  /** `q(code)` requests. */
  quit: QuitSignal;
  /** Print the value of the last expression (`--eval`). Default `false`. */
  printValue?: boolean;
  /** The URL relative imports resolve against (a script's own URL). */
  base?: string | URL;
  /** What `import.meta` is. */
  importMeta?: Record<string, unknown>;
  /** What errors name as the code's place: the script's path as given, `--eval`. */
  origin?: string;
  /** Where the value goes. Default stdout. */
  stdout?: (text: string) => void;
  /** Where an error goes. Default stderr. */
  stderr?: (text: string) => void;
}

/**
 * Runs `code` once as the shell process.
 *
 * @param options the code, the shell, its scope and the quit signal
 * @returns the exit status: 0, 1 on a throw, or the code given to `q()`
 *
 * @example
 * ```ts
 * import { Runtime } from "../src/process/runtime.ts";
 * import { QuitSignal } from "./quit.ts";
 * import { runCode } from "./run_code.ts";
 * import { createShellScope } from "./scope.ts";
 * const runtime = new Runtime();
 * const quit = new QuitSignal();
 * const scope = createShellScope({ runtime, quit: (c) => quit.request(c) });
 * const shell = runtime.open();
 * console.assert((await runCode({ code: "q(3); await new Promise(() => {})", shell, scope, quit })) === 3);
 * await runtime.shutdown();
 * ```
 */
export async function runCode(options: RunCodeOptions): Promise<number> {
  const stdout = options.stdout ?? ((text: string) => console.log(text));
  const stderr = options.stderr ?? ((text: string) => console.error(text));
  const evaluator = new Evaluator(options.scope, {
    ...(options.base !== undefined ? { base: options.base } : {}),
    ...(options.importMeta !== undefined ? { importMeta: options.importMeta } : {}),
    ...(options.origin !== undefined ? { origin: options.origin } : {}),
  });
  const quit = options.quit.requested.then((code) => ({ quit: code }));
  try {
    const result = await Promise.race([
      runInProcess(options.shell, () => evaluator.run(options.code)),
      quit,
    ]);
    if ("quit" in result) return result.quit;
    if (options.quit.code !== undefined) return options.quit.code;
    if (
      options.printValue && result.hasValue && result.value !== undefined &&
      result.value !== SILENT
    ) {
      stdout(formatValue(result.value));
    }
    return 0;
  } catch (e) {
    if (options.quit.code !== undefined) return options.quit.code;
    stderr(formatError(e));
    return 1;
  }
}

/** What {@linkcode scriptBindings} needs. */
export interface ScriptInfo {
  /** The script's absolute path. */
  path: string;
  /** The arguments after the script's name. */
  args: readonly string[];
}

/**
 * The names a script has on top of the shell's: `args`, and a `Deno`
 * whose `args` are the script's (every other member is Deno's own).
 *
 * @param info the script's path and arguments
 * @returns names to add to the scope, and `import.meta` for the script
 *
 * @example
 * ```ts
 * import { scriptBindings } from "./run_code.ts";
 * const { names, importMeta } = scriptBindings({ path: "/tmp/s.ts", args: ["x"] });
 * console.assert((names.Deno as typeof Deno).args[0] === "x");
 * console.assert(importMeta.url === "file:///tmp/s.ts");
 * ```
 */
export function scriptBindings(
  info: ScriptInfo,
): { names: Record<string, unknown>; importMeta: Record<string, unknown>; base: string } {
  const args = Object.freeze([...info.args]);
  const url = new URL(`file://${info.path}`).href;
  const slash = info.path.lastIndexOf("/");
  const shadow = Object.create(Deno, { args: { value: args, enumerable: true } });
  return {
    names: { args, Deno: shadow },
    importMeta: {
      url,
      main: true,
      filename: info.path,
      dirname: slash > 0 ? info.path.slice(0, slash) : "/",
      resolve: (specifier: string) => new URL(specifier, url).href,
    },
    base: url,
  };
}
