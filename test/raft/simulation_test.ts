import assert from "node:assert/strict";
import { simulate, type SimulationReport } from "../helpers/raft_simulation.ts";

const SEEDS = Number(Deno.env.get("RAFT_SIM_SEEDS") ?? "600");

Deno.test(`Raft keeps its safety properties and a linearizable KV history over ${SEEDS} seeds of faults`, () => {
  const reports: SimulationReport[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) reports.push(simulate({ seed }));
  const sum = (f: (r: SimulationReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  // The faults happened and the group still did work through them.
  assert.ok(sum((r) => r.crashes) > SEEDS, `crashes: ${sum((r) => r.crashes)}`);
  assert.ok(sum((r) => r.elections) > 2 * SEEDS, `elections: ${sum((r) => r.elections)}`);
  assert.ok(sum((r) => r.completed) > 10 * SEEDS, `completed: ${sum((r) => r.completed)}`);
});

Deno.test("the simulation is deterministic: a seed replays the same run", () => {
  assert.deepEqual(simulate({ seed: 42 }), simulate({ seed: 42 }));
});
