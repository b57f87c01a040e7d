/**
 * Placeholder for the HTTP API Lambda authorizer (payload format 2.0, simple responses, context
 * `{ principal, scope }` when it allows). It denies every request, so a stack synthesized from this
 * placeholder fails closed; the real token authorizer, with the same export, replaces this file.
 */
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerResult } from 'aws-lambda';

export async function handler(
  _event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerResult> {
  return { isAuthorized: false };
}
