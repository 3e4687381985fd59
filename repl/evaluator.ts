/**
 * Evaluates shell input the way an interactive user expects: TypeScript
 * or JavaScript, top-level `await`, the value of the last expression as
 * the result, and bindings (`const pid = spawn(...)`) that persist from
 * one input to the next.
 *
 * ```
 * input --stripTypes (sucrase)--> JavaScript --acorn--> statements
 *   top-level const/let/var/function/class -> assignments on the scope object
 *   import ... from "x"                   -> await import("x") into the scope
 *   export <declaration>                  -> the declaration
 *   the last statement                    -> `return` of its value
 * run as an AsyncFunction whose body is `with (scope) { ... }`
 * ```
 *
 * Names resolve to the shell's bindings first and to globals after. An
 * input that begins with `{` and reads as an object literal is taken as
 * one (as Node's REPL does), not as a block.
 *
 * @example
 * ```ts
 * import { Evaluator } from "./evaluator.ts";
 * const ev = new Evaluator({ answer: 42 });
 * await ev.evaluate("const x: number = answer + 1");
 * console.assert((await ev.evaluate("await Promise.resolve(x * 2)")) === 86);
 * ```
 *
 * @module
 */

import * as acorn from "acorn";
import {
  applyEdits,
  type Edit,
  positionOf,
  registerSource,
  setLocation,
  sortEdits,
} from "./locations.ts";
import { type PositionedSyntaxError, stripTypes } from "./strip_types.ts";

// deno-lint-ignore no-explicit-any
type AstNode = any;

const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor as new (
  ...args: string[]
) => (...args: unknown[]) => Promise<unknown>;

/** The result of {@linkcode Evaluator.check}: whether input is complete. */
export type InputState = "complete" | "incomplete" | "invalid";

/** What {@linkcode Evaluator.run} produced. */
export interface Evaluation {
  /** The value of the last expression or declaration. */
  value: unknown;
  /**
   * `false` when the input ended in a statement that has no value (`for`,
   * `if`, an `import`, an empty input): a shell prints nothing then.
   */
  hasValue: boolean;
}

/** Options for {@linkcode Evaluator}. */
export interface EvaluatorOptions {
  /**
   * The URL relative import specifiers (`./x.ts`) resolve against: the
   * script's own URL for `--script`, the working directory at the prompt
   * (the default).
   */
  base?: string | URL;
  /**
   * What `import.meta` means in evaluated code (a script's `url`, `main`,
   * `filename`...). Default: `{ url: base, main: true }`.
   */
  importMeta?: Record<string, unknown>;
  /**
   * What errors name as the place of the code: a script's path,
   * `--eval`, or `input` (the default) for what is typed at the prompt.
   */
  origin?: string;
}

/**
 * A persistent evaluation scope.
 *
 * @example
 * ```ts
 * import { Evaluator } from "./evaluator.ts";
 * const ev = new Evaluator({});
 * console.assert(ev.check("[1,") === "incomplete");
 * console.assert(ev.check("function f(a: number) {") === "incomplete");
 * console.assert(ev.check("1 +* 2") === "invalid");
 * ```
 */
export class Evaluator {
  /** The bindings visible to evaluated code; new top-level names land here. */
  readonly scope: Record<string, unknown>;
  readonly #base: string;
  readonly #importMeta: Record<string, unknown>;
  readonly #origin: string;

  /**
   * @param scope initial bindings (the shell's namespaces and helpers)
   * @param options where relative imports resolve from
   */
  constructor(scope: Record<string, unknown>, options: EvaluatorOptions = {}) {
    this.scope = scope;
    this.#base = String(options.base ?? cwdUrl());
    this.#importMeta = options.importMeta ?? { url: this.#base, main: true };
    this.#origin = options.origin ?? "input";
  }

  /**
   * Tells whether `code` is a complete input, needs more lines (an
   * unfinished expression, an open bracket, template or comment), or is
   * invalid. TypeScript syntax counts as valid.
   *
   * @param code the input so far
   * @returns `"complete"`, `"incomplete"` or `"invalid"`
   */
  check(code: string): InputState {
    if (code.trim() === "") return "complete";
    const compiled = compile(code);
    return compiled.ok ? "complete" : compiled.state;
  }

  /**
   * Runs `code` and resolves to the value of its last expression or
   * declaration (`undefined` when it ends in another statement).
   *
   * @param code TypeScript or JavaScript
   * @returns the value
   * @throws {SyntaxError} when the code does not parse
   * @throws whatever the code throws
   */
  async evaluate(code: string): Promise<unknown> {
    return (await this.run(code)).value;
  }

