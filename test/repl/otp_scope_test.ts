import assert from "node:assert/strict";
import { runWeft } from "../helpers/weft_process.ts";

Deno.test("the shell knows what iex knows: the seed's GenServer typed at --eval, with Logger and h() docs", async () => {
  const code = `
class Stack extends GenServer {
  init(items) { Logger.info("Starting stack on node: " + Node.self()); return { ok: items }; }
  handleCall(request, _from, items) {
    if (request === "pop") return { reply: items[0], state: items.slice(1) };
    return { reply: items.length, state: items };
  }
  handleCast(request, items) { return { noreply: true, state: [request.push, ...items] }; }
}
await GenServer.start(Stack, ["a"], { name: "stack" });
GenServer.cast("stack", { push: "b" });
console.log("POPPED " + await GenServer.call("stack", "pop"));
const t = Task.async(() => 6 * 7);
console.log("TASK " + await Task.await(t));
h("GenServer.call");
`;
  const run = await runWeft(["--eval", code, "--log-level", "info"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /POPPED b/);
  assert.match(run.stdout, /TASK 42/);
  assert.match(run.stdout, /GenServer\.call\(server, request, \{timeout\?\}\)/);
  assert.match(run.stderr + run.stdout, /Starting stack on node: nonode@nohost/);
});
