/**
 * Where an error happened, in the terms of the code the user wrote: the
 * script's `file:line:column`, `--eval:1:7` or `input:2:5` for what was
 * typed at the prompt, rather than a position in the rewritten function
 * the evaluator actually runs, among frames of the shell's own files.
 *
 * ```
 * evaluator: code --strip types--> js --edits--> out
 *            runs out as `new AsyncFunction(...)` named by a sourceURL
 *            registerSource(origin, js, edits) -> "weft-eval-7"
 * error.stack frame "(weft-eval-7, <anonymous>:4:22)"
 *            -> line 4 of the function = line 1 of out, column 22
 *            -> back through the edits -> offset in js -> "deploy.ts:1:19"
 * ```
 *
 * The evaluator keeps the user's lines in place (it only inserts a few
 * characters around what it rewrites), so a line maps exactly and a
 * column maps through the edits; TypeScript annotations removed earlier on
 * the same line may move a column by their width.
 *
 * Sources are kept by sourceURL for the process's lifetime (the last
 * 2000), since a function defined in one input may throw in a later one.
 *
 * @example
 * ```ts
 * import { applyEdits, locateError, registerSource } from "./locations.ts";
 * const js = "const x = 1;\nnull.boom;";
 * const edits = [{ start: 0, end: 5, text: "let" }];
 * const url = registerSource({ origin: "demo.ts", js, edits: [edits] });
 * const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
 * const fn = new AsyncFunction(`{\n${applyEdits(js, edits)}\n}\n//# sourceURL=${url}`);
 * const error = await fn().catch((e: Error) => e);
 * console.assert(locateError(error) === "demo.ts:2:6");
 * ```
 *
 * @module
 */

/** One replacement in a text: `text` in place of `[start, end)`. */
export interface Edit {
  /** Where the replaced part starts (offset in the text before the edit). */
  start: number;
  /** Where it ends (`start` for an insertion). */
  end: number;
  /** What takes its place. */
  text: string;
}

/** What {@linkcode registerSource} records about one evaluated input. */
export interface SourceInfo {
  /** The name shown to the user: a script's path, `--eval`, `input`. */
  origin: string;
  /** The JavaScript the user's code became (lines as the user wrote them). */
  js: string;
  /** The edits from `js` to the function body, in the order they were applied. */
  edits: Edit[][];
  /** Characters before the user's first character on line 1 of `js` (1 when it was wrapped in `(`). */
  shift?: number;
}

/** Lines of the generated function before the body's first line (`async function anonymous(...`, `) {`, `with (...) {`). */
const HEADER_LINES = 3;
const KEEP = 2000;
const SOURCES = new Map<string, SourceInfo>();
const LOCATED = new WeakMap<object, string>();
let counter = 0;

/** Weft's own code: frames there are the shell's and the runtime's, not the user's. */
const WEFT_CODE = ["src/", "repl/", "cli/", "main.ts"].map((p) =>
  new URL(`../${p}`, import.meta.url).href
);

/**
 * Records an input about to be run; returns the sourceURL to name its
 * function with (`//# sourceURL=...`).
 *
 * @param info the input's origin, JavaScript and edits
 * @returns the sourceURL
 */
export function registerSource(info: SourceInfo): string {
  const url = `weft-eval-${++counter}`;
  SOURCES.set(url, info);
  if (SOURCES.size > KEEP) SOURCES.delete(SOURCES.keys().next().value!);
  return url;
}

/**
 * Applies edits (sorted, not overlapping) to `text`.
 *
 * @param text the text
 * @param edits the edits, by `start`
 * @returns the edited text
 *
 * @example
 * ```ts
 * import { applyEdits } from "./locations.ts";
 * console.assert(applyEdits("const a = 1", [{ start: 0, end: 6, text: "(" }, { start: 11, end: 11, text: ")" }]) === "(a = 1)");
 * ```
 */
export function applyEdits(text: string, edits: readonly Edit[]): string {
  let out = "";
  let pos = 0;
  for (const edit of edits) {
    out += text.slice(pos, edit.start) + edit.text;
    pos = edit.end;
  }
  return out + text.slice(pos);
}

/**
 * Sorts edits by position; at one offset an insertion comes before a
 * replacement that starts there.
 *
 * @param edits the edits
 * @returns a sorted copy
 */
export function sortEdits(edits: readonly Edit[]): Edit[] {
  return [...edits].sort((a, b) => a.start - b.start || (a.end - a.start) - (b.end - b.start));
}

/**
 * Marks `error` as having happened at `location` (a syntax error found
 * before anything ran).
 *
 * @param error the error
 * @param location `file:line:column`
 * @returns the error
 */
