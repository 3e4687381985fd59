import { timingSafeEqual } from "node:crypto";
import assert from "node:assert/strict";
import {
  acceptHandshake,
  type HandshakeIO,
  type HandshakeResult,
  importCookie,
  initiateHandshake,
  makeProof,
  proofInput,
} from "../../src/distribution/handshake.ts";
import { framedIO, FrameReader } from "../../src/distribution/frame_reader.ts";
import { memoryPair } from "../../src/distribution/memory.ts";
import type { Connection } from "../../src/distribution/transport.ts";
import {
  CAP_HIDDEN,
  CAPS_DEFAULT,
  type HandshakeStatus,
  MAX_HANDSHAKE_FRAME,
  MSG_HELLO,
  MSG_REPLY,
} from "../../src/distribution/types.ts";
import { decode, encode } from "../../src/term/codec.ts";

const A = { name: "a@host", creation: 11, capabilities: CAPS_DEFAULT };
const B = { name: "b@host", creation: 22, capabilities: CAPS_DEFAULT };

function io(conn: Connection): HandshakeIO {
  return framedIO(conn, new FrameReader(conn), MAX_HANDSHAKE_FRAME);
}

/** Records every message an IO sends and receives. */
function recording(inner: HandshakeIO, sent: Uint8Array[], received: Uint8Array[]): HandshakeIO {
  return {
    send: (p) => {
      sent.push(p.slice());
      return inner.send(p);
    },
    recv: async () => {
      const p = await inner.recv();
      received.push(p.slice());
      return p;
    },
  };
}

async function pairUp(options: {
  cookieA?: string;
  cookieB?: string;
  a?: typeof A;
  b?: typeof B;
  dial?: string;
  versionsA?: number[];
  status?: HandshakeStatus;
}): Promise<[HandshakeResult, HandshakeResult]> {
  const [ca, cb] = memoryPair();
  try {
    const keyA = importCookie(options.cookieA ?? "secret");
    const keyB = importCookie(options.cookieB ?? "secret");
    const a = options.a ?? A;
    return await Promise.all([
      initiateHandshake(io(ca), {
        self: a,
        cookie: keyA,
        peer: options.dial ?? (options.b ?? B).name,
        ...(options.versionsA ? { versions: options.versionsA } : {}),
      }).then((r) => {
        if (!r.ok) ca.close();
        return r;
      }),
      acceptHandshake(io(cb), {
        self: options.b ?? B,
        cookie: keyB,
        decide: () => options.status ?? "ok",
      }).then((r) => {
        if (!r.ok) cb.close();
        return r;
      }),
    ]);
  } finally {
    ca.close();
    cb.close();
  }
}

Deno.test("initiateHandshake() and acceptHandshake() authenticate two nodes with one cookie", async () => {
  const [ra, rb] = await pairUp({});
  assert.ok(ra.ok && rb.ok);
  assert.deepEqual(ra.peer, { ...B, hidden: false, version: 1 });
  assert.deepEqual(rb.peer, { ...A, hidden: false, version: 1 });
  assert.equal(ra.status, "ok");
  assert.equal(rb.status, "ok");
});

Deno.test("acceptHandshake() reports a hidden initiator", async () => {
  const [ra, rb] = await pairUp({ a: { ...A, capabilities: CAPS_DEFAULT | CAP_HIDDEN } });
  assert.ok(ra.ok && rb.ok);
  assert.equal(rb.peer.hidden, true);
  assert.equal(ra.peer.hidden, false);
});

Deno.test("initiateHandshake() and acceptHandshake() both fail with bad_cookie on different cookies", async () => {
  const [ra, rb] = await pairUp({ cookieA: "one", cookieB: "two" });
  assert.ok(!ra.ok && !rb.ok);
  assert.equal(ra.reason, "bad_cookie");
  assert.equal(rb.reason, "bad_cookie");
  assert.equal(ra.peerName, "b@host");
  assert.equal(rb.peerName, "a@host");
});

Deno.test("the cookie never crosses the wire", async () => {
  const cookie = "a-very-distinctive-cookie";
  const [ca, cb] = memoryPair();
  const sent: Uint8Array[] = [];
  const received: Uint8Array[] = [];
  const key = importCookie(cookie);
  const [ra, rb] = await Promise.all([
    initiateHandshake(recording(io(ca), sent, received), { self: A, cookie: key, peer: B.name }),
    acceptHandshake(io(cb), { self: B, cookie: key, decide: () => "ok" }),
  ]);
  ca.close();
  cb.close();
  assert.ok(ra.ok && rb.ok);
  const wire = new TextDecoder("latin1").decode(
    new Uint8Array([...sent, ...received].flatMap((b) => [...b])),
  );
  assert.ok(!wire.includes(cookie));
});

