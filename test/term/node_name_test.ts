import assert from "node:assert/strict";
import {
  longNodeName,
  parseNodeName,
  shortNodeName,
  withoutPort,
} from "../../src/term/node_name.ts";

Deno.test("parseNodeName() accepts long names with a domain or an IPv4 address", () => {
  assert.deepEqual(parseNodeName("a@example.com"), {
    full: "a@example.com",
    name: "a",
    host: "example.com",
    long: true,
  });
  assert.deepEqual(parseNodeName("node_1-x@10.0.0.1"), {
    full: "node_1-x@10.0.0.1",
    name: "node_1-x",
    host: "10.0.0.1",
    long: true,
  });
});

Deno.test("parseNodeName() accepts short names", () => {
  assert.deepEqual(parseNodeName("a@myhost"), {
    full: "a@myhost",
    name: "a",
    host: "myhost",
    long: false,
  });
  assert.equal(parseNodeName("Worker_2@localhost").long, false);
});

Deno.test("parseNodeName() reads name@host:port, and the port is not part of full", () => {
  assert.deepEqual(parseNodeName("b@host:4370"), {
    full: "b@host",
    name: "b",
    host: "host",
    long: false,
    port: 4370,
  });
  assert.equal(parseNodeName("b@127.0.0.1:1").port, 1);
  assert.equal(parseNodeName("b@127.0.0.1:65535").port, 65535);
});

Deno.test("parseNodeName() takes IPv6 addresses in brackets, with or without a port", () => {
  assert.deepEqual(parseNodeName("a@[::1]"), {
    full: "a@[::1]",
    name: "a",
    host: "::1",
    long: true,
  });
  assert.deepEqual(parseNodeName("a@[fe80::1:2]:4370"), {
    full: "a@[fe80::1:2]",
    name: "a",
    host: "fe80::1:2",
    long: true,
    port: 4370,
  });
  // full round-trips through the parser
  assert.equal(parseNodeName(parseNodeName("a@[::1]:9").full).full, "a@[::1]");
});

Deno.test("parseNodeName() refuses malformed names with a TypeError naming the input", () => {
  const cases: [string, RegExp][] = [
    ["foo", /must be name@host, received "foo"/],
    ["@host", /must be name@host, received "@host"/],
    ["a@", /must be name@host, received "a@"/],
    ["a@b@c", /must be name@host, received "a@b@c"/],
    ["a b@host", /name part may hold letters, digits, _ and -, received "a b@host"/],
    ["a.b@host", /name part may hold letters, digits, _ and -/],
    ["a@host:http", /bad port in "a@host:http"/],
    ["a@host:", /bad port in "a@host:"/],
    ["a@.host", /bad host in "a@.host"/],
    ["a@host.", /bad host in "a@host."/],
    ["a@ho st", /bad host in "a@ho st"/],
    ["a@[::1", /bad host in "a@\[::1"/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseNodeName(text), (e: unknown) => {
      assert.ok(e instanceof TypeError, `${text}: ${e}`);
      assert.match(e.message, /^Invalid node name: /);
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("parseNodeName() refuses a port outside 1-65535 with a RangeError", () => {
  assert.throws(() => parseNodeName("a@host:0"), {
    name: "RangeError",
    message: "Invalid node name: port must be 1-65535, received 0",
  });
  assert.throws(() => parseNodeName("a@host:65536"), RangeError);
});

Deno.test("parseNodeName() refuses a non-string with a TypeError", () => {
  assert.throws(() => parseNodeName(42 as unknown as string), {
    name: "TypeError",
    message: "Invalid node name: expected a string, received number",
  });
});

Deno.test("shortNodeName() appends the first label of the host name, as erl -sname does", () => {
  assert.equal(shortNodeName("a", "box.example.com").full, "a@box");
  assert.equal(shortNodeName("a", "box").long, false);
  assert.equal(shortNodeName("a@other", "box").full, "a@other");
  assert.throws(() => shortNodeName("a b", "box"), TypeError);
});

Deno.test("longNodeName() appends the whole host name, as erl -name does", () => {
  const n = longNodeName("a", "box.example.com");
  assert.equal(n.full, "a@box.example.com");
  assert.ok(n.long);
  assert.ok(longNodeName("a@127.0.0.1").long);
});

Deno.test("withoutPort() strips a port and leaves everything else as it is", () => {
  assert.equal(withoutPort("b@127.0.0.1:4370"), "b@127.0.0.1");
  assert.equal(withoutPort("b@[::1]:4370"), "b@[::1]");
  assert.equal(withoutPort("b@host"), "b@host");
  assert.equal(withoutPort("b@[::1]"), "b@[::1]");
  assert.equal(withoutPort("not a node"), "not a node");
  assert.equal(withoutPort("b@host:port"), "b@host:port");
  for (const n of ["b@host:1", "x@10.0.0.1:65535", "y@[fe80::1]:9"]) {
    assert.equal(withoutPort(n), parseNodeName(n).full);
  }
});
