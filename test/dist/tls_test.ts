import assert from "node:assert/strict";
import { TlsTransport } from "../../src/dist/tls.ts";
import { startTestNode, stopAll } from "../helpers/nodes.ts";

interface Pki {
  ca: string;
  cert: string;
  key: string;
  otherCa: string;
  otherCert: string;
  otherKey: string;
}

/** A throwaway CA with a node certificate for 127.0.0.1, and a second, unrelated CA. */
async function makePki(): Promise<Pki> {
  const dir = await Deno.makeTempDir({ prefix: "weft-tls-" });
  const run = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  try {
    await Deno.writeTextFile(
      `${dir}/node.ext`,
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n",
    );
    for (const ca of ["ca", "other"]) {
      await run(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        `${ca}.key`,
        "-out",
        `${ca}.crt`,
        "-days",
        "2",
        "-subj",
        `/CN=${ca}`,
      );
      await run(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        `${ca}-node.key`,
        "-out",
        `${ca}-node.csr`,
        "-subj",
        "/CN=node",
      );
      await run(
        "x509",
        "-req",
        "-in",
        `${ca}-node.csr`,
        "-CA",
        `${ca}.crt`,
        "-CAkey",
        `${ca}.key`,
        "-CAcreateserial",
        "-out",
        `${ca}-node.crt`,
        "-days",
        "2",
        "-extfile",
        "node.ext",
      );
    }
    const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
    return {
      ca: await read("ca.crt"),
      cert: await read("ca-node.crt"),
      key: await read("ca-node.key"),
      otherCa: await read("other.crt"),
      otherCert: await read("other-node.crt"),
      otherKey: await read("other-node.key"),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

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

Deno.test("TlsTransport rejects options that are not PEM", () => {
  assert.throws(() => new TlsTransport({ cert: "x", key: pki.key }), TypeError);
  assert.throws(() => new TlsTransport({ cert: pki.cert, key: "x" }), TypeError);
  assert.throws(() => new TlsTransport({ cert: pki.cert, key: pki.key, ca: "x" }), TypeError);
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
  } finally {
    await stopAll([a, b, stranger]);
  }
});
