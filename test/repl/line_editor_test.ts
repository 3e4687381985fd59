import assert from "node:assert/strict";
import { History } from "../../repl/history.ts";
import { KeyDecoder } from "../../repl/keys.ts";
import {
  clearLine,
  displayWidth,
  type EditorAction,
  LineEditor,
  NOTHING_DRAWN,
  renderLine,
} from "../../repl/line_editor.ts";

/** Feeds raw terminal input; returns every action. */
function type(editor: LineEditor, input: string): EditorAction[] {
  return new KeyDecoder().decode(input).map((k) => editor.handle(k));
}

Deno.test("LineEditor inserts text and moves with Left/Right, Home/End, Ctrl-A/E/B/F", () => {
  const ed = new LineEditor();
  type(ed, "bc\x1b[D\x1b[Da");
  assert.equal(ed.line, "abc");
  assert.equal(ed.cursor, 1);
  type(ed, "\x05");
  assert.equal(ed.cursor, 3);
  type(ed, "\x01X");
  assert.equal(ed.line, "Xabc");
  type(ed, "\x1b[F\x02\x02Y\x06\x06\x06");
  assert.equal(ed.line, "XaYbc");
  assert.equal(ed.cursor, 5);
  type(ed, "\x1b[H");
  assert.equal(ed.cursor, 0);
});

Deno.test("LineEditor deletes with Backspace, Delete and Ctrl-D inside the line", () => {
  const ed = new LineEditor();
  type(ed, "hello\x7f");
  assert.equal(ed.line, "hell");
  type(ed, "\x01\x1b[3~");
  assert.equal(ed.line, "ell");
  const [action] = type(ed, "\x04");
  assert.equal(action!.type, "redraw");
  assert.equal(ed.line, "ll");
  assert.deepEqual(type(ed, "\x01\x7f"), [{ type: "none" }, { type: "none" }]);
});

Deno.test("LineEditor cuts with Ctrl-K, Ctrl-U, Ctrl-W and pastes the cut with Ctrl-Y", () => {
  const ed = new LineEditor();
  type(ed, "const pid = spawn(f)");
  type(ed, "\x17");
  assert.equal(ed.line, "const pid = ");
  type(ed, "\x19");
  assert.equal(ed.line, "const pid = spawn(f)");
  type(ed, "\x01\x06\x06\x06\x06\x06\x0b");
  assert.equal(ed.line, "const");
  type(ed, "\x15");
  assert.equal(ed.line, "");
  type(ed, "\x19");
  assert.equal(ed.line, "const");
});

Deno.test("LineEditor moves and deletes by word with Alt-B/F, Ctrl-arrows, Alt-Backspace, Alt-D", () => {
  const ed = new LineEditor();
  type(ed, "Node.connect(peer)");
  type(ed, "\x1bb");
  assert.equal(ed.beforeCursor, "Node.connect(");
  type(ed, "\x1b[1;5D");
  assert.equal(ed.beforeCursor, "Node.");
  type(ed, "\x1bf");
  assert.equal(ed.beforeCursor, "Node.connect");
  type(ed, "\x1b\x7f");
  assert.equal(ed.line, "Node.(peer)");
  type(ed, "\x1bd");
  assert.equal(ed.line, "Node.)");
});

Deno.test("LineEditor swaps two characters with Ctrl-T", () => {
  const ed = new LineEditor();
  type(ed, "ab\x14");
  assert.equal(ed.line, "ba");
});

Deno.test("LineEditor submits the line on Enter and starts a fresh one", () => {
  const ed = new LineEditor();
  const actions = type(ed, "1 + 1\r");
  assert.deepEqual(actions.at(-1), { type: "submit", line: "1 + 1" });
  assert.equal(ed.line, "");
  assert.equal(ed.cursor, 0);
});

Deno.test("LineEditor: Ctrl-C clears a line; twice on an empty line exits; anything between disarms", () => {
  const ed = new LineEditor();
  assert.deepEqual(type(ed, "abc\x03").at(-1), { type: "cancel", line: "abc" });
  assert.equal(ed.line, "");
  assert.deepEqual(type(ed, "\x03"), [{ type: "exit-hint" }]);
  assert.deepEqual(type(ed, "\x03"), [{ type: "exit" }]);
  type(ed, "\x03");
  type(ed, "x\x7f"); // typing disarms
  assert.deepEqual(type(ed, "\x03"), [{ type: "exit-hint" }]);
  ed.reset(); // the loop's way to disarm
  assert.deepEqual(type(ed, "\x03"), [{ type: "exit-hint" }]);
});

