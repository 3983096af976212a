// A strict, local stand-in for Spotify's accounts service, for td-spotify's login tests.
//
// It is node's `oidc-provider` (a certified OpenID/OAuth server), configured like Spotify as far
// as the login goes: one public client (no secret), PKCE with S256 required, authorization at
// /authorize, token at /api/token, refresh tokens rotated on every use (reusing a rotated one is
// refused and revokes the grant), redirect URIs matched as Spotify does (see `spotifyRedirectAllowed`).
// The login and consent pages are
// our own small forms with one test user; `Deny` answers `error=access_denied` like Spotify's
// Cancel. A tiny /v1/me (and an idle /v1/me/player) answers for valid access tokens only; player
// commands are as strict as Spotify's front end (411 without Content-Length, 405 on a wrong
// method) and then find no active device (404 NO_ACTIVE_DEVICE).
//
// Usage: node provider.mjs --client-id ID --redirect-uri URI [--port 0] [--access-ttl 3600]
// Prints one JSON line {"issuer": "...", "port": N} on stdout when it listens; stops on SIGTERM
// or when stdin closes (so it dies with the test that started it).

import http from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    'client-id': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    port: { type: 'string', default: '0' },
    'access-ttl': { type: 'string', default: '3600' },
  },
});
if (!args['client-id'] || !args['redirect-uri']) {
  console.error('usage: node provider.mjs --client-id ID --redirect-uri URI [--port N] [--access-ttl S]');
  process.exit(2);
}

// The scopes td-spotify asks for; the resource server below grants exactly these.
const SCOPES = [
  'user-read-playback-state',
  'user-read-currently-playing',
  'user-modify-playback-state',
  'user-read-recently-played',
];
const RESOURCE = 'https://api.spotify.test/';
const USER = { id: 'test-artist', password: 'correct horse battery staple', name: 'Test Artist' };

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><h1>${escape(title)}</h1>${body}</body></html>`;

function readForm(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      data += chunk;
      if (data.length > 64 * 1024) reject(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(data)));
    req.on('error', reject);
  });
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

let provider;

// Spotify's redirect URI rule: exactly as registered, except that a loopback literal registered
// without a port (http://127.0.0.1/callback or http://[::1]/callback) matches the same path on
// any port (RFC 8252 §7.3). A URI registered with a port matches only that port, and `localhost`
// gets nothing extra. oidc-provider's own rule for native clients ignores the port of every
// loopback URI, including `localhost` and URIs registered with a port: too lenient to test with.
const PORTLESS_LOOPBACKS = new Set(['127.0.0.1', '[::1]']);
const NO_PORT_AUTHORITY = /^http:\/\/(127\.0\.0\.1|\[::1\])\//u;

function spotifyRedirectAllowed(value, registered) {
  if (registered.includes(value)) return true;
  const asked = URL.parse(value);
  if (!asked || asked.protocol !== 'http:' || !PORTLESS_LOOPBACKS.has(asked.hostname) || asked.username || asked.password) {
    return false;
  }
  return registered.some((uri) => {
    // Written without a port: the URL parser cannot tell `:80` from no port, the text can.
    if (!NO_PORT_AUTHORITY.test(uri)) return false;
    const allowed = new URL(uri);
    return allowed.hostname === asked.hostname
      && allowed.pathname === asked.pathname
      && allowed.search === asked.search
      && asked.hash === '';
  });
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new errors.SessionNotFound('interaction mismatch');
  const { prompt, params, session } = details;
  if (req.method === 'GET') {
    if (prompt.name === 'login') {
      return send(res, 200, 'text/html', page('Log in to the test accounts service', `
<form method="post" action="/interaction/${escape(uid)}/login">
  <label>Username <input id="username" name="username" autocomplete="off"></label>
  <label>Password <input id="password" name="password" type="password"></label>
  <button id="login" type="submit">Log in</button>
</form>`));
    }
    if (prompt.name === 'consent') {
      const scopes = Object.values(prompt.details.missingResourceScopes ?? {}).flat();
      return send(res, 200, 'text/html', page(`Allow ${params.client_id} to use your account?`, `
