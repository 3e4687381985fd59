import assert from "node:assert/strict";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { runWeft, WeftProcess } from "../helpers/weft_process.ts";
import { startTestNode } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

interface Family {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string> }[];
}

async function scrape(port: number): Promise<Family[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
  return parsePrometheusTextFormat(await res.text()) as Family[];
}

function value(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  if (family === undefined) return 0;
  const m = family.metrics.find((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)
  );
  return m === undefined ? 0 : Number(m.value);
}

Deno.test({
  name: "--metrics: a scrape under load parses, and the message counters match what was sent",
  sanitizeResources: true,
  fn: async () => {
    const b = new WeftProcess([
      "--name",
      "metrics_b@127.0.0.1",
      "--cookie",
      "metrics-cookie",
      "--no-epmd",
      "--no-repl",
      "--log-level",
      "info",
      "--metrics",
      "0",
    ]);
    const a = await startTestNode("metrics_a", { cookie: "metrics-cookie" });
    try {
      const [, mport] = await b.waitForOutput(
        /Metrics: http:\/\/127\.0\.0\.1:(\d+)\/metrics/,
        60_000,
      );
      const port = Number(mport);
      const distPort = await b.listenPort();
      const live = await fetch(`http://127.0.0.1:${port}/health/live`);
      assert.deepEqual(await live.json(), { status: "live" });
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      assert.equal(ready.status, 200);
      await ready.body?.cancel();
      const notFound = await fetch(`http://127.0.0.1:${port}/nope`);
      assert.equal(notFound.status, 404);
      await notFound.body?.cancel();

      const bName = `metrics_b@127.0.0.1:${distPort}`;
      assert.ok(await a.connect(bName), "a connects to b");
      const sink = await a.rpc.spawn(bName, async (ctx: { receive(): Promise<unknown> }) => {
        for (;;) await ctx.receive();
      });
      const me = a.runtime.open();
      const N = 20_000;
      // Scrape while the messages flow: every scrape parses.
      let scrapes = 0;
      let sending = true;
      const scraping = (async () => {
        while (sending) {
          const families = await scrape(port);
          assert.ok(families.length > 10);
          scrapes++;
        }
      })();
      for (let i = 0; i < N; i++) {
        me.send(sink, { i, pad: "x".repeat(64) });
        if (i % 500 === 499) await new Promise((r) => setTimeout(r, 0));
      }
      await waitFor(async () => {
        const f = await scrape(port);
        return value(f, "weft_dist_messages_received_total", { peer: a.name }) >= N;
      }, { timeout: 60_000, interval: 100, message: "b never counted every message" });
      sending = false;
      await scraping;
      const families = await scrape(port);
      assert.equal(value(families, "weft_dist_messages_received_total", { peer: a.name }), N);
      assert.ok(scrapes >= 1, "scraped during the load");
      assert.ok(value(families, "weft_dist_bytes_received_total", { peer: a.name }) > N * 64);
      assert.equal(value(families, "weft_node_up_total", { peer: a.name }), 1);
      assert.ok(value(families, "weft_processes") >= 2);
      assert.ok(value(families, "weft_memory_bytes", { kind: "rss" }) > 0);
      assert.equal(value(families, "weft_connected_nodes"), 1);
      const types = new Map(families.map((f) => [f.name, f.type]));
      assert.equal(types.get("weft_dist_messages_received_total"), "COUNTER");
      assert.equal(types.get("weft_rpc_call_duration_seconds"), "HISTOGRAM");
      me.exit();
    } finally {
      await a.stop();
      await b.close();
    }
  },
});

Deno.test("--metrics and --observer on a port in use: exit 2 with one line", async () => {
  const held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (held.addr as Deno.NetAddr).port;
  try {
    for (const flag of ["--metrics", "--observer"]) {
      const run = await runWeft([
        "--name",
        "inuse@127.0.0.1",
        "--cookie",
        "c",
        "--no-epmd",
        "--no-repl",
        flag,
        String(port),
      ]);
      assert.equal(run.code, 2, run.stderr);
      const lines = run.stderr.trim().split("\n");
      assert.equal(lines.length, 1, run.stderr);
      assert.match(
        lines[0]!,
        new RegExp(`^weft: Cannot serve .* on 127\\.0\\.0\\.1:${port}: the port is in use$`),
      );
    }
  } finally {
    held.close();
  }
});
