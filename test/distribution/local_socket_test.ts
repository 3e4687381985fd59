import assert from "node:assert/strict";
import {
  isThisMachine,
  localSocketMode,
  LocalSocketTransport,
  socketDirectory,
} from "../../src/distribution/local_socket.ts";
import { TcpTransport } from "../../src/distribution/tcp.ts";
import { startNode } from "../../src/node.ts";
import { WeftProcess } from "../helpers/weft_process.ts";

/** Waits until `check()` holds, or fails after `ms`. */
async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("two real nodes on one machine connect over a Unix socket, and a killed one leaves nothing that hangs a dial", async () => {
  const b = new WeftProcess([
    "--name",
    "b@127.0.0.1",
    "--no-epmd",
    "--cookie",
    "c",
    "--no-repl",
    "--log-level",
    "info",
  ]);
  const a = await startNode({
    name: "a@127.0.0.1",
    cookie: "c",
    noEpmd: true,
    hostname: "127.0.0.1",
  });
  try {
    const port = await b.listenPort(60_000);
    assert.match(b.output, /listening on \S+ \(tcp\+unix/);
    assert.equal(await a.connect(`b@127.0.0.1:${port}`), true);
    const [stats] = a.kernel.connectionStats();
    assert.equal(stats?.node, "b@127.0.0.1");
    assert.match(stats!.remoteAddr, /^unix:/);

    b.kill("SIGKILL");
    await b.exited();
    await until(() => a.kernel.connectionStats().length === 0, "b to be down");
    // b's socket file is left behind: it refuses, TCP refuses, the dial fails.
    assert.equal(await a.connect(`b@127.0.0.1:${port}`), false);
  } finally {
    await a.stop();
    await b.close();
  }
});

Deno.test("a listener on TCP alone (an Erlang node, an older Weft) is reached over TCP; `require` refuses instead", async () => {
  const tcpOnly = new TcpTransport().listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const accepted = tcpOnly.accept();
    const client = await new LocalSocketTransport(new TcpTransport(), "auto").connect(tcpOnly.addr);
    assert.match(client.remoteAddr, /^127\.0\.0\.1:\d+$/);
    (await accepted)!.close();
    client.close();
    await assert.rejects(
      new LocalSocketTransport(new TcpTransport(), "require").connect(tcpOnly.addr),
      Deno.errors.NotFound,
    );
  } finally {
    tcpOnly.close();
  }
});

Deno.test("a stale socket of a port is replaced by its next listener and refused meanwhile, and close removes the socket", async () => {
  const dir = socketDirectory();
  assert.ok(dir, "this machine offers a socket directory");
  const transport = new LocalSocketTransport(new TcpTransport(), "auto");
  const listener = transport.listen({ hostname: "127.0.0.1", port: 0 });
  const path = `${dir}/127.0.0.1-${listener.addr.port}.sock`;
  assert.ok(Deno.lstatSync(path).isSocket);
  listener.close();
  assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound);
  assert.equal(await listener.accept(), null);

  // A node killed with SIGKILL leaves its socket: a dial there falls back to TCP.
  const tcp = new TcpTransport().listen({ hostname: "127.0.0.1", port: 0 });
  const stalePath = `${dir}/127.0.0.1-${tcp.addr.port}.sock`;
  const dead = Deno.listen({ transport: "unix", path: stalePath });
  dead.close();
  const port = tcp.addr.port;
  try {
    const accepted = tcp.accept();
    const client = await transport.connect(tcp.addr);
    assert.match(client.remoteAddr, /^127\.0\.0\.1:/);
    (await accepted)!.close();
    client.close();
    tcp.close();
    // The next listener of that port takes the socket over.
    const next = transport.listen({ hostname: "127.0.0.1", port });
    try {
      const acceptedNext = next.accept();
      const viaUnix = await transport.connect(next.addr);
      assert.match(viaUnix.remoteAddr, /^unix:/);
      (await acceptedNext)!.close();
      viaUnix.close();
    } finally {
      next.close();
    }
  } finally {
    tcp.close();
    try {
      Deno.removeSync(stalePath);
    } catch {
      // Gone already.
    }
  }
});

