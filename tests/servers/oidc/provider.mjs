// The OpenID Provider the tests sign in through: the certified `oidc-provider` package, on 127.0.0.1.
//
// Configured by the JSON file named in OIDC_PROVIDER_CONFIG (tests/servers/oidc_provider.py writes it):
//   { "admin_token": "...", "port": 0, "users": { "<sub>": { "password": "...", "amr": ["pwd"], "acr": null,
//     "claims": { "email": "...", "groups": ["..."] } } }, "clients": [ { client metadata } ],
//     "conform_id_token_claims": false }
// Prints one JSON line {"issuer": "http://127.0.0.1:<port>"} on stdout once it listens.
//
// Besides the provider's own endpoints (discovery, /auth, /token, /me, /jwks, /reg, /session/end):
//   GET  /interaction/<uid>        a plain login form (no script), or an automatic consent
//   POST /interaction/<uid>/login  username + password from the form; a wrong one re-renders the form (401)
//   /__admin/...                   users and sessions, with `Authorization: Bearer <admin_token>`:
//     PUT/PATCH/GET/DELETE /__admin/users/<sub>   replace / merge / read / remove a user
//     POST /__admin/sessions/end   {"sub": optional}: forget provider sessions, so the next sign-in asks again
// Clients are registered with the standard registration endpoint /reg, the admin token being its initial
// access token, or listed in the configuration.
import { generateKeyPairSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.env.OIDC_PROVIDER_CONFIG, 'utf8'));
const users = new Map(Object.entries(config.users || {}));
const adminToken = config.admin_token;
if (!adminToken || adminToken.length < 16) {
  throw new Error('admin_token (16 characters or more) is required');
}

// Everything the provider stores, in this process's memory, per model ("Session", "Client", ...).
const stores = new Map();
function storeOf(model) {
  if (!stores.has(model)) stores.set(model, new Map());
  return stores.get(model);
}

class MemoryAdapter {
  constructor(model) {
    this.model = model;
    this.store = storeOf(model);
  }

  async upsert(id, payload, expiresIn) {
    this.store.set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : null });
  }

  async find(id) {
    const entry = this.store.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt && entry.expiresAt < Date.now()) {
      this.store.delete(id);
      return undefined;
    }
    return entry.payload;
  }

  async findByUserCode(userCode) {
    for (const [id, entry] of this.store) if (entry.payload.userCode === userCode) return this.find(id);
    return undefined;
  }

  async findByUid(uid) {
    for (const [id, entry] of this.store) if (entry.payload.uid === uid) return this.find(id);
    return undefined;
  }

  async consume(id) {
    const entry = this.store.get(id);
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    this.store.delete(id);
  }

  async revokeByGrantId(grantId) {
    for (const store of stores.values()) {
      for (const [id, entry] of store) if (entry.payload.grantId === grantId) store.delete(id);
    }
  }
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };

const configuration = {
  adapter: MemoryAdapter,
  clients: config.clients || [],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
  claims: {
    // acr, amr and auth_time of the login in every ID token (as Okta and Entra ID put them), not only on request
    openid: ['sub', 'acr', 'amr', 'auth_time'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
    sid: null,
    iss: null,
  },
  // Scope claims in the ID token too, as Okta, Entra ID and Keycloak put them there (configurable).
  conformIdTokenClaims: config.conform_id_token_claims ?? false,
  pkce: { required: () => true },
  ttl: {
    AccessToken: 3600, AuthorizationCode: 60, ClientCredentials: 600, Grant: 14 * 24 * 3600, IdToken: 3600,
    Interaction: 3600, RefreshToken: 14 * 24 * 3600, Session: 14 * 24 * 3600,
  },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true, initialAccessToken: adminToken },
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    claimsParameter: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const user = users.get(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { ...(user.claims || {}), sub };
      },
    };
  },
};

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  });
  res.end(body);
}

function sendJson(res, status, value) {
  send(res, status, JSON.stringify(value), 'application/json');
}

