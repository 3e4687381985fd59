import assert from "node:assert/strict";
import {
  atom,
  BitString,
  ErlangFloat,
  ErlangPort,
  ErlangRef,
  ImproperList,
  type Term,
  termKey,
  Tuple,
  tuple,
} from "../../src/etf/mod.ts";
import { Pid } from "../../src/term/pid.ts";
import { startErlangBed } from "../helpers/erl_node.ts";

const COOKIE = "terms";

Deno.test("every ETF type crosses to erl and back unchanged, both ways", async () => {
  await using bed = await startErlangBed(COOKIE);
  const { weft } = bed;
  const erl = await bed.erl();
  // An echo on each side: {From, T} -> From ! {echo, T}.
  await erl.eval(
    "register(echo, spawn(fun E() -> receive {From, T} -> From ! {echo, T}, E() end end))",
  );
  const rt = weft.runtime;
  rt.spawn(async (ctx) => {
    while (true) {
      const m = await ctx.receive<Tuple>();
      ctx.send(m.elements[0] as Pid, tuple(atom("echo"), m.elements[1]!));
    }
  }, { name: "inbox" });

  // Weft -> erl -> Weft. Erlang's own pid, reference and port come from erl first.
  const me = rt.open();
  rt.register("probe", me.self);
  await erl.eval(
    "erlang:send({probe, 'weft@127.0.0.1'}, {self(), make_ref(), hd(erlang:ports())})",
  );
  const own = await me.receive<Tuple>(undefined, { timeout: 20_000 });
  const [erlPid, erlRef, erlPort] = own.elements;
  assert.ok(
    erlPid instanceof Pid && erlRef instanceof ErlangRef && erlPort instanceof ErlangPort,
  );
  const samples: Term[] = [
    0,
    -1,
    255,
    256,
    2 ** 31,
    -(2 ** 31) - 1,
    Number.MAX_SAFE_INTEGER,
    2n ** 64n,
    -(2n ** 100n),
    2.5,
    -1.0e-300,
    new ErlangFloat(1),
    true,
    false,
    atom("ok"),
    atom("with space"),
    atom("ünïcödé"),
    Uint8Array.of(1, 2, 3),
    new Uint8Array(0),
    new BitString(Uint8Array.of(0xa0), 3),
    [],
    [1, 2, 3],
    [atom("a"), [1, [2.5]], 70000],
    new ImproperList([1, 2], atom("t")),
    tuple(),
    tuple(1, atom("x")),
    new Tuple(Array.from({ length: 300 }, (_, i) => i)),
    new Map<Term, Term>([[atom("k"), 1], [Uint8Array.of(1), [2]], [tuple(), new Map()]]),
    erlPid,
    me.self,
    erlRef,
    rt.makeRef(),
    erlPort,
  ];
  for (const t of samples) {
    me.send({ name: "echo", node: "e@127.0.0.1" }, tuple(me.self, t));
    const back = await me.receive<Tuple>(undefined, { timeout: 20_000 });
    assert.equal(termKey(back.elements[1]!), termKey(t), `${String(t)} came back changed`);
  }
  // A string goes as a UTF-8 binary, as Elixir's strings are.
  me.send({ name: "echo", node: "e@127.0.0.1" }, tuple(me.self, "héllo"));
  const s = await me.receive<Tuple>(undefined, { timeout: 20_000 });
  assert.equal(new TextDecoder().decode(s.elements[1] as Uint8Array), "héllo");

  // erl -> Weft -> erl, compared with =:= there.
  assert.equal(
    await erl.eval(
      "begin T = {1, -1, 16#FFFFFFFFFFFFFFFFFFFF, -16#FFFFFFFFFFFFFFFFFFFF, 2.5, 1.0, -0.0, ok, 'ünï', <<1,2>>, <<1:3>>, [], \"abc\", [a|b], #{k => [1], <<\"b\">> => {}}, self(), make_ref(), hd(erlang:ports()), {}, list_to_tuple(lists:seq(1, 300))}, erlang:send({inbox, 'weft@127.0.0.1'}, {self(), T}), receive {echo, T2} -> T2 =:= T after 20000 -> timeout end end",
    ),
    "true",
  );
  me.exit("normal");
});
