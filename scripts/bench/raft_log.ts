/**
 * `deno task bench raft_log`: the Raft log on disk, the node's shared write-ahead log
 * (src/raft/wal.ts) against one append-only file per group (what the Raft service had before: the
 * same framed records, one fdatasync per file written) and against `node:sqlite` in WAL mode with
 * `synchronous=FULL`, all with the same payloads (CBOR entries of a 100-byte command) and every
 * batch durable before it counts:
 *
 * ```
 * many groups:  each round, 100 groups append one entry each, then the batch is made durable
 *               (shared WAL: one fdatasync; per-group files: one each; sqlite: one transaction)
 * one group:    one entry, made durable, then the next (a leader with a single client)
 * ```
 *
 * Prints entries/s and fsyncs (sqlite: commits, each one fsync of its WAL) for each, and the
 * figures as a JSON line `RAFT-LOG-RESULT {...}` for scripts/bench/raft.ts to carry. The kept
 * storage is the shared WAL: safe (checksummed, synced before acknowledging, torn tails cut,
 * corruption refused) and the fastest here. `RAFT_LOG_BENCH_MS` sets each run's length
 * (default 2000).
 *
 * @module
 */

import { createRequire } from "node:module";
import type { DatabaseSync as Database } from "../../src/storage/_node_sqlite.d.ts";
import type { LogEntry } from "../../src/raft/types.ts";
import { crc32, RaftWal } from "../../src/raft/wal.ts";
import { entryToWire } from "../../src/raft/wire.ts";
import { encode } from "../../src/term/codec.ts";

const { DatabaseSync } = createRequire(import.meta.url)("node:sqlite") as {
  DatabaseSync: typeof Database;
};

const RUN_MS = Number(Deno.env.get("RAFT_LOG_BENCH_MS") ?? "2000");
const GROUPS = 100;
const command = "c".repeat(100);

interface Figure {
  entries: number;
  fsyncs: number;
  ms: number;
}

/** A store under test: append one entry to group g, and make everything appended durable. */
interface Store {
  append(group: number, entry: LogEntry<string>): void;
  commit(): void;
  fsyncs(): number;
  close(): void;
}

function walStore(dir: string): Store {
  const wal = RaftWal.open(dir);
  const logs = Array.from({ length: GROUPS }, (_, g) => wal.log<string>(`g${g}`));
  return {
    append: (g, e) => logs[g]!.append([e]),
    commit: () => wal.flush(),
    fsyncs: () => wal.fsyncs,
    close: () => wal.close(),
  };
}

function groupFilesStore(dir: string): Store {
  const files = Array.from(
    { length: GROUPS },
    (_, g) => Deno.openSync(`${dir}/g${g}.log`, { write: true, create: true, append: true }),
  );
  const pending = new Map<number, Uint8Array[]>();
  let fsyncs = 0;
  return {
    append: (g, e) => {
      const payload = encode([1, [entryToWire(e)]]);
      const frame = new Uint8Array(8 + payload.length);
      const view = new DataView(frame.buffer);
      view.setUint32(0, payload.length);
      view.setUint32(4, crc32(payload));
      frame.set(payload, 8);
      pending.get(g)?.push(frame) ?? pending.set(g, [frame]);
    },
    commit: () => {
      for (const [g, frames] of pending) {
        const file = files[g]!;
        for (const frame of frames) {
          for (let at = 0; at < frame.length;) at += file.writeSync(frame.subarray(at));
        }
        file.syncDataSync();
        fsyncs++;
      }
      pending.clear();
    },
    fsyncs: () => fsyncs,
    close: () => files.forEach((f) => f.close()),
  };
}

function sqliteStore(dir: string): Store {
  const db = new DatabaseSync(`${dir}/raft.db`);
  db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  db.exec(
    "CREATE TABLE entries (grp TEXT, idx INTEGER, term INTEGER, payload BLOB, PRIMARY KEY (grp, idx)) WITHOUT ROWID",
  );
  const insert = db.prepare("INSERT INTO entries VALUES (?, ?, ?, ?)");
  let open = false;
  let commits = 0;
  return {
    append: (g, e) => {
      if (!open) {
        db.exec("BEGIN");
        open = true;
      }
      insert.run(`g${g}`, e.index, e.term, encode(entryToWire(e)));
    },
    commit: () => {
      if (!open) return;
      db.exec("COMMIT");
      open = false;
      commits++;
    },
    fsyncs: () => commits,
    close: () => db.close(),
  };
}

/** Runs rounds of `groups` appends and one commit for RUN_MS. */
async function measure(make: (dir: string) => Store, groups: number): Promise<Figure> {
  const dir = await Deno.makeTempDir({ prefix: "weft-raft-log-bench-" });
  const store = make(dir);
  try {
    let index = 0;
    let entries = 0;
    const start = performance.now();
    while (performance.now() - start < RUN_MS) {
      index++;
      for (let g = 0; g < groups; g++) {
        store.append(g, { term: 1, index, payload: { type: "command", command } });
      }
      store.commit();
      entries += groups;
    }
    return { entries, fsyncs: store.fsyncs(), ms: performance.now() - start };
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const stores = [
  ["shared_wal", "shared WAL", walStore],
  ["file_per_group", "file per group", groupFilesStore],
  ["sqlite", "node:sqlite WAL, synchronous=FULL", sqliteStore],
] as const;

const result: Record<string, number> = {};
console.log(`\nRaft log on disk (${RUN_MS} ms per run, 100-byte commands, durable per batch)\n`);
for (const [scenario, groups] of [["100 groups", GROUPS], ["1 group", 1]] as const) {
  console.log(`${scenario}, one durable batch per round:`);
  for (const [id, name, make] of stores) {
    const f = await measure(make, groups);
    const rate = f.entries / (f.ms / 1000);
    const perBatch = f.fsyncs / (f.entries / groups);
    console.log(
      `  ${name.padEnd(36)} ${Math.round(rate).toString().padStart(9)} entries/s   ${
        perBatch.toFixed(perBatch < 10 ? 2 : 0).padStart(6)
      } fsyncs per batch${id === "sqlite" ? " (commits)" : ""}`,
    );
    const key = `${scenario.replace(" ", "_")}.${id}`;
    result[`${key}.entries_per_s`] = Math.round(rate);
    result[`${key}.fsyncs_per_batch`] = perBatch;
  }
}
console.log(`RAFT-LOG-RESULT ${JSON.stringify(result)}`);
