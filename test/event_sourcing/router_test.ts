import assert from "node:assert/strict";
import {
  CommandRejectedError,
  QuorumNotAchieved,
  StreamDeletedError,
  UnregisteredCommandError,
} from "../../src/errors.ts";
import { AggregateInstance } from "../../src/event_sourcing/aggregate.ts";
import { CommandRouter, type Middleware } from "../../src/event_sourcing/router.ts";
import { SqliteEventStore, type SqliteTx } from "../../src/event_sourcing/sqlite_event_store.ts";
import { Projector } from "../../src/event_sourcing/projection.ts";
import { Upcasters } from "../../src/event_sourcing/upcaster.ts";
import { Runtime } from "../../src/process/runtime.ts";
import { startTestNodes, stopAll } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";
import { ACCOUNT_COMMANDS, bankAccount } from "./bank_account.ts";

async function withRouter(
  fn: (router: CommandRouter, store: SqliteEventStore, runtime: Runtime) => Promise<void>,
  options: {
    idleTimeout?: number;
    middleware?: Middleware[];
    snapshotEvery?: number;
    projections?: string[];
  } = {},
): Promise<void> {
  const store = SqliteEventStore.open(":memory:");
  const runtime = new Runtime();
  const router = new CommandRouter({ store, runtime, ...options }).register(
    bankAccount(options.snapshotEvery),
    { commands: ACCOUNT_COMMANDS, identity: "accountId" },
  );
  try {
    await fn(router, store, runtime);
  } finally {
    await router.stop();
    await runtime.shutdown();
    await store.close();
  }
}

Deno.test("dispatch() runs BankAccount commands and refuses an overdraft without writing", async () => {
  await withRouter(async (router, store) => {
    await router.dispatch({ type: "OpenAccount", accountId: "a1", initialBalance: 100 });
    await router.dispatch({ type: "Deposit", accountId: "a1", amount: 50 });
    const r = await router.dispatch({ type: "Withdraw", accountId: "a1", amount: 120 });
    assert.deepEqual(r, {
      aggregate: "BankAccount",
      id: "a1",
      stream: "BankAccount-a1",
      version: 3,
      position: 3,
      events: 1,
    });
    await assert.rejects(
      router.dispatch({ type: "Withdraw", accountId: "a1", amount: 31 }),
      (e: unknown) => {
        assert.ok(e instanceof CommandRejectedError);
        assert.equal(e.message, "Command Withdraw rejected by BankAccount-a1: Insufficient funds");
        return true;
      },
    );
    const events = await store.read("BankAccount-a1");
    assert.deepEqual(events.map((e) => [e.type, e.data]), [
      ["AccountOpened", { accountId: "a1", initialBalance: 100 }],
      ["MoneyDeposited", { accountId: "a1", amount: 50 }],
      ["MoneyWithdrawn", { accountId: "a1", amount: 120 }],
    ]);
  });
});

Deno.test("dispatch() of an unknown command type is a clear error", async () => {
  await withRouter(async (router) => {
    await assert.rejects(
      router.dispatch({ type: "Fly", accountId: "a1" } as never),
      (e: unknown) =>
        e instanceof UnregisteredCommandError &&
        e.message === "No aggregate is registered for command: Fly",
    );
    await assert.rejects(
      router.dispatch({ type: "Deposit", amount: 1 } as never),
      /Cannot dispatch Deposit: its BankAccount id must be a non-empty string/,
    );
    await assert.rejects(router.dispatch(null as never), TypeError);
  });
});

