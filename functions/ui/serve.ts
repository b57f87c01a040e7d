/**
 * The ui function's operations over a built bundle: the page, its hashed assets and `whoami`. Shared by
 * the deployed handler (bundle read from beside it, ./handler.ts) and the local server (bundle built in
 * memory at start), so both answer with the same bytes and headers.
 */
import type { HttpResult } from '../../shared/api/http.js';
import type { ApiRequest } from '../../shared/api/request.js';
import { UI_ROUTE_SPECS } from '../../shared/api/routes-ui.js';
import { ResourceDoesNotExistError } from '../../shared/errors.js';
import { createHttpHandler, jsonResponse, type Operation } from '../middleware/http-handler.js';
import { ASSETS_DIR, etagOf, INDEX_PATH, type UiBundle, type UiFile } from './bundle.js';

/**
 * Only what the app's own origin serves: its script and styles, API calls, images it draws (data: and
 * blob: for chart exports and artifact previews), and frames of its own or blob: documents, which the
 * artifact viewer sandboxes (HTML artifacts never run in the app's origin). No inline script or style,
 * no plugin, no framing of the app by anyone, no <base> or form posting elsewhere.
 *
 * `artifactOrigin` is where presigned artifact URLs point when that is not this origin (the bucket on
 * AWS): the artifact viewer shows images from it and reads the first megabyte of text files from it.
 * Locally presigned URLs are same-origin, so there is none.
 */
