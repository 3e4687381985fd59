/**
 * The modules a node exposes to rpc: names mapped to objects whose own
 * function-valued properties other nodes may call by name (Erlang's
 * module:function, "MFA"). Each node has its own registry.
 *
 * ```
 * registerModule("math", { add: (a, b) => a + b })   from code
 * weft --load ./math.ts                              a file's exported functions
 * c("./math.ts")                                     the same, at the shell, again after an edit
 * rpc.call(node, "math", "add", [1, 2])              -> 3
 * ```
 *
 * Only own properties count, so nothing inherited (`toString`,
 * `constructor`) can be reached by name. Registering a name again replaces
 * the module, as loading new code does in Erlang; the built-in modules
 * (`node`) cannot be replaced.
 *
 * @example
 * ```ts
 * import { ModuleRegistry } from "./module_registry.ts";
 * const registry = new ModuleRegistry();
 * registry.register("math", { add: (a: number, b: number) => a + b });
 * const found = registry.lookup("math", "add");
 * console.assert(found.kind === "found" && found.fn(1, 2) === 3);
 * ```
 *
 * @module
 */

/** What {@linkcode ModuleRegistry.lookup} finds. */
export type LookupResult =
  /** The function, and the module object to call it on. */
  | { kind: "found"; fn: (...args: unknown[]) => unknown; module: object }
  /** No module of that name. */
  | { kind: "no_module" }
  /** The module has no function of that name. */
  | { kind: "no_function" };

/** A module as {@linkcode loadModule} registered it. */
export interface LoadedModule {
  /** The name it is callable under. */
  name: string;
  /** Its functions. */
  functions: string[];
  /** The URL it was imported from. */
  url: string;
}

/** Module names: letters, digits, `_`, `$` and `-`; no dot, which separates module and function. */
const MODULE_NAME = /^[A-Za-z0-9_$][\w$-]*$/;

/**
 * Checks a module name.
 *
 * @param name the name
 * @param what the operation, for the message
 * @throws {TypeError} when the name is not a valid module name
 *
 * @example
 * ```ts
 * import { checkModuleName } from "./module_registry.ts";
 * checkModuleName("math", "register module");
 * try {
 *   checkModuleName("a.b", "register module");
 * } catch (e) {
 *   console.assert(e instanceof TypeError);
 * }
 * ```
 */
export function checkModuleName(name: unknown, what: string): asserts name is string {
  if (typeof name !== "string" || !MODULE_NAME.test(name) || name.length > 255) {
    throw new TypeError(
      `Cannot ${what}: a module name is letters, digits, "_", "$" or "-" (at most 255), received ${
        typeof name === "string" ? JSON.stringify(name) : typeof name
      }`,
    );
  }
}

