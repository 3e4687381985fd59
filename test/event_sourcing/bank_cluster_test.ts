/**
 * The seed's BankAccount on three real nodes (`deno run main.ts`, one
 * PostgreSQL): deposits and withdrawals sent from every node, before,
 * during and after a partition. What a user would check: no acknowledged
 * command is lost, the balance is the sum of what was written, and the
 * account's instance was never live on two nodes at once (each event
 * records the process that wrote it).
 *
 * @module
 */

import assert from "node:assert/strict";
import { PostgresEventStore } from "../../src/event_sourcing/postgres_event_store.ts";
import { rpc } from "../../src/rpc/namespace.ts";
import { LocalCluster } from "../../src/testing/local_cluster.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { prng } from "../helpers/prng.ts";
import { waitFor } from "../helpers/wait.ts";

const MODULE = new URL("../helpers/bank_module.ts", import.meta.url).pathname;

Deno.test("BankAccount across 3 real nodes and a partition: no lost update, never live on two nodes", async () => {
  const pg = await startPostgres();
  const names = ["esbank1", "esbank2", "esbank3"];
  const [n1, n2, n3] = names.map((n) => `${n}@127.0.0.1`) as [string, string, string];
  let cluster: LocalCluster;
  try {
    cluster = await LocalCluster.start(names, {
      args: ["--event-store", pg.url, "--load", MODULE],
      timeout: 60_000,
    });
  } catch (e) {
    await pg.destroy();
    throw e;
  }
  const random = prng(29);
  const sent = new Map<string, { node: string; type: string; amount: number }>();
  const acked = new Set<string>();
  let seq = 0;
  const call = <R>(node: string, fn: string, args: unknown[]) =>
    rpc.call<R>(node, "bank", fn, args, { runtime: cluster.controller.runtime, timeout: 30_000 });
  const send = async (node: string, type: "Deposit" | "Withdraw") => {
    const amount = 1 + Math.floor(random() * (type === "Deposit" ? 50 : 30));
    const id = `cmd-${seq++}`;
    sent.set(id, { node, type, amount });
    const r = await call<{ ok: number } | { error: string }>(node, "dispatch", [
      { type, accountId: "acc", amount },
      id,
    ]).catch((e) => ({ error: String(e) }));
    if ("ok" in r) acked.add(id);
    return r;
  };
  const round = (nodes: string[], each: number) =>
    Promise.all(
      nodes.flatMap((node) =>
        Array.from({ length: each }, (_, i) => send(node, i % 3 === 2 ? "Withdraw" : "Deposit"))
      ),
    );
  try {
    const opened = await call<{ ok: number }>(n2, "dispatch", [
      { type: "OpenAccount", accountId: "acc", initialBalance: 1000 },
      "open",
    ]);
    assert.deepEqual(opened, { ok: 1 });
    await round([n1, n2, n3], 8);

    await cluster.partition([n1], [n2, n3]);
    await waitFor(async () => (await cluster.list(n1)).length === 0, { timeout: 30_000 });
    const minority = await round([n1], 4);
    for (const r of minority) {
      assert.ok(
        "error" in r && /QuorumNotAchieved/.test(r.error),
        `minority refused: ${JSON.stringify(r)}`,
      );
    }
    await round([n2, n3], 8);

    await cluster.heal();
    await cluster.waitForMesh();
    await waitFor(async () => {
      const held = await Promise.all(
        [n1, n2, n3].map((n) => call<string | null>(n, "holder", ["acc"])),
      );
      return held.every((h) => h !== null && h === held[0]);
    }, { timeout: 30_000, message: "the nodes never agreed on the instance's node" });
    await round([n1, n2, n3], 8);

    const store = await PostgresEventStore.connect(pg.url);
    try {
      const events = await store.read("BankAccount-acc");
      // no lost update: every acknowledged command's event is there, once
      const byCause = new Map<string, number>();
      for (const e of events) byCause.set(e.causationId!, (byCause.get(e.causationId!) ?? 0) + 1);
      for (const id of acked) assert.equal(byCause.get(id), 1, `acknowledged ${id} written once`);
      for (const [id, n] of byCause) assert.equal(n, 1, `${id} written once`);
      // the balance is the sum of what was written
      let balance = 0;
      for (const e of events) {
        const d = e.data as { amount?: number; initialBalance?: number };
        balance += e.type === "AccountOpened"
          ? d.initialBalance!
          : e.type === "MoneyDeposited"
          ? d.amount!
          : -d.amount!;
        assert.ok(balance >= 0, "never overdrawn");
      }
      const expected = 1000 +
        [...byCause.keys()].filter((id) => id !== "open").reduce((sum, id) => {
          const c = sent.get(id)!;
          return sum + (c.type === "Deposit" ? c.amount : -c.amount);
        }, 0);
      assert.equal(balance, expected);
      assert.ok(acked.size >= 40, `${acked.size} commands acknowledged`);
      // never live on two nodes at once: the writers' runs never interleave
      const writers: string[] = [];
      for (const e of events) {
        const w = String(e.metadata.$instance);
        if (writers.at(-1) !== w) {
          assert.ok(
            !writers.includes(w),
            `instance ${w} wrote again after another one: ${writers}`,
          );
          writers.push(w);
        }
      }
    } finally {
      await store.close();
    }
  } finally {
    await cluster.close();
    await pg.destroy();
  }
});
