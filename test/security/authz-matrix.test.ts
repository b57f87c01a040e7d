/**
 * The authorization matrix (issue 11, "Tests and done when"), generated from the route table so that a new
 * route is covered without touching this file: every route, under each of its mounts (`/api` and
 * `/ajax-api` twins are separate routes of the table), with no token, a malformed one, an unknown one, a
 * revoked one and each scope; the methods a path does not have; and spellings of each path that a lenient
 * router might take for it (double and encoded slashes, dot segments, case, a trailing slash). Over HTTP
 * to `cairn server --auth` (the local gate answers as API Gateway does: 401 without credentials, 403
 * `Forbidden` for refused ones, before any function runs); a function's own refusal of a scope is
 * 403 PERMISSION_DENIED. No request may be answered 5xx.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenTokenStore, openLocalTokenStore } from '../../bin/token-stores.js';
import { type HttpMethod, matchRoute, ROUTES, type Route } from '../../shared/api/routes.js';
import { issueToken } from '../../shared/auth/issue.js';
import { defaultLevel, levelAllows } from '../../shared/auth/permissions.js';
import { SCOPES, type Scope, scopeAllows } from '../../shared/auth/scopes.js';
import { formatToken, generateSecret } from '../../shared/auth/token.js';
import { type ApiResponse, rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const CACHE_TTL_MS = 200;
const UNAUTHORIZED = { message: 'Unauthorized' };
const FORBIDDEN = { message: 'Forbidden' };
const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

let server: TestServer;
let store: OpenTokenStore;
const tokens = {} as Record<Scope | 'revoked', string>;

/** A request path for a route: each `{name}` filled with a well-formed value that names nothing. */
function concretePath(route: Route): string {
  return route.fullPath
    .replace('{path+}', `0/${'0'.repeat(32)}/artifacts/x.txt`)
    .replace('{model_id}', `m-${'0'.repeat(32)}`)
    .replace(/\{[a-z_]+\}/g, 'k');
}

function send(method: string, path: string, token?: string): Promise<ApiResponse> {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: token };
  const withBody = method !== 'GET' && method !== 'DELETE';
  return rawRequest(server.url, method, path, withBody ? { json: {}, headers } : { headers });
}

/** Sends every request, a few at a time (the server and these tests share two cores). */
async function all<T>(items: readonly T[], each: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += 12) {
    await Promise.all(items.slice(start, start + 12).map(each));
  }
}

const bearer = (token: string) => `Bearer ${token}`;
const guarded = ROUTES.filter((route) => route.permission !== 'public');

beforeAll(async () => {
  server = await startTestServer({ auth: { cacheTtlMs: CACHE_TTL_MS } });
  store = await openLocalTokenStore(server.dataDir);
  for (const scope of SCOPES) {
    tokens[scope] = bearer((await issueToken(store.tokens, { name: `${scope}-token`, scope })).token);
  }
  // Revoked after the authorizer has allowed (and cached) it once: refused once the cache entry expires.
  tokens.revoked = bearer((await issueToken(store.tokens, { name: 'revoked', scope: 'admin' })).token);
  expect((await send('GET', '/version', tokens.revoked)).status).toBe(200);
  await store.tokens.revoke('revoked');
  await new Promise((resolve) => setTimeout(resolve, CACHE_TTL_MS + 100));
});
afterAll(async () => {
  await store?.close();
  await server?.close();
});

describe('the route table', () => {
  it('publishes MLflow routes under both /api and /ajax-api, all covered below', () => {
    const twins = ROUTES.filter((route) => route.mount === 'mlflow-2.0');
    expect(twins.filter((route) => route.fullPath.startsWith('/ajax-api/')).length).toBe(twins.length / 2);
    expect(guarded.length).toBeGreaterThan(100);
  });

  it('serves public routes to anyone', async () => {
    // The web UI's asset route is asked for a file the page really links (names are content hashes).
    const script = /src="(assets\/[^"]+)"/.exec((await send('GET', '/')).text)?.[1];
    expect(script).toBeDefined();
    for (const route of ROUTES.filter((r) => r.permission === 'public')) {
      const path = route.fullPath === '/assets/{file}' ? `/${script}` : concretePath(route);
      expect((await send(route.method, path)).status, route.routeKey).toBe(200);
    }
    // Public, but no wildcard: an asset name that was not built is the ui function's 404, not a file.
    const unknown = await send('GET', concretePath(ROUTES.find((r) => r.operation === 'uiAsset') as Route));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });
});

