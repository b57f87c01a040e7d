/**
 * Who is calling: the one decision the authorizer makes. It answers identity and scope only; whether the
 * scope suffices is decided by each function per route (`functions/middleware/authorize.ts`), because API
 * Gateway caches this answer per `Authorization` value across all routes.
 */
import type { TokenRecord, TokenRepository } from '../store/tokens/repository.js';
import { credentialsFromAuthorization } from './credentials.js';
import type { AuthorizerContext } from './scopes.js';
import { secretMatches } from './token.js';

export type DenyReason = 'malformed' | 'unknown-token' | 'wrong-secret' | 'expired';

export type Authentication =
  | { authorized: true; context: AuthorizerContext; token: TokenRecord }
  | { authorized: false; reason: DenyReason /** Present once the header named a token. */; name?: string };

export async function authenticate(
  authorization: string | undefined,
  tokens: Pick<TokenRepository, 'get'>,
  now: number,
): Promise<Authentication> {
  const credentials = credentialsFromAuthorization(authorization);
  if (!credentials) return { authorized: false, reason: 'malformed' };
  const { name, secret } = credentials;
  const token = await tokens.get(name);
  if (!token) return { authorized: false, reason: 'unknown-token', name };
  if (!secretMatches(secret, token.secretHash)) return { authorized: false, reason: 'wrong-secret', name };
  if (token.expires !== undefined && now >= token.expires)
    return { authorized: false, reason: 'expired', name };
  return { authorized: true, context: { principal: token.name, scope: token.scope }, token };
}