Deno.test("LineEditor: Ctrl-D on an empty line exits", () => {
  assert.deepEqual(type(new LineEditor(), "\x04"), [{ type: "exit" }]);
});

Deno.test("LineEditor asks for completion on Tab, and replace() puts the word in", () => {
  const ed = new LineEditor();
  assert.deepEqual(type(ed, "Node.con\t").at(-1), { type: "complete" });
  ed.replace(5, "connect");
  assert.equal(ed.line, "Node.connect");
  assert.equal(ed.cursor, 12);
  assert.throws(() => ed.replace(20, "x"), RangeError);
});

Deno.test("LineEditor walks the history with Up/Down and keeps the line being typed", () => {
  const history = new History();
  history.add("first");
  history.add("second");
  const ed = new LineEditor({ history });
  type(ed, "draft");
  type(ed, "\x1b[A");
  assert.equal(ed.line, "second");
  assert.equal(ed.cursor, 6);
  type(ed, "\x10");
  assert.equal(ed.line, "first");
  assert.deepEqual(type(ed, "\x1b[A"), [{ type: "none" }]);
  type(ed, "\x1b[B\x0e");
  assert.equal(ed.line, "draft");
  assert.deepEqual(type(ed, "\x1b[B"), [{ type: "none" }]);
});

Deno.test("LineEditor sees history entries added after it was made", () => {
  const history = new History();
  const ed = new LineEditor({ history });
  type(ed, "one\r");
  history.add("one");
  type(ed, "\x1b[A");
  assert.equal(ed.line, "one");
});

Deno.test("LineEditor steps over surrogate pairs as one character", () => {
  const ed = new LineEditor();
  type(ed, "a😀b\x1b[D\x1b[D");
  assert.equal(ed.beforeCursor, "a");
  type(ed, "\x1b[C\x7f");
  assert.equal(ed.line, "ab");
});

Deno.test("LineEditor hands Ctrl-L and Ctrl-Z to the terminal side", () => {
  const ed = new LineEditor();
  assert.deepEqual(type(ed, "\x0c\x1a"), [{ type: "clear-screen" }, { type: "suspend" }]);
});

Deno.test("renderLine() draws the prompt and line and puts the cursor in place", () => {
  const r = renderLine("> ", "hello", 2, 80, NOTHING_DRAWN);
  assert.equal(r.output, "\r\x1b[J> hello\r\x1b[4C");
  assert.deepEqual(r.drawn, { rows: 1, cursorRow: 0 });
});

Deno.test("renderLine() wraps a long line over rows and redraws from its first row", () => {
  // prompt 2 + 15 chars on 10 columns: two rows, cursor at column 7 of row 1 (end).
  const first = renderLine("> ", "a".repeat(15), 15, 10, NOTHING_DRAWN);
  assert.deepEqual(first.drawn, { rows: 2, cursorRow: 1 });
  assert.ok(first.output.endsWith("\r\x1b[7C"));
  // Cursor moved to the start of the line: one row up from the end.
  const second = renderLine("> ", "a".repeat(15), 0, 10, first.drawn);
  assert.ok(second.output.startsWith("\x1b[1A\r\x1b[J"));
  assert.ok(second.output.endsWith("\x1b[1A\r\x1b[2C"));
  assert.deepEqual(second.drawn, { rows: 2, cursorRow: 0 });
});

Deno.test("renderLine() moves past the right margin when the line fills the row exactly", () => {
  const r = renderLine("> ", "abcdefgh", 8, 10, NOTHING_DRAWN);
  assert.ok(r.output.includes("abcdefgh\r\n"));
  assert.deepEqual(r.drawn, { rows: 2, cursorRow: 1 });
});

Deno.test("clearLine() goes up to the first row and clears to the end of the screen", () => {
  assert.equal(clearLine({ rows: 3, cursorRow: 2 }), "\x1b[2A\r\x1b[J");
});

Deno.test("displayWidth() counts wide characters twice and combining marks not at all", () => {
  assert.equal(displayWidth("abc"), 3);
  assert.equal(displayWidth("日本"), 4);
  assert.equal(displayWidth("e\u0301"), 1);
  assert.equal(displayWidth("😀"), 2);
});
