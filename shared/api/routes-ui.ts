/**
 * The ui function's routes: the web UI's page and its content-hashed assets, served from the API's own
 * origin (no CORS, nothing to pay for while idle), and `whoami`, which the page asks to learn what the
 * pasted token may do. The page and assets are public: a browser fetches them before it holds a token,
 * they are the same for everyone and carry no data. Everything the page then reads goes through the
 * guarded API routes. The UI routes by the URL's fragment (`#/experiments/1`), so no other path is ever
 * rewritten to the page and an API error always reaches the caller as itself.
 */
import { cairn, type RouteSpec } from './route-kit.js';

export const UI_ROUTE_SPECS: readonly RouteSpec[] = [
  { operation: 'uiIndex', method: 'GET', path: '/', fn: 'ui', permission: 'public', mount: 'root' },
  {
    operation: 'uiAsset',
    method: 'GET',
    path: '/assets/{file}',
    fn: 'ui',
    permission: 'public',
    mount: 'root',
  },
  cairn('whoami', 'GET', '/auth/whoami', 'read', 'ui'),
];
