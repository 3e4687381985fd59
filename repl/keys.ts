/**
 * Turns the bytes a terminal sends in raw mode into key presses: text,
 * control keys (`Ctrl-A` is byte 1), and escape sequences for arrows,
 * Home/End, Delete and word moves (`ESC [ D`, `ESC O H`, `ESC [ 3 ~`,
 * `ESC [ 1 ; 5 D`, `ESC b`...). Pure: no terminal I/O, so the line editor
 * can be tested with plain strings.
 *
 * An escape sequence cut between two reads is kept until the rest arrives.
 *
 * @example
 * ```ts
 * import { KeyDecoder } from "./keys.ts";
 * const keys = new KeyDecoder().decode("ab\x1b[D\x01\r");
 * console.assert(keys.map((k) => k.name).join() === "text,left,ctrl-a,enter");
 * ```
 *
 * @module
 */

/** The name of a key the line editor knows. */
export type KeyName =
  | "text"
  | "enter"
  | "tab"
  | "backspace"
  | "delete"
  | "left"
  | "right"
  | "up"
  | "down"
  | "home"
  | "end"
  | "word-left"
  | "word-right"
  | "word-backspace"
  | "word-delete"
  | "escape"
  | "ctrl-a"
  | "ctrl-b"
  | "ctrl-c"
  | "ctrl-d"
  | "ctrl-e"
  | "ctrl-f"
  | "ctrl-k"
  | "ctrl-l"
  | "ctrl-n"
  | "ctrl-p"
  | "ctrl-t"
  | "ctrl-u"
  | "ctrl-w"
  | "ctrl-y"
  | "ctrl-z"
  | "unknown";

/** One key press; `text` holds the characters of a `"text"` key. */
export interface Key {
  /** Which key. */
  name: KeyName;
  /** The typed (or pasted) characters, for `"text"`. */
  text?: string;
}

const CONTROL: Record<number, KeyName> = {
  0x01: "ctrl-a",
  0x02: "ctrl-b",
  0x03: "ctrl-c",
  0x04: "ctrl-d",
  0x05: "ctrl-e",
  0x06: "ctrl-f",
  0x08: "backspace",
  0x09: "tab",
  0x0a: "enter",
  0x0b: "ctrl-k",
  0x0c: "ctrl-l",
  0x0d: "enter",
  0x0e: "ctrl-n",
  0x10: "ctrl-p",
  0x14: "ctrl-t",
  0x15: "ctrl-u",
  0x17: "ctrl-w",
  0x19: "ctrl-y",
  0x1a: "ctrl-z",
  0x7f: "backspace",
};

/** Final byte of `ESC [ ...` / `ESC O ...` without parameters. */
const CSI_FINAL: Record<string, KeyName> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
};

/** `ESC [ n ~` */
const CSI_TILDE: Record<string, KeyName> = {
  "1": "home",
  "7": "home",
  "4": "end",
  "8": "end",
  "3": "delete",
};

/**
 * A stateful decoder: feed it what the terminal sent, get the keys.
 *
 * @example
 * ```ts
 * import { KeyDecoder } from "./keys.ts";
 * const d = new KeyDecoder();
 * console.assert(d.decode("\x1b[").length === 0); // waits for the rest
 * console.assert(d.decode("A")[0]!.name === "up");
 * ```
 */
export class KeyDecoder {
  #pending = "";

  /**
   * Decodes `chunk` (already UTF-8 decoded) into key presses. Runs of
   * printable characters come out as one `"text"` key, so a paste is one
   * insertion.
   *
   * @param chunk characters read from the terminal
   * @returns the keys, in order
   */
  decode(chunk: string): Key[] {
    const input = this.#pending + chunk;
    this.#pending = "";
    const keys: Key[] = [];
    let text = "";
    const flushText = () => {
      if (text !== "") keys.push({ name: "text", text });
      text = "";
    };
    let i = 0;
    while (i < input.length) {
      const code = input.charCodeAt(i);
      if (code === 0x1b) {
        flushText();
        const parsed = parseEscape(input, i);
        if (parsed === "partial") {
          this.#pending = input.slice(i);
          break;
        }
        keys.push({ name: parsed.name });
        i = parsed.next;
        continue;
      }
      if (code < 0x20 || code === 0x7f) {
        flushText();
        // A pasted "\r\n" is one Enter.
        if (code === 0x0d && input.charCodeAt(i + 1) === 0x0a) i++;
        keys.push({ name: CONTROL[code] ?? "unknown" });
        i++;
        continue;
      }
      text += input[i];
      i++;
    }
    flushText();
    return keys;
  }

  /** Whether the start of an escape sequence waits for the rest. */
  get waiting(): boolean {
    return this.#pending !== "";
  }

  /**
   * Ends a lone `ESC` left pending (the user pressed Escape and nothing
   * followed): returns it as an `"escape"` key.
   */
  flush(): Key[] {
    if (this.#pending === "") return [];
    this.#pending = "";
    return [{ name: "escape" }];
  }
}

function parseEscape(input: string, at: number): { name: KeyName; next: number } | "partial" {
  const next = input[at + 1];
  if (next === undefined) return "partial";
  if (next === "[" || next === "O") {
    // CSI: parameters (digits and ';') then one final byte.
    let j = at + 2;
    while (j < input.length && /[0-9;]/.test(input[j]!)) j++;
    if (j >= input.length) return "partial";
    const params = input.slice(at + 2, j);
    const final = input[j]!;
    const end = j + 1;
    if (final === "~") return { name: CSI_TILDE[params.split(";")[0]!] ?? "unknown", next: end };
    const base = CSI_FINAL[final];
    if (base === undefined) return { name: "unknown", next: end };
    // Ctrl/Alt + arrow: `ESC [ 1 ; 5 D`, `ESC [ 1 ; 3 C`.
    const modifier = params.split(";")[1];
    if (modifier === "5" || modifier === "3") {
      if (base === "left") return { name: "word-left", next: end };
      if (base === "right") return { name: "word-right", next: end };
    }
    return { name: base, next: end };
  }
  // Alt (Meta) + key: ESC followed by the key.
  switch (next) {
    case "b":
      return { name: "word-left", next: at + 2 };
    case "f":
      return { name: "word-right", next: at + 2 };
    case "d":
      return { name: "word-delete", next: at + 2 };
    case "\x7f":
    case "\x08":
      return { name: "word-backspace", next: at + 2 };
    case "\x1b":
      return { name: "escape", next: at + 1 };
    default:
      return { name: "escape", next: at + 1 };
  }
}
