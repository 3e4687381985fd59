/**
 * The shell's line editor as a pure state machine: a key goes in, the
 * line and cursor change, and an action comes out telling the terminal
 * side what to do (redraw, submit the line, complete, exit...). No I/O,
 * so every key binding is tested without a terminal.
 *
 * | keys                         | effect                                   |
 * |------------------------------|------------------------------------------|
 * | Left/Right, Ctrl-B/Ctrl-F    | move one character                        |
 * | Alt-B/Alt-F, Ctrl-Left/Right | move one word                             |
 * | Home/End, Ctrl-A/Ctrl-E      | start / end of line                       |
 * | Backspace, Delete            | delete before / under the cursor          |
 * | Ctrl-K, Ctrl-U               | cut to end / to start of line             |
 * | Ctrl-W, Alt-Backspace, Alt-D | cut the word before / after the cursor    |
 * | Ctrl-Y, Ctrl-T               | paste the last cut / swap two characters  |
 * | Up/Down, Ctrl-P/Ctrl-N       | walk the history (the edited line is kept)|
 * | Tab                          | complete                                  |
 * | Ctrl-C                       | clear the line; twice on an empty one: exit |
 * | Ctrl-D                       | exit on an empty line, else delete        |
 * | Ctrl-L                       | clear the screen                          |
 *
 * `renderLine` turns the state into the escape sequences that redraw the
 * prompt and line in place, wrapping over several rows when the line is
 * longer than the terminal is wide.
 *
 * @example
 * ```ts
 * import { LineEditor } from "./line_editor.ts";
 * import { KeyDecoder } from "./keys.ts";
 * const ed = new LineEditor();
 * let last;
 * for (const key of new KeyDecoder().decode("helo\x1b[Dl\r")) last = ed.handle(key);
 * console.assert(last!.type === "submit" && last!.line === "hello");
 * ```
 *
 * @module
 */

import type { History } from "./history.ts";
import type { Key } from "./keys.ts";

/** What the terminal side should do after a key. */
export type EditorAction =
  /** The line or cursor changed: redraw it. */
  | { type: "redraw" }
  /** Nothing visible changed. */
  | { type: "none" }
  /** Enter: the line is done. The editor has been reset for the next one. */
  | { type: "submit"; line: string }
  /** Ctrl-C on a line with text: the line was dropped. */
  | { type: "cancel"; line: string }
  /** Ctrl-C on an empty line: say that a second one exits. */
  | { type: "exit-hint" }
  /** Second Ctrl-C, or Ctrl-D, on an empty line. */
  | { type: "exit" }
  /** Tab: complete the text before the cursor. */
  | { type: "complete" }
  /** Ctrl-L. */
  | { type: "clear-screen" }
  /** Ctrl-Z. */
  | { type: "suspend" };

/** Options for {@linkcode LineEditor}. */
export interface LineEditorOptions {
  /** The history walked with Up and Down. */
  history?: History;
}

/**
 * The line being edited, its cursor and the history walk.
 *
 * @example
 * ```ts
 * import { LineEditor } from "./line_editor.ts";
 * const ed = new LineEditor();
 * ed.insert("Node.con");
 * ed.replace(5, "connect");
 * console.assert(ed.line === "Node.connect" && ed.cursor === 12);
 * ```
 */
export class LineEditor {
  #line = "";
  #cursor = 0;
  readonly #history: History | undefined;
  /** How far back the history walk is: 0 is the line being typed, 1 the newest entry. */
  #back = 0;
  /** The line being typed, kept while walking the history. */
  #draft = "";
  /** The last text cut by Ctrl-K/U/W, for Ctrl-Y. */
  #cut = "";
  /** A Ctrl-C on an empty line was pressed and nothing since. */
  #exitArmed = false;

  /** @param options the history to walk */
  constructor(options: LineEditorOptions = {}) {
    this.#history = options.history;
  }

  /** The text of the line. */
  get line(): string {
    return this.#line;
  }

  /** The cursor, as an offset into {@linkcode line}. */
  get cursor(): number {
    return this.#cursor;
  }

  /** The text before the cursor (what completion looks at). */
  get beforeCursor(): string {
    return this.#line.slice(0, this.#cursor);
  }

  /** Starts a fresh, empty line and a fresh history walk (and disarms Ctrl-C). */
  reset(): void {
    this.#line = "";
    this.#cursor = 0;
    this.#draft = "";
    this.#back = 0;
    this.#exitArmed = false;
  }

  /**
   * Inserts `text` at the cursor.
   *
   * @param text the characters
   */
  insert(text: string): void {
    this.#line = this.#line.slice(0, this.#cursor) + text + this.#line.slice(this.#cursor);
    this.#cursor += text.length;
  }

