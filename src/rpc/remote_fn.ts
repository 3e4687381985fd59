/**
 * Functions that run on another node: only their source crosses the wire
 * (`fn.toString()`), and the receiving node evaluates it. A function that
 * uses variables of the code around it cannot work over there, so the
 * caller refuses it at once with a {@linkcode CaptureError} naming them.
 *
 * ```
 * caller:  fn.toString() --acorn--> AST --scopes--> free names
 *          free names - JavaScript/Deno globals - the prelude = captured
 *          captured: CaptureError("... captures x, y ...")   none: send the source
 * callee:  new Function(...prelude names, "return (source)")(...prelude values)
 * ```
 *
 * The prelude is what a remote function may use besides globals: the
 * process functions that act for the process running it (`self`, `send`,
 * `receive`, `spawn`, `spawnLink`, `spawnMonitor`, `link`, `unlink`,
 * `monitor`, `demonitor`, `exit`, `trapExit`, `register`, `unregister`,
 * `whereis`, `sendAfter`, `cancelTimer`, `makeRef`, `flush`), and the
 * shell's other names: `Process`, `rpc`, `Node`, `monitorNodes`, `global`,
 * `pg`, `pubsub`, `presence`, `GenServer`, `Supervisor`,
 * `DynamicSupervisor`, `Registry`, `Task`, `TaskSupervisor` and `Logger`
 * (so `global` in a sent function is Weft's, not JavaScript's
 * `globalThis`). Globals are the properties
 * of `globalThis` when this module loaded (JavaScript's and Deno's
 * built-ins: `Deno`, `console`, `Math`, `fetch`, ...), so a global that a
 * program adds later counts as captured: the other node may not have it.
 *
 * Anything else a function needs goes in as arguments:
 * `rpc.call(node, (n) => n * 2, [21])`.
 *
 * @example
 * ```ts
 * import { capturedNames, functionSource } from "./remote_fn.ts";
 * const factor = 2;
 * console.assert(capturedNames((n: number) => n * factor)[0] === "factor");
 * console.assert(functionSource(() => Deno.hostname()).includes("Deno.hostname"));
 * ```
 *
 * @module
 */

import * as acorn from "acorn";
import { CaptureError } from "../errors.ts";

/** The names a remote function may use besides globals; the callee binds them. */
export const PRELUDE_NAMES: readonly string[] = Object.freeze([
  "self",
  "send",
  "receive",
  "spawn",
  "spawnLink",
  "spawnMonitor",
  "link",
  "unlink",
  "monitor",
  "demonitor",
  "exit",
  "trapExit",
  "register",
  "unregister",
  "whereis",
  "sendAfter",
  "cancelTimer",
  "makeRef",
  "flush",
  "Process",
  "rpc",
  "Node",
  "monitorNodes",
  "global",
  "pg",
  "pubsub",
  "presence",
  "GenServer",
  "Supervisor",
  "DynamicSupervisor",
  "Registry",
  "Task",
  "TaskSupervisor",
  "Logger",
]);

/** The global names as this module found them. */
const GLOBALS: ReadonlySet<string> = (() => {
  const names = new Set<string>(["undefined", "NaN", "Infinity", "globalThis"]);
  for (let o: object | null = globalThis; o !== null; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) names.add(key);
  }
  return names;
})();

const ALLOWED: ReadonlySet<string> = new Set([...GLOBALS, ...PRELUDE_NAMES]);

// deno-lint-ignore no-explicit-any
type Node = any;

/** A parsed function: the expression to send and its AST. */
interface Parsed {
  expression: string;
  root: Node;
}

/**
 * The source of a function as an expression another node can evaluate,
 * after checking that it is self-contained.
 *
 * @param fn the function
 * @returns the expression (a function expression, an arrow, or a method
 *   wrapped so that it evaluates to the method)
 * @throws {CaptureError} when it uses variables of the code around it
 * @throws {TypeError} when it is not a function, has no JavaScript source
 *   (built-in, bound) or is a class
 *
 * @example
 * ```ts
 * import { compileSource, functionSource } from "./remote_fn.ts";
 * const source = functionSource((a: number, b: number) => a + b);
 * console.assert(compileSource(source, { values: {} })(2, 3) === 5);
 * ```
 */
