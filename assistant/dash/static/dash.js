// carvoice dash: the page side. One WebSocket to the dashboard server: a snapshot, then batches of changes;
// commands (ask, ptt) go the same way. No libraries, nothing from the internet.
"use strict";

const STAGES = ["transcript", "intent", "vehicle_ack", "first_audio"];
const STAGE_NAMES = {transcript: "transcript", intent: "intent", vehicle_ack: "vehicle ack", first_audio: "first audio"};
const ZONES = [["Row1.Driver", "Row1.DriverSide", "front left (driver)"], ["Row1.Passenger", "Row1.PassengerSide", "front right"],
               ["Row2.Driver", "Row2.DriverSide", "rear left"], ["Row2.Passenger", "Row2.PassengerSide", "rear right"]];
const MAX_TURNS = 100, MAX_FLEET_ROWS = 5000;
const NAV = "Vehicle.Private.Carvoice.Navigation.", MEDIA = "Vehicle.Cabin.Infotainment.Media.";

const view = {signals: {}, units: {}, online: null, turns: [], current: {}, lastSeq: 0, assistant: "idle",
              vehicles: {}, rollouts: {}, trail: [], trailFor: null};
let socket = null, retryMs = 500, nextId = 1;
const pending = {};
const $ = (id) => document.getElementById(id);
const esc = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

// -- connection ---------------------------------------------------------------------------------------------
function connect() {
  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  if (token) {  // the server has set a cookie with it: take it out of the address bar
    params.delete("token");
    history.replaceState(null, "", location.pathname + (params.toString() ? "?" + params : "") + location.hash);
  }
  socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws" +
                         (token ? "?token=" + encodeURIComponent(token) : ""));
  socket.onopen = () => { retryMs = 500; setLink(true); };
  socket.onmessage = (message) => receive(JSON.parse(message.data));
  socket.onclose = () => { setLink(false); setTimeout(connect, retryMs); retryMs = Math.min(retryMs * 2, 5000); };
}

function setLink(up) {
  const link = $("link");
  link.textContent = up ? "live" : "reconnecting…";
  link.className = "pill " + (up ? "on" : "off");
  document.body.dataset.live = up ? "1" : "0";
}

function send(type, fields) {
  return new Promise((resolve) => {
    if (!socket || socket.readyState !== WebSocket.OPEN) { resolve({ok: false, error: "not connected"}); return; }
    const id = nextId++;
    pending[id] = resolve;
    socket.send(JSON.stringify({type, id, ...fields}));
  });
}

function receive(message) {
  if (message.type === "snapshot") {
    Object.assign(view, {signals: message.signals, units: message.units, online: message.online, turns: [], current: {},
                         lastSeq: 0, vehicles: message.vehicles, rollouts: message.rollouts});
    $("vehicle").textContent = message.vehicle;
    message.events.forEach(addEvent);
    document.body.dataset.ready = "1";
    renderAll();
  } else if (message.type === "update") {
    if (message.signals) Object.assign(view.signals, message.signals);
    if ("online" in message) view.online = message.online;
    (message.events || []).forEach(addEvent);
    if (message.vehicles) Object.assign(view.vehicles, message.vehicles);
    Object.assign(view.rollouts, message.rollouts || {});
    if (message.signals || "online" in message) renderCabin();
    if (message.events) schedule("timeline", renderTimeline);
    if (message.vehicles || Object.keys(message.rollouts || {}).length) schedule("fleet", renderFleet, 200);
  } else if (message.id in pending) {
    pending[message.id](message);
    delete pending[message.id];
  }
}

const timers = {};
function schedule(name, render, minGapMs = 0) {  // at most one render per frame (and per minGapMs)
  if (timers[name]) return;
  timers[name] = true;
  const run = () => requestAnimationFrame(() => { timers[name] = false; render(); });
  minGapMs ? setTimeout(run, minGapMs) : run();
}

