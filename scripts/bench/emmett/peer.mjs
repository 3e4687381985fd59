// Emmett's side of scripts/bench/eventstore.ts, run by Node.js:
//   node peer.mjs postgres|sqlite <postgres URL | SQLite file> <N>
// The same workload as Weft's side; prints one line: BENCH-RESULT {figures}.
// Emmett on PostgreSQL comes from ./pg (emmett 0.42.0), on SQLite from ./sqlite (emmett 0.38.5).
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [kind, where, nArg] = process.argv.slice(2);
const N = Number(nArg ?? 1000);
const here = new URL(".", import.meta.url).pathname;
const dir = kind === "postgres" ? `${here}pg/` : `${here}sqlite/`;
const req = createRequire(`${dir}package.json`);
const load = async (name) => await import(pathToFileURL(req.resolve(name)).href);

const { CommandHandler } = await load("@event-driven-io/emmett");
const store = kind === "postgres"
  ? (await load("@event-driven-io/emmett-postgresql")).getPostgreSQLEventStore(where)
  : (await load("@event-driven-io/emmett-sqlite")).getSQLiteEventStore({
    fileName: where,
    schema: { autoMigration: "CreateOrUpdate" },
  });

const rate = (n, ms) => n / (ms / 1000);
const figures = {};
const pad = "x".repeat(100);

// warm up (creates the schema)
await store.appendToStream("warm-0", [{ type: "Warm", data: { pad } }]);

let t0 = performance.now();
for (let i = 0; i < N; i++) {
  await store.appendToStream(`single-${i % 100}`, [{ type: "Added", data: { i, pad } }]);
}
figures.append1 = rate(N, performance.now() - t0);

const batches = Math.max(1, Math.floor(N / 20));
t0 = performance.now();
for (let b = 0; b < batches; b++) {
  const events = Array.from({ length: 100 }, (_, i) => ({ type: "Added", data: { i, pad } }));
  await store.appendToStream(`batch-${b}`, events);
}
figures.append100 = rate(batches * 100, performance.now() - t0);

t0 = performance.now();
let read = 0;
for (let pass = 0; pass < 3; pass++) {
  for (let b = 0; b < batches; b++) read += (await store.readStream(`batch-${b}`)).events.length;
}
figures.read = rate(read, performance.now() - t0);

const handle = CommandHandler({
  evolve: (state, event) => ({ balance: state.balance + event.data.amount }),
  initialState: () => ({ balance: 0 }),
});
const commands = Math.max(1, Math.floor(N / 2));
t0 = performance.now();
for (let i = 0; i < commands; i++) {
  await handle(store, `account-${i % 50}`, (state) => ({
    type: "MoneyDeposited",
    data: { amount: 1, balance: state.balance + 1 },
  }));
}
figures.commands = rate(commands, performance.now() - t0);

await store.close?.();
console.log("BENCH-RESULT " + JSON.stringify(figures));
