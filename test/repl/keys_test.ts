import assert from "node:assert/strict";
import { KeyDecoder } from "../../repl/keys.ts";

const names = (input: string) => new KeyDecoder().decode(input).map((k) => k.name);

Deno.test("KeyDecoder.decode() turns control bytes into named keys", () => {
  assert.deepEqual(
    names("\x01\x02\x03\x04\x05\x06\x0b\x0c\x0e\x10\x15\x17\x19\x7f\x08\t\r"),
    [
      "ctrl-a",
      "ctrl-b",
      "ctrl-c",
      "ctrl-d",
      "ctrl-e",
      "ctrl-f",
      "ctrl-k",
      "ctrl-l",
      "ctrl-n",
      "ctrl-p",
      "ctrl-u",
      "ctrl-w",
      "ctrl-y",
      "backspace",
      "backspace",
      "tab",
      "enter",
    ],
  );
});

Deno.test("KeyDecoder.decode() reads arrows, Home/End and Delete in their common encodings", () => {
  assert.deepEqual(names("\x1b[A\x1b[B\x1b[C\x1b[D"), ["up", "down", "right", "left"]);
  assert.deepEqual(names("\x1bOA\x1bOD"), ["up", "left"]);
  assert.deepEqual(names("\x1b[H\x1b[F\x1bOH\x1bOF\x1b[1~\x1b[4~\x1b[7~\x1b[8~"), [
    "home",
    "end",
    "home",
    "end",
    "home",
    "end",
    "home",
    "end",
  ]);
  assert.deepEqual(names("\x1b[3~"), ["delete"]);
  assert.deepEqual(names("\x1b[1;5D\x1b[1;5C\x1bb\x1bf\x1bd\x1b\x7f"), [
    "word-left",
    "word-right",
    "word-left",
    "word-right",
    "word-delete",
    "word-backspace",
  ]);
});

Deno.test("KeyDecoder.decode() keeps a run of characters (a paste) as one text key", () => {
  const keys = new KeyDecoder().decode("héllo 日本\x1b[D");
  assert.deepEqual(keys, [{ name: "text", text: "héllo 日本" }, { name: "left" }]);
});

Deno.test("KeyDecoder.decode() treats a pasted CRLF as one Enter", () => {
  assert.deepEqual(names("a\r\nb\n"), ["text", "enter", "text", "enter"]);
});

Deno.test("KeyDecoder.decode() waits for the rest of a sequence cut between reads", () => {
  const d = new KeyDecoder();
  assert.deepEqual(d.decode("x\x1b"), [{ name: "text", text: "x" }]);
  assert.equal(d.waiting, true);
  assert.deepEqual(d.decode("[3"), []);
  assert.deepEqual(d.decode("~y"), [{ name: "delete" }, { name: "text", text: "y" }]);
  assert.equal(d.waiting, false);
});

Deno.test("KeyDecoder.flush() turns a lone Escape into an escape key", () => {
  const d = new KeyDecoder();
  d.decode("\x1b");
  assert.deepEqual(d.flush(), [{ name: "escape" }]);
  assert.deepEqual(d.flush(), []);
});

Deno.test("KeyDecoder.decode() names sequences it does not know unknown, and goes on", () => {
  assert.deepEqual(names("\x1b[15~a"), ["unknown", "text"]);
  assert.deepEqual(names("\x1b[Z"), ["unknown"]);
});
