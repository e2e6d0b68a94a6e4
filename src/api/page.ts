/**
 * The status page served at `/`: one self-contained document (no outside assets), which reads
 * `/api/1/state`, follows `/api/1/events`, shows diffs and forces files. When api.token is set
 * it asks for the token once and keeps it in sessionStorage; the page itself holds no data.
 */
export const STATUS_PAGE = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>entangled</title>
<style>
  :root { --bg:#0f1419; --panel:#161c23; --line:#26303b; --fg:#d9e1e8; --dim:#8a98a6;
          --ok:#2fbf71; --warn:#e0a82e; --bad:#e5484d; --info:#3b82f6; --mute:#6b7785; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--fg); }
  header { display:flex; align-items:baseline; gap:1rem; padding:1rem 1.5rem; border-bottom:1px solid var(--line); }
  header h1 { margin:0; font-size:1.25rem; letter-spacing:.02em; }
  header .sub { color:var(--dim); }
  header .live { margin-left:auto; font-size:.85rem; color:var(--dim); }
  header .live b { display:inline-block; width:.6rem; height:.6rem; border-radius:50%; background:var(--mute); margin-right:.35rem; }
  header .live.on b { background:var(--ok); }
  main { padding:1rem 1.5rem 3rem; max-width:1440px; }
  h2 { font-size:.8rem; text-transform:uppercase; letter-spacing:.08em; color:var(--dim); margin:1.5rem 0 .5rem; }
  .peers { display:flex; gap:.6rem; flex-wrap:wrap; }
  .peer { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:.5rem .8rem; min-width:10rem; }
  .peer .n { font-weight:600; }
  .scroll { overflow-x:auto; border:1px solid var(--line); border-radius:8px; }
  table { width:100%; border-collapse:collapse; background:var(--panel); }
  th, td { text-align:left; padding:.55rem .75rem; border-bottom:1px solid var(--line); vertical-align:top; }
  th { font-size:.75rem; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); font-weight:600; white-space:nowrap; }
  tr:last-child td { border-bottom:0; }
  td.file { min-width:11rem; overflow-wrap:anywhere; }
  th.pc, td.pc { padding-left:.35rem; padding-right:.35rem; text-align:center; }
  th.pc { text-transform:none; letter-spacing:0; font-size:.8rem; color:var(--fg); }
  th.pc b { display:inline-block; width:.5rem; height:.5rem; border-radius:50%; margin-right:.3rem; background:var(--ok); vertical-align:.05rem; }
  th.pc.down { color:var(--dim); } th.pc.down b { background:var(--bad); }
  td.pc .md5 { display:block; margin-top:.2rem; font-size:.7rem; }
  td.pc .err { margin-top:.2rem; font-size:.7rem; max-width:16rem; text-align:left; overflow-wrap:anywhere; }
  td.pc .xfer { margin-top:.3rem; font-size:.7rem; color:var(--dim); white-space:nowrap; }
  .xfer .bar { display:inline-block; width:4.5rem; height:.45rem; border-radius:999px; background:var(--line); overflow:hidden; vertical-align:middle; margin-right:.3rem; }
  .xfer .bar i { display:block; height:100%; background:var(--info); }
  td.status .md5 { display:block; margin-top:.25rem; }
  td.pc .badge { font-size:.7rem; padding:.1rem .4rem; }
  button.badge { border:0; cursor:pointer; font-family:inherit; }
  tr.diffrow td { padding-top:0; }
  code, .md5 { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:.8rem; }
  .md5.diff { color:var(--warn); }
  .path { color:var(--dim); font-size:.8rem; }
  .badge { display:inline-block; white-space:nowrap; padding:.1rem .5rem; border-radius:999px; font-size:.75rem; font-weight:600; color:#0b0f13; }
  .s-aligned { background:var(--ok); } .s-pending { background:var(--info); color:#fff; }
  .s-split-brain { background:var(--bad); color:#fff; } .s-missing { background:var(--warn); }
  .s-unlisted { background:transparent; color:var(--warn); box-shadow:inset 0 0 0 1px var(--warn); }
  td.pc .changed { display:block; margin-top:.2rem; font-size:.7rem; color:var(--dim); white-space:nowrap; }
  .s-unknown { background:var(--mute); color:#fff; } .s-up { background:var(--ok); } .s-down { background:var(--bad); color:#fff; }
  .err { color:var(--bad); font-size:.8rem; }
  button { background:#223041; color:var(--fg); border:1px solid #33475c; border-radius:6px; padding:.3rem .6rem; cursor:pointer; font:inherit; font-size:.8rem; }
  button:hover { background:#2b3d52; }
  button.danger { border-color:#7a2e31; }
  .actions div { display:flex; flex-wrap:wrap; gap:.35rem; } /* one line when there is room, else stacked */
  .actions button { white-space:nowrap; }
  /* On a narrow screen the peer columns scroll; the file's buttons stay in view at the right. */
  td.actions, th.act { position:sticky; right:0; background:var(--panel); }
  pre.diffview { background:#0b0f13; border:1px solid var(--line); border-radius:8px; padding:.75rem; overflow:auto; max-height:24rem; margin:.5rem 0 0; }
  pre.diffview .add { color:var(--ok); } pre.diffview .del { color:var(--bad); } pre.diffview .hunk { color:var(--info); }
  #toast { position:fixed; bottom:1rem; right:1rem; background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:.6rem .9rem; display:none; max-width:32rem; }
  #auth { display:none; background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:1rem; margin-top:1rem; }
  input { background:#0b0f13; color:var(--fg); border:1px solid var(--line); border-radius:6px; padding:.35rem .5rem; font:inherit; }
</style>
</head>
<body>
<header><h1>entangled</h1><span class="sub" id="node">…</span><span class="live" id="live"><b></b>connecting</span></header>
<main>
  <form id="auth"><p>This node's API needs a token.</p><input id="token" type="password" placeholder="api.token" autocomplete="off"> <button>Use token</button></form>
  <h2>Peers</h2><div class="peers" id="peers"></div>
  <h2>Files</h2>
  <div class="scroll"><table><thead><tr id="head"></tr></thead><tbody id="files"></tbody></table></div>
</main>
<div id="toast"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const short = (m) => (m ? m.slice(0, 10) : "—");
let token = sessionStorage.getItem("entangled-token") || "";
let state = null;
const diffs = new Map();

function headers(extra) {
  const h = Object.assign({}, extra);
  if (token) h.Authorization = "Bearer " + token;
  return h;
}
async function api(path, init) {
  const res = await fetch(path, Object.assign({}, init, { headers: headers(init && init.headers) }));
  if (res.status === 401) { $("auth").style.display = "block"; throw new Error("token needed"); }
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
  return body;
}
function toast(text) {
  const t = $("toast"); t.textContent = text; t.style.display = "block";
  clearTimeout(toast.timer); toast.timer = setTimeout(() => (t.style.display = "none"), 5000);
}
function badge(s) { return '<span class="badge s-' + esc(s) + '">' + esc(s) + "</span>"; }
/** A chunked transfer with a peer under way: a bar, its direction and share done. */
function transferBar(peer, t) {
  const pct = t.total > 0 ? Math.min(100, Math.floor((t.bytes * 100) / t.total)) : 100;
  const mib = (n) => (n / 1048576).toFixed(1);
  const title = (t.direction === "in" ? "receiving from " : "sending to ") + peer + ": " + mib(t.bytes) + " of " + mib(t.total) + " MiB";
  return '<div class="xfer" data-direction="' + esc(t.direction) + '" title="' + esc(title) + '"><span class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="' + pct + '"><i style="width:' + pct + '%"></i></span>' +
    (t.direction === "in" ? "↓ " : "↑ ") + pct + "%</div>";
}

/**
 * One row per file and one column per peer (a full mesh has up to 9): each cell is that peer's
 * status badge, with its md5 when it differs from this node's; a split-brain badge opens the diff
 * with that peer, a transfer in chunks under way with that peer adds a progress bar, and what the
 * peer reported when it could not write or take this node's version shows under its badge. A diff
 * shows in a full-width row under its file.
 */
function render() {
  if (!state) return;
  $("node").textContent = state.node + " · reconcile: " + state.reconcile + " · " + state.peers.length + (state.peers.length === 1 ? " peer" : " peers");
  $("peers").innerHTML = state.peers.map((p) =>
    '<div class="peer" data-peer="' + esc(p.name) + '"><div class="n">' + esc(p.name) + " " + badge(p.connected ? "up" : "down") +
    '</div><div class="path">last seen ' + esc(p.lastSeen ? new Date(p.lastSeen).toLocaleTimeString() : "never") + "</div></div>").join("");
  const names = state.peers.map((p) => p.name);
  $("head").innerHTML = "<th>File</th><th>Status · here</th>" + state.peers.map((p) =>
    '<th class="pc' + (p.connected ? "" : " down") + '" title="' + esc(p.name + (p.connected ? ": up" : ": down")) + '"><b></b>' + esc(p.name) + "</th>").join("") + '<th class="act"></th>';
  const columns = 3 + names.length;
  $("files").innerHTML = state.files.map((f, i) => {
    const cells = names.map((n) => {
      const p = f.peers[n];
      if (!p) return '<td class="pc" data-peer="' + esc(n) + '">—</td>';
      const differs = p.md5 && p.md5 !== f.md5;
      const changed = p.status !== "split-brain" || p.changed === undefined ? "" : p.changed === null ? "never agreed" : p.changed.length === 0 ? "neither changed" : p.changed.join(" + ") + " changed";
      const title = n + ": " + p.status + (p.md5 ? " " + p.md5 : "") + (changed ? " · " + changed + " since the last agreement" : "") + (p.error ? " · " + p.error : "");
      const b = p.status === "split-brain"
        ? '<button class="badge s-split-brain" data-act="diff" data-i="' + i + '" data-peer="' + esc(n) + '" title="' + esc(title + " · show the diff") + '">split-brain</button>'
        : '<span class="badge s-' + esc(p.status) + '" title="' + esc(title) + '">' + esc(p.status) + "</span>";
      return '<td class="pc" data-peer="' + esc(n) + '" data-status="' + esc(p.status) + '">' + b + (differs ? '<span class="md5 diff">' + short(p.md5) + "</span>" : "") +
        (changed ? '<span class="changed">' + esc(changed) + "</span>" : "") +
        (p.transfer ? transferBar(n, p.transfer) : "") + (p.error ? '<div class="err">' + esc(p.error) + "</div>" : "") + "</td>";
    }).join("");
    const d = diffs.get(f.name);
    return '<tr data-name="' + esc(f.name) + '" data-status="' + esc(f.status) + '"><td class="file"><div>' + esc(f.name) + '</div><div class="path">' + esc(f.path) + "</div>" +
      (f.error ? '<div class="err">' + esc(f.error) + "</div>" : "") + "</td>" +
      '<td class="status">' + badge(f.status) + '<span class="md5 here">' + short(f.md5) + "</span></td>" + cells +
      '<td class="actions"><div>' +
      (f.status === "split-brain" ? '<button data-act="diff" data-i="' + i + '">Diff</button>' : "") +
      '<button data-act="pull" data-i="' + i + '" title="This node takes the peer\\'s copy">Force pull</button>' +
      '<button data-act="push" data-i="' + i + '" class="danger" title="The peer takes this node\\'s copy">Force push</button></div></td></tr>' +
      (d ? '<tr class="diffrow" data-name="' + esc(f.name) + '"><td colspan="' + columns + '"><pre class="diffview">' + d + "</pre></td></tr>" : "");
  }).join("");
}

function colourDiff(text) {
  return text.split("\\n").map((l) => {
    const cls = l.startsWith("@@") ? "hunk" : l.startsWith("+") && !l.startsWith("+++") ? "add" : l.startsWith("-") && !l.startsWith("---") ? "del" : "";
    return cls ? '<span class="' + cls + '">' + esc(l) + "</span>" : esc(l);
  }).join("\\n");
}

$("files").addEventListener("click", async (ev) => {
  const b = ev.target.closest("button"); if (!b || !state) return;
  const f = state.files[Number(b.dataset.i)]; if (!f) return;
  const peers = Object.keys(f.peers);
  // With several peers, ask which one (a split-brain badge names its own), offering a peer in
  // reach whose copy needs it most: in split-brain, else missing it, else pending, else the first.
  const up = new Set(state.peers.filter((p) => p.connected).map((p) => p.name));
  const reach = peers.filter((n) => up.has(n));
  const offer = ["split-brain", "missing", "pending"].map((s) => reach.find((n) => f.peers[n].status === s)).find(Boolean) || reach[0] || peers[0];
  const peer = b.dataset.peer || (peers.length === 1 ? peers[0] : prompt("Which peer? " + peers.join(", "), offer));
  if (!peer) return;
  try {
    if (b.dataset.act === "diff") {
      const d = await api("/api/1/diff?file=" + encodeURIComponent(f.name) + "&peer=" + encodeURIComponent(peer));
      diffs.set(f.name, d.tooLarge ? "(too large to diff: " + esc(short(d.local)) + " here, " + esc(short(d.remote)) + " at " + esc(peer) + ")" : d.binary ? "(binary content: " + esc(short(d.local)) + " here, " + esc(short(d.remote)) + " at " + esc(peer) + ")" : d.diff === null ? esc("identical here and at " + peer) : colourDiff(d.diff));
      render(); return;
    }
    const push = b.dataset.act === "push";
    const what = push ? "Replace " + peer + "'s copy of " + f.name + " with this node's?" : "Replace this node's copy of " + f.name + " with " + peer + "'s?";
    if (!confirm(what)) return;
    const r = await api("/api/1/force", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ files: [f.name], peer, direction: push ? "push" : "pull" }) });
    const res = r.results[0];
    diffs.delete(f.name);
    toast(f.name + ": " + res.result + (res.error ? " (" + res.error + ")" : ""));
    await refresh();
  } catch (e) { toast(String(e.message || e)); }
});

$("auth").addEventListener("submit", (ev) => {
  ev.preventDefault(); token = $("token").value.trim(); sessionStorage.setItem("entangled-token", token);
  $("auth").style.display = "none"; start();
});

async function refresh() { state = await api("/api/1/state"); render(); }

function apply(event, data) {
  if (event === "state") { state = data; }
  else if (state && event === "file") { const i = state.files.findIndex((f) => f.name === data.name); if (i >= 0) state.files[i] = data; if (data.status !== "split-brain") diffs.delete(data.name); }
  else if (state && event === "peer") { const i = state.peers.findIndex((p) => p.name === data.name); if (i >= 0) state.peers[i] = data; }
  render();
}

async function follow() {
  for (;;) {
    try {
      const res = await fetch("/api/1/events", { headers: headers({ Accept: "text/event-stream" }) });
      if (res.status === 401) { $("auth").style.display = "block"; $("live").classList.remove("on"); return; }
      $("live").classList.add("on"); $("live").lastChild.textContent = "live";
      const reader = res.body.getReader(); const dec = new TextDecoder(); let buf = "";
      for (;;) {
        const { value, done } = await reader.read(); if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\\n\\n")) >= 0) {
          const chunk = buf.slice(0, i); buf = buf.slice(i + 2);
          let event = "message", data = "";
          for (const line of chunk.split("\\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (data) apply(event, JSON.parse(data));
        }
      }
    } catch (e) { /* the node went away: retry below */ }
    $("live").classList.remove("on"); $("live").lastChild.textContent = "reconnecting";
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function start() { refresh().catch((e) => toast(String(e.message || e))); follow(); }
start();
</script>
</body>
</html>
`;
