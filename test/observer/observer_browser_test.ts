/**
 * The web observer in a real headless browser (Debian's chromium, driven by
 * puppeteer-core): a 3-node cluster of real `weft` processes, the map shows
 * all three; `kill -9` of one updates the map; the process list sorts;
 * killing a process from the page removes it. Screenshots go to a temp dir
 * (printed), or to WEFT_OBSERVER_SCREENSHOTS when set (docs/images for the
 * guide).
 *
 * @module
 */

import assert from "node:assert/strict";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { WeftProcess } from "../helpers/weft_process.ts";
import { observerToken } from "../../src/observer/token.ts";

const CHROMIUM = "/usr/bin/chromium";
/** The application node 1 runs (--script): processes with mailboxes of different lengths. */
const APP = `
for (const [label, n] of [["quiet_worker", 1], ["busy_worker", 40], ["flooded_worker", 400]]) {
  const pid = spawn(async () => { await new Promise(() => {}); }, { label });
  for (let i = 0; i < n; i++) send(pid, { seq: i, from: label, pad: "x".repeat(100) });
}
class Vault extends GenServer {
  init() { return { ok: { owner: "ann", secret: "hunter2", hits: 7 } }; }
  formatStatus(s) { return { owner: s.owner, hits: s.hits, secret: "<hidden>" }; }
}
class Idle extends GenServer {
  init() { return { ok: null }; }
}
const inner = () => Supervisor.startLink([GenServer.childSpec(Idle, undefined, { id: "idle" })],
  { name: "inner_sup" });
await Supervisor.start([
  GenServer.childSpec(Vault, undefined, { id: "vault", name: "vault" }),
  { id: "inner", start: inner, type: "supervisor" },
], { name: "app_sup", strategy: "one_for_all" });
console.log("observer app ready");
await new Promise(() => {});
`;
const COOKIE = "observer-browser-cookie";

function weft(name: string, more: string[]): WeftProcess {
  return new WeftProcess([
    "--name",
    `${name}@127.0.0.1`,
    "--cookie",
    COOKIE,
    "--no-epmd",
    "--log-level",
    "info",
    ...more,
  ]);
}

/** The nodes the page shows (the page keeps them in `body[data-nodes]`). */
async function nodesShown(page: Page): Promise<string[]> {
  const shown = await page.evaluate(`document.body.dataset.nodes ?? ""`) as string;
  return shown.split(",").filter(Boolean);
}

/** Waits until `expression` (run in the page) is true. */
async function until(page: Page, expression: string, timeout = 30_000): Promise<void> {
  await page.waitForFunction(expression, { timeout, polling: 50 });
}

