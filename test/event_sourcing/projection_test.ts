import assert from "node:assert/strict";
import {
  PostgresEventStore,
  type PostgresTx,
} from "../../src/event_sourcing/postgres_event_store.ts";
import { type Projection, Projector } from "../../src/event_sourcing/projection.ts";
import { SqliteEventStore, type SqliteTx } from "../../src/event_sourcing/sqlite_event_store.ts";
import { ProcessManagerRunner } from "../../src/event_sourcing/process_manager.ts";
import { CommandRouter } from "../../src/event_sourcing/router.ts";
import { Runtime } from "../../src/process/runtime.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { ACCOUNT_COMMANDS, bankAccount } from "./bank_account.ts";

function balancesSqlite(failOn?: string): Projection<SqliteTx> {
  return {
    name: "balances",
    init: (tx) =>
      tx.exec("CREATE TABLE IF NOT EXISTS balances (id TEXT PRIMARY KEY, balance INTEGER)"),
    handle: (e, tx) => {
      const d = e.data as { id: string; amount: number };
      tx.run(
        "INSERT INTO balances VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET balance = balance + excluded.balance",
        d.id,
        d.amount,
      );
      if (e.type === failOn) throw new Error(`cannot project ${e.type}`);
    },
    reset: (tx) => tx.exec("DELETE FROM balances"),
  };
}

const readSqlite = (store: SqliteEventStore) =>
  store.withCheckpoint("_read", 0, (tx) =>
    Object.fromEntries(
      tx.all<{ id: string; balance: number }>("SELECT id, balance FROM balances ORDER BY id")
        .map((r) => [r.id, r.balance]),
    ));

Deno.test("a projection's read model and checkpoint commit together; a throwing handler changes neither", async () => {
  const store = SqliteEventStore.open(":memory:");
  try {
    await store.append("x", [{ type: "Add", data: { id: "a", amount: 5 } }]);
    await store.append("x", [{ type: "Add", data: { id: "b", amount: 7 } }]);
    await store.append("x", [{ type: "Bad", data: { id: "a", amount: 100 } }]);
    const p = Projector.start(store, balancesSqlite("Bad"), { batchSize: 1, maxRetries: 1 });
    await assert.rejects(p.reached(3), /cannot project Bad/);
    assert.equal(p.status, "failed");
    assert.equal(await store.checkpoints.load("balances"), 2, "the checkpoint is unchanged");
    assert.deepEqual(await readSqlite(store), { a: 5, b: 7 }, "the read model is unchanged");
    // fixed handler: it resumes at the event that failed, and rebuild() gives the same model
    const fixed = Projector.start(store, balancesSqlite());
    await fixed.reached(3);
    assert.deepEqual(await readSqlite(store), { a: 105, b: 7 });
    await fixed.rebuild();
    await fixed.reached(3);
    assert.deepEqual(await readSqlite(store), { a: 105, b: 7 });
    await fixed.stop();
  } finally {
    await store.close();
  }
});

Deno.test("PostgreSQL: a projection commits its read model with its checkpoint, and rebuilds", async () => {
  const pg = await startPostgres();
  try {
    const store = await PostgresEventStore.connect(pg.url);
    const projection: Projection<PostgresTx> = {
      name: "balances",
      init: async (tx) => {
        await tx.unsafe("CREATE TABLE IF NOT EXISTS balances (id text PRIMARY KEY, balance int)");
      },
      handle: async (e, tx) => {
        const d = e.data as { id: string; amount: number };
        await tx.unsafe(
          "INSERT INTO balances VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET balance = balances.balance + excluded.balance",
          [d.id, d.amount],
        );
        if (e.type === "Bad") throw new Error("cannot project Bad");
      },
      reset: async (tx) => {
        await tx.unsafe("DELETE FROM balances");
      },
    };
    const read = () =>
      store.withCheckpoint(
        "_read",
        0,
        async (tx) =>
          Object.fromEntries(
            (await tx.unsafe("SELECT id, balance FROM balances ORDER BY id")).map((
              r,
            ) => [r.id, r.balance]),
          ),
      );
    try {
      await store.append("x", [{ type: "Add", data: { id: "a", amount: 5 } }, {
        type: "Add",
        data: { id: "b", amount: 1 },
      }]);
      await store.append("x", [{ type: "Bad", data: { id: "a", amount: 100 } }]);
      const p = Projector.start(store, projection, { maxRetries: 0, batchSize: 1 });
      await assert.rejects(p.reached(3), /cannot project Bad/);
      assert.equal(await store.checkpoints.load("balances"), 2);
      assert.deepEqual(await read(), { a: 5, b: 1 });
      await p.rebuild();
      await assert.rejects(p.reached(3), /cannot project Bad/);
      assert.deepEqual(await read(), { a: 5, b: 1 });
      await p.stop();
    } finally {
      await store.close();
    }
  } finally {
    await pg.destroy();
  }
});

