// terra inspector: the live list, filters, one event's detail, charts and replay.
// Plain DOM and SVG, no library, no build step. Every request carries the page's token;
// text from events only ever goes in through textContent, never as HTML.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const ROWS_SHOWN = 500; // rows drawn at once; "Show older" draws more
const RAW_SHOWN = 256 * 1024; // characters of a raw body drawn before "Show all"
const TREE_PAGE = 200; // children of one tree node drawn at once
const KEEP = 10000; // events the page holds (the server lists as many); older ones drop off
const LEVELS = [
  // Terra's sleep levels, top lane first.
  [1, "awake"], [3, "out of bed"], [6, "REM"], [4, "light"], [2, "sleeping"], [5, "deep"], [0, "unknown"],
];
const SVGNS = "http://www.w3.org/2000/svg";

const state = {
  events: [], // oldest first
  byId: new Map(),
  seen: { type: new Set(), verdict: new Set(), provider: new Set() },
  limit: ROWS_SHOWN,
  selected: null,
  info: null,
  pending: [],
  flushQueued: false,
};

function api(path) {
  return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVGNS, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.setAttribute("class", value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function humanSize(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(n < 10240 ? 1 : 0) + " KB";
  return (n / 1048576).toFixed(n < 10485760 ? 1 : 0) + " MB";
}

function clock(iso) {
  const d = new Date(iso);
  return isNaN(d) ? (iso || "").slice(11, 19) : d.toLocaleTimeString([], { hour12: false });
}

function hhmm(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
}

function duration(ms) {
  const min = Math.round(ms / 60000);
  return min >= 60 ? Math.floor(min / 60) + " h " + String(min % 60).padStart(2, "0") + " min" : min + " min";
}

// ------------------------------------------------------------------ the list

function matches(ev) {
  const f = filters();
  if (f.type && ev.type !== f.type) return false;
  if (f.verdict && ev.verdict !== f.verdict) return false;
  if (f.provider && ev.provider !== f.provider) return false;
  if (f.user && !(ev.user_id || "").toLowerCase().includes(f.user)) return false;
  return true;
}

function filters() {
  return {
    type: document.getElementById("f-type").value,
    verdict: document.getElementById("f-verdict").value,
    provider: document.getElementById("f-provider").value,
    user: document.getElementById("f-user").value.trim().toLowerCase(),
  };
}

function row(ev) {
  const tags = [];
  if (ev.retry) tags.push(el("span", { class: "tag", text: "retry" }));
  if (ev.replay_of) tags.push(el("span", { class: "tag", text: "replay" }));
  const fwd = ev.forward;
  const status = fwd ? `${ev.status} → ${fwd.status === null ? "✗" : fwd.status}` : String(ev.status);
  const tr = el(
    "tr",
    { "data-id": ev.id, class: ev.id === state.selected ? "sel" : null, title: ev.id },
    el("td", { class: "c-time mono", text: clock(ev.received_at) }),
    el("td", { class: "c-type kind-" + (ev.kind || "unknown"), text: ev.type || "—" }),
    el("td", { class: "c-prov", text: ev.provider || "" }),
    el("td", { class: "c-user mono", text: ev.user_id ? ev.user_id.slice(0, 8) : "", title: ev.user_id || null }),
    el("td", { class: "c-sum", title: ev.summary || null }, ev.summary || "", ...tags),
    el("td", { class: "c-size", text: humanSize(ev.size) }),
    el("td", { class: "c-verdict" }, el("span", { class: "badge v-" + ev.verdict, text: ev.verdict })),
    el("td", { class: "c-status mono", text: status }),
  );
  return tr;
}

function addOption(kind, value) {
  if (!value || state.seen[kind].has(value)) return;
  state.seen[kind].add(value);
  const select = document.getElementById("f-" + kind);
  const values = [...state.seen[kind]].sort();
  const option = el("option", { value, text: value });
  const before = values.indexOf(value) + 1; // after "all"
  select.insertBefore(option, select.options[before] || null);
}

function counts() {
  const shown = document.getElementById("rows").childElementCount;
  const total = state.events.length;
  document.getElementById("count").textContent = `${total} event${total === 1 ? "" : "s"}` +
    (shown < total ? ` · ${shown} shown` : "");
  document.getElementById("empty").hidden = total > 0;
}

function renderRows() {
  const body = document.getElementById("rows");
  const picked = [];
  let more = false;
  for (let i = state.events.length - 1; i >= 0; i--) {
    const ev = state.events[i];
    if (!matches(ev)) continue;
    if (picked.length >= state.limit) { more = true; break; }
    picked.push(row(ev));
  }
  body.replaceChildren(...picked);
  document.getElementById("more").hidden = !more;
  counts();
}

function flush() {
  state.flushQueued = false;
  const batch = state.pending;
  state.pending = [];
  const body = document.getElementById("rows");
  const fresh = [];
  for (const ev of batch) {
    if (state.byId.has(ev.id)) continue;
    state.byId.set(ev.id, ev);
    state.events.push(ev);
    addOption("type", ev.type);
    addOption("verdict", ev.verdict);
    addOption("provider", ev.provider);
    if (matches(ev)) fresh.push(row(ev));
  }
  if (state.events.length > KEEP) {
    for (const old of state.events.splice(0, state.events.length - KEEP)) state.byId.delete(old.id);
  }
  if (fresh.length) {
    fresh.reverse();
    body.prepend(...fresh);
    while (body.childElementCount > state.limit) body.lastElementChild.remove();
    if (body.childElementCount >= state.limit) document.getElementById("more").hidden = false;
  }
  counts();
}

function connect() {
  const conn = document.getElementById("conn");
  const source = new EventSource(api("/api/stream"));
  source.onopen = () => { conn.textContent = "live"; conn.className = "conn live"; };
  source.onerror = () => {
    conn.textContent = source.readyState === EventSource.CLOSED ? "stopped" : "reconnecting…";
    conn.className = "conn " + (source.readyState === EventSource.CLOSED ? "off" : "wait");
  };
  source.onmessage = (message) => {
    state.pending.push(JSON.parse(message.data));
    if (!state.flushQueued) {
      state.flushQueued = true;
      // One DOM update per animation frame however fast events come; a hidden tab gets one
      // every 250 ms.
      if (document.hidden) setTimeout(flush, 250);
      else requestAnimationFrame(flush);
    }
  };
}

// ------------------------------------------------------------------ the detail

async function getJSON(path) {
  const response = await fetch(api(path));
  const doc = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(doc.error || `HTTP ${response.status}`);
  return doc;
}

function kv(pairs) {
  const dl = el("dl", { class: "kv" });
  for (const [name, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    dl.append(el("dt", { text: name }), el("dd", {}, value));
  }
  return dl;
}

async function select(id) {
  state.selected = id;
  for (const tr of document.querySelectorAll("#rows tr.sel")) tr.classList.remove("sel");
  const tr = document.querySelector(`#rows tr[data-id="${CSS.escape(id)}"]`);
  if (tr) tr.classList.add("sel");
  const pane = document.getElementById("detail-pane");
  pane.replaceChildren(el("p", { class: "empty", text: "Loading " + id + "…" }));
  let doc;
  try {
    doc = await getJSON("/api/events/" + encodeURIComponent(id));
  } catch (err) {
    pane.replaceChildren(el("p", { class: "empty", text: `Could not load ${id}: ${err.message}` }));
    return;
  }
  if (state.selected !== id) return;
  pane.replaceChildren(...detail(doc, state.byId.get(id) || {}));
}

function link(id) {
  return el("a", { onclick: () => select(id), text: id });
}

function detail(doc, ev) {
  const s = doc.summary || {};
  const span = s.start ? (s.end && s.end !== s.start ? `${s.start} to ${s.end}` : s.start) : null;
  const replayOf = doc.replay_of || ev.replay_of;
  const parts = [
    el("div", { class: "headline" },
      el("h2", { class: "kind-" + (s.kind || "unknown"), text: s.type || "(no type)" }),
      el("span", { class: "badge v-" + doc.verdict, id: "verdict", text: doc.verdict }),
      ev.retry ? el("span", { class: "tag", text: "retry" }) : null,
      replayOf ? el("span", { class: "tag", text: "replay" }) : null),
    el("p", { class: "sumtext", text: s.text || "" }),
    el("p", { class: "reason", id: "verdict-reason", text: doc.verdict_reason }),
  ];
  if (doc.charts && doc.charts.length) {
    parts.push(el("h3", { text: "Charts" }), ...chartsView(doc.charts));
  }
  parts.push(
    el("h3", { text: "Summary" }),
    kv([
      ["Event id", el("span", { class: "mono", text: doc.id })],
      ["Received", doc.received_at],
      ["Request", `${doc.method} ${doc.path}`],
      ["Answered", String(doc.status)],
      ["Provider", s.provider],
      ["User", s.user_id ? el("span", { class: "mono", text: s.user_id }) : null],
      ["Reference", s.reference_id],
      ["terra-reference", ev.terra_reference],
      ["Trace id", ev.trace_id ? el("span", { class: "mono", text: ev.trace_id }) : null],
      ["Records", s.records],
      ["Covers", span],
      ["Size", `${humanSize(doc.size)}${doc.body_size !== doc.size ? ` (${humanSize(doc.body_size)} decoded)` : ""}`],
      ["Retry", ev.retry ? "yes: this trace id was delivered before" : null],
      ["Replay of", replayOf ? link(replayOf) : null],
    ]),
    el("h3", { text: "Forward" }),
    forwardView(doc.forward),
    el("h3", { text: "Replay" }), replayView(doc),
    el("h3", { text: `Headers (${doc.headers.length})` }), headersView(doc.headers),
    el("h3", { text: "Body" }), bodyView(doc),
  );
  return parts;
}

function forwardView(fwd) {
  if (!fwd) return el("p", { class: "muted", text: "Not forwarded." });
  return kv([
    ["URL", el("span", { class: "mono", text: fwd.url })],
    ["Status", fwd.status === null ? "no answer" : String(fwd.status)],
    ["Latency", fwd.latency_ms !== null && fwd.latency_ms !== undefined ? `${fwd.latency_ms} ms` : null],
    ["Error", fwd.error],
  ]);
}

function headersView(headers) {
  const table = el("table", { class: "headers" });
  for (const [name, value] of headers) table.append(el("tr", {}, el("td", { text: name }), el("td", { text: value })));
  return table;
}

function replayView(doc) {
  const info = state.info || {};
  const target = el("input", {
    type: "url", id: "replay-to", spellcheck: "false",
    placeholder: info.default_target ? `${info.default_target} (default)` : "http://127.0.0.1:3000/webhooks/terra",
    "aria-label": "Replay target URL",
  });
  const original = el("input", { type: "checkbox", id: "replay-original", checked: !info.signs_replays });
  const result = el("p", { class: "result", id: "replay-result" });
  const button = el("button", { class: "primary", type: "button", id: "replay-btn", text: "Replay" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.className = "result";
    result.textContent = "Sending…";
    try {
      const response = await fetch("/api/events/" + encodeURIComponent(doc.id) + "/replay", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Inspect-Token": TOKEN },
        body: JSON.stringify({ to: target.value.trim() || null, original: original.checked }),
      });
      const out = await response.json();
      if (!response.ok) throw new Error(out.error + (out.hint ? " " + out.hint : ""));
      const ok = out.status !== null && out.status >= 200 && out.status < 300;
      result.className = "result " + (ok ? "ok" : "err");
      result.replaceChildren(
        out.status === null ? `${out.url}: no answer (${out.error}). ${out.hint || ""}`
          : `${out.url} answered ${out.status} in ${out.latency_ms} ms${out.resigned ? " (signed afresh)" : " (original signature)"}`,
      );
      if (out.new_id) result.append(" · new event ", link(out.new_id));
    } catch (err) {
      result.className = "result err";
      result.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
  const where = info.default_target
    ? `Sends the same bytes and headers again to ${info.default_target}${info.forward_to ? ` (which forwards to ${info.forward_to})` : ""}, or to the URL typed here.`
    : "Sends the same bytes and headers again to the URL typed here.";
  return el(
    "div", {},
    el("p", { class: "muted", text: where }),
    el("div", { class: "replay" }, target,
      el("label", {}, original, " original signature"), button),
    result,
  );
}

// ------------------------------------------------------------------ the body

function bodyView(doc) {
  if (doc.body_kind === "none") return el("p", { class: "muted", text: doc.status === 413 ? "Refused unread (413): no body kept." : "Empty body." });
  const wrap = el("details", { class: "body", id: "body" },
    el("summary", { text: `${humanSize(doc.body_size)} of ${doc.body_kind === "json" ? "JSON" : doc.body_kind}` + (doc.body_size > 1048576 ? " — loaded when opened" : "") }));
  let loaded = false;
  wrap.addEventListener("toggle", async () => {
    if (!wrap.open || loaded) return;
    loaded = true;
    const box = el("div", { text: "Loading the body…" });
    wrap.append(box);
    try {
      const response = await fetch(api("/api/events/" + encodeURIComponent(doc.id) + "/body"));
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const text = await response.text();
      box.replaceChildren(...bodyTabs(text, doc.body_kind));
    } catch (err) {
      box.textContent = "Could not load the body: " + err.message;
      loaded = false;
    }
  });
  if (doc.body_size <= 256 * 1024) wrap.open = true;
  return wrap;
}

function bodyTabs(text, kind) {
  let value;
  let parsed = false;
  if (kind === "json") {
    try { value = JSON.parse(text); parsed = true; } catch (err) { parsed = false; }
  }
  const pane = el("div", {});
  const treeBtn = el("button", { type: "button", text: "Tree", id: "tab-tree" });
  const rawBtn = el("button", { type: "button", text: "Raw", id: "tab-raw" });
  const show = (which) => {
    treeBtn.classList.toggle("on", which === "tree");
    rawBtn.classList.toggle("on", which === "raw");
    pane.replaceChildren(which === "tree" ? tree(value) : raw(text));
  };
  treeBtn.addEventListener("click", () => show("tree"));
  rawBtn.addEventListener("click", () => show("raw"));
  if (!parsed) treeBtn.disabled = true;
  show(parsed ? "tree" : "raw");
  return [el("div", { class: "tabs" }, treeBtn, rawBtn), pane];
}

function raw(text) {
  const pre = el("pre", { class: "raw", id: "raw" });
  if (text.length <= RAW_SHOWN) { pre.textContent = text; return pre; }
  pre.textContent = text.slice(0, RAW_SHOWN);
  const all = el("button", { type: "button", text: `Show all ${humanSize(text.length)}` });
  all.addEventListener("click", () => { pre.textContent = text; all.remove(); });
  return el("div", {}, pre, el("p", { class: "muted" }, `First ${humanSize(RAW_SHOWN)} shown. `, all));
}

function preview(value) {
  if (Array.isArray(value)) return `[${value.length} item${value.length === 1 ? "" : "s"}]`;
  const n = Object.keys(value).length;
  return `{${n} key${n === 1 ? "" : "s"}}`;
}

function leaf(value) {
  if (typeof value === "string") return el("span", { class: "s", text: JSON.stringify(value) });
  if (typeof value === "number") return el("span", { class: "n", text: String(value) });
  if (typeof value === "boolean") return el("span", { class: "b", text: String(value) });
  return el("span", { class: "z", text: "null" });
}

// One node: its children are built only when it is opened, TREE_PAGE at a time.
function treeNode(key, value, open) {
  const node = el("div", { class: "node" });
  const label = key === null ? null : el("span", { class: "k", text: key + ": " });
  if (value === null || typeof value !== "object") {
    node.append(el("div", { class: "row" }, label, leaf(value)));
    return node;
  }
  const tog = el("span", { class: "tog", text: "▸" });
  const head = el("div", { class: "row" }, tog, label, el("span", { class: "p", text: preview(value) }));
  const kids = el("div", { class: "kids" });
  kids.hidden = true;
  let built = 0;
  const keys = Array.isArray(value) ? null : Object.keys(value);
  const total = Array.isArray(value) ? value.length : keys.length;
  const more = () => {
    const stop = Math.min(total, built + TREE_PAGE);
    const frag = document.createDocumentFragment();
    for (let i = built; i < stop; i++) {
      const k = keys ? keys[i] : i;
      frag.append(treeNode(keys ? k : `[${k}]`, value[k], false));
    }
    built = stop;
    kids.querySelector(":scope > .more-kids")?.remove();
    kids.append(frag);
    if (built < total) {
      kids.append(el("div", { class: "node more-kids" },
        el("a", { onclick: more, text: `show ${Math.min(TREE_PAGE, total - built)} more of ${total - built}` })));
    }
  };
  const toggle = () => {
    if (!built && total) more();
    kids.hidden = !kids.hidden;
    tog.textContent = kids.hidden ? "▸" : "▾";
  };
  tog.addEventListener("click", toggle);
  head.querySelector(".p").addEventListener("click", toggle);
  node.append(head, kids);
  if (open) toggle();
  return node;
}

function tree(value) {
  const root = el("div", { class: "tree", id: "tree" });
  root.append(treeNode(null, value, true));
  return root;
}

// ------------------------------------------------------------------ charts

let W = 720; // chart width in pixels: the detail pane's, so text is drawn at its real size

function chartsView(sets) {
  const pane = document.getElementById("detail-pane");
  W = Math.max(360, Math.min(1400, Math.round(pane.clientWidth - 40)));
  const out = [];
  for (const set of sets) {
    const label = sets.length > 1 ? ` (record ${set.record + 1})` : "";
    if (set.hypnogram) out.push(chartBox("Sleep stages by duration" + label, ...hypnogram(set.hypnogram, set), "chart-sleep"));
    if (set.heart_rate) out.push(chartBox("Heart rate, bpm" + label, heartRate(set.heart_rate, set), "chart-hr"));
    if (set.steps) out.push(chartBox("Steps per interval" + label, bars(set.steps, "bar", set), "chart-steps"));
    if (set.calories) out.push(chartBox("Calories per interval, kcal" + label, bars(set.calories, "bar cal", set), "chart-cal"));
  }
  return out;
}

function chartBox(title, ...rest) {
  const cls = rest.pop();
  return el("div", { class: "chart " + cls }, el("div", { class: "title", text: title }), ...rest);
}

// Time labels on round minutes (every 1, 2, 5, 10, 15, 30 min or 1, 2, 3, 6, 12 h).
function axisTime(root, t0, t1, x, y) {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720].map((m) => m * 60000);
  const step = steps.find((ms) => (t1 - t0) / ms <= 8) || 1440 * 60000;
  const zone = new Date(t0).getTimezoneOffset() * 60000;
  for (let t = Math.ceil((t0 - zone) / step) * step + zone; t <= t1; t += step) {
    const at = x(t);
    const anchor = at - x(t0) < 16 ? "start" : x(t1) - at < 16 ? "end" : "middle";
    root.append(svg("line", { class: "tick", x1: at, x2: at, y1: y - 14, y2: y - 10 }));
    root.append(svg("text", { x: at, y, "text-anchor": anchor, text: hhmm(t) }));
  }
}

// The time span a chart covers: the data record's own when known, so charts line up.
function span(set, first, last) {
  const t0 = set.start !== null && set.start <= first ? set.start : first;
  const t1 = set.end !== null && set.end >= last ? set.end : last;
  return [t0, Math.max(t1, t0 + 1)];
}

function heartRate(points, set) {
  const H = 170, L = 74, R = 8, T = 8, B = 22;
  const [t0, t1] = span(set, points[0][0], points[points.length - 1][0]);
  let lo = Infinity, hi = -Infinity;
  for (const p of points) { lo = Math.min(lo, p[1]); hi = Math.max(hi, p[1]); }
  lo = Math.floor((lo - 5) / 10) * 10; hi = Math.ceil((hi + 5) / 10) * 10;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo || 1)) * (H - T - B);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "heart rate over time" });
  for (let v = lo; v <= hi; v += (hi - lo) > 80 ? 20 : 10) {
    root.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    root.append(svg("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end", text: String(v) }));
  }
  const d = points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ");
  root.append(svg("polyline", { class: "hr-line", points: d }, svg("title", { text: `${points.length} samples, ${lo}–${hi} bpm range` })));
  axisTime(root, t0, t1, x, H - 6);
  return root;
}

