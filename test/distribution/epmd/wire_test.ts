import assert from "node:assert/strict";
import fc from "fast-check";
import { DecodeError } from "../../../src/errors.ts";
import {
  type EpmdNodeEntry,
  MAX_REQUEST_BYTES,
  weftEntry,
} from "../../../src/distribution/epmd/types.ts";
import {
  decodeAlive2Response,
  decodeNamesResponse,
  decodePort2Response,
  decodeRequest,
  encodeAlive2Response,
  encodeDumpResponse,
  encodeNamesResponse,
  encodePort2Response,
  encodeRequest,
  type EpmdRequest,
  nameBytes,
  port2ResponseLength,
} from "../../../src/distribution/epmd/wire.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);
const text = (s: string) => new TextEncoder().encode(s);

Deno.test("encodeRequest() lays ALIVE2_REQ out byte for byte as epmd reads it", () => {
  const packet = encodeRequest({ type: "alive2", entry: weftEntry({ name: "ab", port: 0x1234 }) });
  assert.deepEqual(
    packet,
    bytes(
      ...[0, 19], // length
      120, // ALIVE2_REQ
      ...[0x12, 0x34], // port
      77, // normal node
      0, // tcp
      ...[0, 6, 0, 6], // versions 6/6
      ...[0, 2, 97, 98], // name "ab"
      ...[0, 4, ...text("weft")], // extra
    ),
  );
});

Deno.test("encodeRequest() frames PORT_PLEASE2, NAMES, DUMP, KILL and STOP", () => {
  assert.deepEqual(encodeRequest({ type: "port_please2", name: "a" }), bytes(0, 2, 122, 97));
  assert.deepEqual(encodeRequest({ type: "names" }), bytes(0, 1, 110));
  assert.deepEqual(encodeRequest({ type: "dump" }), bytes(0, 1, 100));
  assert.deepEqual(encodeRequest({ type: "kill" }), bytes(0, 1, 107));
  assert.deepEqual(encodeRequest({ type: "stop", name: "a" }), bytes(0, 2, 115, 97));
});

Deno.test("decodeRequest() reads back every request encodeRequest() writes", () => {
  const entry = arbitraryEntry();
  const request = fc.oneof(
    entry.map((e): EpmdRequest => ({ type: "alive2", entry: e })),
    arbitraryName().map((name): EpmdRequest => ({ type: "port_please2", name })),
    arbitraryName().map((name): EpmdRequest => ({ type: "stop", name })),
    fc.constantFrom<EpmdRequest>({ type: "names" }, { type: "dump" }, { type: "kill" }),
  );
  fc.assert(fc.property(request, (r) => {
    const packet = encodeRequest(r);
    assert.equal((packet[0]! << 8) | packet[1]!, packet.length - 2);
    assert.deepEqual(decodeRequest(packet.subarray(2)), r);
  }));
});

Deno.test("decodeRequest() accepts a NUL-terminated PORT_PLEASE2 name, as old clients send", () => {
  assert.deepEqual(decodeRequest(bytes(122, 97, 0)), { type: "port_please2", name: "a" });
});

Deno.test("decodeRequest() throws DecodeError on malformed requests", () => {
  const cases: Array<[string, Uint8Array]> = [
    ["empty", bytes()],
    ["unknown code", bytes(1, 2, 3)],
    ["ALIVE2 too short", bytes(120, 0, 1, 77, 0, 0, 6, 0, 6, 0, 0, 0, 0)],
    ["ALIVE2 name overruns", bytes(120, 0, 1, 77, 0, 0, 6, 0, 6, 0, 9, 97, 0, 0)],
    ["ALIVE2 extra overruns", bytes(120, 0, 1, 77, 0, 0, 6, 0, 6, 0, 1, 97, 0, 9)],
    ["ALIVE2 name with NUL", bytes(120, 0, 1, 77, 0, 0, 6, 0, 6, 0, 2, 97, 0, 0, 0)],
    ["ALIVE2 name not UTF-8", bytes(120, 0, 1, 77, 0, 0, 6, 0, 6, 0, 1, 0xff, 0, 0)],
    ["PORT_PLEASE2 empty name", bytes(122)],
    ["PORT_PLEASE2 only NUL", bytes(122, 0)],
    ["PORT_PLEASE2 NUL inside", bytes(122, 97, 0, 98)],
    ["oversized", new Uint8Array(MAX_REQUEST_BYTES + 1).fill(110)],
    ["name of 256 characters", Uint8Array.from([122, ...text("x".repeat(256))])],
  ];
  for (const [what, body] of cases) {
    assert.throws(() => decodeRequest(body), DecodeError, what);
  }
});