function isClass(fn: unknown): boolean {
  return typeof fn === "function" && /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

/**
 * The modules of one node.
 *
 * @example
 * ```ts
 * import { ModuleRegistry } from "./module_registry.ts";
 * const registry = new ModuleRegistry();
 * registry.register("greet", { hello: (who: string) => `hello ${who}` });
 * console.assert(registry.functions("greet")?.[0] === "hello");
 * ```
 */
export class ModuleRegistry {
  #modules = new Map<string, object>();
  #reserved = new Set<string>();

  /**
   * Registers `module` under `name`, replacing a module of that name.
   *
   * @param name the module name (letters, digits, `_`, `$`, `-`)
   * @param module an object whose own function-valued properties become callable
   * @param options `reserved`: nobody may replace it afterwards (the built-in modules)
   * @returns the names of its functions
   * @throws {TypeError} when the name is invalid or reserved, or `module` is not an object
   */
  register(name: string, module: object, options: { reserved?: boolean } = {}): string[] {
    checkModuleName(name, "register module");
    if (typeof module !== "object" && typeof module !== "function" || module === null) {
      throw new TypeError(
        `Cannot register module ${name}: expected an object of functions, received ${
          module === null ? "null" : typeof module
        }`,
      );
    }
    if (this.#reserved.has(name)) {
      throw new TypeError(`Cannot register module ${name}: it is a built-in module`);
    }
    this.#modules.set(name, module);
    if (options.reserved) this.#reserved.add(name);
    return functionsOf(module);
  }

  /**
   * Removes a module.
   *
   * @param name the module name
   * @returns `true` when there was one
   * @throws {TypeError} when it is a built-in module
   */
  unregister(name: string): boolean {
    if (this.#reserved.has(name)) {
      throw new TypeError(`Cannot unregister module ${name}: it is a built-in module`);
    }
    return this.#modules.delete(name);
  }

  /**
   * Finds `module.fn`: an own property of the module whose value is a function.
   *
   * @param module the module name
   * @param fn the function name
   * @returns the function, or which part is missing
   */
  lookup(module: string, fn: string): LookupResult {
    const m = this.#modules.get(module);
    if (m === undefined) return { kind: "no_module" };
    if (!Object.hasOwn(m, fn)) return { kind: "no_function" };
    const value = (m as Record<string, unknown>)[fn];
    if (typeof value !== "function") return { kind: "no_function" };
    return { kind: "found", fn: value as (...args: unknown[]) => unknown, module: m };
  }

  /** The registered module names, sorted. */
  names(): string[] {
    return [...this.#modules.keys()].sort();
  }

  /**
   * The functions of a module, sorted; `undefined` when there is no such module.
   *
   * @param name the module name
   */
  functions(name: string): string[] | undefined {
    const m = this.#modules.get(name);
    return m === undefined ? undefined : functionsOf(m);
  }
}

function functionsOf(module: object): string[] {
  const out: string[] = [];
  for (const key of Object.getOwnPropertyNames(module)) {
    const desc = Object.getOwnPropertyDescriptor(module, key);
    // Not through getters: listing must not run code. Namespace objects have plain values.
    if (desc === undefined || !("value" in desc)) continue;
    if (typeof desc.value === "function" && !isClass(desc.value)) out.push(key);
  }
  // A function object's own `length`, `name` and `prototype` are not functions; nothing to drop.
  return out.sort();
}

/** How often each URL was loaded, so that loading it again imports the file afresh. */
const loads = new Map<string, number>();

/**
 * Imports a file and registers its exported functions under the file's
 * base name (`./lib/math.ts` -> `math`), or under the string it exports
 * as `name` (`export const name = "calc"`). Loading a file again imports
 * it afresh (edits take effect) and replaces the module.
 *
 * @param registry where to register it
 * @param path a path (relative to the working directory) or a URL
 * @returns the module's name, functions and URL
 * @throws {TypeError} when the file cannot be imported, its name is not a
 *   valid module name, or it exports no function
 *
 * @example
 * ```ts
 * import { loadModule, ModuleRegistry } from "./module_registry.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/calc.ts`, "export function twice(n: number) { return 2 * n; }");
 * const registry = new ModuleRegistry();
 * const loaded = await loadModule(registry, `${dir}/calc.ts`);
 * console.assert(loaded.name === "calc" && loaded.functions[0] === "twice");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadModule(registry: ModuleRegistry, path: string): Promise<LoadedModule> {
  if (typeof path !== "string" || path.length === 0) {
    throw new TypeError("Cannot load module: expected a file path or URL");
  }
  const url = toUrl(path);
  const n = (loads.get(url.href) ?? 0) + 1;
  const importUrl = new URL(url.href);
  if (n > 1) importUrl.searchParams.set("weft_load", String(n));
  let ns: Record<string, unknown>;
  try {
    ns = await import(importUrl.href);
  } catch (e) {
    throw new TypeError(
      `Cannot load module ${path}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`,
      { cause: e },
    );
  }
  loads.set(url.href, n);
  const base = url.pathname.split("/").pop()!.replace(/\.[^.]*$/, "");
  const name = typeof ns.name === "string" ? ns.name : base;
  checkModuleName(name, `load module ${path}`);
  const functions = functionsOf(ns);
  if (functions.length === 0) {
    throw new TypeError(`Cannot load module ${path}: it exports no function`);
  }
  registry.register(name, ns);
  return { name, functions, url: url.href };
}

function toUrl(path: string): URL {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) && !/^[a-z]:[\\/]/i.test(path)) return new URL(path);
  const cwd = Deno.cwd().replaceAll("\\", "/");
  const base = new URL(`file://${cwd.startsWith("/") ? "" : "/"}${cwd}/`);
  return new URL(path.replaceAll("\\", "/").split("/").map(encodeURIComponent).join("/"), base);
}
