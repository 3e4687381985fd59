import assert from "node:assert/strict";
import { serveObserver } from "../../src/observer/observer_server.ts";
import { observerToken } from "../../src/observer/token.ts";
import { startTestNode } from "../helpers/nodes.ts";

Deno.test("observer: without the right token every route is 401 and shows nothing", async () => {
  const node = await startTestNode("obs_auth", { cookie: "auth-cookie" });
  const token = await observerToken("auth-cookie");
  const obs = serveObserver(node, { port: 0, token });
  const base = `http://127.0.0.1:${obs.port}`;
  try {
    for (const path of ["/", "/api/cluster", "/api/processes", "/api/events", "/?token=wrong"]) {
      const res = await fetch(base + path, { redirect: "manual" });
      assert.equal(res.status, 401, path);
      assert.doesNotMatch(await res.text(), /obs_auth/);
    }
    const bearer = await fetch(`${base}/api/processes`, {
      headers: { authorization: "Bearer not-the-token" },
    });
    assert.equal(bearer.status, 401);
    await bearer.body?.cancel();
    assert.notEqual(token, await observerToken("other-cookie"));

    // ?token= once: a cookie for the rest, HttpOnly and SameSite=Strict.
    const login = await fetch(`${base}/?token=${token}`, { redirect: "manual" });
    assert.equal(login.status, 303);
    assert.equal(login.headers.get("location"), "/");
    const cookie = login.headers.get("set-cookie")!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    await login.body?.cancel();
    const page = await fetch(`${base}/`, { headers: { cookie: cookie.split(";")[0]! } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Weft observer<\/title>/);
  } finally {
    await obs.close();
    await node.stop();
  }
});

Deno.test("observer API: bad requests are 400 with the reason; kill removes the process", async () => {
  const node = await startTestNode("obs_api");
  const obs = serveObserver(node, { port: 0, token: "api-token-123" });
  const base = `http://127.0.0.1:${obs.port}`;
  const headers = { authorization: "Bearer api-token-123" };
  try {
    const victim = node.runtime.open({ label: "victim" });
    const unknown = await fetch(`${base}/api/processes?node=ghost@127.0.0.1`, { headers });
    assert.equal(unknown.status, 400);
    assert.match(await unknown.text(), /ghost@127\.0\.0\.1 is not connected/);
    const badId = await fetch(`${base}/api/process?id=x&serial=0`, { headers });
    assert.equal(badId.status, 400);
    await badId.body?.cancel();
    const form = await fetch(`${base}/api/kill`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
      body: "id=1",
    });
    assert.equal(form.status, 400);
    await form.body?.cancel();
    const kill = await fetch(`${base}/api/kill`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ id: victim.self.id, serial: victim.self.serial }),
    });
    assert.deepEqual(await kill.json(), { killed: true });
    assert.equal(node.runtime.isAlive(victim.self), false);
    const rows = await (await fetch(`${base}/api/processes`, { headers })).json();
    assert.ok(!rows.some((r: { label: string }) => r.label === "victim"));
    const cluster = await (await fetch(`${base}/api/cluster`, { headers })).json();
    assert.equal(cluster.self, node.name);
    assert.ok(cluster.nodes[0].figures.processes > 0);
  } finally {
    await obs.close();
    await node.stop();
  }
});

Deno.test("serveObserver() refuses a short token", async () => {
  const node = await startTestNode("obs_short");
  try {
    assert.throws(() => serveObserver(node, { port: 0, token: "short" }), TypeError);
  } finally {
    await node.stop();
  }
});