export function functionSource(fn: unknown): string {
  if (typeof fn !== "function") {
    throw new TypeError(`Cannot send function: expected a function, received ${typeof fn}`);
  }
  const cached = byFunction.get(fn);
  if (cached !== undefined) return cached;
  const text = Function.prototype.toString.call(fn);
  let result = bySource.get(text);
  if (result === undefined) {
    try {
      result = checkSource(text, fn.name);
    } catch (e) {
      result = e as Error;
    }
    if (bySource.size >= 512) bySource.clear();
    bySource.set(text, result);
  }
  if (typeof result !== "string") throw result;
  byFunction.set(fn, result);
  return result;
}

/**
 * The outer names a function uses (empty when it is self-contained).
 *
 * @param fn the function
 * @returns the names, in order of first use
 * @throws {TypeError} when it has no JavaScript source
 *
 * @example
 * ```ts
 * import { capturedNames } from "./remote_fn.ts";
 * console.assert(capturedNames(() => Math.max(1, 2)).length === 0);
 * ```
 */
export function capturedNames(fn: (...args: never[]) => unknown): string[] {
  const text = Function.prototype.toString.call(fn);
  return captured(parse(text, fn.name).root);
}

const byFunction = new WeakMap<object, string>();
const bySource = new Map<string, string | Error>();

function checkSource(text: string, name: string): string {
  const parsed = parse(text, name);
  const names = captured(parsed.root);
  if (names.length > 0) {
    const list = names.map((n) => (n === "this" || n === "arguments" ? `\`${n}\`` : n)).join(", ");
    throw new CaptureError(
      names,
      `Cannot send function${name ? ` ${name}` : ""} to another node: it captures ${list} ` +
        `from the code around it, and only its source travels. Pass ${
          names.length === 1 ? "it" : "them"
        } as arguments (rpc.call(node, (x) => ..., [x])) or define ${
          names.length === 1 ? "it" : "them"
        } inside the function. Available there besides JavaScript's globals: ${
          PRELUDE_NAMES.join(", ")
        }`,
    );
  }
  return parsed.expression;
}

const PARSE_OPTIONS: acorn.Options = { ecmaVersion: "latest", sourceType: "script" };

function parse(text: string, name: string): Parsed {
  // A function or arrow: an expression as it stands.
  try {
    const program = acorn.parse(`(${text}\n)`, PARSE_OPTIONS) as Node;
    const expr = program.body.length === 1 ? program.body[0].expression : undefined;
    if (expr?.type === "ClassExpression") {
      throw new TypeError(
        `Cannot send ${name ? `class ${name}` : "a class"} to another node: send a function`,
      );
    }
    if (expr?.type === "FunctionExpression" || expr?.type === "ArrowFunctionExpression") {
      return { expression: text, root: expr };
    }
  } catch (e) {
    if (e instanceof TypeError) throw e;
  }
  // A method (`{ m() {} }.m`, `get x() {}`): evaluate an object literal and take the method.
  try {
    const wrapped = `({${text}\n})`;
    const program = acorn.parse(wrapped, PARSE_OPTIONS) as Node;
    const obj = program.body.length === 1 ? program.body[0].expression : undefined;
    const prop = obj?.type === "ObjectExpression" && obj.properties.length === 1
      ? obj.properties[0]
      : undefined;
    if (prop?.type === "Property" && prop.value.type === "FunctionExpression") {
      return {
        expression:
          `((o) => { const d = Reflect.getOwnPropertyDescriptor(o, Reflect.ownKeys(o)[0]); ` +
          `return d.value ?? d.get ?? d.set; })(${wrapped})`,
        root: obj,
      };
    }
  } catch {
    // Not a method either.
  }
  throw new TypeError(
    `Cannot send function${
      name ? ` ${name}` : ""
    } to another node: it has no JavaScript source (a built-in or bound function)`,
  );
}

// ---------------------------------------------------------------------------
// Scopes: which identifiers of a function are not declared inside it.

