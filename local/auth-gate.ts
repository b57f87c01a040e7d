/**
 * `cairn server --auth`: what API Gateway does with the Lambda authorizer, in front of the local handlers.
 * For every route but the public ones: no `Authorization` header → 401 `{"message":"Unauthorized"}`
 * without calling the authorizer; otherwise the authorizer gets a payload 2.0 REQUEST event, its answer is
 * cached per header value for the TTL (allow and deny alike, as API Gateway does), a deny becomes
 * 403 `{"message":"Forbidden"}`, an authorizer failure 500 `{"message":"Internal Server Error"}` (not
 * cached), and an allow passes `context` to the function as `requestContext.authorizer.lambda`.
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import type { AuthorizerHandler, AuthorizerResult } from '../functions/authorizer/authorizer.js';
import { type HttpResult, JSON_HEADERS } from '../shared/api/http.js';
import { routeByKey } from '../shared/api/routes.js';

const gatewayAnswer = (statusCode: number, message: string): HttpResult => ({
  statusCode,
  headers: { ...JSON_HEADERS },
  body: JSON.stringify({ message }),
});

export const UNAUTHORIZED = gatewayAnswer(401, 'Unauthorized');
export const FORBIDDEN = gatewayAnswer(403, 'Forbidden');
export const AUTHORIZER_FAILED = gatewayAnswer(500, 'Internal Server Error');

/** Answers per identity-source value, each for `ttlMs`; bounded so that junk headers cannot grow it. */
export class AuthorizerCache {
  private readonly entries = new Map<string, { result: AuthorizerResult; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string): AuthorizerResult | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() < entry.until) return entry.result;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, result: AuthorizerResult): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { result, until: this.now() + this.ttlMs });
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The authorizer's event for a request, as API Gateway builds it (payload format 2.0, REQUEST). */
export function authorizerEvent(
  event: APIGatewayProxyEventV2,
  authorization: string,
): APIGatewayRequestAuthorizerEventV2 {
  const { requestContext } = event;
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:local:000000000000:${requestContext.apiId}/${requestContext.stage}/${requestContext.http.method}${event.rawPath}`,
    identitySource: [authorization],
    routeKey: event.routeKey,
    rawPath: event.rawPath,
    rawQueryString: event.rawQueryString,
    cookies: event.cookies ?? [],
    headers: { ...event.headers },
    ...(event.queryStringParameters ? { queryStringParameters: { ...event.queryStringParameters } } : {}),
    ...(event.pathParameters ? { pathParameters: { ...event.pathParameters } } : {}),
    requestContext,
  };
}

export interface AuthGateOptions {
  authorizer: AuthorizerHandler;
  cacheTtlMs: number;
  now?: () => number;
}

/**
 * Returns the front's gate: undefined lets the request through (with the principal attached), an
 * HttpResult is API Gateway's own answer.
 */
/** What the authorizer reads at most (shared/auth/credentials.ts); longer headers are refused. */
const MAX_AUTHORIZATION_LENGTH = 1024;

export function createAuthGate(options: AuthGateOptions) {
  const cache = new AuthorizerCache(options.cacheTtlMs, options.now);
  return async (event: APIGatewayProxyEventV2): Promise<HttpResult | undefined> => {
    if (routeByKey(event.routeKey)?.permission === 'public') return undefined;
    const authorization = event.headers.authorization;
    if (authorization === undefined || authorization.trim() === '') return UNAUTHORIZED;
    // The authorizer refuses such headers unread; caching them would let anyone pin memory with them.
    if (authorization.length > MAX_AUTHORIZATION_LENGTH) return FORBIDDEN;
    // Keyed by a digest: the cache holds 32 bytes per caller, not whatever header each one sent.
    const key = createHash('sha256').update(authorization).digest('base64');
    let result = cache.get(key);
    if (!result) {
      try {
        result = await options.authorizer(authorizerEvent(event, authorization));
      } catch (error) {
        const name = error instanceof Error ? error.name : 'unknown';
        console.error(JSON.stringify({ level: 'ERROR', message: 'authorizer failed', error: name }));
        return AUTHORIZER_FAILED;
      }
      cache.set(key, result);
    }
    if (!result.isAuthorized) return FORBIDDEN;
    (event.requestContext as { authorizer?: unknown }).authorizer = { lambda: { ...result.context } };
    return undefined;
  };
}
