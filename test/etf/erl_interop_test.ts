/**
 * The codec against a real Erlang: terms Weft encodes are decoded by `binary_to_term/1` and
 * encoded back by `term_to_binary/2`, and terms Erlang makes are decoded and re-encoded here,
 * byte for byte. Each test runs one short-lived `erl -noshell` (OTP 25) that exits by itself.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { DecodeError } from "../../src/errors.ts";
import {
  decodeTerm,
  encodeTerm,
  ImproperList,
  type Term,
  termKey,
  Tuple,
} from "../../src/etf/mod.ts";
import { term } from "../helpers/etf_arbitraries.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16));

/** Runs `erl -noshell -eval <program> -extra <args>`; the program must end with halt(). */
async function erl(program: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("erl", {
    args: ["-noshell", "+S", "1:1", "-eval", program, "-extra", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `erl failed: ${stderr}`);
  return new TextDecoder().decode(out.stdout);
}

/** Whether the term holds a map (whose entries Erlang may reorder). */
function hasMap(t: Term): boolean {
  if (t instanceof Map) return true;
  if (Array.isArray(t)) return t.some(hasMap);
  if (t instanceof Tuple) return t.elements.some(hasMap);
  if (t instanceof ImproperList) return t.items.some(hasMap) || hasMap(t.tail);
  return false;
}

Deno.test("terms encoded by encodeTerm() mean the same to binary_to_term/1", async () => {
  const terms = fc.sample(term, { numRuns: 300, seed: 19 });
  const dir = await Deno.makeTempDir({ prefix: "weft_etf_" });
  try {
    const input = `${dir}/in.txt`;
    await Deno.writeTextFile(input, terms.map((t) => hex(encodeTerm(t))).join("\n") + "\n");
    // For each line: binary_to_term, then term_to_binary as OTP 26 encodes, or the error.
    const output = await erl(
      `[In] = init:get_plain_arguments(),
       {ok, Data} = file:read_file(In),
       lists:foreach(fun(Line) ->
           Out = try binary:encode_hex(term_to_binary(binary_to_term(binary:decode_hex(Line)),
                                                      [{minor_version, 2}]))
                 catch C:R -> io_lib:format("~p:~p", [C, R]) end,
           io:format("~s~n", [Out])
         end, binary:split(Data, <<"\\n">>, [global, trim_all])),
       halt().`,
      input,
    );
    const lines = output.trim().split("\n");
    assert.equal(lines.length, terms.length);
    terms.forEach((t, i) => {
      const line = lines[i] as string;
      assert.match(line, /^[0-9A-F]+$/, `erl refused ${hex(encodeTerm(t))}: ${line}`);
      const back = unhex(line);
      assert.equal(termKey(decodeTerm(back)), termKey(t), `term ${i} changed in Erlang`);
      if (!hasMap(t)) assert.equal(hex(back), hex(encodeTerm(t)), `term ${i} re-encoded`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("terms Erlang encodes decode here and re-encode to the same bytes", async () => {
  // One line per term: minor_version 2 (OTP 26's default), OTP 25's default, compressed.
  const output = await erl(
    `Terms = [ok, 'EXIT', 'h\\x{e9}', list_to_atom([128512]), true, false,
              list_to_atom(lists:duplicate(255, 16#e9)),
              0, 255, 256, -1, 1 bsl 31, -(1 bsl 40), 1 bsl 64, -(1 bsl 3000),
              1.0, -0.0, 0.5, 1.0e300, -2.5e-300,
              [], "hi", [1, 256], [1 | x], [a, b | <<"c">>], lists:seq(1, 70000),
              {}, {a, b}, list_to_tuple(lists:seq(1, 300)),
              <<1, 2>>, <<1:3>>, <<255, 7:5>>, binary:copy(<<"x">>, 70000),
              #{a => 1, b => [], <<"k">> => {}},
              maps:from_list([{I, I * I} || I <- lists:seq(1, 40)]),
              #{#{1 => 2} => #{}},
              self(), make_ref(), hd(erlang:ports()), list_to_pid("<0.4294.1>"),
              {self(), [make_ref()], #{port => hd(erlang:ports())}}],
     lists:foreach(fun(T) ->
         io:format("~s ~s ~s~n", [binary:encode_hex(term_to_binary(T, [{minor_version, 2}])),
                                  binary:encode_hex(term_to_binary(T)),
                                  binary:encode_hex(term_to_binary(T, [compressed]))])
       end, Terms),
     halt().`,
  );
  const lines = output.trim().split("\n");
  assert.equal(lines.length, 41);
  for (const line of lines) {
    const [v2, v1, z] = line.split(" ").map(unhex) as [Uint8Array, Uint8Array, Uint8Array];
    const t = decodeTerm(v2);
    assert.equal(hex(encodeTerm(t)), hex(v2), `re-encoding ${String(t)}`);
    assert.equal(termKey(decodeTerm(v1)), termKey(t), `OTP 25's encoding of ${String(t)}`);
    assert.equal(termKey(decodeTerm(z)), termKey(t), `compressed ${String(t)}`);
  }
});

Deno.test("funs from Erlang are refused with a DecodeError", async () => {
  const output = await erl(
    `io:format("~s~n~s~n", [binary:encode_hex(term_to_binary(fun lists:map/2)),
                            binary:encode_hex(term_to_binary({ok, fun() -> ok end}))]),
     halt().`,
  );
  for (const line of output.trim().split("\n")) {
    assert.throws(() => decodeTerm(unhex(line)), (e: unknown) => {
      assert.ok(e instanceof DecodeError);
      assert.match(e.message, /^Cannot decode term: funs are not supported/);
      return true;
    });
  }
});