class Scope {
  readonly names = new Set<string>();
  constructor(readonly parent: Scope | undefined) {}
  has(name: string): boolean {
    return this.names.has(name) || (this.parent?.has(name) ?? false);
  }
}

/** The free names of `root` that are neither globals nor prelude names. */
function captured(root: Node): string[] {
  const found = new Set<string>();
  const walker = new Walker((name) => {
    if (!ALLOWED.has(name)) found.add(name);
  });
  walker.visit(root, new Scope(undefined), false);
  return [...found];
}

/** Collects the names a binding pattern declares. */
function patternNames(pattern: Node, out: string[]): string[] {
  switch (pattern?.type) {
    case "Identifier":
      out.push(pattern.name);
      break;
    case "ObjectPattern":
      for (const p of pattern.properties) {
        patternNames(p.type === "RestElement" ? p.argument : p.value, out);
      }
      break;
    case "ArrayPattern":
      for (const el of pattern.elements) if (el !== null) patternNames(el, out);
      break;
    case "AssignmentPattern":
      patternNames(pattern.left, out);
      break;
    case "RestElement":
      patternNames(pattern.argument, out);
      break;
  }
  return out;
}

const SKIP_KEYS = new Set(["type", "start", "end", "loc", "range", "raw"]);

class Walker {
  readonly #free: (name: string) => void;
  constructor(free: (name: string) => void) {
    this.#free = free;
  }

