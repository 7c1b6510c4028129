// The approver page. Everything shown comes from the API and is put in the
// page as text (textContent), never as HTML: a command is the agent's text.
"use strict";

const $ = (id) => document.getElementById(id);
const cards = new Map(); // request id -> {el, req, done}
const SHORT = 240;
let stream = null;

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  return { status: res.status, data };
}

async function start() {
  const s = await api("GET", "/api/v1/session");
  if (s.status === 200 && s.data.paired) {
    showQueue(s.data.name);
  } else {
    showPair();
  }
}

function showPair() {
  $("queue").hidden = true;
  $("pair").hidden = false;
  $("conn").textContent = "not paired";
  $("conn").classList.remove("live");
  if (stream) { stream.close(); stream = null; }
}

let pairPoll = null;
$("pair-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("pair-error").hidden = true;
  const r = await api("POST", "/api/v1/pair", { name: $("pair-name").value });
  if (r.status !== 200) {
    $("pair-error").textContent = (r.data && r.data.error) || ("pairing failed (" + r.status + ")");
    $("pair-error").hidden = false;
    return;
  }
  $("pair-code").textContent = r.data.code;
  $("pair-cmd").textContent = "hermes-exec gateway pair " + r.data.code;
  $("pair-result").hidden = false;
  clearInterval(pairPoll);
  pairPoll = setInterval(async () => {
    const s = await api("GET", "/api/v1/session");
    if (s.status === 200 && s.data.paired) {
      clearInterval(pairPoll);
      showQueue(s.data.name);
    }
  }, 1000);
});

function showQueue(name) {
  $("pair").hidden = true;
  $("queue").hidden = false;
  $("who").textContent = name || "";
  connect();
}

function connect() {
  if (stream) stream.close();
  stream = new EventSource("/api/v1/events");
  stream.onopen = () => { $("conn").textContent = "live"; $("conn").classList.add("live"); };
  stream.onerror = async () => {
    $("conn").textContent = "reconnecting…";
    $("conn").classList.remove("live");
    // A stream that ends because the pairing was revoked must not retry forever.
    const s = await api("GET", "/api/v1/session").catch(() => null);
    if (s && s.status === 200 && !s.data.paired) showPair();
  };
  stream.onmessage = (m) => {
    const ev = JSON.parse(m.data);
    if (ev.kind === "snapshot") {
      const live = new Set(ev.requests.map((r) => r.id));
      for (const [id, c] of cards) {
        if (!c.done && !live.has(id)) finish(id, "done", "No longer pending.");
      }
      ev.requests.forEach(addCard);
    } else if (ev.kind === "new") {
      addCard(ev.request);
    } else if (ev.kind === "resolved") {
      const allowed = ev.answer !== "deny";
      const what = { once: "Allowed once", session: "Allowed for the session", always: "Allowed always", deny: "Denied" }[ev.answer] || ev.answer;
      finish(ev.request.id, allowed ? "allowed" : "denied", what + " by " + ev.by + (ev.reason ? ": " + ev.reason : ""));
    } else if (ev.kind === "expired") {
      finish(ev.request.id, "denied", "Timed out: denied (" + (ev.reason || "no answer") + ")");
    } else if (ev.kind === "withdrawn") {
      finish(ev.request.id, "done", "Withdrawn: " + (ev.reason || "the wrapper went away"));
    }
    $("empty").hidden = [...cards.values()].some((c) => !c.done);
  };
}

function addCard(req) {
  if (cards.has(req.id)) return;
  const el = $("card-tpl").content.firstElementChild.cloneNode(true);
  el.dataset.id = req.id;
  el.querySelector(".where").textContent = req.user + "@" + req.host + ":" + req.cwd + "  (" + req.backend + ")";
  const pre = el.querySelector(".command");
  const more = el.querySelector(".more");
  if (req.command.length > SHORT) {
    pre.textContent = req.command.slice(0, SHORT) + "…";
    more.hidden = false;
    more.addEventListener("click", () => {
      const full = pre.dataset.full === "1";
      pre.textContent = full ? req.command.slice(0, SHORT) + "…" : req.command;
      pre.dataset.full = full ? "0" : "1";
      more.textContent = full ? "Show the full command" : "Show less";
    });
  } else {
    pre.textContent = req.command;
  }
  const ul = el.querySelector(".findings");
  for (const f of req.findings || []) {
    const li = document.createElement("li");
    const rule = document.createElement("span");
    rule.className = "rule";
    rule.textContent = f.rule;
    const cmd = document.createElement("code");
    cmd.textContent = f.command;
    li.append(rule, " (" + f.pos + "): " + f.description + " ", cmd);
    ul.append(li);
  }
  el.querySelector(".ids").textContent = "request " + req.id + (req.session ? " · session " + req.session : "");
  if (!req.can_always) el.querySelector(".always").hidden = true;
  for (const b of el.querySelectorAll(".buttons button")) {
    b.addEventListener("click", () => decide(req.id, b.dataset.decision, el));
  }
  $("cards").prepend(el);
  cards.set(req.id, { el, req, done: false });
  $("empty").hidden = true;
  tick();
}

async function decide(id, decision, el) {
  const buttons = el.querySelectorAll(".buttons button");
  buttons.forEach((b) => { b.disabled = true; });
  const reason = el.querySelector(".reason").value;
  const r = await api("POST", "/api/v1/requests/" + encodeURIComponent(id) + "/decision", { decision, reason });
  if (r.status === 200) return; // the event stream says who decided
  const c = cards.get(id);
  if (r.status === 409) {
    if (c && !c.done) finish(id, "done", "Already decided.");
  } else if (r.status === 401) {
    showPair();
  } else {
    el.querySelector(".status").textContent = (r.data && r.data.error) || ("error " + r.status);
    buttons.forEach((b) => { b.disabled = false; });
  }
}

function finish(id, cls, text) {
  const c = cards.get(id);
  if (!c || c.done) return;
  c.done = true;
  c.el.classList.add("done", cls);
  c.el.querySelector(".status").textContent = text;
  c.el.querySelector(".countdown").textContent = "";
  c.el.querySelectorAll(".buttons button, .reason").forEach((b) => { b.disabled = true; });
  setTimeout(() => { c.el.remove(); cards.delete(id); if (cards.size === 0) $("empty").hidden = false; }, 60000);
}

function tick() {
  const now = Date.now();
  for (const c of cards.values()) {
    if (c.done) continue;
    const left = Math.max(0, Math.round((Date.parse(c.req.expires_at) - now) / 1000));
    const m = Math.floor(left / 60), s = left % 60;
    c.el.querySelector(".countdown").textContent = "denies in " + m + ":" + String(s).padStart(2, "0");
  }
}
setInterval(tick, 1000);

start();