export function setLocation<E extends object>(error: E, location: string): E {
  LOCATED.set(error, location);
  return error;
}

/**
 * The `file:line:column` of the user's code where `error` was thrown: the
 * first frame of its stack in evaluated input or in a file outside Weft.
 *
 * @param error anything thrown
 * @returns the location, or `undefined` when no frame is the user's
 */
export function locateError(error: unknown): string | undefined {
  if (error === null || typeof error !== "object") return undefined;
  const known = LOCATED.get(error);
  if (known !== undefined) return known;
  const stack = (error as { stack?: unknown }).stack;
  if (typeof stack !== "string") return undefined;
  for (const line of stack.split("\n")) {
    const where = userFrame(line);
    if (where !== undefined) return where;
  }
  return undefined;
}

/**
 * A stack with the shell's own frames left out and evaluated code's frames
 * given as the user's positions: what the shell prints for an error value
 * or in a crash report. Lines that are not frames stay as they are.
 *
 * @param stack an `error.stack`, or text with stacks in it (a log line)
 * @returns the same stack, the user's frames only
 *
 * @example
 * ```ts
 * import { userStack } from "./locations.ts";
 * console.assert(userStack("Error: x\n    at ext:core/01_core.js:1:1") === "Error: x");
 * ```
 */
export function userStack(stack: string): string {
  const lines = stack.split("\n");
  const firstFrame = lines.findIndex((l) => /^\s+at /.test(l));
  if (firstFrame < 0) return stack;
  const kept = lines.slice(firstFrame).flatMap((line) => {
    if (!/^\s+at /.test(line)) return [line];
    const where = userFrame(line);
    if (where === undefined) return [];
    const name = line.match(/^\s+at (?:async )?(.*?) \(/)?.[1];
    return [name && name !== "eval" ? `    at ${name} (${where})` : `    at ${where}`];
  });
  return [...lines.slice(0, firstFrame), ...kept].join("\n");
}

/** The user's `file:line:column` of one stack line, or `undefined` for the shell's own. */
function userFrame(line: string): string | undefined {
  const frame = line.match(/^\s+at (?:.*\()?(.*?):(\d+):(\d+)\)?$/);
  if (frame === null) return undefined;
  const [, file, l, c] = frame as unknown as [string, string, string, string];
  const evaluated = file.match(/^(weft-eval-\d+), <anonymous>$/);
  if (evaluated !== null) return mapEvaluated(evaluated[1]!, Number(l), Number(c));
  if (file.includes("<anonymous>") || file.startsWith("ext:") || file.startsWith("node:")) {
    return undefined;
  }
  if (WEFT_CODE.some((prefix) => file.startsWith(prefix))) return undefined;
  return `${displayPath(file)}:${l}:${c}`;
}

function mapEvaluated(url: string, line: number, column: number): string | undefined {
  const source = SOURCES.get(url);
  if (source === undefined) return undefined;
  const generated = source.edits.reduce((text, edits) => applyEdits(text, edits), source.js);
  let offset = offsetOf(generated, line - HEADER_LINES, column);
  if (offset === undefined) return undefined;
  for (let i = source.edits.length - 1; i >= 0; i--) offset = mapBack(source.edits[i]!, offset);
  const at = positionOf(source.js, offset);
  const shift = at.line === 1 ? source.shift ?? 0 : 0;
  return `${source.origin}:${at.line}:${Math.max(1, at.column - shift)}`;
}

/** An offset in the text before `edits` for an offset in the text after them. */
function mapBack(edits: readonly Edit[], offset: number): number {
  let delta = 0;
  for (const edit of edits) {
    const start = edit.start + delta;
    if (offset < start) break;
    const end = start + edit.text.length;
    if (offset < end) return edit.start;
    delta += edit.text.length - (edit.end - edit.start);
  }
  return offset - delta;
}

function offsetOf(text: string, line: number, column: number): number | undefined {
  if (line < 1) return undefined;
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = text.indexOf("\n", offset);
    if (next < 0) return undefined;
    offset = next + 1;
  }
  return offset + column - 1;
}

/**
 * The 1-based line and column of `offset` in `text`.
 *
 * @param text the text
 * @param offset an offset into it
 * @returns line and column
 */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split("\n").length;
  return { line, column: offset - (before.lastIndexOf("\n") + 1) + 1 };
}

function displayPath(file: string): string {
  if (!file.startsWith("file://")) return file;
  const path = decodeURIComponent(new URL(file).pathname);
  let cwd: string;
  try {
    cwd = Deno.cwd();
  } catch {
    return path;
  }
  return path.startsWith(cwd + "/") ? path.slice(cwd.length + 1) : path;
}
