/**
 * The local stand-in for API Gateway's HTTP API: turns each HTTP request into a payload v2 event, picks
 * the function from the route table (unknown routes go to `$default`), invokes the same handler that is
 * deployed, and writes its result back. It enforces the limits a deployed request meets (decision 10):
 * the 6 MB Lambda request payload (413) and the 30 s integration timeout (504).
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { type HttpResult, toErrorResponse } from '../shared/api/http.js';
import { DEFAULT_ROUTE_KEY, type FunctionName, matchRoute, type RouteMatch } from '../shared/api/routes.js';
import { uploadTooLargeError } from '../shared/domain/artifacts/service.js';
import { DeadlineExceededError, PayloadTooLargeError } from '../shared/errors.js';
import { checkHostAndOrigin } from './host-check.js';
import { PRESIGNED_PREFIX } from './presigned.js';

/** Lambda's synchronous invocation payload limit, which bounds the whole event. */
export const LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;
/** API Gateway HTTP API's maximum integration timeout. */
export const INTEGRATION_TIMEOUT_MS = 30_000;
/** Unknown routes go to this function, which answers ENDPOINT_NOT_FOUND (the CDK wires `$default` the same way). */
export const DEFAULT_ROUTE_FUNCTION: FunctionName = 'tracking';

export type LambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResult>;

export interface FrontOptions {
  handlers: Record<FunctionName, LambdaHandler>;
  timeoutMs?: number;
  payloadLimitBytes?: number;
  /**
   * Runs before the function as API Gateway's authorizer does (`cairn server --auth`, see auth-gate.ts):
   * it may attach the principal to the event, or answer in the gateway's place.
   */
  gate?: (event: APIGatewayProxyEventV2) => Promise<HttpResult | undefined>;
  /**
   * The Host names answered (host-check.ts); every other Host gets 403, and so does a state-changing
   * request from another origin. Undefined: no check (a front built for a test of the gateway alone).
   */
  allowedHosts?: ReadonlySet<string>;
  /** Serves presigned URLs under PRESIGNED_PREFIX (presigned.ts); without it they are unknown routes. */
  presigned?: (request: IncomingMessage, response: ServerResponse) => void;
}

/** Content types API Gateway passes as text; every other body arrives base64-encoded. */
const TEXT_CONTENT_TYPE =
  /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))/i;

async function readBody(request: IncomingMessage, limit: number): Promise<{ body: Buffer; size: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Keep reading past the limit (and drop it) so the client gets our 413 instead of a reset connection.
    if (size <= limit) chunks.push(chunk);
  }
  return { body: Buffer.concat(chunks), size };
}

function headersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name === 'cookie') continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

/** Where a request goes, resolved once: its path and query string, and the route API Gateway would pick. */
export interface RequestTarget {
  method: string;
  rawPath: string;
  rawQueryString: string;
  /** Undefined: no route matches, the request goes to `$default`. */
  matched: RouteMatch | undefined;
  fn: FunctionName;
}

export function resolveTarget(request: IncomingMessage): RequestTarget {
  const method = (request.method ?? 'GET').toUpperCase();
  const url = request.url ?? '/';
  const queryStart = url.indexOf('?');
  const rawPath = queryStart === -1 ? url : url.slice(0, queryStart);
  const matched = matchRoute(method, rawPath);
  return {
    method,
    rawPath,
    rawQueryString: queryStart === -1 ? '' : url.slice(queryStart + 1),
    matched,
    fn: matched?.route.fn ?? DEFAULT_ROUTE_FUNCTION,
  };
}