export function contentSecurityPolicy(artifactOrigin?: string): string {
  const artifacts = artifactOrigin ? ` ${artifactOrigin}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob:${artifacts}`,
    `connect-src 'self'${artifacts}`,
    "font-src 'self'",
    "frame-src 'self' blob:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** An origin as a CSP source: scheme, host and optional port, nothing else (no path, no wildcard). */
export function isPlainOrigin(value: string): boolean {
  return /^https?:\/\/[a-z0-9.-]+(:[0-9]{1,5})?$/.test(value);
}

/** The page is revalidated on every visit, so a deploy shows at once; it names the assets by hash. */
export const INDEX_CACHE_CONTROL = 'no-cache';
/** A hashed asset never changes under its name. */
export const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';

function securityHeaders(artifactOrigin: string | undefined) {
  return {
    'content-security-policy': contentSecurityPolicy(artifactOrigin),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
}

export type ContentEncoding = 'br' | 'gzip' | 'identity';

/**
 * The coding to answer with for an Accept-Encoding header (RFC 9110 §12.5.3): brotli when accepted (it is
 * the smaller), else gzip, else the bytes as they are. `q=0` refuses a coding; `*` stands for those not
 * named.
 */
export function chooseEncoding(acceptEncoding: string | undefined): ContentEncoding {
  if (!acceptEncoding) return 'identity';
  const weights = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    if (name === '') continue;
    let weight = 1;
    for (const parameter of parameters) {
      const q = /^q\s*=\s*(.*)$/.exec(parameter);
      // A weight that is not a number offers nothing: no guessing at what the client meant.
      if (q) weight = /^[0-9.]+$/.test(q[1] ?? '') ? Number(q[1]) : 0;
    }
    weights.set(name, Number.isFinite(weight) ? weight : 0);
  }
  const weightOf = (coding: string) => weights.get(coding) ?? weights.get('*') ?? 0;
  const br = weightOf('br');
  const gzip = weightOf('gzip');
  if (br > 0 && br >= gzip) return 'br';
  if (gzip > 0) return 'gzip';
  return 'identity';
}

/** A file's answers, encoded once at load: per request there is only a lookup. */
interface Prepared {
  headers: Record<string, string>;
  etag: string;
  bodies: Record<ContentEncoding, { body: string; isBase64Encoded: boolean }>;
}

function isText(contentType: string): boolean {
  return /^text\/|^application\/json|\+xml/.test(contentType);
}

function prepare(file: UiFile, cacheControl: string, artifactOrigin: string | undefined): Prepared {
  const identity = Buffer.from(file.body);
  // API Gateway hands a Lambda's binary body on only as base64 (isBase64Encoded); text may go as is.
  const bodies = {
    identity: isText(file.contentType)
      ? { body: identity.toString('utf8'), isBase64Encoded: false }
      : { body: identity.toString('base64'), isBase64Encoded: true },
    // A coding that saves nothing (an image already compressed) is not offered.
    br:
      file.brotli.length < identity.length
        ? { body: Buffer.from(file.brotli).toString('base64'), isBase64Encoded: true }
        : undefined,
    gzip:
      file.gzip.length < identity.length
        ? { body: Buffer.from(file.gzip).toString('base64'), isBase64Encoded: true }
        : undefined,
  };
  return {
    headers: {
      ...securityHeaders(artifactOrigin),
      'content-type': file.contentType,
      'cache-control': cacheControl,
      // Caches must key the answer on the coding asked for.
      vary: 'accept-encoding',
    },
    etag: etagOf(file.body),
    bodies: {
      identity: bodies.identity,
      br: bodies.br ?? bodies.gzip ?? bodies.identity,
      gzip: bodies.gzip ?? bodies.identity,
    },
  };
}

function answer(prepared: Prepared, request: ApiRequest): HttpResult {
  const headers = { ...prepared.headers, etag: prepared.etag };
  if (request.headers['if-none-match'] === prepared.etag) {
    return { statusCode: 304, headers, body: '' };
  }
  const wanted = chooseEncoding(request.headers['accept-encoding']);
  const chosen = prepared.bodies[wanted];
  // The fallback above may hand gzip to a br request: say which coding the bytes really are in.
  const coding =
    chosen === prepared.bodies.identity ? 'identity' : chosen === prepared.bodies.gzip ? 'gzip' : 'br';
  return {
    statusCode: 200,
    headers: coding === 'identity' ? headers : { ...headers, 'content-encoding': coding },
    body: chosen.body,
    isBase64Encoded: chosen.isBase64Encoded,
  };
}

export interface UiOptions {
  /** Where presigned artifact URLs point, when not this origin (see contentSecurityPolicy). */
  artifactOrigin?: string;
}

/** The ui function's operations over `bundle`. */
export function uiOperations(
  bundle: UiBundle,
  options: UiOptions = {},
): Record<'uiIndex' | 'uiAsset' | 'whoami', Operation> {
  const { artifactOrigin } = options;
  if (artifactOrigin !== undefined && !isPlainOrigin(artifactOrigin)) {
    throw new Error(`The artifact origin must be scheme://host[:port], not '${artifactOrigin}'`);
  }
  const index = bundle.files.find((file) => file.path === INDEX_PATH);
  if (!index) throw new Error(`The UI bundle has no ${INDEX_PATH}`);
  const page = prepare(index, INDEX_CACHE_CONTROL, artifactOrigin);
  // Looked up by exact name: a path that is not one of the built files (`..`, encoded slashes) names
  // nothing, and no file system is read per request.
  const assets = new Map(
    bundle.files
      .filter((file) => file.path.startsWith(`${ASSETS_DIR}/`))
      .map((file) => [
        file.path.slice(ASSETS_DIR.length + 1),
        prepare(file, ASSET_CACHE_CONTROL, artifactOrigin),
      ]),
  );
  return {
    uiIndex: async (request) => answer(page, request),
    uiAsset: async (request) => {
      const name = request.pathParameters.file ?? '';
      const asset = assets.get(name);
      if (!asset) throw new ResourceDoesNotExistError(`No UI asset '${name}'.`);
      return answer(asset, request);
    },
    // What the page shows and which actions it offers. Without --auth locally, every caller may do all.
    whoami: async (request) => {
      const result =
        request.principal !== undefined && request.scope !== undefined
          ? { name: request.principal, scope: request.scope, auth: true }
          : { name: 'local', scope: 'admin', auth: false };
      const response = jsonResponse(result);
      // Per token: no cache may keep one caller's answer for the next.
      return { ...response, headers: { ...response.headers, 'cache-control': 'no-store' } };
    },
  };
}

export function createUiHandler(bundle: UiBundle, options: UiOptions = {}) {
  return createHttpHandler('ui', UI_ROUTE_SPECS, uiOperations(bundle, options));
}