  /**
   * Runs `code` and tells its value and whether it has one.
   *
   * @param code TypeScript or JavaScript
   * @returns the value, and whether the input ended in something with a value
   * @throws {SyntaxError} when the code does not parse
   * @throws whatever the code throws
   *
   * @example
   * ```ts
   * import { Evaluator } from "./evaluator.ts";
   * const ev = new Evaluator({});
   * console.assert((await ev.run("for (;;) break")).hasValue === false);
   * console.assert((await ev.run("let y = 3")).value === 3);
   * ```
   */
  async run(code: string): Promise<Evaluation> {
    if (code.trim() === "") return { value: undefined, hasValue: false };
    const compiled = compile(code);
    if (!compiled.ok) {
      const { line, column } = compiled.error.position;
      throw setLocation(compiled.error, `${this.#origin}:${line}:${column}`);
    }
    const moduleEdits = this.#moduleSyntaxEdits(compiled.program);
    const js = applyEdits(compiled.js, moduleEdits);
    const program = moduleEdits.length === 0 ? compiled.program : parse(js);
    const { body: hoisted, hasValue, edits } = this.#transform(js, program);
    const url = registerSource({
      origin: this.#origin,
      js: compiled.js,
      edits: [moduleEdits, edits],
      shift: compiled.wrapped ? 1 : 0,
    });
    const fn = new AsyncFunction(
      "__weft_scope",
      "__weft_import_meta",
      `with (__weft_scope) {${hoisted}\n${applyEdits(js, edits)}\n}\n//# sourceURL=${url}`,
    );
    return { value: await fn(this.scope, this.#importMeta), hasValue };
  }

  /**
   * Rewrites top-level declarations into assignments on the scope, in
   * place: the user's code keeps its lines and, but for the few
   * characters inserted around it, its columns, so that an error's
   * position maps back to what the user wrote (`locations.ts`).
   */
  #transform(code: string, program: AstNode): { body: string; hasValue: boolean; edits: Edit[] } {
    const edits: Edit[] = [];
    const hoisted: string[] = [];
    const statements: AstNode[] = program.body;
    let hasValue = false;
    const declaration = (stmt: AstNode, start: number, last: boolean): void => {
      // `export ` (or `export default `) before the declaration goes.
      if (start < stmt.start) edits.push({ start, end: stmt.start, text: "" });
      switch (stmt.type) {
        case "VariableDeclaration": {
          const decls: AstNode[] = stmt.declarations;
          decls.forEach((decl: AstNode, i: number) => {
            for (const name of boundNames(decl.id)) this.#declare(name);
            const returns = last && i === decls.length - 1;
            // `const a = x, b = y;` -> `(a = await (x)); return (b = await (y));`
            const before = i === 0 ? stmt.start : decls[i - 1].end;
            const open = (i === 0 ? "" : "; ") + (returns ? "return (" : "(");
            edits.push({ start: before, end: decl.start, text: open });
            if (decl.init) {
              edits.push({ start: decl.init.start, end: decl.init.start, text: "await (" });
              edits.push({ start: decl.init.end, end: decl.init.end, text: "))" });
            } else {
              edits.push({ start: decl.id.end, end: decl.id.end, text: " = undefined)" });
            }
          });
          edits.push({ start: decls[decls.length - 1].end, end: stmt.end, text: ";" });
          hasValue = last;
          break;
        }
        case "FunctionDeclaration": {
          // Stays where it is (hoisted in its block); its name goes on the scope first thing.
          this.#declare(stmt.id.name);
          hoisted.push(`__weft_scope[${JSON.stringify(stmt.id.name)}] = ${stmt.id.name};`);
          if (last) {
            edits.push({ start: stmt.end, end: stmt.end, text: ` return ${stmt.id.name};` });
          }
          hasValue = last;
          break;
        }
        case "ClassDeclaration": {
          this.#declare(stmt.id.name);
          edits.push({ start: stmt.start, end: stmt.start, text: `${stmt.id.name} = ` });
          edits.push({
            start: stmt.end,
            end: stmt.end,
            text: last ? `; return ${stmt.id.name};` : ";",
          });
          hasValue = last;
          break;
        }
      }
    };
    statements.forEach((stmt: AstNode, index: number) => {
      const last = index === statements.length - 1;
      switch (stmt.type) {
        case "VariableDeclaration":
        case "FunctionDeclaration":
        case "ClassDeclaration":
          declaration(stmt, stmt.start, last);
          break;
        case "ExpressionStatement":
          if (last) {
            const { expression } = stmt;
            // A Promise assigned at the top level is awaited, as a declaration's is.
            const assigns = expression.type === "AssignmentExpression" &&
              expression.operator === "=";
            edits.push({ start: stmt.start, end: expression.start, text: "return (" });
            if (assigns) {
              edits.push({
                start: expression.right.start,
                end: expression.right.start,
                text: "await (",
              });
              edits.push({ start: expression.right.end, end: expression.right.end, text: ")" });
            }
            edits.push({ start: expression.end, end: stmt.end, text: ");" });
            hasValue = true;
          } else if (
            stmt.expression.type === "AssignmentExpression" && stmt.expression.operator === "="
          ) {
            const right = stmt.expression.right;
            edits.push({ start: right.start, end: right.start, text: "await (" });
            edits.push({ start: right.end, end: right.end, text: ")" });
          }
          break;
        case "ImportDeclaration":
          edits.push({ start: stmt.start, end: stmt.end, text: this.#importText(code, stmt) });
          break;
        case "ExportNamedDeclaration":
          if (stmt.declaration) declaration(stmt.declaration, stmt.start, last);
          else if (stmt.source) {
            edits.push({
              start: stmt.start,
              end: stmt.end,
              text: `await import(${this.#specifier(stmt.source.value)});`,
            });
          } else edits.push({ start: stmt.start, end: stmt.end, text: "" });
          break;
        case "ExportDefaultDeclaration": {
          const decl = stmt.declaration;
          if (
            (decl.type === "FunctionDeclaration" || decl.type === "ClassDeclaration") && decl.id
          ) {
            declaration(decl, stmt.start, last);
          } else {
            edits.push({ start: stmt.start, end: decl.start, text: last ? "return (" : "(" });
            edits.push({ start: decl.end, end: stmt.end, text: ");" });
            hasValue = last;
          }
          break;
        }
        case "ExportAllDeclaration":
          edits.push({
            start: stmt.start,
            end: stmt.end,
            text: `await import(${this.#specifier(stmt.source.value)});`,
          });
          break;
      }
    });
    return { body: hoisted.join(" "), hasValue, edits: sortEdits(edits) };
  }

  /**
   * Relative `import("./x.ts")` resolves against the base, not against
   * this file; `import.meta` (a module-only syntax) becomes the object
   * given as `importMeta`.
   */
  #moduleSyntaxEdits(program: AstNode): Edit[] {
    const edits: Edit[] = [];
    walk(program, (node) => {
      if (
        node.type === "ImportExpression" && node.source.type === "Literal" &&
        typeof node.source.value === "string" && isRelative(node.source.value)
      ) {
        edits.push({
          start: node.source.start,
          end: node.source.end,
          text: this.#specifier(node.source.value),
        });
      } else if (node.type === "MetaProperty" && node.meta.name === "import") {
        edits.push({ start: node.start, end: node.end, text: "__weft_import_meta" });
      }
    });
    return sortEdits(edits);
  }

  /** `import {a, b as c} from "x"` -> `({a, b: c} = await import("x"));` */
  #importText(code: string, stmt: AstNode): string {
    const attributes = stmt.attributes?.length
      ? `, { with: { ${
        stmt.attributes.map((a: AstNode) => code.slice(a.start, a.end)).join(", ")
      } } }`
      : "";
    const load = `await import(${this.#specifier(stmt.source.value)}${attributes})`;
    if (stmt.specifiers.length === 0) return `${load};`;
    const named: string[] = [];
    let namespace: string | undefined;
    for (const s of stmt.specifiers) {
      this.#declare(s.local.name);
      if (s.type === "ImportNamespaceSpecifier") namespace = s.local.name;
      else if (s.type === "ImportDefaultSpecifier") named.push(`default: ${s.local.name}`);
      else {
        const imported = s.imported.type === "Literal"
          ? JSON.stringify(s.imported.value)
          : s.imported.name;
        named.push(imported === s.local.name ? imported : `${imported}: ${s.local.name}`);
      }
    }
    if (namespace !== undefined) {
      return named.length === 0
        ? `(${namespace} = ${load});`
        : `(${namespace} = ${load}); ({ ${named.join(", ")} } = ${namespace});`;
    }
    return `({ ${named.join(", ")} } = ${load});`;
  }

  #specifier(spec: string): string {
    return JSON.stringify(isRelative(spec) ? new URL(spec, this.#base).href : spec);
  }

  #declare(name: string): void {
    if (!(name in this.scope)) this.scope[name] = undefined;
  }
}

/** A syntax error with the 1-based line and column where parsing stopped. */
type LocatedSyntaxError = SyntaxError & { position: { line: number; column: number } };

type Compiled =
  | { ok: true; js: string; program: AstNode; wrapped: boolean }
  | { ok: false; state: "incomplete" | "invalid"; error: LocatedSyntaxError };

/** Strips types and parses; an input starting with `{` is tried as an object literal first. */
function compile(code: string): Compiled {
  if (/^\s*\{/.test(code) && !/;\s*$/.test(code)) {
    const wrapped = compileOnce(`(${code}\n)`);
    if (wrapped.ok && wrapped.program.body.length === 1) return { ...wrapped, wrapped: true };
  }
  return compileOnce(code);
}

function compileOnce(code: string): Compiled {
  let js: string;
  try {
    js = stripTypes(code);
  } catch (e) {
    // Plain JavaScript sucrase cannot handle still runs as written.
    try {
      return { ok: true, js: code, program: parse(code), wrapped: false };
    } catch {
      return failure(e as PositionedSyntaxError, code);
    }
  }
  try {
    return { ok: true, js, program: parse(js), wrapped: false };
  } catch (e) {
    return failure(e as PositionedSyntaxError, js);
  }
}

function failure(error: PositionedSyntaxError, text: string): Compiled {
  const syntax: PositionedSyntaxError = error instanceof SyntaxError
    ? error
    : new SyntaxError(String(error));
  // acorn appends "(line:column)" to its messages; the location is shown apart.
  const located = new SyntaxError(
    syntax.message.replace(/\s*\(\d+:\d+\)$/, ""),
  ) as LocatedSyntaxError & PositionedSyntaxError;
  if (syntax.pos !== undefined) located.pos = syntax.pos;
  located.position = positionOf(text, syntax.pos ?? 0);
  // Nothing of the shell's own is useful in a syntax error's stack.
  located.stack = `SyntaxError: ${located.message}`;
  return {
    ok: false,
    state: error instanceof SyntaxError && isUnexpectedEnd(syntax, text) ? "incomplete" : "invalid",
    error: located,
  };
}

function parse(code: string): AstNode {
  return acorn.parse(code, {
    ecmaVersion: "latest",
    sourceType: "script",
    allowAwaitOutsideFunction: true,
    allowReturnOutsideFunction: true,
    allowImportExportEverywhere: true,
  });
}

function isUnexpectedEnd(e: PositionedSyntaxError, code: string): boolean {
  if (/Unterminated (template|comment)/.test(e.message)) return true;
  const pos = e.pos;
  if (pos === undefined) return false;
  if (/Unexpectedly reached the end/.test(e.message)) return true;
  return pos >= code.trimEnd().length && /Unexpected token|Unexpected character/.test(e.message);
}

function isRelative(spec: string): boolean {
  return spec.startsWith("./") || spec.startsWith("../") || spec.startsWith("/");
}

function cwdUrl(): string {
  try {
    const cwd = Deno.cwd();
    return new URL(`file://${cwd.endsWith("/") ? cwd : cwd + "/"}`).href;
  } catch {
    return "file:///";
  }
}

function walk(node: AstNode, visit: (node: AstNode) => void): void {
  if (node === null || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const child of node) walk(child, visit);
    return;
  }
  if (typeof node.type !== "string") return;
  visit(node);
  for (const key in node) {
    if (key === "type" || key === "start" || key === "end") continue;
    const child = node[key];
    if (child !== null && typeof child === "object") walk(child, visit);
  }
}

function boundNames(pattern: AstNode): string[] {
  switch (pattern.type) {
    case "Identifier":
      return [pattern.name];
    case "ObjectPattern":
      return pattern.properties.flatMap((p: AstNode) =>
        boundNames(p.type === "RestElement" ? p.argument : p.value)
      );
    case "ArrayPattern":
      return pattern.elements.filter(Boolean).flatMap((p: AstNode) => boundNames(p));
    case "RestElement":
      return boundNames(pattern.argument);
    case "AssignmentPattern":
      return boundNames(pattern.left);
    default:
      return [];
  }
}