function loginPage(uid, { username = '', error = '' } = {}) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to the test provider</title></head>
<body>
<h1>Sign in to the test provider</h1>
${error ? `<p role="alert" id="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
  <label for="username">Username</label> <input id="username" name="username" value="${escapeHtml(username)}" required>
  <label for="password">Password</label> <input id="password" name="password" type="password" required>
  <button type="submit" id="sign-in">Sign in</button>
</form>
<p><a href="/interaction/${escapeHtml(uid)}/abort" id="cancel">Cancel</a></p>
</body></html>`;
}

async function readBody(req, limit = 65536) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error('request body too large'), { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sameSecret(given, expected) {
  const a = Buffer.from(given || '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function consent(provider, req, res, details) {
  const { prompt: { details: missing }, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function interaction(provider, req, res, url) {
  const match = url.pathname.match(/^\/interaction\/([\w-]+)(\/login|\/abort)?$/);
  if (!match) return send(res, 404, 'not found', 'text/plain');
  const [, uid, action] = match;
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, 'interaction mismatch', 'text/plain');

  if (action === '/abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'The user cancelled the sign-in.',
    }, { mergeWithLastSubmission: false });
  }
  if (action === '/login') {
    if (req.method !== 'POST') return send(res, 405, 'method not allowed', 'text/plain');
    const form = new URLSearchParams(await readBody(req));
    const username = form.get('username') || '';
    const user = users.get(username);
    if (!user || !sameSecret(form.get('password'), String(user.password ?? ''))) {
      return send(res, 401, loginPage(uid, { username, error: 'Wrong username or password.' }));
    }
    const login = { accountId: username, remember: true };
    if (user.amr) login.amr = user.amr;
    if (user.acr) login.acr = user.acr;
    return provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
  }
  if (details.prompt.name === 'login') return send(res, 200, loginPage(uid));
  if (details.prompt.name === 'consent') return consent(provider, req, res, details);
  return send(res, 400, `unsupported prompt ${escapeHtml(details.prompt.name)}`, 'text/plain');
}

async function admin(req, res, url) {
  const auth = req.headers.authorization || '';
  if (!sameSecret(auth.replace(/^Bearer /, ''), adminToken)) return sendJson(res, 401, { error: 'unauthorized' });
  const userMatch = url.pathname.match(/^\/__admin\/users\/([^/]+)$/);
  if (userMatch) {
    const sub = decodeURIComponent(userMatch[1]);
    if (req.method === 'GET') return users.has(sub) ? sendJson(res, 200, users.get(sub)) : sendJson(res, 404, {});
    if (req.method === 'DELETE') {
      users.delete(sub);
      res.writeHead(204);
      return res.end();
    }
    if (req.method === 'PUT' || req.method === 'PATCH') {
      const body = JSON.parse((await readBody(req)) || '{}');
      const current = req.method === 'PATCH' ? users.get(sub) || {} : {};
      const user = { ...current, ...body, claims: { ...(current.claims || {}), ...(body.claims || {}) } };
      users.set(sub, user);
      return sendJson(res, 200, user);
    }
  }
  if (url.pathname === '/__admin/sessions/end' && req.method === 'POST') {
    const body = JSON.parse((await readBody(req)) || '{}');
    const sessions = storeOf('Session');
    let ended = 0;
    for (const [id, entry] of sessions) {
      if (!body.sub || entry.payload.accountId === body.sub) {
        sessions.delete(id);
        ended += 1;
      }
    }
    return sendJson(res, 200, { ended });
  }
  return sendJson(res, 404, { error: 'not found' });
}

const server = http.createServer();
server.listen(config.port || 0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  const callback = provider.callback();
  server.on('request', async (req, res) => {
    const url = new URL(req.url, issuer);
    try {
      if (url.pathname.startsWith('/interaction/')) return await interaction(provider, req, res, url);
      if (url.pathname.startsWith('/__admin/')) return await admin(req, res, url);
      return callback(req, res);
    } catch (err) {
      console.error(req.method, url.pathname, err);
      if (!res.headersSent) send(res, err.status || 400, escapeHtml(err.message), 'text/plain');
      else res.end();
    }
  });
  console.log(JSON.stringify({ issuer }));
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