Deno.test("decodeRequest() never throws anything but DecodeError on random bytes", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (body) => {
    try {
      decodeRequest(body);
    } catch (error) {
      assert.ok(error instanceof DecodeError, String(error));
    }
  }));
});

Deno.test("encodeRequest() refuses names and numbers epmd would not take", () => {
  assert.throws(() => encodeRequest({ type: "port_please2", name: "" }), TypeError);
  assert.throws(() => encodeRequest({ type: "port_please2", name: "a\0b" }), TypeError);
  assert.throws(() => encodeRequest({ type: "port_please2", name: "x".repeat(256) }), RangeError);
  const entry = weftEntry({ name: "a", port: 1 });
  assert.throws(
    () => encodeRequest({ type: "alive2", entry: { ...entry, port: 70000 } }),
    RangeError,
  );
  assert.throws(
    () => encodeRequest({ type: "alive2", entry: { ...entry, extra: new Uint8Array(1021) } }),
    RangeError,
  );
});

Deno.test("nameBytes() takes only the characters Erlang allows in node names, 255 at most", () => {
  assert.equal(nameBytes("Web-1_a".padEnd(255, "x")).length, 255);
  assert.throws(() => nameBytes("x".repeat(256)), RangeError);
  for (
    const bad of ["a b", "x\nname admin at port 2222", "a\r", "ctl\x07", "é", "a@b", "a.b", "a:1"]
  ) {
    assert.throws(() => nameBytes(bad), {
      name: "TypeError",
      message:
        `Invalid node name for the port mapper: may hold letters, digits, _ and -, received ${
          JSON.stringify(bad)
        }`,
    });
  }
});

Deno.test("encodeAlive2Response() writes X_RESP with 32 bits and RESP with 16 bits", () => {
  assert.deepEqual(
    encodeAlive2Response({ result: 0, creation: 0x01020304, extended: true }),
    bytes(118, 0, 1, 2, 3, 4),
  );
  assert.deepEqual(
    encodeAlive2Response({ result: 1, creation: 99, extended: false }),
    bytes(121, 1, 0, 99),
  );
  const r = { result: 0, creation: 0xfffffff0, extended: true };
  assert.deepEqual(decodeAlive2Response(encodeAlive2Response(r)), r);
});

Deno.test("decodeAlive2Response() throws DecodeError on a wrong code or length", () => {
  assert.throws(() => decodeAlive2Response(bytes()), DecodeError);
  assert.throws(() => decodeAlive2Response(bytes(119, 0, 0, 1)), DecodeError);
  assert.throws(() => decodeAlive2Response(bytes(118, 0, 0, 1)), DecodeError);
});

Deno.test("encodePort2Response() answers a hit with the entry and a miss with result 1", () => {
  fc.assert(fc.property(arbitraryEntry(), (entry) => {
    assert.deepEqual(decodePort2Response(encodePort2Response(entry)), entry);
  }));
  assert.deepEqual(encodePort2Response(undefined), bytes(119, 1));
  assert.equal(decodePort2Response(bytes(119, 1)), undefined);
});

Deno.test("port2ResponseLength() tells a PORT2 reply's length only once enough has come", () => {
  const good = encodePort2Response(weftEntry({ name: "abc", port: 1 }));
  for (let n = 0; n < 14 + 3; n++) {
    assert.equal(
      port2ResponseLength(good.subarray(0, n)),
      n < 2 ? undefined : n < 17 ? undefined : good.length,
      `${n} bytes`,
    );
  }
  assert.equal(port2ResponseLength(good), good.length);
  assert.equal(port2ResponseLength(bytes(119, 1)), 2);
  assert.equal(port2ResponseLength(bytes(119)), undefined);
  // Not a PORT2 reply at all: complete as it is, so that decoding names it.
  assert.equal(port2ResponseLength(bytes(72, 84, 84)), 3);
});