// -- assistant events -> turns -------------------------------------------------------------------------------
function addEvent(event) {
  if (event.seq <= view.lastSeq) return;
  view.lastSeq = event.seq;
  const data = event.data || {};
  view.assistant = {speech_start: "listening", push_to_talk: "listening", barge_in: "listening", wake: "listening",
                    speech_end: "thinking", transcript: "thinking", intent: "thinking", vehicle_ack: data.reply ? "idle" : "thinking",
                    first_audio: "speaking", audio_end: "idle", ignored: "idle", error: "idle"}[event.stage] || view.assistant;
  let turn = view.current[event.session];
  if (event.stage === "speech_end") {
    turn = {session: event.session, ts: event.ts, typed: !!data.typed, stages: {}, actions: [], text: "", reply: ""};
    view.current[event.session] = turn;
    view.turns.push(turn);
    if (view.turns.length > MAX_TURNS) view.turns.shift();
    return;
  }
  if (!turn) return;
  if (STAGES.includes(event.stage)) turn.stages[event.stage] = event.elapsed_ms;
  if (event.stage === "transcript") turn.text = data.text || "";
  if (event.stage === "intent") { turn.actions = data.actions || []; turn.path = data.path; }
  if (event.stage === "vehicle_ack" && data.reply) turn.reply = data.reply;
  if (event.stage === "first_audio") turn.reply = data.reply || turn.reply;
  if (event.stage === "audio_end" && data.interrupted) turn.interrupted = true;
  if (event.stage === "error") turn.error = data.message || "error";
}

// -- rendering: cabin ----------------------------------------------------------------------------------------
const FORMATS = {
  temp: (v) => v.toFixed(1) + " °C", pct: (v) => Math.round(v) + " %", onoff: (v) => (v ? "on" : "off"),
  text: (v) => (v === "" ? "—" : String(v)), km: (v) => v.toFixed(1) + " km", kmh: (v) => Math.round(v) + " km/h",
};

function zoneCells() {
  $("zones").innerHTML = ZONES.map(([station, side, name]) => {
    const hvac = "Vehicle.Cabin.HVAC.Station." + station + ".";
    const [row, seat] = side.split(".");
    return `<div class="zone" id="zone-${esc(station.replace(".", "-").toLowerCase())}"><h3>${esc(name)}</h3>
      <span class="temp" data-sig="${hvac}Temperature" data-fmt="temp"></span>
      <div class="facts"><span>fan <b data-sig="${hvac}FanSpeed" data-fmt="pct"></b></span>
        <span>air <b data-sig="${hvac}AirDistribution" data-fmt="text"></b></span>
        <span>seat <b data-sig="Vehicle.Cabin.Seat.${row}.${seat}.HeatingCooling" data-fmt="seat"></b></span>
        <span>window <b data-sig="Vehicle.Cabin.Door.${row}.${seat}.Window.Position" data-fmt="window"></b></span></div></div>`;
  }).join("");
}
FORMATS.seat = (v) => (v > 0 ? "heat " + v + " %" : v < 0 ? "cool " + -v + " %" : "off");
FORMATS.window = (v) => (v === 0 ? "closed" : v + " % open");

function renderCabin() {
  const s = view.signals;
  for (const element of document.querySelectorAll("[data-sig]")) {
    const value = s[element.dataset.sig];
    const text = value === undefined ? "…" : (FORMATS[element.dataset.fmt] || FORMATS.text)(value);
    if (element.textContent !== text) element.textContent = text;
  }
  const online = $("online");
  online.textContent = view.online === null ? "no status" : view.online ? "online" : "offline";
  online.className = "pill " + (view.online ? "on" : view.online === false ? "off" : "dim");
  const state = $("assistant-state");
  state.textContent = view.assistant;
  state.className = "pill state-" + view.assistant;
  // media
  const action = s[MEDIA + "Action"] || "STOP";
  $("media-action").textContent = {PLAY: "▶ playing", PAUSE: "❚❚ paused", STOP: "■ stopped"}[action] || action;
  $("media-track").textContent = s[MEDIA + "Played.Track"] || (action === "STOP" ? "nothing playing" : "");
  $("media-artist").textContent = [s[MEDIA + "Played.Artist"], s[MEDIA + "Played.Album"]].filter(Boolean).join(" · ");
  $("media-muted").textContent = s["Vehicle.Private.Carvoice.Media.IsMuted"] ? "muted" : "";
  $("volume-bar").setAttribute("width", String(s[MEDIA + "Volume"] || 0));
  renderRoute();
}

