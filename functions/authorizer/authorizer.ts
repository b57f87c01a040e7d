/**
 * The authorizer's logic, apart from its wiring so tests can drive it with their own table and clock.
 * Deny is an answer (`isAuthorized: false`, which API Gateway caches and turns into 403); a failure to
 * read the table is thrown instead, so API Gateway answers 500 (which the client retries) and caches
 * nothing: a DynamoDB hiccup must not lock a token out for the cache's lifetime.
 */
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { authenticate } from '../../shared/auth/authenticate.js';
import { type AuthorizerContext, LAST_USED_RESOLUTION_MS } from '../../shared/auth/scopes.js';
import type { TokenRepository } from '../../shared/store/tokens/repository.js';

/** API Gateway HTTP API's "simple response" (payload format 2.0, enableSimpleResponses). */
export type AuthorizerResult = { isAuthorized: false } | { isAuthorized: true; context: AuthorizerContext };

export type AuthorizerHandler = (event: APIGatewayRequestAuthorizerEventV2) => Promise<AuthorizerResult>;

export interface AuthorizerDependencies {
  tokens: Pick<TokenRepository, 'get' | 'recordUse'>;
  now?: () => number;
  /** One JSON line per decision. Gets names and reasons only: never the header, a token or a secret. */
  log?: (entry: Record<string, unknown>) => void;
}

const defaultLog = (entry: Record<string, unknown>) => console.log(JSON.stringify(entry));

/** The identity source: HTTP API lower-cases header names in payload 2.0. */
function authorizationOf(event: APIGatewayRequestAuthorizerEventV2): string | undefined {
  return event.headers?.authorization ?? event.identitySource?.[0];
}

export function createAuthorizer({
  tokens,
  now = Date.now,
  log = defaultLog,
}: AuthorizerDependencies): AuthorizerHandler {
  return async (event) => {
    const requestId = event.requestContext?.requestId;
    const at = now();
    const decision = await authenticate(authorizationOf(event), tokens, at);
    if (!decision.authorized) {
      log({
        level: 'INFO',
        message: 'token refused',
        reason: decision.reason,
        token: decision.name,
        requestId,
      });
      return { isAuthorized: false };
    }
    const { token } = decision;
    if (token.lastUsed === undefined || at - token.lastUsed >= LAST_USED_RESOLUTION_MS) {
      // Bookkeeping only: a failed write must not turn a valid token away.
      await tokens.recordUse(token.name, at, LAST_USED_RESOLUTION_MS).catch((error: unknown) => {
        log({
          level: 'WARN',
          message: 'could not record token use',
          token: token.name,
          error: error instanceof Error ? error.name : 'unknown',
          requestId,
        });
      });
    }
    log({ level: 'INFO', message: 'token accepted', token: token.name, scope: token.scope, requestId });
    return { isAuthorized: true, context: decision.context };
  };
}
