/**
 * A Raft WAL writer in a child process, for the kill -9 test:
 * `deno run -A test/helpers/raft_wal_writer_child.ts DIR GROUPS`.
 *
 * It opens the WAL in DIR and, in rounds, appends one entry of 200 bytes to each of GROUPS
 * groups (and saves a term now and then), flushes, and only then prints the round's line
 * `acked ROUND`: every entry of rounds up to ROUND is acknowledged, so it must survive a crash.
 * It runs until killed.
 *
 * ```
 * this: append (GROUPS records) -> flush (write + fdatasync) -> stdout "acked N"
 * test: reads "acked N" ... kill -9 at any point ... RaftWal.open(DIR): rounds 1..N all there
 * ```
 *
 * @example
 * ```ts ignore
 * const child = new Deno.Command(Deno.execPath(), {
 *   args: ["run", "-A", "test/helpers/raft_wal_writer_child.ts", dir, "10"],
 *   stdout: "piped",
 * }).spawn();
 * ```
 *
 * @module
 */

import { RaftWal } from "../../src/raft/wal.ts";

const [dir, groupsArg] = Deno.args;
const groups = Number(groupsArg);
const wal = RaftWal.open(dir!);
const logs = Array.from({ length: groups }, (_, g) => wal.log<string>(`g${g}`));
const value = "v".repeat(200);
const out = Deno.stdout;
const encoder = new TextEncoder();
for (let round = 1;; round++) {
  for (const log of logs) {
    if (round % 50 === 1) log.saveMeta(round, null);
    log.append([{
      term: 1,
      index: round,
      payload: { type: "command", command: `${round}:${value}` },
    }]);
    log.sync();
  }
  wal.flush();
  out.writeSync(encoder.encode(`acked ${round}\n`));
}