Deno.test("events carry causation and correlation ids, and middleware can refuse or enrich", async () => {
  const seen: string[] = [];
  const logging: Middleware = async (command, ctx, next) => {
    seen.push(`before ${command.type} ${ctx.id}`);
    const r = await next();
    seen.push(`after ${command.type} v${r.version}`);
    return r;
  };
  const validation: Middleware = (command, ctx, next) => {
    if (command.type === "Deposit" && (command as unknown as { amount: number }).amount > 1000) {
      return Promise.reject(new RangeError("Deposits above 1000 need a review"));
    }
    ctx.meta.metadata.user = "ann";
    return next();
  };
  await withRouter(async (router, store) => {
    await router.dispatch({ type: "OpenAccount", accountId: "a1", initialBalance: 0 }, {
      causationId: "cmd-1",
      correlationId: "conv-1",
    });
    await assert.rejects(
      router.dispatch({ type: "Deposit", accountId: "a1", amount: 5000 }),
      /Deposits above 1000 need a review/,
    );
    const [e] = await store.read("BankAccount-a1");
    assert.equal(e!.causationId, "cmd-1");
    assert.equal(e!.correlationId, "conv-1");
    assert.equal(e!.metadata.user, "ann");
    assert.match(String(e!.metadata.$instance), /^#PID<.+>$/, "the writing process is recorded");
    assert.equal(await store.streamVersion("BankAccount-a1"), 1);
    assert.deepEqual(seen, ["before OpenAccount a1", "after OpenAccount v1", "before Deposit a1"]);
  }, { middleware: [logging, validation] });
});

Deno.test("an instance catches up and retries when another writer appended to its stream", async () => {
  await withRouter(async (router, store) => {
    await router.dispatch({ type: "OpenAccount", accountId: "a1", initialBalance: 10 });
    // another writer (say, a node across a partition) deposits behind the instance's back
    await store.append("BankAccount-a1", [{
      type: "MoneyDeposited",
      data: { accountId: "a1", amount: 90 },
    }]);
    // its append expects version 1, meets 2: it catches up and executes again
    const r = await router.dispatch({ type: "Deposit", accountId: "a1", amount: 5 });
    assert.equal(r.version, 3);
    const w = await router.dispatch({ type: "Withdraw", accountId: "a1", amount: 105 });
    assert.equal(w.version, 4, "the withdrawal saw the deposit the instance did not make");
  });
});

Deno.test("concurrent commands to one instance run one at a time in one process", async () => {
  await withRouter(async (router, store) => {
    await router.dispatch({ type: "OpenAccount", accountId: "a1", initialBalance: 0 });
    await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) => router.dispatch({ type: "Deposit", accountId: "a1", amount: i + 1 }),
      ),
    );
    assert.equal(router.instances().length, 1);
    const instance = new AggregateInstance(store, bankAccount(), "a1");
    await instance.load();
    assert.equal(instance.state.balance, (50 * 51) / 2);
    assert.equal(instance.version, 51);
  });
});

Deno.test("an idle instance stops, and the next command starts it again from the store", async () => {
  await withRouter(async (router) => {
    await router.dispatch({ type: "OpenAccount", accountId: "a1", initialBalance: 5 });
    assert.equal(router.instances().length, 1);
    await waitFor(() => router.instances().length === 0, {
      timeout: 10_000,
      message: "instance never stopped",
    });
    const r = await router.dispatch({ type: "Withdraw", accountId: "a1", amount: 5 });
    assert.equal(r.version, 2);
  }, { idleTimeout: 30 });
});

Deno.test("snapshots every N events, and an instance loads from the snapshot", async () => {
  await withRouter(async (router, store) => {
    await router.dispatch({ type: "OpenAccount", accountId: "a1", initialBalance: 0 });
    for (let i = 0; i < 6; i++) {
      await router.dispatch({ type: "Deposit", accountId: "a1", amount: 10 });
    }
    const snap = await store.snapshots.load<{ balance: number }>("BankAccount-a1");
    assert.equal(snap?.version, 6);
    assert.deepEqual(snap?.state, { id: "a1", balance: 50 });
    // the snapshot is used: a (deliberately) wrong one shows through
    await store.snapshots.save("BankAccount-a1", 7, { id: "a1", balance: 1000 });
    const fresh = new AggregateInstance(store, bankAccount(3), "a1");
    await fresh.load();
    assert.equal(fresh.state.balance, 1000);
    assert.equal(fresh.version, 7);
  }, { snapshotEvery: 3 });
});

Deno.test("consistency strong returns once the named projections have the events", async () => {
  const store = SqliteEventStore.open(":memory:");
  const runtime = new Runtime();
  const projector = Projector.start<SqliteTx>(store, {
    name: "balances",
    init: (tx) =>
      tx.exec("CREATE TABLE IF NOT EXISTS balances (id TEXT PRIMARY KEY, balance INTEGER)"),
    handle: (e, tx) => {
      const d = e.data as { accountId: string; amount?: number; initialBalance?: number };
      const delta = e.type === "MoneyWithdrawn" ? -d.amount! : d.amount ?? d.initialBalance ?? 0;
      tx.run(
        "INSERT INTO balances VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET balance = balance + excluded.balance",
        d.accountId,
        delta,
      );
    },
  }, { pollInterval: 5000 });
  const router = new CommandRouter({ store, runtime, projections: ["balances"] }).register(
    bankAccount(),
    { commands: ACCOUNT_COMMANDS, identity: "accountId" },
  );
  try {
    await router.dispatch({ type: "OpenAccount", accountId: "a1", initialBalance: 7 }, {
      consistency: "strong",
    });
    await router.dispatch({ type: "Deposit", accountId: "a1", amount: 3 }, {
      consistency: "strong",
    });
    const balance = await store.withCheckpoint(
      "_read",
      0,
      (tx) => tx.get<{ balance: number }>("SELECT balance FROM balances WHERE id = 'a1'")?.balance,
    );
    assert.equal(balance, 10);
  } finally {
    await projector.stop();
    await router.stop();
    await runtime.shutdown();
    await store.close();
  }
});