Deno.test("nodes on the same port of two loopback addresses each get their own socket, and each dial reaches its own", async () => {
  const transport = new LocalSocketTransport(new TcpTransport(), "require");
  const one = transport.listen({ hostname: "127.0.0.1", port: 0 });
  const port = one.addr.port;
  let two;
  try {
    two = transport.listen({ hostname: "127.0.0.2", port });
  } catch (e) {
    one.close();
    if (e instanceof Deno.errors.AddrInUse) return; // Someone else holds 127.0.0.2 at that port.
    throw e;
  }
  try {
    for (const [listener, host] of [[one, "127.0.0.1"], [two, "127.0.0.2"]] as const) {
      const accepted = listener.accept();
      const client = await transport.connect({ hostname: host, port });
      const server = (await accepted)!;
      assert.match(client.remoteAddr, /^unix:/);
      await client.write(new TextEncoder().encode(host));
      assert.equal(new TextDecoder().decode((await server.read())!), host);
      client.close();
      server.close();
    }
  } finally {
    one.close();
    two.close();
  }
});

Deno.test("a socket directory others may enter is not used, and the node stays on TCP", () => {
  const base = Deno.makeTempDirSync();
  const before = Deno.env.get("XDG_RUNTIME_DIR");
  try {
    Deno.env.set("XDG_RUNTIME_DIR", base);
    Deno.mkdirSync(`${base}/weft`);
    Deno.chmodSync(`${base}/weft`, 0o755);
    assert.equal(socketDirectory(), undefined);
    assert.equal(new LocalSocketTransport(new TcpTransport(), "auto").kind, "tcp");
    Deno.chmodSync(`${base}/weft`, 0o700);
    assert.equal(socketDirectory(), `${base}/weft`);
    assert.equal(new LocalSocketTransport(new TcpTransport(), "auto").kind, "tcp+unix");
  } finally {
    if (before === undefined) Deno.env.delete("XDG_RUNTIME_DIR");
    else Deno.env.set("XDG_RUNTIME_DIR", before);
    Deno.removeSync(base, { recursive: true });
  }
});

Deno.test("WEFT_UNIX_SOCKETS takes auto, off or require, and says what it got otherwise", () => {
  const before = Deno.env.get("WEFT_UNIX_SOCKETS");
  try {
    Deno.env.set("WEFT_UNIX_SOCKETS", "off");
    assert.equal(localSocketMode(), "off");
    assert.equal(new LocalSocketTransport(new TcpTransport()).kind, "tcp");
    Deno.env.set("WEFT_UNIX_SOCKETS", "sometimes");
    assert.throws(() => localSocketMode(), {
      name: "RangeError",
      message: "Invalid WEFT_UNIX_SOCKETS: expected auto, off or require, received sometimes",
    });
  } finally {
    if (before === undefined) Deno.env.delete("WEFT_UNIX_SOCKETS");
    else Deno.env.set("WEFT_UNIX_SOCKETS", before);
  }
});

Deno.test("only loopback, localhost, this host's name and its interfaces count as this machine", () => {
  assert.ok(isThisMachine("127.0.0.1"));
  assert.ok(isThisMachine("127.1.2.3"));
  assert.ok(isThisMachine("::1"));
  assert.ok(isThisMachine("[::1]"));
  assert.ok(isThisMachine("LOCALHOST"));
  assert.ok(isThisMachine(Deno.hostname()));
  assert.ok(!isThisMachine("192.0.2.1"));
  assert.ok(!isThisMachine("example.com"));
});

Deno.test("a node stopped while accepting frees its port at once: it starts again on the same port", async () => {
  const options = {
    name: "b@127.0.0.1",
    cookie: "c",
    noEpmd: true,
    startEpmd: false,
    hostname: "127.0.0.1",
  };
  const first = await startNode(options);
  const port = first.port;
  await first.stop();
  const again = await startNode({ ...options, port });
  try {
    assert.equal(again.port, port);
  } finally {
    await again.stop();
  }
});
