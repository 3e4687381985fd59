import assert from "node:assert/strict";
import { simulate, type SimulationReport } from "../helpers/raft_simulation.ts";

const SEEDS = Number(Deno.env.get("RAFT_SIM_SEEDS") ?? "1500");

Deno.test(`Raft keeps its safety properties and a linearizable KV history over ${SEEDS} seeds of faults, snapshots and membership changes`, () => {
  const reports: SimulationReport[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) reports.push(simulate({ seed }));
  const sum = (f: (r: SimulationReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  // The faults happened and the group still did work through them.
  assert.ok(sum((r) => r.crashes) > SEEDS, `crashes: ${sum((r) => r.crashes)}`);
  assert.ok(sum((r) => r.elections) > 2 * SEEDS, `elections: ${sum((r) => r.elections)}`);
  assert.ok(sum((r) => r.completed) > 10 * SEEDS, `completed: ${sum((r) => r.completed)}`);
  // Lagging followers were brought up by snapshots, and the membership changed under load.
  assert.ok(sum((r) => r.installs) > SEEDS, `snapshot installs: ${sum((r) => r.installs)}`);
  assert.ok(
    sum((r) => r.memberChanges) > SEEDS / 5,
    `membership changes: ${sum((r) => r.memberChanges)}`,
  );
});

Deno.test("the simulation is deterministic: a seed replays the same run", () => {
  assert.deepEqual(simulate({ seed: 42 }), simulate({ seed: 42 }));
});

Deno.test("the simulation catches a disk that acknowledges a sync too early", () => {
  // If the simulated disks did not lose unsynced writes at crashes, or the checks could not see
  // what that costs, lying disks would pass as well as honest ones.
  let caught = 0;
  for (let seed = 1; seed <= 100; seed++) {
    try {
      simulate({ seed, lyingDisks: true });
    } catch (e) {
      assert.match(String(e), /Raft simulation seed \d+: /);
      caught++;
    }
  }
  assert.ok(caught >= 10, `caught in ${caught} of 100 seeds`);
});
