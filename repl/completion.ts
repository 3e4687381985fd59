/**
 * Tab completion for the shell: bound names and globals (`No` -> `Node`),
 * members of namespaces and values (`Node.con` -> `Node.connect`,
 * `pid.` -> the pid's members). Pure: it reads the scope object, never
 * calls a getter and never runs code.
 *
 * @example
 * ```ts
 * import { complete } from "./completion.ts";
 * const scope = { Node: { connect() {}, list() {} } };
 * const c = complete(scope, "Node.con");
 * console.assert(c.start === 5 && c.candidates[0] === "connect");
 * ```
 *
 * @module
 */

/** The outcome of {@linkcode complete}. */
export interface Completion {
  /** Offset in the text where the completed word starts. */
  start: number;
  /** Whole words that may replace the text from `start`, sorted. */
  candidates: string[];
}

const KEYWORDS = [
  "await",
  "async",
  "break",
  "case",
  "catch",
  "class",
  "const",
  "continue",
  "delete",
  "do",
  "else",
  "false",
  "finally",
  "for",
  "function",
  "if",
  "import",
  "in",
  "instanceof",
  "let",
  "new",
  "null",
  "of",
  "return",
  "switch",
  "this",
  "throw",
  "true",
  "try",
  "typeof",
  "undefined",
  "var",
  "void",
  "while",
  "yield",
];

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const HIDDEN_MEMBERS = new Set(["constructor", "caller", "callee", "arguments"]);

/**
 * Completes the word that ends `text` (the line up to the cursor).
 *
 * @param scope the shell's bindings
 * @param text the text before the cursor
 * @returns where the word starts and what may replace it
 *
 * @example
 * ```ts
 * import { complete } from "./completion.ts";
 * console.assert(complete({ spawn() {} }, "const p = spa").candidates.includes("spawn"));
 * console.assert(complete({}, "'Node.con").candidates.length === 0); // inside a string
 * ```
 */
export function complete(scope: Record<string, unknown>, text: string): Completion {
  const none = { start: text.length, candidates: [] };
  if (insideStringOrComment(text)) return none;
  const token = /[\w$.]*$/.exec(text)![0];
  const start = text.length - token.length;
  if (/^\d/.test(token) || token.startsWith(".")) return none;
  // `f().x`, `a[0].x`: the object is the result of code, which we do not run.
  if (start > 0 && /[)\]'"`]/.test(text[start - 1]!)) return none;
  const parts = token.split(".");
  const prefix = parts.pop()!;
  if (parts.some((p) => !IDENTIFIER.test(p))) return none;
  if (parts.length === 0) {
    return { start, candidates: matching(topLevelNames(scope), prefix) };
  }
  const [head, ...rest] = parts;
  let value: unknown = head! in scope
    ? dataProperty(scope, head!)
    : dataProperty(globalThis, head!);
  for (const part of rest) value = dataProperty(value, part);
  if (value === undefined || value === null) return none;
  return { start: text.length - prefix.length, candidates: matching(memberNames(value), prefix) };
}

/**
 * The longest text every candidate starts with.
 *
 * @param candidates words
 * @returns their common prefix (`""` for none)
 *
 * @example
 * ```ts
 * import { commonPrefix } from "./completion.ts";
 * console.assert(commonPrefix(["spawn", "spawnLink", "spawnMonitor"]) === "spawn");
 * ```
 */
export function commonPrefix(candidates: readonly string[]): string {
  if (candidates.length === 0) return "";
  let prefix = candidates[0]!;
  for (const c of candidates) {
    let i = 0;
    while (i < prefix.length && i < c.length && prefix[i] === c[i]) i++;
    prefix = prefix.slice(0, i);
  }
  return prefix;
}

/**
 * Lays `words` out in columns no wider than `width`, as shells list
 * completions.
 *
 * @param words the words
 * @param width the terminal's width
 * @returns the lines, each without a newline
 *
 * @example
 * ```ts
 * import { formatColumns } from "./completion.ts";
 * console.assert(formatColumns(["a", "bb", "c"], 80).length === 1);
 * ```
 */
export function formatColumns(words: readonly string[], width: number): string[] {
  if (words.length === 0) return [];
  const cell = Math.max(...words.map((w) => w.length)) + 2;
  const perRow = Math.max(1, Math.floor(width / cell));
  const rows = Math.ceil(words.length / perRow);
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) {
    let line = "";
    for (let c = 0; c < perRow; c++) {
      const word = words[c * rows + r];
      if (word !== undefined) line += word.padEnd(cell);
    }
    lines.push(line.trimEnd());
  }
  return lines;
}

function matching(names: Iterable<string>, prefix: string): string[] {
  const out = new Set<string>();
  for (const name of names) {
    if (name.startsWith(prefix) && IDENTIFIER.test(name) && !name.startsWith("__weft")) {
      out.add(name);
    }
  }
  return [...out].sort(byShellOrder);
}

/** Names before `_names` and `$names`, then alphabetical. */
function byShellOrder(a: string, b: string): number {
  const ka = /^[_$]/.test(a) ? 1 : 0;
  const kb = /^[_$]/.test(b) ? 1 : 0;
  return ka - kb || (a < b ? -1 : a > b ? 1 : 0);
}

function topLevelNames(scope: Record<string, unknown>): string[] {
  return [
    ...Object.keys(scope),
    ...Object.getOwnPropertyNames(globalThis),
    ...KEYWORDS,
  ];
}

function memberNames(value: unknown): string[] {
  const names: string[] = [];
  let object: unknown = typeof value === "object" || typeof value === "function"
    ? value
    : Object(value);
  const stopAt = new Set<unknown>([Object.prototype, Function.prototype]);
  for (let depth = 0; object !== null && !stopAt.has(object) && depth < 10; depth++) {
    for (const name of Object.getOwnPropertyNames(object)) {
      if (!HIDDEN_MEMBERS.has(name)) names.push(name);
    }
    object = Object.getPrototypeOf(object);
  }
  if (typeof value === "function") {
    return names.filter((n) => !["length", "name", "prototype"].includes(n));
  }
  return names;
}

/** A property's value when it is plain data; `undefined` for getters or anything else. */
function dataProperty(object: unknown, name: string): unknown {
  if (object === null || object === undefined) return undefined;
  let o: unknown = typeof object === "object" || typeof object === "function"
    ? object
    : Object(object);
  for (let depth = 0; o !== null && depth < 20; depth++) {
    let desc: PropertyDescriptor | undefined;
    try {
      desc = Object.getOwnPropertyDescriptor(o, name);
    } catch {
      return undefined; // a Proxy that refuses
    }
    if (desc !== undefined) return "value" in desc ? desc.value : undefined;
    o = Object.getPrototypeOf(o);
  }
  return undefined;
}

function insideStringOrComment(text: string): boolean {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== undefined) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "/" && text[i + 1] === "/") return true;
    if (ch === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end === -1) return true;
      i = end + 1;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === "`") quote = ch;
  }
  return quote !== undefined;
}