function renderRoute() {
  const s = view.signals;
  const status = s[NAV + "RouteStatus"] || "IDLE";
  const routing = status !== "IDLE" && (s["Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Latitude"] || s["Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Longitude"]);
  const car = [s["Vehicle.CurrentLocation.Latitude"], s["Vehicle.CurrentLocation.Longitude"]];
  const dest = routing ? [s["Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Latitude"], s["Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Longitude"]] : null;
  const key = dest ? dest.join(",") : null;
  if (view.trailFor !== key) { view.trail = []; view.trailFor = key; }
  if (car[0] !== undefined) {
    const last = view.trail[view.trail.length - 1];
    if (!last || last[0] !== car[0] || last[1] !== car[1]) view.trail.push(car);
    if (view.trail.length > 2000) view.trail.splice(1, 1);
  }
  $("route-destination").textContent = routing ? (s[NAV + "DestinationName"] || dest.map((d) => d.toFixed(4)).join(", ")) : "no route";
  const left = s[NAV + "TimeToDestination"] || 0;
  $("route-eta").textContent = routing && left ? `${formatDuration(left)} (arrive ${new Date(Date.now() + left * 1000).toTimeString().slice(0, 5)})` : "—";
  drawMap(car, dest, routing ? s[NAV + "DestinationName"] : "");
}

function formatDuration(seconds) {
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

function drawMap(car, dest, name) {
  const W = 400, H = 220, pad = 28;
  const points = [...view.trail, ...(dest ? [dest] : [])];
  if (car[0] === undefined || !points.length) { $("map").innerHTML = `<text x="12" y="20">no position yet</text>`; return; }
  let [minLat, maxLat, minLon, maxLon] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [lat, lon] of points) { minLat = Math.min(minLat, lat); maxLat = Math.max(maxLat, lat); minLon = Math.min(minLon, lon); maxLon = Math.max(maxLon, lon); }
  const kx = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
  const span = Math.max((maxLon - minLon) * kx, maxLat - minLat, 0.01);
  const scale = Math.min((W - 2 * pad) / span, (H - 2 * pad) / span);
  const cx = (minLon + maxLon) / 2, cy = (minLat + maxLat) / 2;
  const xy = ([lat, lon]) => [W / 2 + (lon - cx) * kx * scale, H / 2 - (lat - cy) * scale];
  const grid = [];
  for (let i = 1; i < 8; i++) grid.push(`<line class="grid-line" x1="${i * W / 8}" y1="0" x2="${i * W / 8}" y2="${H}"/>`);
  for (let i = 1; i < 5; i++) grid.push(`<line class="grid-line" x1="0" y1="${i * H / 5}" x2="${W}" y2="${i * H / 5}"/>`);
  const [carX, carY] = xy(car);
  let html = grid.join("");
  if (view.trail.length > 1) html += `<polyline class="trail" points="${view.trail.map((p) => xy(p).map((v) => v.toFixed(1)).join(",")).join(" ")}"/>`;
  if (dest) {
    const [dx, dy] = xy(dest);
    html += `<line class="ahead" x1="${carX.toFixed(1)}" y1="${carY.toFixed(1)}" x2="${dx.toFixed(1)}" y2="${dy.toFixed(1)}"/>` +
            `<circle id="map-dest" class="dest" cx="${dx.toFixed(1)}" cy="${dy.toFixed(1)}" r="7"/>` +
            `<text x="${(dx + 10).toFixed(1)}" y="${(dy + 4).toFixed(1)}">${esc(name)}</text>`;
  }
  html += `<circle id="map-car" class="car" cx="${carX.toFixed(1)}" cy="${carY.toFixed(1)}" r="8"/>` +
          `<text x="8" y="${H - 8}">${car[0].toFixed(4)}, ${car[1].toFixed(4)}</text>`;
  $("map").innerHTML = html;
}

