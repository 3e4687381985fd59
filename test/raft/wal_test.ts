/**
 * The node's shared Raft write-ahead log: every group's term, vote, entries and snapshot come
 * back; a batch of a hundred groups costs one fsync; a torn final record (a crash in the middle
 * of a write) is dropped; a flipped byte before the end stops the open with the file and offset;
 * unflushed writes are lost as after a crash; the file is rewritten to its live records; and a
 * real writer killed with SIGKILL mid-append loses nothing it acknowledged.
 */
import assert from "node:assert/strict";
import { RaftLogCorruptError } from "../../src/errors.ts";
import type { LogEntry } from "../../src/raft/types.ts";
import { RaftWal, WAL_FILE } from "../../src/raft/wal.ts";
import { walRecords } from "../helpers/raft_wal_records.ts";

function entry(index: number, command?: unknown, term = 1): LogEntry<unknown> {
  return command === undefined
    ? { term, index, payload: { type: "noop" } }
    : { term, index, payload: { type: "command", command } };
}

async function withDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "weft-raft-wal-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("RaftWal gives back each group's term, vote, entries and snapshot, with truncations applied", () =>
  withDir((dir) => {
    const wal = RaftWal.open(dir);
    const a = wal.log("a"), b = wal.log("b");
    a.saveMeta(2, "n2@h");
    a.append([entry(1), entry(2, ["put", "k", 1]), entry(3, { nested: [1, "x"] })]);
    b.append([entry(1, "b1")]);
    a.truncateFrom(3);
    a.append([entry(3, "z", 2)]);
    const config = { voters: ["n1@h", "n2@h"], learners: ["n3@h"] };
    b.append([{ term: 1, index: 2, payload: { type: "config", config } }, entry(3, "b3")]);
    b.saveSnapshot({ index: 2, term: 1, config, data: new Uint8Array([7, 7]) });
    wal.log("gone").append([entry(1, "x")]);
    wal.forget("gone");
    wal.flush();
    a.append([entry(4, "unflushed")]);
    wal.close();
    const again = RaftWal.open(dir);
    assert.deepEqual(again.groups(), ["a", "b"]);
    assert.deepEqual(again.log("a").load(), {
      term: 2,
      votedFor: "n2@h",
      snapshot: null,
      entries: [entry(1), entry(2, ["put", "k", 1]), entry(3, "z", 2)],
    });
    assert.deepEqual(again.log("b").load(), {
      term: 0,
      votedFor: null,
      snapshot: { index: 2, term: 1, config, data: new Uint8Array([7, 7]) },
      entries: [entry(3, "b3")],
    });
    again.close();
  }));

Deno.test("RaftWal makes a hundred groups' writes durable with one fsync (group commit)", () =>
  withDir((dir) => {
    const wal = RaftWal.open(dir);
    let asked = 0;
    const logs = Array.from({ length: 100 }, (_, g) => wal.log(`g${g}`, () => asked++));
    for (const [g, log] of logs.entries()) {
      log.saveMeta(1, null);
      log.append([entry(1, g)]);
      log.sync();
      log.sync(); // asks once per flush
    }
    assert.equal(asked, 100);
    assert.ok(wal.dirty);
    logs[0]!.flush(); // any group's flush is the whole WAL's
    assert.equal(wal.fsyncs, 1);
    assert.ok(!wal.dirty);
    logs[99]!.flush();
    assert.equal(wal.fsyncs, 1); // nothing left to write
    wal.close();
    const again = RaftWal.open(dir);
    assert.equal(again.groups().length, 100);
    assert.deepEqual(again.log("g42").load().entries, [entry(1, 42)]);
    again.close();
  }));

Deno.test("RaftWal drops a torn final record and keeps appending after the last good one", () =>
  withDir((dir) => {
    const wal = RaftWal.open(dir);
    wal.log("a").append([entry(1, "a")]);
    wal.flush();
    wal.log("a").append([entry(2, "b")]);
    wal.flush();
    wal.close();
    const path = `${dir}/${WAL_FILE}`;
    const bytes = Deno.readFileSync(path);
    // The crash cut the last write short; then, the same write padded with zeros by the disk.
    for (const torn of [bytes.subarray(0, bytes.length - 3), padZeros(bytes, 3)]) {
      Deno.writeFileSync(path, torn);
      const again = RaftWal.open(dir);
      assert.deepEqual(again.log("a").load().entries, [entry(1, "a")]);
      again.log("a").append([entry(2, "c")]);
      again.flush();
      again.close();
      const third = RaftWal.open(dir);
      assert.deepEqual(third.log("a").load().entries, [entry(1, "a"), entry(2, "c")]);
      third.close();
      Deno.writeFileSync(path, bytes);
    }
  }));

/** `bytes` with its last `n` bytes zeroed and a few zeros more (a torn write padded by the disk). */
function padZeros(bytes: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(bytes.length + 5);
  out.set(bytes.subarray(0, bytes.length - n));
  return out;
}