Deno.test("upcasters rewrite old events as an instance loads them", async () => {
  const store = SqliteEventStore.open(":memory:");
  try {
    await store.append("BankAccount-a1", [
      { type: "AccountOpened", data: { accountId: "a1", initialBalance: 0 } },
      { type: "MoneyDeposited.v1", data: { accountId: "a1", cents: 2500 } },
    ]);
    const upcasters = new Upcasters().register("MoneyDeposited.v1", (e) => {
      const d = e.data as { accountId: string; cents: number };
      return { type: "MoneyDeposited", data: { accountId: d.accountId, amount: d.cents / 100 } };
    });
    const a = new AggregateInstance(store, bankAccount(), "a1", { upcasters });
    await a.load();
    assert.equal(a.state.balance, 25);
    const loop = new Upcasters().register("A", (e) => ({ type: "B", data: e.data })).register(
      "B",
      (e) => ({ type: "A", data: e.data }),
    );
    const [first] = await store.read("BankAccount-a1");
    assert.throws(() => loop.upcast({ ...first!, type: "A" }), RangeError);
  } finally {
    await store.close();
  }
});

Deno.test("a command to a deleted aggregate stream is a clear error", async () => {
  await withRouter(async (router, store) => {
    await router.dispatch({ type: "OpenAccount", accountId: "a1", initialBalance: 5 });
    await router.stop();
    await store.deleteStream("BankAccount-a1");
    const other = new AggregateInstance(store, bankAccount(), "a1");
    await assert.rejects(other.load(), StreamDeletedError);
  });
});

Deno.test("on two nodes, an aggregate instance runs on one of them and serves both", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-es-" });
  const nodes = await startTestNodes(["es_r1", "es_r2"]);
  const stores = nodes.map(() => SqliteEventStore.open(`${dir}/events.db`));
  const routers = nodes.map((n, i) =>
    new CommandRouter({ store: stores[i]!, runtime: n.runtime }).register(bankAccount(), {
      commands: ACCOUNT_COMMANDS,
      identity: "accountId",
    })
  );
  try {
    assert.ok(await nodes[0]!.connect(nodes[1]!.address));
    await routers[0]!.dispatch({ type: "OpenAccount", accountId: "a1", initialBalance: 0 });
    await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) => routers[i % 2]!.dispatch({ type: "Deposit", accountId: "a1", amount: 1 }),
      ),
    );
    assert.equal(routers[0]!.instances().length + routers[1]!.instances().length, 1);
    assert.equal(
      routers[0]!.instances().length,
      1,
      "started where the first command was dispatched",
    );
    const a = new AggregateInstance(stores[1]!, bankAccount(), "a1");
    await a.load();
    assert.equal(a.state.balance, 20);
    // its node goes: the next command starts it on the other node
    await routers[0]!.stop();
    await waitFor(() => nodes[1]!.global.whereis("es:BankAccount:a1") === undefined, {
      timeout: 10_000,
    });
    await routers[1]!.dispatch({ type: "Withdraw", accountId: "a1", amount: 20 });
    assert.equal(routers[1]!.instances().length, 1);
  } finally {
    await Promise.all(routers.map((r) => r.stop()));
    await stopAll(nodes);
    for (const s of stores) await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with a quorum, a node that sees too few nodes refuses commands and starts no instance", async () => {
  const nodes = await startTestNodes(["es_q1", "es_q2"]);
  const store = SqliteEventStore.open(":memory:");
  const router = new CommandRouter({ store, runtime: nodes[0]!.runtime, quorum: 2 }).register(
    bankAccount(),
    { commands: ACCOUNT_COMMANDS, identity: "accountId" },
  );
  try {
    await assert.rejects(
      router.dispatch({ type: "OpenAccount", accountId: "a1", initialBalance: 1 }),
      (e: unknown) =>
        e instanceof QuorumNotAchieved && e.required === 2 && e.answered === 1 &&
        /es_q1@127\.0\.0\.1 sees 1 node\(s\), a quorum is 2/.test(e.message),
    );
    assert.equal(router.instances().length, 0);
    assert.equal(await store.streamVersion("BankAccount-a1"), 0, "nothing written");
    assert.ok(await nodes[0]!.connect(nodes[1]!.address));
    const r = await router.dispatch({ type: "OpenAccount", accountId: "a1", initialBalance: 1 });
    assert.equal(r.version, 1);
    assert.throws(
      () => new CommandRouter({ store, runtime: nodes[0]!.runtime, quorum: 0 }),
      TypeError,
    );
  } finally {
    await router.stop();
    await stopAll(nodes);
    await store.close();
  }
});