Deno.test({
  name: "observer in chromium: three nodes, kill -9 updates the map, the list sorts, kill removes",
  ignore: !(await Deno.stat(CHROMIUM).then(() => true, () => false)),
  fn: async () => {
    const shots = Deno.env.get("WEFT_OBSERVER_SCREENSHOTS") ?? await Deno.makeTempDir({
      prefix: "weft_observer_shots_",
    });
    await Deno.mkdir(shots, { recursive: true });
    const app = await Deno.makeTempFile({ suffix: ".ts" });
    await Deno.writeTextFile(app, APP);
    const n1 = weft("obs1", ["--observer", "0", "--script", app]);
    const nodes: WeftProcess[] = [n1];
    let browser: Browser | undefined;
    try {
      const port1 = await n1.listenPort();
      const [, url] = await n1.waitForOutput(
        /Observer: (http:\/\/127\.0\.0\.1:\d+\/)\?token=/,
        60_000,
      );
      await n1.waitForOutput(/observer app ready/, 60_000);
      const n2 = weft("obs2", ["--no-repl", "--connect", `obs1@127.0.0.1:${port1}`]);
      nodes.push(n2);
      const n3 = weft("obs3", ["--no-repl", "--connect", `obs1@127.0.0.1:${port1}`]);
      nodes.push(n3);
      await Promise.all([n2.listenPort(), n3.listenPort()]);

      // Without the token: 401 and nothing of the cluster.
      const denied = await fetch(`${url}api/cluster`);
      assert.equal(denied.status, 401);
      assert.doesNotMatch(await denied.text(), /obs1/);

      browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      });
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 900 });
      page.on("dialog", (d) => void d.accept());
      await page.goto(`${url}?token=${await observerToken(COOKIE)}`);
      const all = ["obs1@127.0.0.1", "obs2@127.0.0.1", "obs3@127.0.0.1"];
      await until(
        page,
        `${JSON.stringify(all)}.every((n) => (document.body.dataset.nodes ?? "").includes(n))`,
        60_000,
      );
      assert.deepEqual((await nodesShown(page)).sort(), all);
      assert.equal(await page.$$eval("#map g.node", (g) => g.length), 3);
      // Wait for a second snapshot so rates and round trips are drawn.
      await until(page, `document.querySelectorAll("#map line").length >= 2`);
      // The node cards show each node's figures and its rpc circuit breakers.
      await until(
        page,
        `document.querySelector("#cards")?.textContent?.includes("Circuit breakers")`,
      );
      const card = await page.$eval("#cards .card", (c) => c.textContent ?? "");
      assert.match(card, /Processes\d+/);
      assert.match(card, /obs2@127\.0\.0\.1closed/);
      await page.screenshot({ path: `${shots}/observer_cluster.png`, fullPage: true });

      // kill -9 one node: the map loses it.
      n3.kill("SIGKILL");
      const killedAt = performance.now();
      await until(page, `!(document.body.dataset.nodes ?? "").includes("obs3@")`);
      const mapUpdateMs = performance.now() - killedAt;
      console.log(`observer map dropped the killed node after ${mapUpdateMs.toFixed(0)} ms`);
      assert.equal(await page.$$eval("#map g.node", (g) => g.length), 2);

      // The process list sorts by mailbox length.
      await page.click("#tab-processes");
      await until(page, `Number(document.body.dataset.processes ?? 0) > 3`);
      await page.click('#procs th[data-key="label"]');
      await page.click('#procs th[data-key="mailbox"]');
      const mailboxes = await page.$$eval(
        "#procs tbody tr td:nth-child(5)",
        (tds) => tds.map((td) => Number(td.textContent)),
      );
      assert.deepEqual(mailboxes, [...mailboxes].sort((a, b) => b - a));
      const firstLabel = await page.$eval(
        "#procs tbody tr td:nth-child(3)",
        (td) => td.textContent,
      );
      assert.equal(firstLabel, "flooded_worker");
      // Its page: the mailbox peek shows its messages.
      await page.click("#procs tbody tr td:nth-child(3)");
      await until(
        page,
        `document.querySelector("#detail pre")?.textContent?.includes("flooded_worker")`,
      );
      await page.screenshot({ path: `${shots}/observer_processes.png`, fullPage: true });

      // A GenServer's page shows its state through its formatStatus: the secret stays hidden.
      await page.click('#procs th[data-key="name"]');
      const vaultRow = await page.$$eval(
        "#procs tbody tr td:nth-child(2)",
        (tds) => tds.findIndex((td) => td.textContent === "vault"),
      );
      assert.ok(vaultRow >= 0, "the vault server is listed");
      await page.click(`#procs tbody tr:nth-child(${vaultRow + 1}) td:nth-child(2)`);
      await until(page, `document.querySelector("#state")?.textContent?.includes("owner")`);
      const state = await page.$eval("#state", (e) => e.textContent ?? "");
      assert.match(state, /hits: 7/);
      assert.match(state, /<hidden>/);
      assert.doesNotMatch(state, /hunter2/);

      // The supervision tree: app_sup -> vault, inner_sup -> idle.
      await page.click("#tab-supervision");
      await until(page, `Number(document.body.dataset.supervisors ?? 0) >= 1`);
      const tree = await page.$eval("#trees", (e) => e.textContent ?? "");
      assert.match(tree, /app_sup\s*one_for_all/);
      assert.match(tree, /vault/);
      assert.match(tree, /inner_sup\s*one_for_one.*idle/s);
      await (await page.$("#view-supervision .panel"))!.screenshot({
        path: `${shots}/observer_supervision.png`,
      });
      await page.click("#tab-processes");
      await page.click('#procs th[data-key="mailbox"]');
      await until(
        page,
        `document.querySelector("#procs tbody tr td:nth-child(3)")?.textContent === "flooded_worker"`,
      );

      // Kill the flooded worker from the page (the confirmation is accepted): its row goes.
      const before = await page.$$eval("#procs tbody tr", (r) => r.length);
      await page.click("#procs tbody tr button.kill");
      await until(
        page,
        `document.querySelectorAll("#procs tbody tr").length === ${before - 1} &&
          ![...document.querySelectorAll("#procs tbody tr td:nth-child(3)")]
            .some((td) => td.textContent === "flooded_worker")`,
      );
      console.log(`screenshots in ${shots}`);
    } finally {
      await browser?.close();
      await Promise.all(nodes.map((n) => n.close()));
      await Deno.remove(app);
    }
  },
});