Deno.test("RaftWal refuses a group whose acknowledged data has a flipped byte, naming the file and offset; the other groups open", () =>
  withDir((dir) => {
    const wal = RaftWal.open(dir);
    for (let i = 1; i <= 3; i++) {
      wal.log("a").append([entry(i, `command ${i}`)]);
      wal.log("b").append([entry(i, `command ${i}`)]);
      wal.flush();
    }
    wal.close();
    const path = `${dir}/${WAL_FILE}`;
    const bytes = Deno.readFileSync(path);
    const second = walRecords(bytes).filter((r) => r.group === "a")[1]!;
    bytes[second.body + 3] = bytes[second.body + 3]! ^ 0x01;
    Deno.writeFileSync(path, bytes);
    const again = RaftWal.open(dir);
    assert.throws(
      () => again.log("a"),
      (e: Error) =>
        e instanceof RaftLogCorruptError && e.file === path && e.offset === second.at &&
        e.message.includes(`${path} holds a corrupt record at offset ${second.at}`),
    );
    assert.deepEqual(again.log("b").load().entries.map((e) => e.index), [1, 2, 3]);
    assert.deepEqual(again.groups(), ["a", "b"]);
    again.log("b").append([entry(4, "more")]);
    again.flush();
    again.close();
    // Nothing was cut off or rewritten: the bad record is still there for inspection.
    assert.deepEqual(Deno.readFileSync(path).subarray(0, bytes.length), bytes);
  }));

Deno.test("RaftWal refuses to open when a record header before the end is corrupt (nothing after it can be found)", () =>
  withDir((dir) => {
    const wal = RaftWal.open(dir);
    for (let i = 1; i <= 3; i++) {
      wal.log("a").append([entry(i, `command ${i}`)]);
      wal.flush();
    }
    wal.close();
    const path = `${dir}/${WAL_FILE}`;
    const bytes = Deno.readFileSync(path);
    const second = walRecords(bytes)[1]!;
    bytes[second.at + 1] = bytes[second.at + 1]! ^ 0x40; // its length
    Deno.writeFileSync(path, bytes);
    assert.throws(
      () => RaftWal.open(dir),
      (e: Error) => e instanceof RaftLogCorruptError && e.file === path && e.offset === second.at,
    );
    assert.deepEqual(Deno.readFileSync(path), bytes);
  }));

Deno.test("RaftWal rewrites its file to the live records once it has doubled, and reads back the same", () =>
  withDir((dir) => {
    const wal = RaftWal.open(dir, { rewriteBytes: 4096 });
    const log = wal.log<string>("a");
    const value = "x".repeat(100);
    for (let i = 1; i <= 300; i++) {
      log.append([entry(i, value) as LogEntry<string>]);
      wal.flush();
      if (i % 50 === 0) {
        log.saveSnapshot({
          index: i - 10,
          term: 1,
          config: { voters: ["a"], learners: [] },
          data: new Uint8Array([i & 255]),
        });
      }
    }
    wal.flush();
    assert.ok(wal.rewrites > 0, `rewrites: ${wal.rewrites}`);
    assert.ok(wal.size < 8192, `size: ${wal.size}`);
    const before = log.load();
    wal.close();
    const again = RaftWal.open(dir, { rewriteBytes: 4096 });
    assert.deepEqual(again.log("a").load(), before);
    assert.equal(before.snapshot?.index, 290);
    assert.deepEqual(before.entries.map((e) => e.index), [
      291,
      292,
      293,
      294,
      295,
      296,
      297,
      298,
      299,
      300,
    ]);
    again.close();
  }));

Deno.test("RaftWal: a writer killed with SIGKILL mid-append loses nothing it acknowledged", () =>
  withDir(async (dir) => {
    const groups = 10;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "test/helpers/raft_wal_writer_child.ts", dir, String(groups)],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    let acked = 0;
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    try {
      // Kill it at a random point once it has acknowledged a few hundred rounds.
      const target = 200 + Math.floor(Math.random() * 200);
      while (acked < target) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the writer exited after round ${acked}`);
        buffered += value;
        const lines = buffered.split("\n");
        buffered = lines.pop()!;
        for (const line of lines) acked = Number(line.split(" ")[1]);
      }
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel().catch(() => {});
    }
    const wal = RaftWal.open(dir);
    for (let g = 0; g < groups; g++) {
      const entries = wal.log(`g${g}`).load().entries;
      assert.ok(entries.length >= acked, `g${g}: ${entries.length} entries, ${acked} acknowledged`);
      entries.forEach((e, i) => assert.equal(e.index, i + 1));
      const payload = entries[acked - 1]!.payload;
      assert.ok(payload.type === "command" && String(payload.command).startsWith(`${acked}:`));
    }
    wal.close();
  }));
