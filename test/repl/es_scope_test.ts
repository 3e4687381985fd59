import assert from "node:assert/strict";
import { runWeft } from "../helpers/weft_process.ts";

Deno.test("shell: es registers BankAccount, dispatches commands into --data-dir, with h() docs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = [
      "await es.register({",
      '  name: "BankAccount",',
      "  initial: () => ({ balance: 0 }),",
      '  execute: (s, c) => c.amount > 0 ? { type: "MoneyDeposited", amount: c.amount, balance: s.balance + c.amount } : new Error("Amount must be positive"),',
      "  apply: (s, e) => ({ balance: e.balance }),",
      '}, { commands: ["DepositMoney"], identity: "accountId" });',
      'await es.dispatch({ type: "DepositMoney", accountId: "a1", amount: 10 });',
      'const r = await es.dispatch({ type: "DepositMoney", accountId: "a1", amount: 5 });',
      'console.log("version", r.version);',
      'console.log("balance", (await es.read("BankAccount-a1")).at(-1).data.balance);',
      'try { await es.dispatch({ type: "DepositMoney", accountId: "a1", amount: -1 }); } catch (e) { console.log(e.name, e.message); }',
      "h(es.dispatch);",
      "es.info().commands",
    ].join("\n");
    const args = ["--name", "shell@127.0.0.1", "--no-epmd", "--cookie", "c", "--data-dir", dir];
    const run = await runWeft([...args, "--eval", script]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /version 2/);
    assert.match(run.stdout, /balance 15/);
    assert.match(
      run.stdout,
      /CommandRejectedError Command DepositMoney rejected by BankAccount-a1: Amount must be positive/,
    );
    assert.match(run.stdout, /es\.dispatch\(command, \{ consistency\?/);
    assert.match(run.stdout, /\[ "DepositMoney" \]/);
    // the events are in the node's data directory: a new node reads them back
    const again = await runWeft([...args, "--eval", '(await es.read("BankAccount-a1")).length']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^2$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
