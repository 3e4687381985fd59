/**
 * Evaluates shell input the way an interactive user expects: top-level
 * `await`, the value of the last expression as the result, and bindings
 * (`const pid = spawn(...)`) that persist from one input to the next.
 *
 * Input is parsed with acorn. Top-level declarations are rewritten into
 * assignments on a persistent scope object, the last expression statement
 * becomes the return value, and the whole runs as an async function inside
 * `with (scope)`, so names resolve to the shell's bindings first and to
 * globals after.
 *
 * @example
 * ```ts
 * import { Evaluator } from "./evaluator.ts";
 * const ev = new Evaluator({ answer: 42 });
 * await ev.evaluate("const x = answer + 1");
 * console.assert((await ev.evaluate("await Promise.resolve(x * 2)")) === 86);
 * ```
 *
 * @module
 */

import * as acorn from "acorn";

// deno-lint-ignore no-explicit-any
type Node = any;

const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor as new (
  ...args: string[]
) => (scope: Record<string, unknown>) => Promise<unknown>;

/** The result of {@linkcode Evaluator.check}: whether input is complete. */
export type InputState = "complete" | "incomplete" | "invalid";

/**
 * A persistent evaluation scope.
 *
 * @example
 * ```ts
 * import { Evaluator } from "./evaluator.ts";
 * const ev = new Evaluator({});
 * console.assert(ev.check("[1,") === "incomplete");
 * ```
 */
export class Evaluator {
  /** The bindings visible to evaluated code; new top-level names land here. */
  readonly scope: Record<string, unknown>;

  /** @param scope initial bindings (the shell's namespaces and helpers) */
  constructor(scope: Record<string, unknown>) {
    this.scope = scope;
  }

  /**
   * Tells whether `code` is a complete input, needs more lines (an
   * unfinished expression, an open bracket or string), or is invalid.
   */
  check(code: string): InputState {
    try {
      parse(code);
      return "complete";
    } catch (e) {
      if (e instanceof SyntaxError && isUnexpectedEnd(e, code)) return "incomplete";
      return "invalid";
    }
  }

  /**
   * Runs `code` and resolves to the value of its last expression
   * (`undefined` when it ends in a declaration or statement).
   *
   * @throws {SyntaxError} when the code does not parse
   * @throws whatever the code throws
   */
  async evaluate(code: string): Promise<unknown> {
    const body = this.#transform(code);
    const fn = new AsyncFunction("__weft_scope", `with (__weft_scope) {\n${body}\n}`);
    return await fn(this.scope);
  }

  #transform(code: string): string {
    const program = parse(code);
    const edits: { start: number; end: number; text: string }[] = [];
    const hoisted: string[] = [];
    const statements: Node[] = program.body;
    statements.forEach((stmt: Node, index: number) => {
      const last = index === statements.length - 1;
      switch (stmt.type) {
        case "VariableDeclaration": {
          const parts: string[] = [];
          for (const decl of stmt.declarations) {
            for (const name of boundNames(decl.id)) this.#declare(name);
            const target = code.slice(decl.id.start, decl.id.end);
            const init = decl.init ? code.slice(decl.init.start, decl.init.end) : "undefined";
            parts.push(`(${target} = ${init});`);
          }
          edits.push({ start: stmt.start, end: stmt.end, text: parts.join(" ") });
          break;
        }
        case "FunctionDeclaration": {
          this.#declare(stmt.id.name);
          hoisted.push(`${stmt.id.name} = ${code.slice(stmt.start, stmt.end)};`);
          edits.push({ start: stmt.start, end: stmt.end, text: "" });
          break;
        }
        case "ClassDeclaration": {
          this.#declare(stmt.id.name);
          edits.push({
            start: stmt.start,
            end: stmt.end,
            text: `${stmt.id.name} = ${code.slice(stmt.start, stmt.end)};`,
          });
          break;
        }
        case "ExpressionStatement": {
          if (last) {
            edits.push({
              start: stmt.start,
              end: stmt.end,
              text: `return (${code.slice(stmt.expression.start, stmt.expression.end)});`,
            });
          }
          break;
        }
        case "ImportDeclaration":
          throw new SyntaxError(
            'Cannot use import statements here: use `await import("...")` instead',
          );
      }
    });
    let out = code;
    for (const edit of edits.sort((a, b) => b.start - a.start)) {
      out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
    }
    return hoisted.join("\n") + "\n" + out;
  }

  #declare(name: string): void {
    if (!(name in this.scope)) this.scope[name] = undefined;
  }
}

function parse(code: string): Node {
  return acorn.parse(code, {
    ecmaVersion: "latest",
    sourceType: "script",
    allowAwaitOutsideFunction: true,
    allowReturnOutsideFunction: true,
  });
}

function isUnexpectedEnd(e: SyntaxError, code: string): boolean {
  const pos = (e as SyntaxError & { pos?: number }).pos;
  if (pos === undefined) return false;
  if (/Unterminated (string|template|comment)/.test(e.message)) return true;
  return pos >= code.trimEnd().length && /Unexpected token|Unexpected character/.test(e.message);
}

function boundNames(pattern: Node): string[] {
  switch (pattern.type) {
    case "Identifier":
      return [pattern.name];
    case "ObjectPattern":
      return pattern.properties.flatMap((p: Node) =>
        boundNames(p.type === "RestElement" ? p.argument : p.value)
      );
    case "ArrayPattern":
      return pattern.elements.filter(Boolean).flatMap((p: Node) => boundNames(p));
    case "RestElement":
      return boundNames(pattern.argument);
    case "AssignmentPattern":
      return boundNames(pattern.left);
    default:
      return [];
  }
}