  #ref(name: string, scope: Scope): void {
    if (!scope.has(name)) this.#free(name);
  }

  /**
   * Visits `node` in `scope`. `inFunction`: inside a non-arrow function of
   * the root, where `this` and `arguments` are its own.
   */
  visit(node: Node, scope: Scope, inFunction: boolean): void {
    if (node === null || typeof node !== "object") return;
    switch (node.type) {
      case "Identifier":
        this.#ref(node.name, scope);
        return;
      case "ThisExpression":
      case "Super":
        if (!inFunction) this.#free(node.type === "Super" ? "super" : "this");
        return;
      case "MetaProperty":
      case "Literal":
      case "TemplateElement":
      case "PrivateIdentifier":
      case "BreakStatement":
      case "ContinueStatement":
      case "EmptyStatement":
      case "DebuggerStatement":
        return;
      case "FunctionExpression":
      case "FunctionDeclaration":
      case "ArrowFunctionExpression":
        this.#function(node, scope, inFunction);
        return;
      case "ClassDeclaration":
      case "ClassExpression": {
        if (node.superClass) this.visit(node.superClass, scope, inFunction);
        const inner = new Scope(scope);
        if (node.id) inner.names.add(node.id.name);
        for (const el of node.body.body) {
          if (el.computed) this.visit(el.key, inner, inFunction);
          // Methods, field initialisers and static blocks have the class's `this`.
          if (el.type === "StaticBlock") this.#block(el.body, new Scope(inner), true);
          else if (el.value) this.visit(el.value, inner, true);
        }
        return;
      }
      case "Property":
        if (node.computed) this.visit(node.key, scope, inFunction);
        this.visit(node.value, scope, inFunction);
        return;
      case "PropertyDefinition":
      case "MethodDefinition":
        if (node.computed) this.visit(node.key, scope, inFunction);
        this.visit(node.value, scope, true);
        return;
      case "MemberExpression":
        this.visit(node.object, scope, inFunction);
        if (node.computed) this.visit(node.property, scope, inFunction);
        return;
      case "LabeledStatement":
        this.visit(node.body, scope, inFunction);
        return;
      case "BlockStatement":
      case "StaticBlock":
        this.#block(node.body, new Scope(scope), inFunction);
        return;
      case "VariableDeclaration":
        // The names were declared when the enclosing scope was entered.
        for (const d of node.declarations) {
          this.#patternExpressions(d.id, scope, inFunction);
          this.visit(d.init, scope, inFunction);
        }
        return;
      case "ForStatement": {
        const inner = new Scope(scope);
        if (node.init?.type === "VariableDeclaration") this.#declare(node.init, inner);
        this.visit(node.init, inner, inFunction);
        this.visit(node.test, inner, inFunction);
        this.visit(node.update, inner, inFunction);
        this.visit(node.body, inner, inFunction);
        return;
      }
      case "ForInStatement":
      case "ForOfStatement": {
        const inner = new Scope(scope);
        if (node.left.type === "VariableDeclaration") {
          this.#declare(node.left, inner);
          this.visit(node.left, inner, inFunction);
        } else {
          this.#assignTarget(node.left, inner, inFunction);
        }
        this.visit(node.right, inner, inFunction);
        this.visit(node.body, inner, inFunction);
        return;
      }
      case "CatchClause": {
        const inner = new Scope(scope);
        if (node.param) {
          for (const n of patternNames(node.param, [])) inner.names.add(n);
          this.#patternExpressions(node.param, inner, inFunction);
        }
        this.visit(node.body, inner, inFunction);
        return;
      }
      case "SwitchStatement": {
        this.visit(node.discriminant, scope, inFunction);
        const inner = new Scope(scope);
        const statements = node.cases.flatMap((c: Node) => c.consequent);
        this.#hoistLexical(statements, inner);
        for (const c of node.cases) {
          this.visit(c.test, inner, inFunction);
          for (const s of c.consequent) this.visit(s, inner, inFunction);
        }
        return;
      }
      case "UnaryExpression":
        // `typeof window` probes for a global that may not exist: not a capture.
        if (node.operator === "typeof" && node.argument.type === "Identifier") return;
        this.visit(node.argument, scope, inFunction);
        return;
      case "AssignmentExpression":
        this.#assignTarget(node.left, scope, inFunction);
        this.visit(node.right, scope, inFunction);
        return;
      case "ObjectPattern":
      case "ArrayPattern":
      case "AssignmentPattern":
      case "RestElement":
        this.#assignTarget(node, scope, inFunction);
        return;
      default:
        for (const key in node) {
          if (SKIP_KEYS.has(key)) continue;
          const child = node[key];
          if (Array.isArray(child)) {
            for (const c of child) this.visit(c, scope, inFunction);
          } else if (
            child !== null && typeof child === "object" && typeof child.type === "string"
          ) {
            this.visit(child, scope, inFunction);
          }
        }
    }
  }

  #function(node: Node, outer: Scope, inFunction: boolean): void {
    const arrow = node.type === "ArrowFunctionExpression";
    let scope = outer;
    if (node.type === "FunctionExpression" && node.id) {
      scope = new Scope(outer);
      scope.names.add(node.id.name);
    }
    const fnScope = new Scope(scope);
    if (!arrow) fnScope.names.add("arguments");
    for (const p of node.params) for (const n of patternNames(p, [])) fnScope.names.add(n);
    const own = arrow ? inFunction : true;
    for (const p of node.params) this.#patternExpressions(p, fnScope, own);
    if (node.body.type === "BlockStatement") {
      this.#hoistVar(node.body.body, fnScope);
      this.#block(node.body.body, fnScope, own);
    } else {
      this.visit(node.body, fnScope, own);
    }
  }

  /** Statements of a block: its lexical declarations first, then each statement. */
  #block(statements: Node[], scope: Scope, inFunction: boolean): void {
    this.#hoistLexical(statements, scope);
    for (const s of statements) this.visit(s, scope, inFunction);
  }

  #declare(decl: Node, scope: Scope): void {
    for (const d of decl.declarations) for (const n of patternNames(d.id, [])) scope.names.add(n);
  }

  /** `let`, `const`, `class` and function declarations directly in a block. */
  #hoistLexical(statements: Node[], scope: Scope): void {
    for (const s of statements) {
      if (s.type === "VariableDeclaration" && s.kind !== "var") this.#declare(s, scope);
      else if ((s.type === "ClassDeclaration" || s.type === "FunctionDeclaration") && s.id) {
        scope.names.add(s.id.name);
      }
    }
  }

  /** `var` declarations (and sloppy-mode block functions) anywhere in a function body. */
  #hoistVar(statements: Node[], scope: Scope): void {
    const walk = (node: Node): void => {
      if (node === null || typeof node !== "object") return;
      if (Array.isArray(node)) {
        for (const n of node) walk(n);
        return;
      }
      switch (node.type) {
        case "FunctionExpression":
        case "ArrowFunctionExpression":
        case "ClassDeclaration":
        case "ClassExpression":
          return;
        case "FunctionDeclaration":
          if (node.id) scope.names.add(node.id.name);
          return;
        case "VariableDeclaration":
          if (node.kind === "var") this.#declare(node, scope);
          break;
      }
      for (const key in node) {
        if (SKIP_KEYS.has(key)) continue;
        const child = node[key];
        if (child !== null && typeof child === "object") walk(child);
      }
    };
    walk(statements);
  }

  /** Default values and computed keys inside a binding pattern are expressions. */
  #patternExpressions(pattern: Node, scope: Scope, inFunction: boolean): void {
    switch (pattern?.type) {
      case "ObjectPattern":
        for (const p of pattern.properties) {
          if (p.type === "RestElement") this.#patternExpressions(p.argument, scope, inFunction);
          else {
            if (p.computed) this.visit(p.key, scope, inFunction);
            this.#patternExpressions(p.value, scope, inFunction);
          }
        }
        return;
      case "ArrayPattern":
        for (const el of pattern.elements) {
          if (el !== null) this.#patternExpressions(el, scope, inFunction);
        }
        return;
      case "AssignmentPattern":
        this.#patternExpressions(pattern.left, scope, inFunction);
        this.visit(pattern.right, scope, inFunction);
        return;
      case "RestElement":
        this.#patternExpressions(pattern.argument, scope, inFunction);
        return;
    }
  }

  /** The target of an assignment: its identifiers are references, as are member objects. */
  #assignTarget(target: Node, scope: Scope, inFunction: boolean): void {
    switch (target?.type) {
      case "Identifier":
        this.#ref(target.name, scope);
        return;
      case "ObjectPattern":
        for (const p of target.properties) {
          if (p.type === "RestElement") this.#assignTarget(p.argument, scope, inFunction);
          else {
            if (p.computed) this.visit(p.key, scope, inFunction);
            this.#assignTarget(p.value, scope, inFunction);
          }
        }
        return;
      case "ArrayPattern":
        for (const el of target.elements) {
          if (el !== null) this.#assignTarget(el, scope, inFunction);
        }
        return;
      case "AssignmentPattern":
        this.#assignTarget(target.left, scope, inFunction);
        this.visit(target.right, scope, inFunction);
        return;
      case "RestElement":
        this.#assignTarget(target.argument, scope, inFunction);
        return;
      default:
        this.visit(target, scope, inFunction);
    }
  }
}