Deno.test("acceptHandshake() refuses a replayed REPLY", async () => {
  const key = importCookie("secret");
  // An honest session, recorded by an eavesdropper.
  const [c1, s1] = memoryPair();
  const sent: Uint8Array[] = [];
  const [r1a, r1b] = await Promise.all([
    initiateHandshake(recording(io(c1), sent, []), { self: A, cookie: key, peer: B.name }),
    acceptHandshake(io(s1), { self: B, cookie: key, decide: () => "ok" }),
  ]);
  c1.close();
  s1.close();
  assert.ok(r1a.ok && r1b.ok);
  const [hello, reply] = sent;
  assert.equal((decode(hello!) as unknown[])[0], MSG_HELLO);
  assert.equal((decode(reply!) as unknown[])[0], MSG_REPLY);

  // The eavesdropper replays HELLO and REPLY; B picks a fresh nonce, so the old proof fails.
  const [c2, s2] = memoryPair();
  const attacker = io(c2);
  const accepted = acceptHandshake(io(s2), { self: B, cookie: key, decide: () => "ok" });
  await attacker.send(hello!);
  await attacker.recv(); // CHALLENGE with a new nonceB
  await attacker.send(reply!);
  const result = await accepted;
  c2.close();
  s2.close();
  assert.ok(!result.ok);
  assert.equal(result.reason, "bad_cookie");
});

Deno.test("acceptHandshake() refuses its own proof reflected back as REPLY", async () => {
  const key = importCookie("secret");
  const [c, s] = memoryPair();
  const attacker = io(c);
  const accepted = acceptHandshake(io(s), { self: B, cookie: key, decide: () => "ok" });
  const nonceA = crypto.getRandomValues(new Uint8Array(32));
  await attacker.send(encode([MSG_HELLO, "weft", [1], A.name, A.creation, A.capabilities, nonceA]));
  const challenge = decode(await attacker.recv()) as unknown[];
  const proofA = challenge[7] as Uint8Array;
  await attacker.send(encode([MSG_REPLY, proofA]));
  const result = await accepted;
  c.close();
  s.close();
  assert.ok(!result.ok);
  assert.equal(result.reason, "bad_cookie");
});

Deno.test("makeProof() differs by role, so a responder's proof never passes as an initiator's", () => {
  const key = importCookie("secret");
  const fields = {
    version: 1,
    role: 1,
    nameA: "a@h",
    nameB: "b@h",
    creationA: 1,
    creationB: 2,
    capsA: 3,
    capsB: 3,
    nonceA: new Uint8Array(32).fill(1),
    nonceB: new Uint8Array(32).fill(2),
  };
  const responder = makeProof(key, fields);
  const initiator = makeProof(key, { ...fields, role: 2 });
  assert.ok(!timingSafeEqual(responder, initiator));
  // Swapping the names (the same nonces seen from the other side) changes the proof too.
  const swapped = makeProof(key, { ...fields, nameA: "b@h", nameB: "a@h" });
  assert.ok(!timingSafeEqual(responder, swapped));
  assert.equal(
    proofInput(fields).subarray(0, 16).join(),
    [...new TextEncoder().encode("weft-dist-proof\0")].join(),
  );
});

Deno.test("initiateHandshake() and acceptHandshake() fail with version when no version is shared", async () => {
  const [ra, rb] = await pairUp({ versionsA: [99] });
  assert.ok(!ra.ok && !rb.ok);
  assert.equal(ra.reason, "version");
  assert.equal(rb.reason, "version");
});

Deno.test("acceptHandshake() refuses a peer that claims the responder's own name", async () => {
  const [ra, rb] = await pairUp({ a: { ...A, name: B.name } });
  assert.ok(!ra.ok && !rb.ok);
  assert.equal(ra.reason, "not_allowed");
  assert.equal(rb.reason, "not_allowed");
});

Deno.test("initiateHandshake() fails with nok when the responder's own attempt wins", async () => {
  const [ra, rb] = await pairUp({ status: "nok" });
  assert.ok(!ra.ok && !rb.ok);
  assert.equal(ra.reason, "nok");
  assert.equal(rb.reason, "nok");
});

Deno.test("initiateHandshake() goes on with ok_simultaneous and alive", async () => {
  for (const status of ["ok_simultaneous", "alive"] as const) {
    const [ra, rb] = await pairUp({ status });
    assert.ok(ra.ok && rb.ok);
    assert.equal(ra.status, status);
    assert.equal(rb.status, status);
  }
});

Deno.test("initiateHandshake() refuses a responder that is not the node dialled", async () => {
  const [ra, rb] = await pairUp({ dial: "c@host" });
  assert.ok(!ra.ok && !rb.ok);
  assert.equal(ra.reason, "wrong_node");
  assert.equal(rb.reason, "closed");
});

