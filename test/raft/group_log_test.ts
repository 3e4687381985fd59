/**
 * The Raft service's log file: what is flushed comes back; a torn final record (a crash in the
 * middle of a write) is dropped; corruption before the end stops the load with the file and the
 * offset; unflushed writes are lost as after a crash.
 */
import assert from "node:assert/strict";
import { StoreCorruptError } from "../../src/errors.ts";
import { GroupLog, LOG_FILE } from "../../src/raft/group_log.ts";
import type { LogEntry } from "../../src/raft/types.ts";

function entry(index: number, command?: unknown): LogEntry<unknown> {
  return command === undefined
    ? { term: 1, index, payload: { type: "noop" } }
    : { term: 1, index, payload: { type: "command", command } };
}

async function withDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "weft-raft-log-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("GroupLog gives back the term, the vote and the entries flushed, with truncations applied", () =>
  withDir((dir) => {
    const log = GroupLog.open(dir);
    log.saveMeta(2, "b@h");
    log.append([entry(1), entry(2, ["put", "k", 1]), entry(3, { nested: [1, "x"] })]);
    log.truncateFrom(3);
    log.append([{ term: 2, index: 3, payload: { type: "command", command: "z" } }]);
    log.flush();
    log.append([entry(4, "unflushed")]);
    log.close();
    const again = GroupLog.open(dir);
    const state = again.load();
    again.close();
    assert.equal(state.term, 2);
    assert.equal(state.votedFor, "b@h");
    assert.deepEqual(state.entries, [
      entry(1),
      entry(2, ["put", "k", 1]),
      { term: 2, index: 3, payload: { type: "command", command: "z" } },
    ]);
  }));

Deno.test("GroupLog drops a torn final record and keeps appending after the last good one", () =>
  withDir((dir) => {
    const log = GroupLog.open(dir);
    log.append([entry(1, "a")]);
    log.flush();
    log.append([entry(2, "b")]);
    log.flush();
    log.close();
    const path = `${dir}/${LOG_FILE}`;
    const bytes = Deno.readFileSync(path);
    Deno.writeFileSync(path, bytes.subarray(0, bytes.length - 3)); // the crash cut the last write
    const again = GroupLog.open(dir);
    assert.deepEqual(again.load().entries, [entry(1, "a")]);
    again.append([entry(2, "c")]);
    again.flush();
    again.close();
    const third = GroupLog.open(dir);
    assert.deepEqual(third.load().entries, [entry(1, "a"), entry(2, "c")]);
    third.close();
  }));

Deno.test("GroupLog refuses corruption before the end with StoreCorruptError naming the file and offset", () =>
  withDir((dir) => {
    const log = GroupLog.open(dir);
    for (let i = 1; i <= 3; i++) {
      log.append([entry(i, `command ${i}`)]);
      log.flush();
    }
    log.close();
    const path = `${dir}/${LOG_FILE}`;
    const bytes = Deno.readFileSync(path);
    bytes[10] = bytes[10]! ^ 0xff; // inside the first record's payload
    Deno.writeFileSync(path, bytes);
    assert.throws(
      () => GroupLog.open(dir),
      (e: Error) =>
        e instanceof StoreCorruptError && e.file === path && /at offset 0 /.test(e.message),
    );
  }));

Deno.test("GroupLog keeps configuration entries and a snapshot, which drops the entries it covers", () =>
  withDir((dir) => {
    const log = GroupLog.open(dir);
    const config = { voters: ["a@h", "b@h"], learners: ["c@h"] };
    log.append([{ term: 1, index: 1, payload: { type: "config", config } }, entry(2, "x")]);
    log.append([entry(3, "y"), entry(4, "z")]);
    const data = new Uint8Array([1, 2, 3]);
    log.saveSnapshot({ index: 3, term: 1, config, data });
    log.append([entry(5, "w")]);
    log.flush();
    log.close();
    const again = GroupLog.open(dir);
    const state = again.load();
    again.close();
    assert.deepEqual(state.snapshot, { index: 3, term: 1, config, data });
    assert.deepEqual(state.entries.map((e) => e.index), [4, 5]);
    const first = GroupLog.open(`${dir}/other`);
    first.append([{ term: 1, index: 1, payload: { type: "config", config } }]);
    first.flush();
    first.close();
    const reread = GroupLog.open(`${dir}/other`);
    assert.deepEqual(reread.load().entries[0]?.payload, { type: "config", config });
    reread.close();
  }));
