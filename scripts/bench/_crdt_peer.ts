/**
 * One replica of the CRDT benchmark (scripts/bench/crdt.ts) in its own OS
 * process: a Weft node with its replicator, or a Yjs document kept in sync
 * with its peers over TCP by y-protocols' sync messages. Both sides answer
 * the same commands, one JSON line each on stdin, one JSON line back:
 *
 * ```
 * {cmd: "peers", peers: [{name, port}]}   connect (Weft: the mesh; Yjs: a socket to each)
 * {cmd: "map", n, from}                   n map updates m.set(`k${i}`, i), yielding every 1000
 * {cmd: "keys", n, from, tag}             n keys set to tag (Weft: one replicated key each;
 *                                         Yjs: n fields of one Y.Map "keys")
 * {cmd: "count", what}                    -> {count}: map fields / keys holding the last tag
 * {cmd: "until", what, count, timeout?}   -> {at}: the time count is reached ({at: null, count}
 *                                         when not within timeout ms, default 120 s)
 * {cmd: "cut", on}                        partition this replica from every peer, or heal
 * {cmd: "io"}                             -> {written}: bytes written to the peers' sockets
 * {cmd: "quit"}
 * ```
 *
 * Both sides send what changed every 100 ms (Weft's delta interval; Yjs
 * updates are merged per interval with `Y.mergeUpdates`), and after a
 * partition Weft's anti-entropy and Yjs's sync step 1/2 (state vectors)
 * repair what was missed.
 *
 * Run by the benchmark: `deno run -A _crdt_peer.ts weft|yjs NAME`.
 *
 * @module
 */

import * as Y from "yjs";
import * as syncProtocol from "y-protocols/sync";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import { startNode } from "../../src/node.ts";
import { type Cluster, startCluster } from "../../src/cluster/cluster.ts";
import { TcpTransport } from "../../src/distribution/tcp.ts";
import type { Connection, Transport } from "../../src/distribution/transport.ts";

const [side, name] = Deno.args as ["weft" | "yjs", string];
const INTERVAL = 100;

/** Bytes this replica wrote to its peers' sockets (frames and all). */
let written = 0;

function counted(conn: Connection): Connection {
  return {
    get remoteAddr() {
      return conn.remoteAddr;
    },
    read: (max) => conn.read(max),
    write: (bytes) => {
      written += bytes.length;
      return conn.write(bytes);
    },
    close: () => conn.close(),
    ...(conn.recycle ? { recycle: (chunk: Uint8Array) => conn.recycle!(chunk) } : {}),
    [Symbol.asyncIterator]: () => conn[Symbol.asyncIterator](),
  };
}

/** TCP whose connections count the bytes written. */
function countingTcp(): Transport {
  const tcp = new TcpTransport();
  return {
    kind: tcp.kind,
    connect: async (addr, options) => counted(await tcp.connect(addr, options)),
    listen: (addr) => {
      const listener = tcp.listen(addr);
      return {
        addr: listener.addr,
        accept: async () => {
          const conn = await listener.accept();
          return conn && counted(conn);
        },
        close: () => listener.close(),
        async *[Symbol.asyncIterator]() {
          for await (const conn of listener) yield counted(conn);
        },
      };
    },
  };
}

interface Replica {
  port: number;
  peers(peers: { name: string; port: number }[]): Promise<void>;
  map(n: number, from: number): Promise<void>;
  keys(n: number, from: number, tag: string): Promise<void>;
  count(what: string, tag?: string): number;
  cut(on: boolean): Promise<void>;
  stop(): Promise<void>;
}

async function weft(): Promise<Replica> {
  const node = await startNode({
    name: `${name}@127.0.0.1`,
    cookie: "weft-bench-crdt",
    noEpmd: true,
    hostname: "127.0.0.1",
    replicator: { deltaInterval: INTERVAL, antiEntropyInterval: 1000 },
    // Erlang's default tick (60 s) rather than Weft's 4 s: on a loaded machine a
    // replica merging a whole 100 000-field map does not read its socket for
    // seconds, and the 4 s tick dropped the connection in the middle of every repair.
    netTicktimeSeconds: 60,
    transport: countingTcp(),
  });
  const map = node.replicator.open("m", "lww-map");
  let known: string[] = [];
  let cluster: Cluster | undefined;
  let lastTag = "";
  return {
    port: node.port,
    async peers(peers) {
      known = peers.map((p) => `${p.name}@127.0.0.1:${p.port}`);
      for (const p of known) await node.connect(p);
      // A static topology redials a peer whose connection dropped (a net tick
      // timeout on a loaded machine); the replicator's anti-entropy then repairs
      // what the dropped connection lost.
      cluster = await startCluster(node, {
        topologies: { bench: { strategy: "static", config: { nodes: known } } },
      });
    },
    async map(n, from) {
      for (let i = from; i < from + n; i++) {
        await map.update((m) => m.set(`k${i}`, i));
        if (i % 1000 === 999) await new Promise((r) => setTimeout(r, 0));
      }
    },
    async keys(n, from, tag) {
      lastTag = tag;
      for (let i = from; i < from + n; i++) {
        const key = node.replicator.open(`key${i}`, "lww-register");
        await key.update((r) => r.set(tag));
        if (i % 1000 === 999) await new Promise((r) => setTimeout(r, 0));
      }
    },
    count(what, tag = lastTag) {
      // The state's own size: value() would build and sort a Map of every field per poll.
      if (what === "map") {
        return (node.replicator.replica.state("m")!.state as { size: number }).size;
      }
      let n = 0;
      for (const key of node.replicator.keys()) {
        if (key.startsWith("key") && node.replicator.value(key) === tag) n++;
      }
      return n;
    },
    async cut(on) {
      // A partition: this node refuses its peers both ways; the heal lets them in and dials.
      for (const peer of known) {
        const bare = peer.slice(0, peer.lastIndexOf(":"));
        if (on) {
          node.kernel.block(bare);
          await node.disconnect(bare);
        } else {
          node.kernel.unblock(bare);
          await node.connect(peer);
        }
      }
    },
    stop: async () => {
      await cluster?.stop();
      await node.stop();
    },
  };
}

