/**
 * The web observer's page: one HTML document with its CSS and script,
 * served as it is. Three views: the cluster map (nodes, links, round
 * trips, bytes/s, a live chart of message rates fed by server-sent events),
 * the process list of a node (sortable; a row opens the process page:
 * links, monitors, mailbox peek, a GenServer's state through its
 * `formatStatus`; kill asks for confirmation), and the supervision trees of
 * a node.
 *
 * The script talks to the JSON API of observer_server.ts only.
 *
 * @module
 */

/** The page (HTML, CSS and script in one). */
export const OBSERVER_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Weft observer</title>
<style>
  :root { --bg:#0f1720; --panel:#17212c; --line:#263445; --text:#e6edf3; --dim:#8b9bb0;
          --accent:#4cc2ff; --ok:#3fd68f; --warn:#ffb84d; --bad:#ff6b6b; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
         background:var(--bg); color:var(--text); }
  header { display:flex; align-items:center; gap:24px; padding:14px 24px;
           background:var(--panel); border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0; letter-spacing:.5px; }
  header h1 span { color:var(--accent); }
  nav button { background:none; border:0; color:var(--dim); font:inherit; padding:6px 12px;
               border-radius:6px; cursor:pointer; }
  nav button.active { background:var(--line); color:var(--text); }
  #self { margin-left:auto; color:var(--dim); font-family:ui-monospace, monospace; }
  main { padding:20px 24px; display:grid; gap:20px; }
  .panel { background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:16px; }
  .panel h2 { margin:0 0 12px; font-size:14px; text-transform:uppercase; letter-spacing:1px;
              color:var(--dim); }
  #map { width:100%; height:360px; }
  #map text { fill:var(--text); font-size:12px; }
  #map .label { fill:var(--dim); font-size:11px; }
  .cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(240px, 1fr)); gap:12px; }
  .card { border:1px solid var(--line); border-radius:8px; padding:12px; }
  .card h3 { margin:0 0 8px; font-size:13px; font-family:ui-monospace, monospace; }
  .card dl { display:grid; grid-template-columns:auto 1fr; gap:2px 12px; margin:0; }
  .card dt { color:var(--dim); } .card dd { margin:0; text-align:right; }
  .err { color:var(--bad); }
  .breaker.closed { color:var(--ok); } .breaker.open { color:var(--bad); } .breaker.half_open { color:var(--warn); }
  table { width:100%; border-collapse:collapse; }
  th, td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:left; }
  th { color:var(--dim); font-weight:600; cursor:pointer; user-select:none; white-space:nowrap; }
  th.sorted::after { content:" \\25BE"; color:var(--accent); }
  td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
  tbody tr:hover { background:#1d2936; cursor:pointer; }
  select, button.act { background:var(--line); color:var(--text); border:1px solid #34465c;
                       border-radius:6px; padding:5px 10px; font:inherit; }
  button.kill { background:#4a1f25; border-color:#7a2e37; color:#ffd7db; cursor:pointer; }
  #chart { width:100%; height:160px; }
  pre { background:#0b1118; padding:10px; border-radius:6px; overflow:auto; max-height:220px; }
  .hidden { display:none; }
  .tree ul { list-style:none; margin:0; padding-left:22px; border-left:1px dashed var(--line); }
  .tree > ul { border-left:0; padding-left:0; }
  .tree li { margin:6px 0; }
  .tree .sup { color:var(--accent); font-weight:600; }
  .tree .pid { color:var(--dim); font-family:ui-monospace, monospace; font-size:12px; margin-left:8px; }
  .tree .down { color:var(--bad); }
  .legend span { display:inline-block; margin-right:14px; font-size:12px; }
  .legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:5px; }
</style>
</head>
<body>
<header>
  <h1><span>weft</span> observer</h1>
  <nav><button id="tab-cluster" class="active">Cluster</button><button id="tab-processes">Processes</button><button id="tab-supervision">Supervision</button></nav>
  <div id="self"></div>
</header>
<main>
  <section id="view-cluster">
    <div class="panel"><h2>Cluster map</h2><svg id="map" role="img" aria-label="cluster map"></svg></div>
    <div class="panel" style="margin-top:20px"><h2>Messages per second</h2>
      <canvas id="chart"></canvas><div class="legend" id="legend"></div></div>
    <div class="panel" style="margin-top:20px"><h2>Nodes</h2><div class="cards" id="cards"></div></div>
  </section>
  <section id="view-processes" class="hidden">
    <div class="panel">
      <h2>Processes on <select id="node-select"></select> <button class="act" id="refresh">Refresh</button></h2>
      <table id="procs"><thead><tr>
        <th data-key="pid">Pid</th><th data-key="name">Name</th><th data-key="label">Label</th>
        <th data-key="status">Status</th><th class="num" data-key="mailbox">Mailbox</th>
        <th class="num" data-key="memory">Memory</th><th class="num" data-key="handled">Handled</th>
        <th></th></tr></thead><tbody></tbody></table>
    </div>
    <div class="panel hidden" id="detail" style="margin-top:20px"></div>
  </section>
  <section id="view-supervision" class="hidden">
    <div class="panel"><h2>Supervision trees on <select id="sup-node"></select></h2><div id="trees"></div></div>
  </section>
</main>
<script>
const COLORS = ["#4cc2ff", "#3fd68f", "#ffb84d", "#ff6b6b", "#c792ea", "#7fdbca", "#f78c6c"];
const $ = (s) => document.querySelector(s);
const fmtBytes = (n) => n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + " MiB"
  : n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : Math.round(n) + " B";
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
let snapshot = null, history = new Map(), sortKey = "mailbox", rows = [], currentNode = null;

const VIEWS = ["cluster", "processes", "supervision"];
for (const v of VIEWS) {
  $("#tab-" + v).onclick = () => {
    for (const w of VIEWS) {
      $("#view-" + w).classList.toggle("hidden", w !== v);
      $("#tab-" + w).classList.toggle("active", w === v);
    }
    if (v === "processes") loadProcesses();
    if (v === "supervision") loadTrees();
  };
}

function treeHtml(n) {
  const head = n.type === "supervisor"
    ? '<span class="sup">' + esc(n.label || n.id || "supervisor") + "</span>" + (n.strategy ? ' <span class="pid">' + esc(n.strategy) + "</span>" : "")
    : "<span>" + esc(n.id || n.label || "worker") + "</span>" + (n.label && n.id ? ' <span class="pid">' + esc(n.label) + "</span>" : "");
  const pid = n.pid ? '<span class="pid">' + esc(n.pid) + "</span>" : '<span class="pid down">' + (n.restarting ? "restarting" : "not running") + "</span>";
  return "<li>" + head + pid + (n.children.length ? "<ul>" + n.children.map(treeHtml).join("") + "</ul>" : "") + "</li>";
}

async function loadTrees() {
  const node = $("#sup-node").value || (snapshot && snapshot.self);
  if (!node) return;
  const trees = await api("api/supervision?node=" + encodeURIComponent(node));
  $("#trees").innerHTML = trees.length ? '<div class="tree"><ul>' + trees.map(treeHtml).join("") + "</ul></div>"
    : '<p style="color:var(--dim)">No supervisors on this node.</p>';
  document.body.dataset.supervisors = String(trees.length);
}
$("#sup-node").onchange = loadTrees;

function drawMap(s) {
  const svg = $("#map"), w = svg.clientWidth || 800, h = svg.clientHeight || 360;
  const n = s.nodes.length, cx = w / 2, cy = h / 2, r = Math.min(w, h) / 2 - 60;
  const pos = new Map(s.nodes.map((v, i) => [v.node, n === 1 ? [cx, cy]
    : [cx + r * Math.cos(2 * Math.PI * i / n - Math.PI / 2), cy + r * Math.sin(2 * Math.PI * i / n - Math.PI / 2)]]));
  let out = "";
  for (const l of s.links) {
    const a = pos.get(l.from), b = pos.get(l.to);
    if (!a || !b) continue;
    const width = 1.5 + Math.min(6, Math.log10(1 + l.bytesPerSecond));
    out += '<line data-link="' + esc(l.from + " " + l.to) + '" x1="' + a[0] + '" y1="' + a[1] + '" x2="' + b[0] + '" y2="' + b[1] +
      '" stroke="#34506b" stroke-width="' + width + '"/>';
    out += '<text class="label" x="' + (a[0] + b[0]) / 2 + '" y="' + ((a[1] + b[1]) / 2 - 6) + '" text-anchor="middle">' +
      fmtBytes(l.bytesPerSecond) + "/s</text>";
  }
  for (const v of s.nodes) {
    const [x, y] = pos.get(v.node);
    const color = v.error ? "var(--bad)" : v.node === s.self ? "var(--accent)" : "var(--ok)";
    out += '<g class="node" data-node="' + esc(v.node) + '"><circle cx="' + x + '" cy="' + y + '" r="26" fill="#17212c" stroke="' + color + '" stroke-width="3"/>' +
      '<text x="' + x + '" y="' + (y + 44) + '" text-anchor="middle">' + esc(v.node) + "</text>" +
      '<text class="label" x="' + x + '" y="' + (y + 4) + '" text-anchor="middle">' + (v.figures ? v.figures.processes + " procs" : "?") + "</text>" +
      (v.rttMs !== undefined ? '<text class="label" x="' + x + '" y="' + (y + 60) + '" text-anchor="middle">rtt ' + v.rttMs.toFixed(1) + " ms</text>" : "") +
      "</g>";
  }
  svg.innerHTML = out;
}

function drawCards(s) {
  $("#cards").innerHTML = s.nodes.map((v) => {
    const f = v.figures;
    return '<div class="card" data-node="' + esc(v.node) + '"><h3>' + esc(v.node) + "</h3>" + (f ? "<dl>" +
      "<dt>Processes</dt><dd>" + f.processes + "</dd>" +
      "<dt>Memory (RSS)</dt><dd>" + fmtBytes(f.rss) + "</dd>" +
      "<dt>Heap used</dt><dd>" + fmtBytes(f.heapUsed) + "</dd>" +
      "<dt>Loop delay</dt><dd>" + f.eventLoopDelay.meanMs.toFixed(1) + " / " + f.eventLoopDelay.maxMs.toFixed(1) + " ms</dd>" +
      "<dt>Messages/s</dt><dd>" + v.messagesPerSecond.toFixed(0) + "</dd>" +
      "<dt>Connections</dt><dd>" + f.connections.length + "</dd></dl>" +
      (f.breakers.length ? '<h3 style="margin-top:10px">Circuit breakers</h3><dl>' + f.breakers.map((b) =>
        "<dt>" + esc(b.node) + '</dt><dd class="breaker ' + b.state + '">' + b.state.replace("_", "-") +
        (b.state === "open" ? " (" + Math.ceil(b.retryInMs / 1000) + " s)" : "") + "</dd>").join("") + "</dl>" : "")
      : '<p class="err">' + esc(v.error || "no answer") + "</p>") + "</div>";
  }).join("");
}

function drawChart(s) {
  for (const v of s.nodes) {
    const h = history.get(v.node) || [];
    h.push(v.messagesPerSecond);
    if (h.length > 60) h.shift();
    history.set(v.node, h);
  }
  for (const k of [...history.keys()]) if (!s.nodes.some((v) => v.node === k)) history.delete(k);
  const c = $("#chart"), ctx = c.getContext("2d");
  c.width = c.clientWidth; c.height = c.clientHeight;
  ctx.clearRect(0, 0, c.width, c.height);
  const max = Math.max(10, ...[...history.values()].flat());
  let i = 0, legend = "";
  for (const [node, h] of history) {
    const color = COLORS[i++ % COLORS.length];
    ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.beginPath();
    h.forEach((y, j) => {
      const px = c.width - (h.length - 1 - j) * (c.width / 59), py = c.height - 4 - (y / max) * (c.height - 12);
      j === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py);
    });
    ctx.stroke();
    legend += '<span><i style="background:' + color + '"></i>' + esc(node) + "</span>";
  }
  $("#legend").innerHTML = legend + '<span style="color:var(--dim)">max ' + max.toFixed(0) + "/s</span>";
}

function onSnapshot(s) {
  snapshot = s;
  $("#self").textContent = s.self;
  document.body.dataset.nodes = s.nodes.map((v) => v.node).join(",");
  drawMap(s); drawCards(s); drawChart(s);
  const names = s.nodes.map((v) => v.node);
  for (const sel of [$("#node-select"), $("#sup-node")]) {
    if ([...sel.options].map((o) => o.value).join() !== names.join()) {
      const keep = sel.value;
      sel.innerHTML = names.map((n) => '<option value="' + esc(n) + '">' + esc(n) + "</option>").join("");
      sel.value = names.includes(keep) ? keep : s.self;
    }
  }
}

const events = new EventSource("api/events");
events.onmessage = (e) => onSnapshot(JSON.parse(e.data));

async function api(path, init) {
  const res = await fetch(path, init);
  if (!res.ok) throw new Error(await res.text());
  return res.json();
}

function renderRows() {
  const numeric = ["mailbox", "memory", "handled"].includes(sortKey);
  rows.sort((a, b) => numeric ? b[sortKey] - a[sortKey] : String(a[sortKey]).localeCompare(String(b[sortKey])));
  for (const th of document.querySelectorAll("#procs th")) th.classList.toggle("sorted", th.dataset.key === sortKey);
  $("#procs tbody").innerHTML = rows.map((r) =>
    '<tr data-pid="' + esc(r.pid) + '" data-id="' + r.id + '" data-serial="' + r.serial + '">' +
    "<td>" + esc(r.pid) + "</td><td>" + esc(r.name) + "</td><td>" + esc(r.label) + "</td><td>" + esc(r.status) +
    '</td><td class="num">' + r.mailbox + '</td><td class="num">' + fmtBytes(r.memory) + '</td><td class="num">' + r.handled +
    '</td><td><button class="kill" data-id="' + r.id + '" data-serial="' + r.serial + '">Kill</button></td></tr>').join("");
  document.body.dataset.processes = String(rows.length);
}

async function loadProcesses() {
  currentNode = $("#node-select").value || (snapshot && snapshot.self);
  if (!currentNode) return;
  rows = await api("api/processes?node=" + encodeURIComponent(currentNode));
  renderRows();
}

for (const th of document.querySelectorAll("#procs th[data-key]")) {
  th.onclick = () => { sortKey = th.dataset.key; renderRows(); };
}
$("#node-select").onchange = loadProcesses;
$("#refresh").onclick = loadProcesses;

$("#procs tbody").onclick = async (e) => {
  const kill = e.target.closest("button.kill"), tr = e.target.closest("tr");
  if (!tr) return;
  const id = Number(tr.dataset.id), serial = Number(tr.dataset.serial);
  if (kill) {
    if (!confirm("Kill " + tr.dataset.pid + "?")) return;
    await api("api/kill", { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ node: currentNode, id, serial }) });
    await loadProcesses();
    return;
  }
  const d = await api("api/process?node=" + encodeURIComponent(currentNode) + "&id=" + id + "&serial=" + serial);
  const el = $("#detail");
  el.classList.remove("hidden");
  el.innerHTML = d === null ? "<h2>Process</h2><p>It has exited.</p>" :
    "<h2>Process " + esc(d.pid) + "</h2><div class='cards'>" +
    "<div class='card'><h3>Links</h3>" + (d.linkedTo.map(esc).join("<br>") || "none") + "</div>" +
    "<div class='card'><h3>Monitors</h3>" + (d.monitors.map(esc).join("<br>") || "none") + "</div>" +
    "<div class='card'><h3>Monitored by</h3>" + (d.monitoredBy.map(esc).join("<br>") || "none") + "</div>" +
    "<div class='card'><h3>Flags</h3>trap exit: " + d.trapExit + "<br>status: " + esc(d.status) + "</div></div>" +
    (d.state !== undefined ? "<h2 style='margin-top:14px'>State" + (d.behaviour ? " of " + esc(d.behaviour) : "") +
      "</h2><pre id='state'>" + esc(d.state) + "</pre>" : "") +
    "<h2 style='margin-top:14px'>Mailbox (first " + d.mailboxPeek.length + " of " + d.mailbox + ")</h2><pre>" +
    (d.mailboxPeek.map(esc).join("\\n") || "(empty)") + "</pre>";
};
</script>
</body>
</html>
`;
