// A test OpenID provider: the npm `oidc-provider` (OpenID Certified) on 127.0.0.1:PORT.
//
// Run by tests/fixtures_oidc.py as `node tests/oidc/provider.mjs PORT`. Besides the provider's
// own endpoints it answers a few under /__test/, which only the tests call:
//   POST /__test/client  {client_id, client_secret, redirect_uris, post_logout_redirect_uris}
//   POST /__test/next    {sub, email, email_verified, name, groups, amr, acr}: who logs in next
//   POST /__test/tamper  {claims, remove, foreign_key, hang_up}: change the next token response
// There is no login form: the interaction page logs in whoever /__test/next named.
import http from 'node:http';

import { SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK } from 'jose';
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;

async function signingKey(kid) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

const key = await signingKey('test-key');
// Another key under the same key id: a token it signs names a published key, but its
// signature does not verify.
const foreignKey = await signingKey('test-key');
// The package's in-memory store, kept in one place so /__test/client can add clients to it.
class TestAdapter extends MemoryAdapter {}
const accounts = new Map(); // sub -> claims
let next = { sub: 'nobody', amr: ['pwd'] };
let tamper = null; // applied to the next successful token response, then forgotten

const provider = new Provider(issuer, {
  adapter: TestAdapter,
  jwks: { keys: [key] },
  cookies: { keys: ['test cookie key, not secret'] },
  claims: {
    amr: null,
    acr: null,
    openid: ['sub', 'amr', 'acr'], // how the person logged in goes in every ID token
    email: ['email', 'email_verified'],
    profile: ['name', 'groups'],
  },
  conformIdTokenClaims: false, // the claims go in the ID token, as Entra ID does
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      // The package's own page loads a web font from Google: this one loads nothing.
      async logoutSource(ctx, form) {
        ctx.body = `<!DOCTYPE html><html lang="en"><head><title>Log out</title></head><body>
          ${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Log out</button>
          </body></html>`;
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    return { accountId: sub, claims: async () => ({ sub, ...accounts.get(sub) }) };
  },
  // A first-party client: no consent page, every scope asked for is granted.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

async function forge(idToken, change) {
  const header = decodeProtectedHeader(idToken);
  const claims = { ...decodeJwt(idToken), ...(change.claims || {}) };
  for (const name of change.remove || []) delete claims[name];
  const jwk = change.foreign_key ? foreignKey : key;
  return new SignJWT(claims).setProtectedHeader(header).sign(await importJWK(jwk, 'RS256'));
}

provider.use(async (ctx, nextMiddleware) => {
  if (ctx.path === '/token' && tamper?.hang_up) {
    tamper = null;
    ctx.req.socket.destroy(); // the provider "unreachable" in the middle of the exchange
    return;
  }
  await nextMiddleware();
  if (ctx.path === '/token' && ctx.status === 200 && tamper && ctx.body?.id_token) {
    ctx.body = { ...ctx.body, id_token: await forge(ctx.body.id_token, tamper) };
    tamper = null;
  }
});

async function readJson(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return JSON.parse(body || '{}');
}

async function control(req, res) {
  const data = await readJson(req);
  if (req.url === '/__test/client') {
    await new TestAdapter('Client').upsert(data.client_id, data);
  } else if (req.url === '/__test/next') {
    next = data;
    const { sub, amr, acr, ...claims } = data;
    accounts.set(sub, claims);
  } else if (req.url === '/__test/tamper') {
    tamper = data;
  } else {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(204).end();
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const result = { login: { accountId: next.sub, amr: next.amr, acr: next.acr } };
  if (details.prompt.name !== 'login') throw new Error(`unexpected prompt ${details.prompt.name}`);
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

for (const event of ['authorization.error', 'grant.error', 'server_error', 'end_session.error']) {
  provider.on(event, (ctx, error) => console.error(event, error.message, error.error_detail ?? ''));
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  let handle = callback;
  if (req.url.startsWith('/__test/') && req.method === 'POST') handle = control;
  else if (req.url.startsWith('/interaction/')) handle = interaction;
  Promise.resolve(handle(req, res)).catch((error) => {
    console.error(error);
    if (!res.headersSent) res.writeHead(500).end(String(error));
  });
});
server.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