function hypnogram(segments, set) {
  const lane = 20, L = 74, R = 8, T = 6, B = 22;
  const H = T + lane * LEVELS.length + B;
  const [t0, t1] = span(set, segments[0][0], segments[segments.length - 1][1]);
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const laneOf = new Map(LEVELS.map(([code], i) => [code, i]));
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "sleep hypnogram" });
  LEVELS.forEach(([code, name], i) => {
    root.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: T + lane * (i + 1), y2: T + lane * (i + 1) }));
    root.append(svg("text", { x: L - 6, y: T + lane * i + 14, "text-anchor": "end", text: name }));
  });
  const totals = new Map();
  for (const [start, end, level] of segments) {
    const i = laneOf.has(level) ? laneOf.get(level) : laneOf.get(0);
    totals.set(level, (totals.get(level) || 0) + (end - start));
    const name = LEVELS[i][1];
    root.append(svg("rect", {
      class: "seg lv" + level, x: x(start).toFixed(2), y: T + lane * i + 2,
      width: Math.max(0.5, x(end) - x(start)).toFixed(2), height: lane - 4, "data-level": level,
    }, svg("title", { text: `${name}: ${hhmm(start)}–${hhmm(end)} (${duration(end - start)})` })));
  }
  axisTime(root, t0, t1, x, H - 6);
  const legend = el("div", { class: "legend" });
  for (const [code, name] of LEVELS) {
    const ms = totals.get(code) || 0;
    legend.append(el("span", {}, el("i", { class: "lv" + code }), `${name} ${duration(ms)}`));
  }
  return [root, legend];
}

