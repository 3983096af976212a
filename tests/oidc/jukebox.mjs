// Drives Debian's headless chromium (via playwright-core) through the Juke-V-Box page served by
// `td-spotify jukebox --source simulator`: two visitors join from two browsers (a projector-sized
// one and a phone-sized one), see their places, and the card follows playback live.
//
// Usage: node jukebox.mjs URL SCREENSHOT_DIR. Prints one JSON line with what it saw; exits 1
// with {"ok": false, "error": ...} when a step fails.

import { chromium } from 'playwright-core';

const [url, shots] = process.argv.slice(2);
const TIMEOUT = 60_000;
const browser = await chromium.launch({
  executablePath: process.env.TD_SPOTIFY_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  chromiumSandbox: false,
  args: ['--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const seen = { ok: false };
let step = 'start';
try {
  const projector = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const a = await projector.newPage();
  a.setDefaultTimeout(TIMEOUT);
  const external = [];
  a.on('request', (r) => {
    if (!r.url().startsWith(url.replace(/\/$/, ''))) external.push(r.url());
  });

  step = 'idle card';
  await a.goto(url);
  await a.waitForFunction(() => window.jukebox && window.jukebox.events > 0);
  seen.idle = {
    waiting: await a.locator('#waiting').innerText(),
    loaderVisible: await a.locator('.loader').isVisible(),
    trackHidden: !(await a.locator('#name').isVisible()),
  };
  await a.screenshot({ path: `${shots}/jukebox-idle.png` });
  await a.evaluate(() => { window.marker = 'same-document'; });

  step = 'first visitor joins';
  await a.click('#join');
  await a.waitForFunction(() => window.jukebox.last?.me?.position === 1 && window.jukebox.last.now);
  seen.badgeA = await a.locator('#badge').innerText();
  seen.card = {
    name: await a.locator('#name').innerText(),
    artist: await a.locator('#artist').innerText(),
    debug: await a.locator('#debug').innerText(),
    waitingVisible: await a.locator('#waiting').isVisible(),
  };

  step = 'second visitor joins from a phone';
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const b = await phone.newPage();
  b.setDefaultTimeout(TIMEOUT);
  await b.goto(url);
  await b.waitForFunction(() => window.jukebox && window.jukebox.events > 0);
  await b.click('#join');
  await b.waitForFunction(() => window.jukebox.last?.me?.position === 2);
  seen.badgeB = await b.locator('#badge').innerText();
  seen.queueText = await a.locator('#queue').innerText();

  step = 'track change';
  const before = await a.evaluate(() => document.body.dataset.track);
  await a.waitForFunction((t) => document.body.dataset.track && document.body.dataset.track !== t, before);
  seen.change = await a.evaluate(() => ({
    marker: window.marker,
    navigations: performance.getEntriesByType('navigation').length,
    delayMs: window.jukebox.changedAt - window.jukebox.last.changed_ms,
    name: document.getElementById('name').textContent,
  }));
  seen.change.from = before;

  step = 'the turn passes to the second visitor';
  await a.waitForFunction(() => window.jukebox.last?.me?.position === 2);
  await b.waitForFunction(() => window.jukebox.last?.me?.position === 1 && window.jukebox.last.now);
  seen.afterTurn = {
    badgeA: await a.locator('#badge').innerText(),
    badgeB: await b.locator('#badge').innerText(),
    active: await a.evaluate(() => window.jukebox.last.active),
    marker: await a.evaluate(() => window.marker),
  };
  await a.screenshot({ path: `${shots}/jukebox-projector.png` });
  await b.screenshot({ path: `${shots}/jukebox-phone.png` });
  seen.external = external;
  seen.ok = true;
} catch (e) {
  seen.error = `${step}: ${e.message}`;
}
await browser.close();
console.log(JSON.stringify(seen));
process.exit(seen.ok ? 0 : 1);
