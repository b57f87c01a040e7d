/**
 * Presigned URLs, served by the local front itself (issue 11, item 2). The artifacts function signs
 * URLs for the request's own origin under PRESIGNED_PREFIX (shared/store/s3-clients.ts); this route checks
 * each one as S3 would — the signature re-derived with the SDK's own signer, the expiry, every signed
 * header present, no parameter added — and only then streams the bytes to or from s3rver over its
 * private socket. s3rver itself checks no signature, so it must never see a request that was not checked.
 *
 * What a URL may do is exactly what Cairn signs: GetObject (GET, HEAD), PutObject and UploadPart (PUT)
 * of one key of the one bucket. Objects are served as attachments with nosniff, so stored HTML never
 * renders as a page of this origin.
 */
import { timingSafeEqual } from 'node:crypto';
import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
  validateHeaderValue,
} from 'node:http';
import { pipeline } from 'node:stream';
import { escapeUriPath } from '@smithy/core/protocols';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';

/** The reserved path presigned URLs live under; no MLflow route starts with it. */
export const PRESIGNED_PREFIX = '/_cairn/s3';

/** SigV4's own ceiling on X-Amz-Expires (one week). */
const MAX_EXPIRES_SECONDS = 604_800;
/** How far ahead of this clock a signing date may be (S3 allows the same skew). */
const CLOCK_SKEW_MS = 15 * 60 * 1000;

const AUTH_PARAMETERS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Content-Sha256',
] as const;

/** Response header overrides S3 honours on GetObject, by query parameter. */
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-disposition': 'content-disposition',
  'response-cache-control': 'cache-control',
  'response-content-encoding': 'content-encoding',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
};

/** Parameters the SDK adds that change nothing here. */
const IGNORED_PARAMETERS = new Set(['x-id', 'x-amz-checksum-mode']);

const FORWARDED_REQUEST_HEADERS: Record<string, readonly string[]> = {
  GET: ['range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'],
  HEAD: ['range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'],
  PUT: ['content-length', 'content-type', 'content-md5'],
};

const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'content-range',
  'accept-ranges',
  'etag',
  'last-modified',
];

export interface PresignedRouteOptions {
  bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** s3rver's unix socket. */
  s3Socket: string;
  now?: () => number;
}