Deno.test("decodePort2Response() throws DecodeError on truncated or foreign replies", () => {
  const good = encodePort2Response(weftEntry({ name: "a", port: 1 }));
  assert.throws(() => decodePort2Response(bytes()), DecodeError);
  assert.throws(() => decodePort2Response(bytes(121, 0)), DecodeError);
  assert.throws(() => decodePort2Response(good.subarray(0, 10)), DecodeError);
  assert.throws(() => decodePort2Response(good.subarray(0, good.length - 1)), DecodeError);
  assert.throws(() => decodePort2Response(Uint8Array.from([...good, 0])), DecodeError);
});

Deno.test("encodeNamesResponse() writes the port, then epmd's 'name N at port P' lines", () => {
  const reply = encodeNamesResponse(4369, [{ name: "a", port: 1 }, { name: "b-2_C", port: 65535 }]);
  assert.deepEqual(reply.subarray(0, 4), bytes(0, 0, 0x11, 0x11));
  assert.equal(
    new TextDecoder().decode(reply.subarray(4)),
    "name a at port 1\nname b-2_C at port 65535\n",
  );
  assert.deepEqual(decodeNamesResponse(reply), {
    epmdPort: 4369,
    names: [{ name: "a", port: 1 }, { name: "b-2_C", port: 65535 }],
  });
  assert.deepEqual(decodeNamesResponse(bytes(0, 0, 0, 1)), { epmdPort: 1, names: [] });
});

Deno.test("decodeNamesResponse() leaves out the lines a name with forbidden characters makes", () => {
  // What Erlang's epmd answers when a local program registered these names
  // (it takes any UTF-8): the forged "admin" entry must not come out.
  const reply = Uint8Array.from([
    0,
    0,
    0x11,
    0x11,
    ...text(
      "name good at port 5000\n" +
        "name x\nname admin at port 2222 at port 5001\n" +
        "name a b at port 5002\n" +
        "name ctl\x07 at port 5003\n" +
        "name bé at port 5004\n",
    ),
  ]);
  assert.deepEqual(decodeNamesResponse(reply).names, [{ name: "good", port: 5000 }]);
});

Deno.test("decodeNamesResponse() throws DecodeError on a short header or a foreign line", () => {
  assert.throws(() => decodeNamesResponse(bytes(0, 0)), DecodeError);
  const bad = Uint8Array.from([0, 0, 0, 1, ...text("hello world\n")]);
  assert.throws(() => decodeNamesResponse(bad), DecodeError);
  const badPort = Uint8Array.from([0, 0, 0, 1, ...text("name a at port 99999\n")]);
  assert.throws(() => decodeNamesResponse(badPort), DecodeError);
});

Deno.test("encodeDumpResponse() writes NUL-terminated 'active name' lines, as epmd -dump reads", () => {
  const reply = encodeDumpResponse(4369, [{ name: "a", port: 5, fd: 7 }]);
  assert.equal(
    new TextDecoder().decode(reply.subarray(4)),
    "active name     <a> at port 5, fd = 7\n\0",
  );
});

/** Names of the characters Erlang allows in node names, the only ones Weft sends. */
function arbitraryName(): fc.Arbitrary<string> {
  const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
  return fc.string({ minLength: 1, maxLength: 40, unit: fc.constantFrom(...chars) });
}

function arbitraryEntry(): fc.Arbitrary<EpmdNodeEntry> {
  return fc.record({
    name: arbitraryName(),
    port: fc.integer({ min: 0, max: 65535 }),
    nodeType: fc.constantFrom(77, 72),
    protocol: fc.integer({ min: 0, max: 255 }),
    highestVersion: fc.integer({ min: 0, max: 65535 }),
    lowestVersion: fc.integer({ min: 0, max: 65535 }),
    extra: fc.uint8Array({ maxLength: 64 }),
  }).map((entry) => ({ ...entry })); // fast-check records have a null prototype
}
