import assert from "node:assert/strict";
import { framedIO, FrameReader } from "../../src/distribution/frame_reader.ts";
import { SocketConnection } from "../../src/distribution/tcp.ts";
import { TlsTransport } from "../../src/distribution/tls.ts";
import { signWithKey } from "../../src/distribution/x509.ts";
import { decode, encode } from "../../src/term/codec.ts";
import { startTestNode, stopAll } from "../helpers/nodes.ts";
import { makePki } from "../helpers/pki.ts";

const pki = await makePki();

Deno.test("TlsTransport carries bytes over TLS between a verified server and a client", async () => {
  const tls = new TlsTransport({ cert: pki.cert, key: pki.key, ca: pki.ca });
  const listener = tls.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = await tls.connect(listener.addr);
  const server = (await accepted)!;
  await client.write(new TextEncoder().encode("over tls"));
  assert.equal(new TextDecoder().decode((await server.read())!), "over tls");
  client.close();
  server.close();
  listener.close();
});

Deno.test("TlsTransport.connect() refuses a server whose certificate another CA signed", async () => {
  const server = new TlsTransport({ cert: pki.otherCert, key: pki.otherKey });
  const listener = server.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = listener.accept().then((c) => {
    c?.read().catch(() => null).finally(() => c.close());
  });
  const client = new TlsTransport({ cert: pki.cert, key: pki.key, ca: pki.ca });
  await assert.rejects(client.connect(listener.addr));
  listener.close();
  await accepting;
});

Deno.test("TlsTransport with a CA refuses a client whose certificate another CA issued", async () => {
  const server = new TlsTransport({ cert: pki.cert, key: pki.key, ca: pki.ca, authTimeout: 2000 });
  const listener = server.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      accepted++;
      conn.close();
    }
  })();
  // It trusts the cluster CA, so the server passes; its own certificate does not.
  const stranger = new TlsTransport({ cert: pki.otherCert, key: pki.otherKey, ca: pki.ca });
  await assert.rejects(stranger.connect(listener.addr));
  // One that lies about its certificate (presents ours, holds another key) fails too.
  const liar = new SocketConnection(
    await Deno.connectTls({
      ...listener.addr,
      caCerts: [pki.ca],
      cert: pki.otherCert,
      key: pki.otherKey,
    }),
  );
  const io = framedIO(liar, new FrameReader(liar), 65536);
  const [, nonce] = decode(await io.recv()) as [number, Uint8Array];
  const data = new Uint8Array([...new TextEncoder().encode("weft-tls-client-auth\0"), ...nonce]);
  await io.send(encode([2, pki.cert, signWithKey(pki.otherKey, data)]));
  await assert.rejects(io.recv(), Deno.errors.UnexpectedEof);
  liar.close();
  const member = new TlsTransport({ cert: pki.cert, key: pki.key, ca: pki.ca });
  const conn = await member.connect(listener.addr);
  assert.equal(await conn.read(), null);
  conn.close();
  assert.equal(accepted, 1, "only the member's connection is handed out");
  listener.close();
  await accepting;
});

Deno.test("TlsTransport rejects options that are not PEM", () => {
  assert.throws(() => new TlsTransport({ cert: "x", key: pki.key }), TypeError);
  assert.throws(() => new TlsTransport({ cert: pki.cert, key: "x" }), TypeError);
  assert.throws(() => new TlsTransport({ cert: pki.cert, key: pki.key, ca: "x" }), TypeError);
  assert.throws(() => new TlsTransport({ cert: pki.cert, key: pki.otherKey }), {
    name: "TypeError",
    message: "Invalid TLS options: key does not belong to cert",
  });
});

Deno.test("startNode() with tls: nodes connect and message over TLS; a node of another CA cannot join", async () => {
  const tls = { cert: pki.cert, key: pki.key, ca: pki.ca };
  const a = await startTestNode("a", { tls });
  const b = await startTestNode("b", { tls });
  const stranger = await startTestNode("s", {
    tls: { cert: pki.otherCert, key: pki.otherKey, ca: pki.otherCa },
  });
  try {
    assert.ok(await a.connect(b.address));
    const sink = b.runtime.open();
    a.runtime.send(sink.self, "secret message");
    assert.equal(await sink.receive(undefined, { timeout: 3000 }), "secret message");
    assert.equal(
      await a.connect(stranger.address),
      false,
      "a refuses the stranger's server certificate",
    );
    assert.equal(
      await stranger.connect(b.address),
      false,
      "the stranger refuses b's server certificate",
    );
    // A stranger that trusts the cluster CA but holds no certificate of it.
    const intruder = await startTestNode("i", {
      tls: { cert: pki.otherCert, key: pki.otherKey, ca: pki.ca },
    });
    try {
      assert.equal(
        await intruder.connect(b.address),
        false,
        "b refuses the intruder's certificate",
      );
      assert.deepEqual(b.list("all"), ["a@127.0.0.1"]);
    } finally {
      await intruder.stop();
    }
  } finally {
    await stopAll([a, b, stranger]);
  }
});
