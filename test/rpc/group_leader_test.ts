import assert from "node:assert/strict";
import { groupLeader, runWithGroupLeader } from "../../src/rpc/group_leader.ts";
import { Runtime } from "../../src/process/runtime.ts";
import type { ProcessContext } from "../../src/process/types.ts";
import { Pid } from "../../src/term/pid.ts";
import { waitFor } from "../helpers/wait.ts";

const LEADER = new Pid("origin@h", 7, 0, 1);

Deno.test("runWithGroupLeader() sends the process's console lines, formatted, to the writer", async () => {
  const rt = new Runtime({ node: "b@h" });
  const lines: string[] = [];
  try {
    rt.spawn((ctx) =>
      runWithGroupLeader(ctx, LEADER, (level, text) => lines.push(`${level} ${text}`), async () => {
        console.log("hi %s, %d", "you", 42);
        console.info({ a: [1, 2] });
        console.debug("debug");
        await null;
        console.warn("after an await");
        console.error(new RangeError("boom").message);
        assert.ok(groupLeader()?.equals(LEADER));
      })
    );
    await waitFor(() => lines.length === 5);
    assert.deepEqual(lines, [
      "log hi you, 42",
      "info { a: [ 1, 2 ] }",
      "debug debug",
      "warn after an await",
      "error boom",
    ]);
  } finally {
    await rt.shutdown();
  }
});

Deno.test("runWithGroupLeader() forwards only the process itself, not the ones it spawns nor others", async () => {
  const rt = new Runtime({ node: "b@h" });
  const lines: string[] = [];
  const seen: (Pid | undefined)[] = [];
  try {
    let child: Pid | undefined;
    rt.spawn((ctx: ProcessContext) =>
      runWithGroupLeader(ctx, LEADER, (_l, text) => lines.push(text), () => {
        child = ctx.spawn(() => {
          seen.push(groupLeader());
        });
        console.log("parent");
      })
    );
    rt.spawn(() => {
      seen.push(groupLeader());
    });
    await waitFor(() => seen.length === 2 && lines.length === 1 && child !== undefined);
    assert.deepEqual(seen, [undefined, undefined]);
    assert.deepEqual(lines, ["parent"]);
    assert.equal(groupLeader(), undefined);
  } finally {
    await rt.shutdown();
  }
});

Deno.test("a writer that throws does not lose the line: it prints where it was made", async () => {
  const rt = new Runtime({ node: "b@h" });
  const printed: unknown[][] = [];
  const saved = console.debug;
  console.debug = (...args: unknown[]) => void printed.push(args);
  try {
    rt.spawn((ctx) =>
      runWithGroupLeader(ctx, LEADER, () => {
        throw new Error("writer broke");
      }, () => console.debug("kept %d", 1))
    );
    await waitFor(() => printed.length === 1);
    assert.deepEqual(printed, [["%s", "kept 1"]]);
  } finally {
    console.debug = saved;
    await rt.shutdown();
  }
});

Deno.test("forwarding survives a console method replaced after it was set up (as the shell does)", async () => {
  const rt = new Runtime({ node: "b@h" });
  const lines: string[] = [];
  const printed: string[] = [];
  const saved = console.info;
  try {
    // Set up forwarding once, then replace console.info as an interactive shell would.
    rt.spawn((ctx) => runWithGroupLeader(ctx, LEADER, () => {}, () => {}));
    await waitFor(() => rt.list().length === 0);
    console.info = (...args: unknown[]) => void printed.push(args.join(" "));
    let done = false;
    rt.spawn((ctx) =>
      runWithGroupLeader(ctx, LEADER, (_l, text) => lines.push(text), () => {
        console.info("forwarded");
        done = true;
      })
    );
    rt.spawn(() => console.info("printed here"));
    await waitFor(() => done && printed.length === 1);
    assert.deepEqual(lines, ["forwarded"]);
    assert.deepEqual(printed, ["printed here"]);
  } finally {
    console.info = saved;
    await rt.shutdown();
  }
});