// -- rendering: timeline -------------------------------------------------------------------------------------
function percentile(sorted, q) {  // linear between closest ranks, as Python's statistics.quantiles(inclusive)
  const at = (sorted.length - 1) * q, low = Math.floor(at);
  return low + 1 < sorted.length ? sorted[low] + (sorted[low + 1] - sorted[low]) * (at - low) : sorted[low];
}

function renderTimeline() {
  const turns = view.turns;
  $("turn-count").textContent = turns.length ? `(${turns.length} this session)` : "";
  $("latency").tBodies[0].innerHTML = STAGES.map((stage) => {
    const values = turns.map((t) => t.stages[stage]).filter((v) => v !== undefined).sort((a, b) => a - b);
    if (!values.length) return "";
    return `<tr data-stage="${stage}"><td>${STAGE_NAMES[stage]}</td><td>${values.length}</td>` +
           `<td class="p50">${percentile(values, 0.5).toFixed(0)}</td><td class="p95">${percentile(values, 0.95).toFixed(0)}</td></tr>`;
  }).join("");
  const longest = Math.max(1000, ...turns.map((t) => Math.max(0, ...Object.values(t.stages))));
  $("turns").innerHTML = turns.slice().reverse().map((turn) => {
    const actions = turn.actions.map((a) => `<div class="action"><span class="name">${esc(a.name)}</span>(${esc(Object.entries(a.args || {}).map(([k, v]) => k + "=" + JSON.stringify(v)).join(", "))}) → ` +
      `<span class="status status-${esc(a.status)}">${esc(a.status)}</span> <span class="dim">${esc(a.result)}</span></div>`).join("");
    let previous = 0, bars = "";
    for (const stage of STAGES) {
      const at = turn.stages[stage];
      if (at === undefined) continue;
      const x = previous / longest * 300, width = Math.max(1, (at - previous) / longest * 300);
      bars += `<rect class="s-${stage}" x="${x.toFixed(1)}" y="0" width="${width.toFixed(1)}" height="14"><title>${STAGE_NAMES[stage]}: ${at.toFixed(0)} ms</title></rect>`;
      previous = Math.max(previous, at);
    }
    const last = STAGES.filter((s) => turn.stages[s] !== undefined).pop();
    return `<li class="turn" data-session="${esc(turn.session)}"><div class="said">${esc(turn.text || "…")}</div>` +
      `<div class="stagebar"><svg viewBox="0 0 300 14" preserveAspectRatio="none">${bars}</svg>` +
      `<span class="total">${last ? `${STAGE_NAMES[last]} at ${turn.stages[last].toFixed(0)} ms` : ""}</span></div>` +
      `<div class="reply">${esc(turn.reply)}${turn.interrupted ? ' <span class="dim">(interrupted)</span>' : ""}${turn.error ? ` <span class="status-rejected">${esc(turn.error)}</span>` : ""}</div>` +
      `<div class="actions">${actions}</div>` +
      `<div class="meta">${turn.typed ? "typed" : "spoken"} · ${esc(turn.session)} · ${esc(turn.path || "")} · ${esc((turn.ts || "").slice(11, 19))}</div></li>`;
  }).join("");
  renderCabin();  // the assistant's state follows the events
}

// -- rendering: fleet ------------------------------------------------------------------------------------------
function renderFleet() {
  const needle = $("fleet-filter").value.trim().toLowerCase();
  const all = Object.values(view.vehicles);
  const rows = [];
  for (const v of all) {
    const text = `${v.vehicle} ${v.fleet || ""} ${v.group || ""} ${v.state || ""} ${v.errors.join(" ")}`.toLowerCase();
    if (!needle || text.includes(needle)) rows.push(v);
  }
  rows.sort((a, b) => (a.vehicle < b.vehicle ? -1 : a.vehicle > b.vehicle ? 1 : 0));
  const shown = rows.slice(0, MAX_FLEET_ROWS);
  const html = new Array(shown.length);  // one innerHTML pass: thousands of rows without freezing the page
  for (let i = 0; i < shown.length; i++) {
    const v = shown[i], a = v.applied || {};
    const about = v.state === "rejected" ? `rejected ${esc(v.target || "")} v${esc(v.version ?? "?")}` : esc(v.state || "");
    html[i] = `<tr data-vehicle="${esc(v.vehicle)}"><td>${esc(v.vehicle)}</td><td>${esc(v.fleet || "")}</td><td>${esc(v.group || "—")}</td>` +
      `<td>${esc(a.fleet ?? "—")}</td><td>${esc(a.group ?? "—")}</td><td>${esc(a.vehicle ?? "—")}</td>` +
      `<td class="state-${esc(v.state)}">${about}</td><td class="errors">${esc(v.errors.join("; "))}</td>` +
      `<td>${esc((v.ts || "").replace("T", " ").slice(0, 19))}</td></tr>`;
  }
  $("fleet-rows").innerHTML = html.join("");
  let count = rows.length === all.length ? `${all.length} vehicles` : `${rows.length} of ${all.length} vehicles`;
  if (shown.length < rows.length) count += ` (first ${shown.length} shown; filter to narrow)`;
  $("fleet-count").textContent = count;
  const rollouts = Object.values(view.rollouts);
  if (rollouts.length) $("rollouts").innerHTML = rollouts.map(renderRollout).join("");
}