describe('every guarded route', () => {
  const refusedAtTheGate: [string, () => string | undefined, number, object][] = [
    ['no Authorization header', () => undefined, 401, UNAUTHORIZED],
    ['a malformed token', () => 'Bearer not-a-token', 403, FORBIDDEN],
    ['an empty Bearer', () => 'Bearer ', 403, FORBIDDEN],
    ['a scheme it does not know', () => `Token ${tokens.admin.slice('Bearer '.length)}`, 403, FORBIDDEN],
    [
      'an unknown token',
      () => bearer(formatToken({ name: 'nobody', secret: generateSecret() })),
      403,
      FORBIDDEN,
    ],
    [
      'a known name with a forged secret',
      () => bearer(formatToken({ name: 'admin-token', secret: generateSecret() })),
      403,
      FORBIDDEN,
    ],
    ['a revoked token, once its cached answer expired', () => tokens.revoked, 403, FORBIDDEN],
  ];
  for (const [what, token, status, body] of refusedAtTheGate) {
    it(`answers ${status} at the gate for ${what}, before any function runs`, async () => {
      await all(guarded, async (route) => {
        const answer = await send(route.method, concretePath(route), token());
        expect(answer.status, route.routeKey).toBe(status);
        expect(answer.body, route.routeKey).toEqual(body);
      });
    });
  }

  for (const scope of SCOPES) {
    it(`lets a ${scope} token use exactly the routes its scope allows`, async () => {
      await all(guarded, async (route) => {
        const answer = await send(route.method, concretePath(route), tokens[scope]);
        const label = `${route.routeKey} as ${scope}: ${answer.text.slice(0, 200)}`;
        expect(answer.status, label).toBeLessThan(500);
        // A route with `access` is decided by the scope's default level there (issue 16: no grants here),
        // and an admin route by the scope as well.
        const scopeDecides = !route.access || route.permission === 'admin';
        const allowed =
          (!scopeDecides || scopeAllows(scope, route.permission)) &&
          (!route.access || levelAllows(defaultLevel(scope), route.access.needs));
        if (allowed) {
          // Past the gate and the scope check: whatever the function makes of a request naming nothing.
          expect([401, 403], label).not.toContain(answer.status);
        } else {
          expect(answer.status, label).toBe(403);
          expect(answer.body.error_code, label).toBe('PERMISSION_DENIED');
        }
      });
    });
  }
});

describe('methods a path does not have', () => {
  const byPath = new Map<string, Set<string>>();
  for (const route of ROUTES) {
    const methods = byPath.get(concretePath(route)) ?? new Set<string>();
    methods.add(route.method);
    byPath.set(concretePath(route), methods);
  }
  // Less the pairs another route takes (`GET /logged-models/search` is `GET /logged-models/{model_id}`).
  const wrong = [...byPath].flatMap(([path, methods]) =>
    METHODS.filter((method) => !methods.has(method) && !matchRoute(method, path)).map((method) => ({
      method,
      path,
    })),
  );

  it('are refused at the gate without a token', async () => {
    await all(wrong, async ({ method, path }) => {
      const answer = await send(method, path);
      // /health and the UI's / and /assets/{file} are the public paths; another method on them is not.
      expect(answer.status, `${method} ${path}`).toBe(401);
    });
  });

  it('are not found, even for an admin', async () => {
    expect(wrong.length).toBeGreaterThan(300);
    await all(wrong, async ({ method, path }) => {
      const answer = await send(method, path, tokens.admin);
      expect(answer.status, `${method} ${path}: ${answer.text}`).toBe(404);
      expect(answer.body.error_code, `${method} ${path}: ${answer.text}`).toBe('ENDPOINT_NOT_FOUND');
    });
  });
});

describe('other spellings of a path', () => {
  /** Spellings of `path` a router normalising paths might serve as `path`; none may pass unauthorized. */
  function tricks(path: string): string[] {
    const [, first = '', rest = ''] = /^\/([^/]+)\/(.*)$/.exec(path) ?? [];
    const lastSlash = path.lastIndexOf('/');
    return [
      `/${path}`,
      `/${first}//${rest}`,
      `/${first}%2F${rest}`,
      `/${first}/%2e/${rest}`,
      `/${first}/./${rest}`,
      `/${first}/x/../${rest}`,
      `/${first}/x/%2e%2e/${rest}`,
      `/${first}/x/%252e%252e/${rest}`,
      ...(lastSlash > 0
        ? [
            `${path.slice(0, lastSlash)}%2F${path.slice(lastSlash + 1)}`,
            `${path.slice(0, lastSlash)}%2f${path.slice(lastSlash + 1)}`,
          ]
        : []),
      path.toUpperCase(),
      `/${first.toUpperCase()}/${rest}`,
      `${path}/`,
      `${path};x`,
      `${path}%00`,
      `${path}\\`,
    ];
  }
  const variants = guarded.flatMap((route) => tricks(concretePath(route)).map((path) => ({ route, path })));

  it('never reach a function without credentials', async () => {
    await all(variants, async ({ route, path }) => {
      const answer = await send(route.method, path);
      expect(answer.status, `${route.method} ${path}`).toBe(401);
      expect(answer.body).toEqual(UNAUTHORIZED);
    });
  });

  it('never let a read token write, and never answer 5xx', async () => {
    const writes = variants.filter(({ route }) => !scopeAllows('read', route.permission));
    await all(writes, async ({ route, path }) => {
      const answer = await send(route.method, path, tokens.read);
      const label = `${route.method} ${path}: ${answer.text.slice(0, 200)}`;
      // Refused for its scope where it still matches a route; otherwise no route (or a 400 for the path).
      expect([400, 403, 404], label).toContain(answer.status);
      if (answer.status === 403) expect(answer.body.error_code, label).toBe('PERMISSION_DENIED');
    });
  });
});