function yjs(): Replica {
  const doc = new Y.Doc();
  const map = doc.getMap<number>("m");
  const keyed = doc.getMap<string>("keys");
  const conns = new Set<Deno.TcpConn>();
  let pending: Uint8Array[] = [];
  let blocked = false;
  let lastTag = "";
  const frame = (body: Uint8Array) => {
    const out = new Uint8Array(4 + body.length);
    new DataView(out.buffer).setUint32(0, body.length);
    out.set(body, 4);
    return out;
  };
  const write = async (conn: Deno.TcpConn, body: Uint8Array) => {
    const bytes = frame(body);
    written += bytes.length;
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
  };
  const step1 = (conn: Deno.TcpConn) => {
    const e = encoding.createEncoder();
    syncProtocol.writeSyncStep1(e, doc);
    return write(conn, encoding.toUint8Array(e));
  };
  const serve = async (conn: Deno.TcpConn) => {
    conns.add(conn);
    await step1(conn);
    let buf = new Uint8Array(0);
    try {
      for await (const chunk of conn.readable) {
        const joined = new Uint8Array(buf.length + chunk.length);
        joined.set(buf);
        joined.set(chunk, buf.length);
        buf = joined;
        while (buf.length >= 4) {
          const len = new DataView(buf.buffer, buf.byteOffset).getUint32(0);
          if (buf.length < 4 + len) break;
          const body = buf.slice(4, 4 + len);
          buf = buf.slice(4 + len);
          const reply = encoding.createEncoder();
          syncProtocol.readSyncMessage(decoding.createDecoder(body), reply, doc, "remote");
          if (encoding.length(reply) > 0) await write(conn, encoding.toUint8Array(reply));
        }
      }
    } catch { /* closed by a cut */ }
    conns.delete(conn);
  };
  doc.on("update", (update: Uint8Array, origin: unknown) => {
    if (origin !== "remote") pending.push(update);
  });
  const tick = setInterval(() => {
    if (pending.length === 0 || blocked) return;
    const merged = Y.mergeUpdates(pending);
    pending = [];
    const e = encoding.createEncoder();
    syncProtocol.writeUpdate(e, merged);
    const body = encoding.toUint8Array(e);
    for (const c of conns) write(c, body).catch(() => {});
  }, INTERVAL);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of listener) serve(conn);
  })();
  let peerList: { name: string; port: number }[] = [];
  const dialLower = async () => {
    for (const p of peerList) {
      if (p.name < name) serve(await Deno.connect({ hostname: "127.0.0.1", port: p.port }));
    }
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async peers(peers) {
      peerList = peers;
      await dialLower();
    },
    async map(n, from) {
      for (let i = from; i < from + n; i++) {
        map.set(`k${i}`, i);
        if (i % 1000 === 999) await new Promise((r) => setTimeout(r, 0));
      }
    },
    async keys(n, from, tag) {
      lastTag = tag;
      for (let i = from; i < from + n; i++) {
        keyed.set(`key${i}`, tag);
        if (i % 1000 === 999) await new Promise((r) => setTimeout(r, 0));
      }
    },
    count(what, tag = lastTag) {
      if (what === "map") return map.size;
      let n = 0;
      for (const v of keyed.values()) if (v === tag) n++;
      return n;
    },
    async cut(on) {
      // A partition: every socket closed, what changes meanwhile is kept; the heal
      // reconnects and the sync step 1/2 exchange repairs the difference.
      blocked = on;
      if (on) {
        for (const c of conns) c.close();
        conns.clear();
        pending = [];
      } else {
        await dialLower();
      }
    },
    stop: async () => {
      clearInterval(tick);
      listener.close();
      for (const c of conns) c.close();
      await Promise.resolve();
    },
  };
}

const replica = side === "weft" ? await weft() : yjs();
console.log(JSON.stringify({ port: replica.port }));
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
let rest = "";
outer: for await (const chunk of lines) {
  const parts = (rest + chunk).split("\n");
  rest = parts.pop()!;
  for (const line of parts) {
    const m = JSON.parse(line);
    let reply: unknown = {};
    switch (m.cmd) {
      case "peers":
        await replica.peers(m.peers);
        break;
      case "map":
        await replica.map(m.n, m.from);
        break;
      case "keys":
        await replica.keys(m.n, m.from, m.tag);
        break;
      case "count":
        reply = { count: replica.count(m.what, m.tag) };
        break;
      case "until": {
        const deadline = Date.now() + (m.timeout ?? 120_000);
        while (replica.count(m.what, m.tag) < m.count && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
        }
        reply = replica.count(m.what, m.tag) >= m.count
          ? { at: performance.timeOrigin + performance.now() }
          : { at: null, count: replica.count(m.what, m.tag) };
        break;
      }
      case "cut":
        await replica.cut(m.on);
        break;
      case "io":
        reply = { written };
        break;
      case "quit":
        break outer;
    }
    console.log(JSON.stringify(reply));
  }
}
await replica.stop();
Deno.exit(0);