function renderRollout(fleet) {
  const r = fleet.rollout;
  let detail = `<span class="dim">no rollout</span>`;
  if (r) {
    const cohort = Math.max(r.cohort, 1), stageShare = (r.percent ?? 0);
    detail = `<div><b>version ${r.version}</b> <span class="outcome">${esc(r.outcome)}</span>` +
      (r.percent !== null ? ` at ${r.percent}%` : "") + ` · stages ${r.stages.map((p) => p + "%").join(" → ") || "—"}` +
      ` · in stage ${r.cohort}: <span class="status-applied">${r.applied} applied</span>, <span class="status-rejected">${r.rejected} rejected</span>, ${Math.max(0, r.cohort - r.applied - r.rejected)} waiting</div>` +
      `<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none"><rect width="100" height="10" class="track"/>` +
      `<rect class="stage" width="${stageShare}" height="10"/><rect class="applied" width="${(stageShare * r.applied / cohort).toFixed(2)}" height="10"/>` +
      `<rect class="rejected" x="${(stageShare * r.applied / cohort).toFixed(2)}" width="${(stageShare * r.rejected / cohort).toFixed(2)}" height="10"/></svg>`;
  }
  return `<div class="rollout" data-fleet="${esc(fleet.fleet)}"><div><b>${esc(fleet.fleet)}</b><br><span class="dim">stable v${esc(fleet.stable ?? "—")} · ${fleet.vehicles} vehicles</span></div><div>${detail}</div></div>`;
}

// -- everything, views, controls -------------------------------------------------------------------------------
function renderAll() { renderCabin(); renderTimeline(); renderFleet(); }

function showView() {
  const fleet = location.hash === "#fleet";
  $("cabin-view").hidden = fleet;
  $("fleet-view").hidden = !fleet;
  $("tab-cabin").classList.toggle("active", !fleet);
  $("tab-fleet").classList.toggle("active", fleet);
}

async function ask(event) {
  event.preventDefault();
  const input = $("ask-text"), text = input.value.trim();
  if (!text) return;
  $("ask-send").disabled = true;
  $("ask-result").textContent = "…";
  const answer = await send("ask", {text});
  $("ask-send").disabled = false;
  if (!answer.ok) { $("ask-result").textContent = "error: " + answer.error; return; }
  const turn = answer.turn;
  $("ask-result").textContent = `${turn.reply} (${turn.path}, ${turn.actions.map((a) => a.name + " " + a.status).join(", ") || "no actions"})`;
  input.value = "";
}

async function pushToTalk() {
  $("ptt").disabled = true;
  const answer = await send("ptt", {});
  $("ptt").disabled = false;
  $("ask-result").textContent = answer.ok ? "push-to-talk pressed: speak now" : "error: " + answer.error;
}

document.addEventListener("DOMContentLoaded", () => {
  zoneCells();
  showView();
  window.addEventListener("hashchange", showView);
  $("ask-form").addEventListener("submit", ask);
  $("ptt").addEventListener("click", pushToTalk);
  $("fleet-filter").addEventListener("input", () => schedule("fleet", renderFleet));
  renderCabin();
  connect();
});