  /**
   * Replaces the text from `start` to the cursor with `text` (completion).
   *
   * @param start an offset at or before the cursor
   * @param text what goes there
   * @throws {RangeError} when `start` is not between 0 and the cursor
   */
  replace(start: number, text: string): void {
    if (!Number.isInteger(start) || start < 0 || start > this.#cursor) {
      throw new RangeError(
        `Cannot replace text: start must be 0-${this.#cursor}, received ${start}`,
      );
    }
    this.#line = this.#line.slice(0, start) + text + this.#line.slice(this.#cursor);
    this.#cursor = start + text.length;
  }

  /**
   * Applies one key.
   *
   * @param key a key from `KeyDecoder`
   * @returns what the terminal side should do
   */
  handle(key: Key): EditorAction {
    const armed = this.#exitArmed;
    this.#exitArmed = false;
    switch (key.name) {
      case "text":
        this.insert(key.text ?? "");
        return REDRAW;
      case "enter": {
        const line = this.#line;
        this.reset();
        return { type: "submit", line };
      }
      case "tab":
        return { type: "complete" };
      case "ctrl-c": {
        if (this.#line !== "") {
          const line = this.#line;
          this.reset();
          return { type: "cancel", line };
        }
        if (armed) return { type: "exit" };
        this.#exitArmed = true;
        return { type: "exit-hint" };
      }
      case "ctrl-d":
        if (this.#line === "") return { type: "exit" };
        return this.#deleteForward();
      case "backspace":
        if (this.#cursor === 0) return NONE;
        this.#remove(prevBoundary(this.#line, this.#cursor), this.#cursor);
        return REDRAW;
      case "delete":
        return this.#deleteForward();
      case "left":
      case "ctrl-b":
        return this.#moveTo(prevBoundary(this.#line, this.#cursor));
      case "right":
      case "ctrl-f":
        return this.#moveTo(nextBoundary(this.#line, this.#cursor));
      case "home":
      case "ctrl-a":
        return this.#moveTo(0);
      case "end":
      case "ctrl-e":
        return this.#moveTo(this.#line.length);
      case "word-left":
        return this.#moveTo(wordStart(this.#line, this.#cursor));
      case "word-right":
        return this.#moveTo(wordEnd(this.#line, this.#cursor));
      case "ctrl-k":
        return this.#cutRange(this.#cursor, this.#line.length);
      case "ctrl-u":
        return this.#cutRange(0, this.#cursor);
      case "ctrl-w": {
        // As readline's unix-word-rubout: back to the previous whitespace.
        let start = this.#cursor;
        while (start > 0 && /\s/.test(this.#line[start - 1]!)) start--;
        while (start > 0 && !/\s/.test(this.#line[start - 1]!)) start--;
        return this.#cutRange(start, this.#cursor);
      }
      case "word-backspace":
        return this.#cutRange(wordStart(this.#line, this.#cursor), this.#cursor);
      case "word-delete":
        return this.#cutRange(this.#cursor, wordEnd(this.#line, this.#cursor));
      case "ctrl-y":
        if (this.#cut === "") return NONE;
        this.insert(this.#cut);
        return REDRAW;
      case "ctrl-t": {
        if (this.#cursor === 0 || this.#line.length < 2) return NONE;
        const at = this.#cursor === this.#line.length ? this.#cursor - 1 : this.#cursor;
        const a = this.#line[at - 1]!;
        const b = this.#line[at]!;
        this.#line = this.#line.slice(0, at - 1) + b + a + this.#line.slice(at + 1);
        this.#cursor = at + 1;
        return REDRAW;
      }
      case "up":
      case "ctrl-p":
        return this.#walk(-1);
      case "down":
      case "ctrl-n":
        return this.#walk(1);
      case "ctrl-l":
        return { type: "clear-screen" };
      case "ctrl-z":
        return { type: "suspend" };
      case "escape":
      case "unknown":
        return NONE;
    }
  }

  #moveTo(position: number): EditorAction {
    if (position === this.#cursor) return NONE;
    this.#cursor = position;
    return REDRAW;
  }

  #deleteForward(): EditorAction {
    if (this.#cursor >= this.#line.length) return NONE;
    this.#remove(this.#cursor, nextBoundary(this.#line, this.#cursor));
    return REDRAW;
  }

  #remove(start: number, end: number): void {
    this.#line = this.#line.slice(0, start) + this.#line.slice(end);
    this.#cursor = start;
  }

  #cutRange(start: number, end: number): EditorAction {
    if (start === end) return NONE;
    this.#cut = this.#line.slice(start, end);
    this.#remove(start, end);
    return REDRAW;
  }

  #walk(step: -1 | 1): EditorAction {
    const entries = this.#history?.entries ?? [];
    const target = this.#back - step;
    if (target < 0 || target > entries.length) return NONE;
    if (this.#back === 0) this.#draft = this.#line;
    this.#back = target;
    this.#line = target === 0 ? this.#draft : entries[entries.length - target]!;
    this.#cursor = this.#line.length;
    return REDRAW;
  }
}

const REDRAW: EditorAction = { type: "redraw" };
const NONE: EditorAction = { type: "none" };

/** The offset of the character before `i`, stepping over surrogate pairs. */
function prevBoundary(text: string, i: number): number {
  if (i <= 0) return 0;
  const low = text.charCodeAt(i - 1);
  if (i >= 2 && low >= 0xdc00 && low <= 0xdfff) {
    const high = text.charCodeAt(i - 2);
    if (high >= 0xd800 && high <= 0xdbff) return i - 2;
  }
  return i - 1;
}

/** The offset after the character at `i`, stepping over surrogate pairs. */
function nextBoundary(text: string, i: number): number {
  if (i >= text.length) return text.length;
  const high = text.charCodeAt(i);
  if (high >= 0xd800 && high <= 0xdbff && i + 1 < text.length) return i + 2;
  return i + 1;
}

const WORD = /[\p{L}\p{N}_$]/u;

function wordStart(text: string, i: number): number {
  let j = i;
  while (j > 0 && !WORD.test(text[j - 1]!)) j--;
  while (j > 0 && WORD.test(text[j - 1]!)) j--;
  return j;
}

function wordEnd(text: string, i: number): number {
  let j = i;
  while (j < text.length && !WORD.test(text[j]!)) j++;
  while (j < text.length && WORD.test(text[j]!)) j++;
  return j;
}

/** How a drawn line sits on the screen, to redraw or clear it later. */
export interface DrawnLine {
  /** Rows the prompt and line took. */
  rows: number;
  /** The row (from the first, 0-based) the cursor was left on. */
  cursorRow: number;
}

/** Nothing drawn yet. */
export const NOTHING_DRAWN: DrawnLine = { rows: 1, cursorRow: 0 };

/**
 * The escape sequences that take the cursor back to the first row of a
 * drawn line and erase it, leaving the cursor at column 0 of that row.
 *
 * @param drawn what was drawn
 * @returns the sequences to write
 *
 * @example
 * ```ts
 * import { clearLine } from "./line_editor.ts";
 * console.assert(clearLine({ rows: 1, cursorRow: 0 }) === "\r\x1b[J");
 * ```
 */
export function clearLine(drawn: DrawnLine): string {
  return (drawn.cursorRow > 0 ? `\x1b[${drawn.cursorRow}A` : "") + "\r\x1b[J";
}

/**
 * Redraws `prompt` and `line` in place of what was drawn before, with the
 * cursor at `cursor`, wrapping at `columns`.
 *
 * @param prompt the prompt (no escape sequences)
 * @param line the text being edited
 * @param cursor the cursor offset into `line`
 * @param columns the terminal's width
 * @param drawn what was drawn before (`NOTHING_DRAWN` the first time)
 * @returns the sequences to write and the new layout
 *
 * @example
 * ```ts
 * import { NOTHING_DRAWN, renderLine } from "./line_editor.ts";
 * const r = renderLine("> ", "abc", 1, 80, NOTHING_DRAWN);
 * console.assert(r.output === "\r\x1b[J> abc\r\x1b[3C" && r.drawn.rows === 1);
 * ```
 */
export function renderLine(
  prompt: string,
  line: string,
  cursor: number,
  columns: number,
  drawn: DrawnLine,
): { output: string; drawn: DrawnLine } {
  const cols = Math.max(1, Math.floor(columns));
  const promptWidth = displayWidth(prompt);
  const total = promptWidth + displayWidth(line);
  const at = promptWidth + displayWidth(line.slice(0, cursor));
  let output = clearLine(drawn) + prompt + line;
  // A line that ends exactly at the right margin leaves the terminal in a
  // pending wrap; move to the next row so the cursor can be placed there.
  let endRow = Math.floor(Math.max(total - 1, 0) / cols);
  if (total > 0 && total % cols === 0) {
    output += "\r\n";
    endRow++;
  }
  const cursorRow = Math.floor(at / cols);
  const cursorCol = at % cols;
  if (endRow > cursorRow) output += `\x1b[${endRow - cursorRow}A`;
  output += "\r" + (cursorCol > 0 ? `\x1b[${cursorCol}C` : "");
  return { output, drawn: { rows: endRow + 1, cursorRow } };
}

/**
 * Columns `text` takes on a terminal: East Asian wide characters and
 * emoji take two, combining marks and zero-width characters none.
 *
 * @param text the text (no escape sequences)
 * @returns its width in columns
 *
 * @example
 * ```ts
 * import { displayWidth } from "./line_editor.ts";
 * console.assert(displayWidth("ab") === 2 && displayWidth("日本") === 4);
 * ```
 */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (/\p{Mn}|\p{Me}|\p{Cf}/u.test(ch)) continue;
    width += isWide(code) ? 2 : 1;
  }
  return width;
}

function isWide(code: number): boolean {
  return (code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) || (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) || (code >= 0x1f300 && code <= 0x1faff) ||
    (code >= 0x20000 && code <= 0x3fffd);
}