<ul>${scopes.map((s) => `<li class="scope">${escape(s)}</li>`).join('')}</ul>
<form method="post" action="/interaction/${escape(uid)}/confirm"><button id="allow" type="submit">Allow</button></form>
<form method="post" action="/interaction/${escape(uid)}/abort"><button id="deny" type="submit">Deny</button></form>`));
    }
    return send(res, 501, 'text/plain', `prompt ${prompt.name} not implemented`);
  }
  if (req.method !== 'POST') return send(res, 405, 'text/plain', 'method not allowed');
  if (action === 'login') {
    const form = await readForm(req);
    if (prompt.name !== 'login') return send(res, 400, 'text/plain', 'not at the login prompt');
    if (form.get('username') !== USER.id || form.get('password') !== USER.password) {
      return send(res, 401, 'text/html', page('Wrong username or password', '<p id="error">Try again.</p>'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: USER.id } }, { mergeWithLastSubmission: false });
  }
  if (action === 'confirm') {
    if (prompt.name !== 'consent') return send(res, 400, 'text/plain', 'not at the consent prompt');
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }
  return send(res, 404, 'text/plain', 'not found');
}

// The access token of a request, if the provider issued it and it is still valid; otherwise the
// request is answered 401 here and null comes back.
async function validToken(req, res) {
  const auth = req.headers.authorization ?? '';
  const match = /^Bearer (\S+)$/.exec(auth);
  const token = match && await provider.AccessToken.find(match[1]);
  if (!token || token.isExpired) {
    send(res, 401, 'application/json', JSON.stringify({ error: { status: 401, message: 'Invalid access token' } }));
    return null;
  }
  return token;
}

// Spotify's /v1/me, for valid access tokens only.
async function me(req, res) {
  const token = await validToken(req, res);
  if (!token) return;
  return send(res, 200, 'application/json', JSON.stringify({
    display_name: USER.name, id: token.accountId, type: 'user', uri: `spotify:user:${token.accountId}`,
  }));
}

// Spotify's player endpoints (/v1/me/player and its queue, history and devices) for a user with
// no active device: 204, for valid access tokens only. The plugin polls them once logged in.
async function idlePlayer(req, res) {
  if (await validToken(req, res)) {
    res.writeHead(204);
    res.end();
  }
}

// Spotify's player commands and their methods.
const PLAYER_COMMANDS = {
  '/v1/me/player/play': 'PUT',
  '/v1/me/player/pause': 'PUT',
  '/v1/me/player/next': 'POST',
  '/v1/me/player/previous': 'POST',
};

// A player command for the idle user: refused as Spotify refuses it. Spotify's front end answers
// a bodiless PUT/POST without Content-Length with 411 (spotify/web-api #859, #1594).
async function playerCommand(req, res, method) {
  const sized = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  if ((req.method === 'PUT' || req.method === 'POST') && !sized) {
    return send(res, 411, 'text/html', '<html><body><h1>411 Length Required</h1></body></html>');
  }
  if (req.method !== method) {
    return send(res, 405, 'application/json', JSON.stringify({ error: { status: 405, message: 'Method not allowed' } }));
  }
  if (await validToken(req, res)) {
    send(res, 404, 'application/json', JSON.stringify({
      error: { status: 404, message: 'Player command failed: No active device found', reason: 'NO_ACTIVE_DEVICE' },
    }));
  }
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://127.0.0.1');
    const m = /^\/interaction\/([^/]+)(?:\/(login|confirm|abort))?$/.exec(url.pathname);
    if (m) return await interaction(req, res, m[1], m[2]);
    if (url.pathname === '/v1/me' && req.method === 'GET') return await me(req, res);
    const command = PLAYER_COMMANDS[url.pathname];
    if (command) return await playerCommand(req, res, command);
    if (url.pathname.startsWith('/v1/me/player') && req.method === 'GET') return await idlePlayer(req, res);
    return provider.callback()(req, res);
  } catch (err) {
    console.error(`provider: ${err.name}: ${err.message}`);
    if (!res.headersSent) send(res, err.statusCode ?? 500, 'text/plain', `${err.name}: ${err.message}`);
    else res.end();
  }
});

server.listen(Number(args.port), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  provider = new Provider(issuer, {
    clients: [{
      client_id: args['client-id'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      redirect_uris: args['redirect-uri'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }],
    routes: { authorization: '/authorize', token: '/api/token' },
    pkce: { required: () => true },
    // Spotify-style: every login gets a refresh token, rotated on every refresh.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    scopes: ['openid'],
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource) => {
          if (resource !== RESOURCE) throw new errors.InvalidTarget();
          return { scope: SCOPES.join(' '), accessTokenFormat: 'opaque', accessTokenTTL: Number(args['access-ttl']) };
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, id) => (id === USER.id ? { accountId: id, claims: async () => ({ sub: id, name: USER.name }) } : undefined),
    cookies: { keys: ['td-spotify-test-cookie-key'] },
    ttl: { AccessToken: Number(args['access-ttl']), AuthorizationCode: 60, RefreshToken: 24 * 3600, Interaction: 600, Session: 600, Grant: 24 * 3600 },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Accounts service error', `<p id="error">${escape(out.error)}: ${escape(out.error_description ?? '')}</p>`);
    },
  });
  provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
    return spotifyRedirectAllowed(value, this.redirectUris);
  };
  provider.on('server_error', (_ctx, err) => console.error(`provider: server_error ${err.message}`));
  provider.on('grant.error', (_ctx, err) => console.error(`provider: grant.error ${err.message}${err.error_detail ? ` (${err.error_detail})` : ''}`));
  console.log(JSON.stringify({ issuer, port }));
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