// ---------------------------------------------------------------------------
// The callee's side.

/** The names and values a remote function is evaluated with. */
export interface Prelude {
  /** Name -> value; its keys are {@linkcode PRELUDE_NAMES}. */
  readonly values: Readonly<Record<string, unknown>>;
}

const compiled = new WeakMap<Prelude, Map<string, (...args: unknown[]) => unknown>>();

/**
 * Evaluates a function's source (as {@linkcode functionSource} made it)
 * with the prelude's names in scope.
 *
 * @param source the expression
 * @param prelude the prelude's values
 * @returns the function
 * @throws {SyntaxError} when the source does not parse
 * @throws {TypeError} when it does not evaluate to a function
 *
 * @example
 * ```ts
 * import { compileSource } from "./remote_fn.ts";
 * const fn = compileSource("(a, b) => a * b", { values: {} });
 * console.assert(fn(6, 7) === 42);
 * ```
 */
export function compileSource(source: string, prelude: Prelude): (...args: unknown[]) => unknown {
  let cache = compiled.get(prelude);
  if (cache === undefined) {
    cache = new Map();
    compiled.set(prelude, cache);
  }
  const hit = cache.get(source);
  if (hit !== undefined) return hit;
  const names = Object.keys(prelude.values);
  const make = new Function(...names, `return (${source}\n);`);
  const fn = make(...names.map((n) => prelude.values[n]));
  if (typeof fn !== "function") {
    throw new TypeError(`Cannot run function source: it evaluates to ${typeof fn}`);
  }
  if (cache.size >= 512) cache.clear();
  cache.set(source, fn);
  return fn;
}
