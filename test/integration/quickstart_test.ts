/**
 * The README's quickstart commands (`npx deno task start`, `npm start`) as a
 * process supervisor sees them: the node's exit status comes back through
 * npm, npx and `deno task` unchanged, and a SIGTERM to the command reaches the
 * node (scripts/npm/deno_bin, .npmrc's script-shell).
 *
 * Each node runs a small script that prints its pid and waits, so the test
 * knows the node is up and which process is the node.
 */
import assert from "node:assert/strict";
import { WeftProcess } from "../helpers/weft_process.ts";
import { waitFor } from "../helpers/wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The README's commands, run from the repository as a user would. */
const NPX_START = ["npx", "deno", "task", "start"];
const NPM_START = ["npm", "start", "--"];

/** A script that prints the node's OS pid, then waits to be stopped. */
async function waitingScript(): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    path,
    "console.log(`node pid ${Deno.pid}`);\nawait new Promise(() => {});\n",
  );
  return path;
}

/** Whether an OS process with this pid exists (Linux: /proc). */
function running(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * The command's exit status (within 30 s) and whether the node outlived it; the node is killed
 * in any case, so that its pipes close.
 */
async function statusOf(
  node: WeftProcess,
  nodePid: number,
): Promise<{ code: number; signal: Deno.Signal | null; nodeOutlived: boolean }> {
  try {
    await waitFor(() => node.status !== undefined, {
      timeout: 30_000,
      message: `The command did not exit; output so far:\n${node.output}`,
    });
    return { ...node.status!, nodeOutlived: running(nodePid) };
  } finally {
    if (running(nodePid)) Deno.kill(nodePid, "SIGKILL");
  }
}

/**
 * Starts a waiting node through `launcher` and runs `body` with it and the node's own pid; the
 * node is closed and its script removed afterwards, whatever `body` does.
 */
async function withNode(
  launcher: string[],
  name: string,
  body: (node: WeftProcess, nodePid: number) => Promise<void>,
): Promise<void> {
  const script = await waitingScript();
  const node = new WeftProcess(
    ["--sname", name, "--no-epmd", "--port", "0", "--script", script],
    {},
    launcher,
  );
  try {
    const [, pid] = await node.waitForOutput(/node pid (\d+)/, 60_000);
    await body(node, Number(pid));
  } finally {
    await node.close();
    await Deno.remove(script);
  }
}

/** A SIGTERM to the command `launcher` reaches the node, which stops; the command exits 143. */
function assertSigtermStopsNode(launcher: string[], name: string): Promise<void> {
  return withNode(launcher, name, async (node, nodePid) => {
    node.kill("SIGTERM");
    const status = await statusOf(node, nodePid);
    assert.equal(status.nodeOutlived, false, "the node outlived the command that started it");
    assert.deepEqual([status.code, status.signal], [143, null], node.output);
  });
}

Deno.test({
  name: "npx deno task start: a node killed with kill -9 is exit status 137",
  sanitizeResources: true,
  async fn() {
    await withNode(NPX_START, "qs_kill", async (node, nodePid) => {
      assert.notEqual(nodePid, node.pid, "the node runs under npx, not as npx");
      Deno.kill(nodePid, "SIGKILL");
      const status = await statusOf(node, nodePid);
      assert.equal(status.code, 137, node.output);
    });
  },
});

Deno.test("npx deno task start: a SIGTERM to npx reaches the node, which stops and exits 143", async () => {
  await assertSigtermStopsNode(NPX_START, "qs_term");
});

Deno.test("npm start: a SIGTERM to npm reaches the node, and a bad flag is status 2", async () => {
  await assertSigtermStopsNode(NPM_START, "qs_npm");
  const bad = await new Deno.Command("npm", {
    args: ["start", "--", "--sname", ""],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(bad.code, 2, new TextDecoder().decode(bad.stderr));
});
