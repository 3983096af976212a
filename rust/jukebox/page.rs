//! The live page: one self-contained HTML document (inline CSS and script, no external assets).
//!
//! It opens `/events` once and redraws the card from each event: no polling, no reload. Between
//! events the position moves on by itself while the track plays. It works from a phone to a
//! projector: the card scales with the viewport (`vmin`) and stacks on narrow screens.

/// The page served at `/`.
pub const PAGE: &str = r##"<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Juke-V-Box</title>
<style>
  :root { color-scheme: dark; --fg: #f4f1ea; --dim: #a9a39a; --accent: #1ed760; --bg: #0c0b10; }
  * { box-sizing: border-box; }
  html, body { margin: 0; height: 100%; background: var(--bg); color: var(--fg);
    font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  body { display: flex; align-items: center; justify-content: center; padding: 3vmin; }
  .card { width: min(96vw, 150vmin); display: flex; gap: 4vmin; align-items: center;
    background: #17151d; border-radius: 3vmin; padding: 4vmin; box-shadow: 0 2vmin 8vmin #0008; }
  .art { flex: none; width: min(40vmin, 80vw); aspect-ratio: 1; border-radius: 2vmin; overflow: hidden;
    position: relative; background: linear-gradient(135deg, hsl(var(--hue, 250) 60% 45%), hsl(calc(var(--hue, 250) + 60) 70% 25%)); }
  .art img { width: 100%; height: 100%; object-fit: cover; display: block; }
  .art img[hidden] { display: none; }
  .info { min-width: 0; flex: 1; }
  .brand { font-size: max(12px, 2.2vmin); letter-spacing: .3em; text-transform: uppercase; color: var(--accent); }
  h1 { font-size: max(22px, 6vmin); margin: 1vmin 0; line-height: 1.1; overflow-wrap: anywhere; }
  .artist { font-size: max(16px, 3.6vmin); color: var(--dim); overflow-wrap: anywhere; }
  .bar { height: max(4px, .8vmin); background: #ffffff22; border-radius: 1vmin; margin: 3vmin 0 1vmin; overflow: hidden; }
  .bar div { height: 100%; width: 0; background: var(--accent); }
  .debug { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: max(11px, 1.8vmin); color: var(--dim); overflow-wrap: anywhere; }
  .row { display: flex; flex-wrap: wrap; gap: 2vmin; align-items: center; margin-top: 3vmin; }
  .badge { background: var(--accent); color: #000; font-weight: 700; border-radius: 99px;
    padding: .6em 1.2em; font-size: max(14px, 2.6vmin); }
  .badge[hidden], .note[hidden], #join[hidden] { display: none; }
  form { margin: 0; }
  button { font: inherit; font-size: max(15px, 2.6vmin); padding: .6em 1.4em; border-radius: 99px; border: 2px solid var(--accent);
    background: transparent; color: var(--fg); cursor: pointer; }
  .queue { color: var(--dim); font-size: max(13px, 2.2vmin); }
  .note { margin-top: 2vmin; color: #ffcf6b; font-size: max(14px, 2.4vmin); }
  .waiting { display: none; align-items: center; gap: 2vmin; font-size: max(20px, 4.5vmin); }
  body.idle .waiting { display: flex; }
  body.idle .track { display: none; }
  .loader { width: max(24px, 5vmin); aspect-ratio: 1; border-radius: 50%; border: max(3px, .7vmin) solid #ffffff22;
    border-top-color: var(--accent); animation: spin 1s linear infinite; }
  @keyframes spin { to { transform: rotate(360deg); } }
  @media (max-aspect-ratio: 4/5) { .card { flex-direction: column; align-items: stretch; } .art { width: 100%; } }
</style>
</head>
<body class="idle">
<main class="card" id="card">
  <div class="art" id="art"><img id="cover" alt="" hidden></div>
  <div class="info">
    <div class="brand">Juke-V-Box</div>
    <div class="waiting" id="waiting"><div class="loader" role="progressbar" aria-label="loading"></div><span>Waiting for signal…</span></div>
    <div class="track">
      <h1 id="name"></h1>
      <div class="artist" id="artist"></div>
      <div class="bar"><div id="progress"></div></div>
      <div class="debug" id="debug">ID / TS / POS</div>
    </div>
    <div class="row">
      <span class="badge" id="badge" hidden></span>
      <form method="post" action="/join" id="joinform"><button id="join" type="submit">Join</button></form>
      <span class="queue" id="queue"></span>
    </div>
    <div class="note" id="note" hidden></div>
  </div>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let state = null, receivedAt = 0, lastId = null;
window.jukebox = { events: 0, loadedAt: Date.now(), changedAt: 0 };

function position() {
  const now = state && state.now;
  if (!now) return 0;
  const pos = now.pos_ms + (now.playing ? (Date.now() - receivedAt) * now.rate : 0);
  return Math.max(0, Math.min(pos, now.dur_ms || pos));
}

function fmt(ms) {
  const s = Math.floor(ms / 1000);
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

function render() {
  const s = state, now = s.now;
  document.body.classList.toggle("idle", !now);
  if (now) {
    if (now.id !== lastId) {
      lastId = now.id;
      $("name").textContent = now.name;
      $("artist").textContent = now.artists;
      $("art").style.setProperty("--hue", now.hue);
      const cover = $("cover");
      cover.hidden = true;
      if (now.art) { cover.onload = () => { cover.hidden = false; }; cover.src = now.art; } else { cover.removeAttribute("src"); }
      window.jukebox.changedAt = Date.now();
      document.body.dataset.track = now.id;
    }
  } else {
    lastId = null;
  }
  const me = s.me;
  const badge = $("badge");
  badge.hidden = !(me && me.position);
  if (me && me.position) badge.textContent = me.position === 1 ? "À vous ! File d'attente : #1" : "File d'attente : #" + me.position;
  $("join").hidden = !s.can_join || !!(me && me.position);
  const names = s.queue.map((e) => "#" + e.position + " " + e.name).join(" · ");
  $("queue").textContent = s.queue.length ? names : "Nobody in line yet";
  // A Spotify visitor's Join started a login on this computer: go and log in (once).
  if (me && me.login && !window.jukebox.loginOpened) {
    window.jukebox.loginOpened = true;
    location.assign(me.login);
  }
  const note = (me && me.note) || s.notice;
  $("note").hidden = !note;
  $("note").textContent = note || "";
  tick();
}

function tick() {
  const now = state && state.now;
  if (!now) return;
  const pos = position();
  $("progress").style.width = (now.dur_ms ? (100 * pos / now.dur_ms) : 0) + "%";
  $("debug").textContent = now.id + " / " + now.ts_ms + " / " + Math.round(pos) + " (" + fmt(pos) + " of " + fmt(now.dur_ms) + ")";
}

const events = new EventSource("/events");
events.onmessage = (e) => {
  state = JSON.parse(e.data);
  receivedAt = Date.now();
  window.jukebox.events += 1;
  window.jukebox.last = state;
  render();
};
// Join without leaving the page; the next event shows the new place.
$("joinform").addEventListener("submit", (e) => {
  e.preventDefault();
  fetch("/join", { method: "POST", credentials: "same-origin" }).catch(() => {});
});
setInterval(tick, 250);
</script>
</body>
</html>
"##;