Deno.test("a process manager dispatches commands for events, with its own state per instance", async () => {
  const store = SqliteEventStore.open(":memory:");
  const runtime = new Runtime();
  const router = new CommandRouter({ store, runtime }).register(bankAccount(), {
    commands: ACCOUNT_COMMANDS,
    identity: "accountId",
  });
  type Transfer = { step: "new" | "requested" | "withdrawn" | "done"; to: string; amount: number };
  // A transfer: "TransferRequested" -> withdraw from the source -> deposit to the target. The
  // commands it dispatches carry the request's id as correlation id, so their events find it.
  const pm = ProcessManagerRunner.start<Transfer>(store, router, {
    name: "transfers",
    interested: (e) =>
      ["TransferRequested", "MoneyWithdrawn", "MoneyDeposited"].includes(e.type)
        ? e.correlationId ?? e.id
        : undefined,
    initial: () => ({ step: "new", to: "", amount: 0 }),
    handle: (s, e) => {
      const d = e.data as { from: string; to: string; amount: number };
      if (e.type === "TransferRequested") {
        return { type: "Withdraw", accountId: d.from, amount: d.amount };
      }
      if (e.type === "MoneyWithdrawn" && s.step === "requested") {
        return { type: "Deposit", accountId: s.to, amount: s.amount };
      }
      return undefined;
    },
    apply: (s, e) => {
      const d = e.data as { to: string; amount: number };
      if (e.type === "TransferRequested") return { step: "requested", to: d.to, amount: d.amount };
      if (e.type === "MoneyWithdrawn" && s.step === "requested") return { ...s, step: "withdrawn" };
      return { ...s, step: "done" };
    },
    done: (s) => s.step === "done",
  });
  try {
    await router.dispatch({ type: "OpenAccount", accountId: "src", initialBalance: 100 });
    await router.dispatch({ type: "OpenAccount", accountId: "dst", initialBalance: 0 });
    const { globalPosition } = await store.append("transfer-t1", [{
      type: "TransferRequested",
      data: { from: "src", to: "dst", amount: 30 },
    }]);
    await pm.reached(globalPosition);
    const request = (await store.read("transfer-t1"))[0]!;
    const [withdrawn] = await store.read("BankAccount-src", { from: 2 });
    assert.equal(withdrawn?.type, "MoneyWithdrawn");
    assert.equal(withdrawn?.causationId, request.id);
    assert.equal(withdrawn?.correlationId, request.id);
    await pm.reached(withdrawn!.globalPosition + 1);
    const [deposited] = await store.read("BankAccount-dst", { from: 2 });
    assert.deepEqual(deposited?.data, { accountId: "dst", amount: 30 });
    assert.equal(deposited?.causationId, withdrawn!.id);
    await pm.reached(deposited!.globalPosition);
    assert.equal(
      await store.snapshots.load(`$pm:transfers:${request.id}`),
      undefined,
      "a finished instance's state is gone",
    );
  } finally {
    await pm.stop();
    await router.stop();
    await runtime.shutdown();
    await store.close();
  }
});
