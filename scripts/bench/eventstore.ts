/**
 * The event store benchmark: Weft's event store side by side with Emmett
 * (`@event-driven-io/emmett`, the TypeScript event store to beat) in the
 * same run, on the same databases:
 *
 * - appends/s, one event per append (N appends over 100 streams);
 * - appends/s in batches of 100 events (N/20 appends, each a new stream), counted in events;
 * - events read/s (every batch stream read whole, three times);
 * - aggregate commands/s (N/2 deposits over 50 accounts: Weft through its command router,
 *   one process per account holding its state; Emmett through its `CommandHandler`, which
 *   reads the stream, folds it and appends with the expected version on every command).
 *
 * on SQLite (Weft: `node:sqlite` under Deno; Emmett 0.38.5: `sqlite3` under Node.js), each side
 * its own fresh file, and on one throwaway PostgreSQL 15 server (Weft: `postgres` under Deno;
 * Emmett 0.42.0: `pg` under Node.js), each side its own fresh database. Every figure comes from
 * a fresh OS process; the sides alternate (A/B, then B/A) for `ES_BENCH_ROUNDS` rounds (default
 * 2) and the table shows medians and their spread. Target: Weft at least 1.5x Emmett's appends/s
 * and reads/s on the same database.
 *
 * Emmett is installed on first use into `scripts/bench/emmett/{pg,sqlite}` (their own
 * `package.json`, outside the root's `npm ci`); building `sqlite3` from source takes minutes.
 *
 * Run with `deno task bench eventstore` (`ES_BENCH_N`, default 1000, sets N).
 *
 * @module
 */

import postgres from "postgres";
import { AggregateInstance } from "../../src/event_sourcing/aggregate.ts";
import type { EventStore } from "../../src/event_sourcing/event_store.ts";
import { PostgresEventStore } from "../../src/event_sourcing/postgres_event_store.ts";
import { CommandRouter } from "../../src/event_sourcing/router.ts";
import { SqliteEventStore } from "../../src/event_sourcing/sqlite_event_store.ts";
import { Runtime } from "../../src/process/runtime.ts";
import { startPostgres } from "../../test/helpers/postgres.ts";

const N = Number(Deno.env.get("ES_BENCH_N") ?? 1000);
const ROUNDS = Number(Deno.env.get("ES_BENCH_ROUNDS") ?? 2);
const EMMETT = new URL("./emmett/", import.meta.url).pathname;
const RESULT = "BENCH-RESULT ";

type Figures = Record<string, number>;

const rate = (n: number, ms: number) => n / (ms / 1000);

/** Weft's side: the same workload as emmett/peer.mjs. */
async function weftSide(kind: string, where: string): Promise<Figures> {
  const store: EventStore<unknown> = kind === "postgres"
    ? await PostgresEventStore.connect(where) as EventStore<unknown>
    : SqliteEventStore.open(where) as EventStore<unknown>;
  const figures: Figures = {};
  const pad = "x".repeat(100);
  await store.append("warm-0", [{ type: "Warm", data: { pad } }]);

  let t0 = performance.now();
  for (let i = 0; i < N; i++) {
    await store.append(`single-${i % 100}`, [{ type: "Added", data: { i, pad } }]);
  }
  figures.append1 = rate(N, performance.now() - t0);

  const batches = Math.max(1, Math.floor(N / 20));
  t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const events = Array.from({ length: 100 }, (_, i) => ({ type: "Added", data: { i, pad } }));
    await store.append(`batch-${b}`, events);
  }
  figures.append100 = rate(batches * 100, performance.now() - t0);

  t0 = performance.now();
  let read = 0;
  for (let pass = 0; pass < 3; pass++) {
    for (let b = 0; b < batches; b++) read += (await store.read(`batch-${b}`)).length;
  }
  figures.read = rate(read, performance.now() - t0);

  const runtime = new Runtime();
  const router = new CommandRouter({ store, runtime }).register({
    name: "account",
    initial: () => ({ balance: 0 }),
    execute: (s: { balance: number }, _c: { type: "Deposit"; id: string }) => ({
      type: "MoneyDeposited",
      amount: 1,
      balance: s.balance + 1,
    }),
    apply: (s: { balance: number }, e: { type: string; amount: number }) => ({
      balance: s.balance + e.amount,
    }),
  }, { commands: ["Deposit"], identity: "id" });
  const commands = Math.max(1, Math.floor(N / 2));
  t0 = performance.now();
  for (let i = 0; i < commands; i++) await router.dispatch({ type: "Deposit", id: `${i % 50}` });
  figures.commands = rate(commands, performance.now() - t0);
  // the router's work is real: the last account holds every deposit
  const check = new AggregateInstance(store, {
    name: "account",
    initial: () => ({ balance: 0 }),
    execute: () => undefined,
    apply: (s: { balance: number }, e: { type: string; amount: number }) => ({
      balance: s.balance + e.amount,
    }),
  }, "0");
  await check.load();
  if (check.state.balance !== Math.ceil(commands / 50)) throw new Error("lost deposits");
  await router.stop();
  await runtime.shutdown();
  await store.close();
  return figures;
}