Deno.test("acceptHandshake() fails with protocol on garbage and with closed on an early end", async () => {
  const key = importCookie("secret");
  const garbage = await acceptHandshake(
    {
      send: () => Promise.resolve(),
      recv: () => Promise.resolve(crypto.getRandomValues(new Uint8Array(64))),
    },
    { self: B, cookie: key, decide: () => "ok" },
  );
  assert.ok(!garbage.ok);
  assert.equal(garbage.reason, "protocol");
  const wrongShape = await acceptHandshake(
    {
      send: () => Promise.resolve(),
      recv: () =>
        Promise.resolve(encode([MSG_HELLO, "weft", [1], "not a name", 1, 1, new Uint8Array(32)])),
    },
    { self: B, cookie: key, decide: () => "ok" },
  );
  assert.ok(!wrongShape.ok);
  assert.equal(wrongShape.reason, "protocol");
  const [c, s] = memoryPair();
  const accepted = acceptHandshake(io(s), { self: B, cookie: key, decide: () => "ok" });
  c.close();
  const closed = await accepted;
  s.close();
  assert.ok(!closed.ok);
  assert.equal(closed.reason, "closed");
});

Deno.test("acceptHandshake() fails with protocol on a frame over 64 KiB", async () => {
  const key = importCookie("secret");
  const [c, s] = memoryPair();
  const accepted = acceptHandshake(io(s), { self: B, cookie: key, decide: () => "ok" });
  await c.write(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  const result = await accepted;
  c.close();
  s.close();
  assert.ok(!result.ok);
  assert.equal(result.reason, "protocol");
  assert.match(result.detail, /Frame too large/);
});

Deno.test("acceptHandshake() and initiateHandshake() refuse creation 0", async () => {
  const [ra, rb] = await pairUp({ a: { ...A, creation: 0 } });
  assert.ok(!ra.ok && !rb.ok);
  assert.equal(rb.reason, "protocol");
  assert.match(rb.detail, /creation must be nonzero/);
  const [rc, rd] = await pairUp({ b: { ...B, creation: 0 } });
  assert.ok(!rc.ok && !rd.ok);
  assert.equal(rc.reason, "protocol");
  assert.match(rc.detail, /creation must be nonzero/);
});

Deno.test("acceptHandshake() fails with protocol on a tick instead of HELLO", async () => {
  const [c, s] = memoryPair();
  const accepted = acceptHandshake(io(s), {
    self: B,
    cookie: importCookie("secret"),
    decide: () => "ok",
  });
  await c.write(new Uint8Array([0, 0, 0, 0]));
  const result = await accepted;
  c.close();
  s.close();
  assert.ok(!result.ok);
  assert.equal(result.reason, "protocol");
});

Deno.test("acceptHandshake() settles only after the initiator's proof, and a refusal reads as nok", async () => {
  const settled: string[] = [];
  const run = async (cookieA: string, settle: boolean) => {
    const [ca, cb] = memoryPair();
    try {
      return await Promise.all([
        initiateHandshake(io(ca), { self: A, cookie: importCookie(cookieA), peer: B.name }),
        acceptHandshake(io(cb), {
          self: B,
          cookie: importCookie("secret"),
          decide: () => "ok",
          settle: (hello, status) => {
            settled.push(`${hello.name} ${hello.creation} ${status}`);
            return settle;
          },
        }),
      ]);
    } finally {
      ca.close();
      cb.close();
    }
  };
  const [bad] = await run("wrong", true);
  assert.ok(!bad.ok && bad.reason === "bad_cookie");
  assert.deepEqual(settled, [], "a peer without the cookie settles nothing");
  const [refusedA, refusedB] = await run("secret", false);
  assert.deepEqual(settled, ["a@host 11 ok"]);
  assert.ok(!refusedA.ok && !refusedB.ok);
  assert.equal(refusedA.reason, "nok");
  assert.equal(refusedB.reason, "nok");
});

Deno.test("initiateHandshake() aborts before REPLY when its attempt is no longer wanted", async () => {
  const [ca, cb] = memoryPair();
  let settled = false;
  try {
    const [ra, rb] = await Promise.all([
      initiateHandshake(io(ca), {
        self: A,
        cookie: importCookie("secret"),
        peer: B.name,
        stillWanted: () => false,
      }),
      acceptHandshake(io(cb), {
        self: B,
        cookie: importCookie("secret"),
        decide: () => "alive",
        settle: () => (settled = true),
      }),
    ]);
    assert.ok(!ra.ok && !rb.ok);
    assert.equal(ra.reason, "nok");
    assert.equal(rb.reason, "closed");
    assert.match(rb.detail, /superseded/);
    assert.equal(settled, false);
  } finally {
    ca.close();
    cb.close();
  }
});