/** An S3-shaped refusal. */
export class S3Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const escapeXml = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function sendRefusal(response: ServerResponse, refusal: S3Refusal): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${escapeXml(refusal.message)}</Message></Error>`;
  response.writeHead(refusal.status, {
    'content-type': 'application/xml',
    'content-length': String(Buffer.byteLength(body)),
  });
  response.end(body);
}

/** Query parameters, decoded as S3 decodes them (no `+` for space); a repeated or malformed one is refused. */
export function parseQuery(rawQuery: string): Record<string, string> {
  const query: Record<string, string> = Object.create(null);
  if (rawQuery === '') return query;
  for (const pair of rawQuery.split('&')) {
    const equals = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(equals === -1 ? pair : pair.slice(0, equals));
      value = equals === -1 ? '' : decodeURIComponent(pair.slice(equals + 1));
    } catch {
      throw new S3Refusal(400, 'InvalidArgument', 'Malformed query string.');
    }
    if (name in query) throw new S3Refusal(400, 'InvalidArgument', `Query parameter '${name}' is repeated.`);
    query[name] = value;
  }
  return query;
}

/** `20261206T091154Z` → epoch ms, or undefined. */
function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isNaN(ms) ? undefined : ms;
}

/** The object key of a presigned path, decoded once as S3 decodes it; path games are refused. */
export function keyOfPath(rawPath: string, bucket: string): string {
  const bucketPrefix = `${PRESIGNED_PREFIX}/${bucket}/`;
  if (!rawPath.startsWith(bucketPrefix)) throw new S3Refusal(403, 'AccessDenied', 'Access Denied');
  let key: string;
  try {
    key = decodeURIComponent(rawPath.slice(bucketPrefix.length));
  } catch {
    throw new S3Refusal(400, 'InvalidURI', 'Could not parse the specified URI.');
  }
  // Cairn signs only canonical keys; s3rver maps keys to files, so anything else must not reach it.
  const segments = key.split('/');
  if (
    key === '' ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..') ||
    [...key].some((c) => c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)
  ) {
    throw new S3Refusal(400, 'InvalidArgument', 'Invalid object key.');
  }
  return key;
}

export interface VerifiedRequest {
  key: string;
  /** UploadPart's partNumber and uploadId, when the URL is for a part. */
  part?: { partNumber: string; uploadId: string };
  /** Response header overrides that were signed. */
  overrides: Record<string, string>;
}

/**
 * The SDK's signer for these credentials. One per route: it keeps the day's signing key between
 * requests, so a request costs its HMACs only.
 */
function signerFor(options: Pick<PresignedRouteOptions, 'region' | 'credentials'>): SignatureV4 {
  return new SignatureV4({
    service: 's3',
    region: options.region,
    credentials: options.credentials,
    sha256: Hash.bind(null, 'sha256'),
    // S3 signs the path exactly as sent: no second encoding, no normalisation.
    uriEscapePath: false,
    applyChecksum: false,
  });
}

const signatureMismatch = () =>
  new S3Refusal(
    403,
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided.',
  );

/**
 * Checks a presigned request as S3 would and says what it may do; throws S3Refusal otherwise.
 * `host` is the Host header the front already checked against its allowlist.
 */
export async function verifyPresigned(
  request: { method: string; rawPath: string; rawQuery: string; headers: IncomingHttpHeaders },
  options: Omit<PresignedRouteOptions, 's3Socket'>,
  signer = signerFor(options),
): Promise<VerifiedRequest> {
  const { method, rawPath, headers } = request;
  const query = parseQuery(request.rawQuery);
  for (const name of AUTH_PARAMETERS) {
    if (query[name] === undefined) {
      throw new S3Refusal(403, 'AccessDenied', `Query-string authentication requires ${name}.`);
    }
  }
  const given = query as Record<(typeof AUTH_PARAMETERS)[number], string>;
  if (
    given['X-Amz-Algorithm'] !== 'AWS4-HMAC-SHA256' ||
    given['X-Amz-Content-Sha256'] !== 'UNSIGNED-PAYLOAD'
  ) {
    throw new S3Refusal(
      400,
      'AuthorizationQueryParametersError',
      'Only AWS4-HMAC-SHA256 with UNSIGNED-PAYLOAD is supported.',
    );
  }
  const signedAt = parseAmzDate(given['X-Amz-Date']);
  const expires = /^\d{1,6}$/.test(given['X-Amz-Expires']) ? Number(given['X-Amz-Expires']) : Number.NaN;
  if (signedAt === undefined || !(expires >= 1 && expires <= MAX_EXPIRES_SECONDS)) {
    throw new S3Refusal(
      400,
      'AuthorizationQueryParametersError',
      'X-Amz-Date or X-Amz-Expires is malformed.',
    );
  }
  const now = (options.now ?? Date.now)();
  if (now > signedAt + expires * 1000) throw new S3Refusal(403, 'AccessDenied', 'Request has expired');
  if (signedAt > now + CLOCK_SKEW_MS) throw new S3Refusal(403, 'AccessDenied', 'Request is not valid yet');
  if (!/^[0-9a-f]{64}$/.test(given['X-Amz-Signature'])) {
    throw signatureMismatch();
  }

  const signedHeaders = given['X-Amz-SignedHeaders'].split(';');
  if (!signedHeaders.includes('host')) {
    throw new S3Refusal(400, 'AuthorizationQueryParametersError', 'X-Amz-SignedHeaders must include host.');
  }
  // The presigner hoists this header into the query under the name it is given, case included.
  const toSign: Record<string, string> = { 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' };
  for (const name of signedHeaders) {
    const value = headers[name];
    if (typeof value !== 'string') {
      throw new S3Refusal(403, 'AccessDenied', `Header '${name}' is signed but missing from the request.`);
    }
    toSign[name] = value;
  }
  const unsigned: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(query)) {
    if (name !== 'X-Amz-Signature' && name !== 'X-Amz-Content-Sha256') unsigned[name] = value;
  }

  const expected = await signer.presign(
    { method, protocol: 'http:', hostname: 'localhost', path: rawPath, query: unsigned, headers: toSign },
    { signingDate: new Date(signedAt), expiresIn: expires },
  );
  const expectedQuery = expected.query as Record<string, string>;
  const sameParameters =
    Object.keys(expectedQuery).length === Object.keys(query).length &&
    Object.entries(expectedQuery).every(
      ([name, value]) => name === 'X-Amz-Signature' || query[name] === value,
    );
  const a = Buffer.from(String(expectedQuery['X-Amz-Signature']), 'utf8');
  const b = Buffer.from(given['X-Amz-Signature'], 'utf8');
  if (!sameParameters || a.length !== b.length || !timingSafeEqual(a, b)) {
    throw signatureMismatch();
  }

  const key = keyOfPath(rawPath, options.bucket);
  const overrides: Record<string, string> = {};
  let part: VerifiedRequest['part'];
  for (const [name, value] of Object.entries(query)) {
    if ((AUTH_PARAMETERS as readonly string[]).includes(name) || IGNORED_PARAMETERS.has(name)) continue;
    const header = RESPONSE_OVERRIDES[name];
    if (header !== undefined && method !== 'PUT') {
      // Signed is not well-formed: a control character would make writeHead throw later.
      try {
        validateHeaderValue(header, value);
      } catch {
        throw new S3Refusal(400, 'InvalidArgument', `Query parameter '${name}' is not a valid header value.`);
      }
      overrides[header] = value;
    } else if ((name === 'partNumber' || name === 'uploadId') && method === 'PUT') continue;
    else throw new S3Refusal(400, 'InvalidArgument', `Query parameter '${name}' is not supported here.`);
  }
  const partNumber = query.partNumber;
  const uploadId = query.uploadId;
  if ((partNumber === undefined) !== (uploadId === undefined)) {
    throw new S3Refusal(400, 'InvalidArgument', 'partNumber and uploadId go together.');
  }
  if (partNumber !== undefined && uploadId !== undefined) {
    if (!/^[1-9]\d{0,4}$/.test(partNumber) || !/^[A-Za-z0-9._-]+$/.test(uploadId)) {
      throw new S3Refusal(400, 'InvalidArgument', 'Invalid partNumber or uploadId.');
    }
    part = { partNumber, uploadId };
  }
  return { key, overrides, ...(part ? { part } : {}) };
}

/** The route: verify, then stream to or from s3rver. Answers every request it is given. */
export function createPresignedRoute(options: PresignedRouteOptions) {
  const signer = signerFor(options);
  return (request: IncomingMessage, response: ServerResponse): void => {
    const method = (request.method ?? 'GET').toUpperCase();
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const rawPath = queryStart === -1 ? url : url.slice(0, queryStart);
    const rawQuery = queryStart === -1 ? '' : url.slice(queryStart + 1);
    const refuse = (refusal: S3Refusal) => {
      // Read what the client still sends, so it gets this answer rather than a reset connection.
      request.resume();
      sendRefusal(response, refusal);
    };
    (async () => {
      const forwarded = FORWARDED_REQUEST_HEADERS[method];
      if (forwarded === undefined) {
        throw new S3Refusal(
          405,
          'MethodNotAllowed',
          'The specified method is not allowed against this resource.',
        );
      }
      const verified = await verifyPresigned(
        { method, rawPath, rawQuery, headers: request.headers },
        options,
        signer,
      );
      if (method === 'PUT' && request.headers['content-length'] === undefined) {
        throw new S3Refusal(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
      }
      const headers: Record<string, string> = { host: 'localhost' };
      for (const name of forwarded) {
        const value = request.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      const partQuery = verified.part
        ? `?partNumber=${verified.part.partNumber}&uploadId=${encodeURIComponent(verified.part.uploadId)}`
        : '';
      const upstream = httpRequest({
        socketPath: options.s3Socket,
        method,
        path: `/${options.bucket}/${escapeUriPath(verified.key)}${partQuery}`,
        headers,
      });
      upstream.on('response', (answer) => {
        const out: Record<string, string> = {};
        for (const name of FORWARDED_RESPONSE_HEADERS) {
          const value = answer.headers[name];
          if (typeof value === 'string') out[name] = value;
        }
        if (method !== 'PUT' && (answer.statusCode ?? 500) < 300) {
          // Never inline: a stored page must not run as this origin.
          out['content-disposition'] = 'attachment';
          Object.assign(out, verified.overrides);
        }
        try {
          response.writeHead(answer.statusCode ?? 502, out);
        } catch (error) {
          answer.destroy();
          console.error(
            JSON.stringify({ level: 'ERROR', message: 'presigned answer refused', error: String(error) }),
          );
          return sendRefusal(
            response,
            new S3Refusal(500, 'InternalError', 'We encountered an internal error. Please try again.'),
          );
        }
        pipeline(answer, response, () => undefined);
      });
      // Bytes flow through as they come, both ways: nothing is buffered whole.
      pipeline(request, upstream, (error) => {
        if (error && !response.headersSent) {
          sendRefusal(
            response,
            new S3Refusal(500, 'InternalError', 'The transfer to the store was interrupted.'),
          );
        } else if (error) {
          response.destroy();
        }
      });
    })().catch((error: unknown) => {
      if (response.headersSent) return response.destroy();
      if (error instanceof S3Refusal) return refuse(error);
      console.error(
        JSON.stringify({ level: 'ERROR', message: 'presigned route failure', error: String(error) }),
      );
      refuse(new S3Refusal(500, 'InternalError', 'We encountered an internal error. Please try again.'));
    });
  };
}
