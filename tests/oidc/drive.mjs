// Drives Debian's headless chromium (via playwright-core) through a login, as a person would.
//
// Reads one JSON command per line on stdin and answers one JSON line each on stdout:
//   {"url": "<authorize URL or td-spotify's /login link>", "action": "allow" | "deny" | "visit"}
//   allow/deny: log in on the provider's page, press Allow or Deny, wait for the loopback
//               /callback page and report its title and text.
//   visit:      open the URL and report the page.
// Answer: {"ok": true, "status": N, "title": "...", "text": "..."}
// or {"ok": false, "error": "...", "title": "...", "text": "..."}.
// One browser serves every command; each command gets a fresh context (no cookies), so every
// login goes through the login and consent pages. Exits when stdin closes.

import readline from 'node:readline';

import { chromium } from 'playwright-core';

const USER = 'test-artist';
const PASSWORD = 'correct horse battery staple';
const TIMEOUT = 20_000;

const browser = await chromium.launch({
  executablePath: process.env.TD_SPOTIFY_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  chromiumSandbox: false,
  args: [
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

async function describe(page) {
  const title = await page.title().catch(() => '');
  const text = await page.locator('body').innerText({ timeout: 2000 }).catch(() => '');
  return { title, text: text.trim() };
}

async function run({ url, action }) {
  // An authorize URL names its redirect URI; td-spotify's own /login link redirects to its /callback.
  const start = new URL(url);
  const redirect = new URL(start.searchParams.get('redirect_uri') ?? new URL('/callback', start.origin).href);
  const isCallback = (u) => u.origin === redirect.origin && u.pathname === redirect.pathname;
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  let status = 0;
  try {
    page.on('response', (r) => {
      if (isCallback(new URL(r.url()))) status = r.status();
    });
    const first = await page.goto(url);
    if (action === 'visit') {
      return { ok: true, status: first?.status() ?? 0, ...(await describe(page)) };
    }
    await page.fill('#username', USER);
    await page.fill('#password', PASSWORD);
    await page.click('#login');
    await page.waitForSelector(action === 'deny' ? '#deny' : '#allow');
    await Promise.all([
      page.waitForURL((u) => isCallback(u), { waitUntil: 'load' }),
      page.click(action === 'deny' ? '#deny' : '#allow'),
    ]);
    return { ok: true, status, ...(await describe(page)) };
  } catch (err) {
    return { ok: false, error: String(err.message ?? err).split('\n')[0], ...(await describe(page)) };
  } finally {
    await context.close();
  }
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let result;
  try {
    result = await run(JSON.parse(line));
  } catch (err) {
    result = { ok: false, error: String(err.message ?? err) };
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
await browser.close();