function queryParameters(rawQueryString: string): Record<string, string> {
  const parameters: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    // API Gateway joins repeated parameters with commas here; handlers read rawQueryString instead.
    const previous = Object.hasOwn(parameters, key) ? parameters[key] : undefined;
    // defineProperty: a parameter named `__proto__` must stay a parameter.
    Object.defineProperty(parameters, key, {
      value: previous === undefined ? value : `${previous},${value}`,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return parameters;
}

/**
 * The payload v2 event API Gateway would hand the function. The route is the one `target` resolved, so
 * the event carries it as `routeKey` and the function looks it up by that key instead of matching again.
 */
export function buildEvent(
  request: IncomingMessage,
  body: Buffer,
  target: RequestTarget = resolveTarget(request),
  now: Date = new Date(),
): { event: APIGatewayProxyEventV2; fn: FunctionName } {
  const { method, rawPath, rawQueryString, matched } = target;
  const headers = headersOf(request);
  const routeKey = matched?.route.routeKey ?? DEFAULT_ROUTE_KEY;
  // Encoded bytes (gzipped OTLP JSON) are not text whatever their type says: decoding them as UTF-8 mangles them.
  const encoded = (headers['content-encoding'] ?? 'identity').trim().toLowerCase() !== 'identity';
  // A text type whose bytes are not UTF-8 (a Latin-1 CSV uploaded as text/csv) goes as base64 too: decoded
  // as UTF-8 each stray byte would become U+FFFD, and the stored artifact would differ from the upload.
  const isText =
    body.length === 0 || (!encoded && TEXT_CONTENT_TYPE.test(headers['content-type'] ?? '') && isUtf8(body));
  const host = headers.host ?? 'localhost';

  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    ...(request.headers.cookie ? { cookies: request.headers.cookie.split(/;\s*/) } : {}),
    ...(rawQueryString ? { queryStringParameters: queryParameters(rawQueryString) } : {}),
    ...(matched?.pathParameters ? { pathParameters: matched.pathParameters } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? 'localhost',
      http: {
        method,
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: !isText,
    ...(body.length > 0 ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
  };
  return { event, fn: target.fn };
}

/**
 * The event's size as Lambda counts it (its JSON), or undefined when it is surely within `limit`: a
 * character of a text body takes at most 6 bytes in JSON (`\u001f`) and base64 is already JSON-safe,
 * so only events near the limit are serialized to be measured.
 */
function oversizeEventBytes(event: APIGatewayProxyEventV2, limit: number): number | undefined {
  const { body, ...envelope } = event;
  const bodyBound = body === undefined ? 0 : (event.isBase64Encoded ? 1 : 6) * Buffer.byteLength(body) + 10;
  if (Buffer.byteLength(JSON.stringify(envelope)) + bodyBound <= limit) return undefined;
  const bytes = Buffer.byteLength(JSON.stringify(event));
  return bytes > limit ? bytes : undefined;
}

function payloadTooLarge(target: RequestTarget, bytes: number, limit: number, bodyBytes: number) {
  // An artifact upload that is too large is told how to switch the client to multipart (an OTLP export,
  // the other raw body, has no such way out: it gets the plain limit).
  return target.matched?.route.rawBody && target.matched.route.fn === 'artifacts'
    ? uploadTooLargeError(bytes, limit, bodyBytes, target.matched.route.operation === 'uploadRunArtifact')
    : new PayloadTooLargeError(bytes, limit);
}

function lambdaContext(fn: FunctionName, requestId: string, deadline: number): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `cairn-${fn}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:cairn-${fn}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/cairn-${fn}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function invoke(
  handler: LambdaHandler,
  event: APIGatewayProxyEventV2,
  fn: FunctionName,
  timeoutMs: number,
) {
  let timer: NodeJS.Timeout | undefined;
  const deadline = Date.now() + timeoutMs;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([
      handler(event, lambdaContext(fn, event.requestContext.requestId, deadline)),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function send(response: ServerResponse, result: HttpResult): void {
  const body = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
  response.writeHead(result.statusCode, { ...result.headers, 'content-length': String(body.length) });
  response.end(body);
}

export function createFront(options: FrontOptions): Server {
  const timeoutMs = options.timeoutMs ?? INTEGRATION_TIMEOUT_MS;
  const limit = options.payloadLimitBytes ?? LAMBDA_PAYLOAD_LIMIT_BYTES;
  // Idle keep-alive sockets stay open longer than clients keep them (undici 4 s, urllib3 until reuse),
  // so the server never closes one that a client is about to reuse: a client whose event loop was busy
  // past Node's 5 s default (a test generating 200 MB, a training step) got ECONNRESET on its next call.
  // API Gateway's idle timeout is longer still.
  return createServer({ keepAliveTimeout: 65_000 }, (request, response) => {
    // Every answer, JSON or bytes: browsers must not guess a type and render a body as a page.
    response.setHeader('x-content-type-options', 'nosniff');
    if (options.allowedHosts) {
      const refusal = checkHostAndOrigin(
        {
          method: (request.method ?? 'GET').toUpperCase(),
          host: request.headers.host,
          origin: request.headers.origin,
        },
        options.allowedHosts,
        request.socket.localPort ?? 0,
      );
      if (refusal) {
        request.resume();
        return send(response, toErrorResponse(refusal));
      }
    }
    if (options.presigned && isPresignedPath(request.url ?? '/')) return options.presigned(request, response);
    (async () => {
      const target = resolveTarget(request);
      const { body, size } = await readBody(request, limit);
      // The one payload check, where API Gateway makes it: Lambda's limit bounds the whole event. A body
      // over the limit on its own was not kept (readBody) and is not made into an event.
      const built = size > limit ? undefined : buildEvent(request, body, target);
      const oversize = built ? oversizeEventBytes(built.event, limit) : size;
      if (built === undefined || oversize !== undefined) {
        return send(response, toErrorResponse(payloadTooLarge(target, oversize ?? size, limit, size)));
      }
      const { event, fn } = built;
      const gatewayAnswer = await options.gate?.(event);
      if (gatewayAnswer) return send(response, gatewayAnswer);
      send(response, await invoke(options.handlers[fn], event, fn, timeoutMs));
    })().catch((error: unknown) => {
      if (!(error instanceof DeadlineExceededError)) {
        console.error(
          JSON.stringify({ level: 'ERROR', message: 'local front failure', error: String(error) }),
        );
      }
      if (!response.headersSent) send(response, toErrorResponse(error));
      else response.destroy();
    });
  });
}

function isPresignedPath(url: string): boolean {
  return (
    url === PRESIGNED_PREFIX ||
    url.startsWith(`${PRESIGNED_PREFIX}/`) ||
    url.startsWith(`${PRESIGNED_PREFIX}?`)
  );
}