function bars(points, cls, set) {
  const H = 150, L = 74, R = 8, T = 8, B = 22;
  const [t0, t1] = span(set, points[0][0], points[points.length - 1][2]);
  let hi = 0;
  for (const p of points) hi = Math.max(hi, p[1]);
  hi = hi || 1;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - v / hi) * (H - T - B);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": cls.includes("cal") ? "calories per interval" : "steps per interval" });
  for (const f of [0, 0.5, 1]) {
    root.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: y(hi * f), y2: y(hi * f) }));
    root.append(svg("text", { x: L - 4, y: y(hi * f) + 4, "text-anchor": "end", text: String(Math.round(hi * f)) }));
  }
  for (const [start, amount, end] of points) {
    const top = y(Math.max(0, amount));
    root.append(svg("rect", {
      class: cls, x: x(start).toFixed(2), y: top.toFixed(2),
      width: Math.max(0.5, x(end) - x(start) - 0.5).toFixed(2), height: (H - B - top).toFixed(2),
    }, svg("title", { text: `${hhmm(start)}–${hhmm(end)}: ${amount}` })));
  }
  axisTime(root, t0, t1, x, H - 6);
  return root;
}

// ------------------------------------------------------------------ start

function start() {
  for (const id of ["f-type", "f-verdict", "f-provider"]) {
    document.getElementById(id).addEventListener("change", () => { state.limit = ROWS_SHOWN; renderRows(); });
  }
  document.getElementById("f-user").addEventListener("input", () => { state.limit = ROWS_SHOWN; renderRows(); });
  document.getElementById("f-clear").addEventListener("click", () => {
    for (const id of ["f-type", "f-verdict", "f-provider"]) document.getElementById(id).value = "";
    document.getElementById("f-user").value = "";
    renderRows();
  });
  document.getElementById("more-btn").addEventListener("click", () => { state.limit += ROWS_SHOWN; renderRows(); });
  document.getElementById("rows").addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-id]");
    if (tr) select(tr.dataset.id);
  });
  getJSON("/api/info").then((info) => {
    state.info = info;
    document.getElementById("mode").textContent = info.mode === "listen" ? "live from terra listen" : "the saved event log";
  }).catch(() => {});
  connect();
  counts();
}

start();
