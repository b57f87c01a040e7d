/**
 * The web UI, served same-origin by the local server through the route table and the ui function's
 * handler (issue 12, "Stack and serving"): the page and its hashed assets with their caching, content
 * coding and security headers, refusals of names that are not built files, and `whoami`, with and
 * without `--auth`.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenTokenStore, openLocalTokenStore } from '../../bin/token-stores.js';
import { issueToken } from '../../shared/auth/issue.js';
import { SCOPES, type Scope } from '../../shared/auth/scopes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One GET with exactly these headers and path: fetch would add Accept-Encoding, decode and normalise. */
function get(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'GET', path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
  "font-src 'self'; frame-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The assets the page links, as the browser would resolve them against `/`. */
function linkedAssets(html: string): { script: string; stylesheet: string } {
  const script = /<script type="module" src="([^"]+)"><\/script>/.exec(html)?.[1];
  const stylesheet = /<link rel="stylesheet" href="([^"]+)">/.exec(html)?.[1];
  if (!script || !stylesheet) throw new Error(`the page links no script or stylesheet: ${html}`);
  return { script: `/${script}`, stylesheet: `/${stylesheet}` };
}

describe('without --auth', () => {
  let server: TestServer;
  let page: RawResponse;
  let assets: { script: string; stylesheet: string };

  beforeAll(async () => {
    server = await startTestServer();
    page = await get(server.url, '/');
    assets = linkedAssets(page.body.toString('utf8'));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('serves the page at / with the CSP, no-cache and no inline script or style', () => {
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toBe(CSP);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['content-encoding']).toBeUndefined();
    const html = page.body.toString('utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<div id="app"></div>');
    // Every script has a src and there is no <style> or style attribute: script-src/style-src 'self' hold.
    expect(html.match(/<script\b[^>]*>/g)?.every((tag) => tag.includes(' src='))).toBe(true);
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
    // Relative links: the same page works under an API Gateway stage path.
    expect(assets.script).toMatch(/^\/assets\/app-[A-Z0-9]+\.js$/);
    expect(assets.stylesheet).toMatch(/^\/assets\/app-[A-Z0-9]+\.css$/);
  });

  it('serves the linked assets with immutable caching and their content types', async () => {
    const script = await get(server.url, assets.script);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(script.headers['x-content-type-options']).toBe('nosniff');
    expect(script.body.length).toBeGreaterThan(1000);
    const stylesheet = await get(server.url, assets.stylesheet);
    expect(stylesheet.status).toBe(200);
    expect(stylesheet.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(stylesheet.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('answers brotli, gzip or the bytes as they are, as Accept-Encoding asks', async () => {
    const plain = await get(server.url, assets.script);
    const vary = plain.headers.vary;
    expect(vary).toBe('accept-encoding');

    const brotli = await get(server.url, assets.script, { 'accept-encoding': 'gzip, deflate, br' });
    expect(brotli.headers['content-encoding']).toBe('br');
    expect(brotli.body.length).toBeLessThan(plain.body.length);
    expect(brotliDecompressSync(brotli.body).equals(plain.body)).toBe(true);

    const gzip = await get(server.url, assets.script, { 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).equals(plain.body)).toBe(true);

    // br refused by weight: gzip; nothing acceptable: the bytes as they are.
    const noBrotli = await get(server.url, assets.script, { 'accept-encoding': 'br;q=0, gzip;q=0.5' });
    expect(noBrotli.headers['content-encoding']).toBe('gzip');
    const identity = await get(server.url, '/', { 'accept-encoding': 'identity' });
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.body.equals(page.body)).toBe(true);

    const compressedPage = await get(server.url, '/', { 'accept-encoding': 'br' });
    expect(compressedPage.headers['content-encoding']).toBe('br');
    expect(compressedPage.headers['content-security-policy']).toBe(CSP);
    expect(brotliDecompressSync(compressedPage.body).equals(page.body)).toBe(true);
  });

  it('revalidates the page by its ETag', async () => {
    const etag = page.headers.etag;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await get(server.url, '/', { 'if-none-match': etag as string });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect((await get(server.url, '/', { 'if-none-match': '"other"' })).status).toBe(200);
  });

  it('answers 404 for an asset that was not built, and never reads outside the bundle', async () => {
    const unknown = await get(server.url, '/assets/app-NOTBUILT.js');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body.toString('utf8')).error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    for (const path of [
      '/assets/../x',
      '/assets/../package.json',
      '/assets/..%2Fpackage.json',
      '/assets/%2e%2e%2fpackage.json',
      '/assets/..%5Cpackage.json',
      '/assets/',
      '/assets',
      `${assets.script}/x`,
      '/index.html',
      '/assets/index.html',
    ]) {
      const answer = await get(server.url, path);
      expect(answer.status, path).toBe(404);
      expect(JSON.parse(answer.body.toString('utf8')).error_code, path).toMatch(
        /^(RESOURCE_DOES_NOT_EXIST|ENDPOINT_NOT_FOUND)$/,
      );
    }
  });

  it('answers whoami as an admin that needs no token', async () => {
    const whoami = await get(server.url, '/api/2.0/cairn/auth/whoami');
    expect(whoami.status).toBe(200);
    expect(whoami.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(whoami.body.toString('utf8'))).toEqual({ name: 'local', scope: 'admin', auth: false });
  });
});

describe('with --auth', () => {
  let server: TestServer;
  let store: OpenTokenStore;
  const tokens = {} as Record<Scope, string>;

  beforeAll(async () => {
    server = await startTestServer({ auth: true });
    store = await openLocalTokenStore(server.dataDir);
    for (const scope of SCOPES) {
      tokens[scope] = (await issueToken(store.tokens, { name: `ui-${scope}`, scope })).token;
    }
  });
  afterAll(async () => {
    await store?.close();
    await server?.close();
  });

  it('serves the page and its assets without a token, while the API still answers 401', async () => {
    const page = await get(server.url, '/');
    expect(page.status).toBe(200);
    const { script, stylesheet } = linkedAssets(page.body.toString('utf8'));
    expect((await get(server.url, script)).status).toBe(200);
    expect((await get(server.url, stylesheet)).status).toBe(200);
    for (const path of ['/api/2.0/mlflow/experiments/search', '/api/2.0/cairn/auth/whoami', '/favicon.ico']) {
      const refused = await get(server.url, path);
      expect(refused.status, path).toBe(401);
      expect(JSON.parse(refused.body.toString('utf8')), path).toEqual({ message: 'Unauthorized' });
    }
    // An unknown asset is the ui function's 404, reached without a token like the other assets.
    expect((await get(server.url, '/assets/nothing.js')).status).toBe(404);
  });

  it("answers whoami with the token's name and scope, for each scope", async () => {
    for (const scope of SCOPES) {
      const whoami = await get(server.url, '/api/2.0/cairn/auth/whoami', {
        authorization: `Bearer ${tokens[scope]}`,
      });
      expect(whoami.status, scope).toBe(200);
      expect(JSON.parse(whoami.body.toString('utf8')), scope).toEqual({
        name: `ui-${scope}`,
        scope,
        auth: true,
      });
    }
    expect(
      (await get(server.url, '/api/2.0/cairn/auth/whoami', { authorization: 'Bearer nope' })).status,
    ).toBe(403);
  });
});