async function ensureEmmett(): Promise<void> {
  for (
    const [dir, marker] of [
      ["pg", "node_modules/@event-driven-io/emmett-postgresql/package.json"],
      ["sqlite", "node_modules/sqlite3/build/Release/node_sqlite3.node"],
    ] as const
  ) {
    try {
      Deno.statSync(`${EMMETT}${dir}/${marker}`);
      continue;
    } catch { /* not installed yet */ }
    console.log(
      `Installing Emmett into scripts/bench/emmett/${dir} (once; sqlite3 builds from source)...`,
    );
    const out = await new Deno.Command("npm", {
      args: ["install", "--no-audit", "--no-fund"],
      cwd: `${EMMETT}${dir}`,
      env: { npm_config_nodedir: "/usr" },
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`npm install in scripts/bench/emmett/${dir} failed`);
  }
}

async function child(cmd: string, args: string[]): Promise<Figures> {
  for (let attempt = 1;; attempt++) {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(out.stdout);
    const line = text.split("\n").find((l) => l.startsWith(RESULT));
    if (out.success && line !== undefined) return JSON.parse(line.slice(RESULT.length));
    const why = `${cmd} ${args.join(" ")} failed:\n${text}\n${
      new TextDecoder().decode(out.stderr)
    }`;
    // emmett-sqlite 0.38.5 under sqlite3 now and then fails a commit with SQLITE_BUSY
    // ("SQL statements in progress"); such a run is run again, and said so.
    if (attempt >= 5) throw new Error(why);
    console.log(
      `  (run failed, running it again: ${why.split("\n").slice(1, 3).join(" ").trim()})`,
    );
    const file = args.find((a) => a.endsWith(".db"));
    if (file !== undefined) await Deno.remove(file).catch(() => {});
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (x: number) => x >= 100 ? Math.round(x).toLocaleString("en") : x.toFixed(1);

async function orchestrate(): Promise<void> {
  await ensureEmmett();
  const pg = await startPostgres({ fsync: true });
  const admin = postgres(pg.url, { onnotice: false, max: 1 });
  const tmp = await Deno.makeTempDir({ prefix: "weft-es-bench-" });
  let db = 0;
  const samples: Record<string, { weft: Figures[]; emmett: Figures[] }> = {
    sqlite: { weft: [], emmett: [] },
    postgres: { weft: [], emmett: [] },
  };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of ["sqlite", "postgres"] as const) {
        const order = round % 2 === 0 ? ["weft", "emmett"] as const : ["emmett", "weft"] as const;
        for (const side of order) {
          let where: string;
          if (kind === "postgres") {
            const name = `bench_${db++}`;
            await admin.unsafe(`CREATE DATABASE ${name}`);
            where = pg.url.replace(/\/postgres$/, `/${name}`);
          } else {
            where = `${tmp}/${side}-${db++}.db`;
          }
          const figures = side === "weft"
            ? await child(Deno.execPath(), [
              "run",
              "-A",
              new URL(import.meta.url).pathname,
              "--side",
              "weft",
              kind,
              where,
            ])
            : await child("node", [`${EMMETT}peer.mjs`, kind, where, String(N)]);
          samples[kind]![side].push(figures);
          console.log(
            `  round ${round + 1} ${kind} ${side}: ${
              JSON.stringify(figures, (_k, v) => typeof v === "number" ? Math.round(v) : v)
            }`,
          );
        }
      }
    }
  } finally {
    await admin.end({ timeout: 5 });
    await pg.destroy();
    await Deno.remove(tmp, { recursive: true });
  }
  const rows: [string, string, number | undefined][] = [
    ["append1", "appends/s (1 event per append)", 1.5],
    ["append100", "events/s appended in batches of 100", 1.5],
    ["read", "events read/s", 1.5],
    ["commands", "aggregate commands/s", undefined],
  ];
  console.log(
    `\nEvent store: Weft vs Emmett, N=${N}, ${ROUNDS} rounds, medians (min-max); PostgreSQL 15 with fsync on`,
  );
  for (const kind of ["sqlite", "postgres"] as const) {
    console.log(`\n${kind}`);
    console.log("| figure | Weft | Emmett | Weft/Emmett | target | met |");
    console.log("|---|---|---|---|---|---|");
    for (const [key, name, target] of rows) {
      const w = samples[kind]!.weft.map((f) => f[key]!);
      const e = samples[kind]!.emmett.map((f) => f[key]!);
      const ratio = median(w) / median(e);
      console.log(
        `| ${name} | ${fmt(median(w))} (${fmt(Math.min(...w))}-${fmt(Math.max(...w))}) | ` +
          `${fmt(median(e))} (${fmt(Math.min(...e))}-${fmt(Math.max(...e))}) | ${
            ratio.toFixed(2)
          }x | ` +
          `${target === undefined ? "-" : `>= ${target}x`} | ${
            target === undefined ? "-" : ratio >= target ? "yes" : "NO"
          } |`,
      );
    }
  }
}

const sideAt = Deno.args.indexOf("--side");
if (sideAt >= 0) {
  const [kind, where] = Deno.args.slice(sideAt + 2);
  const figures = await weftSide(kind!, where!);
  console.log(RESULT + JSON.stringify(figures));
} else {
  await orchestrate();
}
