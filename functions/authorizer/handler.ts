/**
 * The HTTP API Lambda authorizer (payload format 2.0, simple responses, identity source
 * `$request.header.Authorization`). It reads one token item per uncached request and answers
 * `{ isAuthorized, context: { principal, scope } }`; API Gateway passes the context to the functions as
 * `requestContext.authorizer.lambda`. Env: `CAIRN_TABLE_NAME`. It needs `dynamodb:GetItem` and
 * `dynamodb:UpdateItem` on the table, limited to the leading key `TOKENS`, and nothing else.
 *
 * Bundle: the low-level DynamoDB client only (no lib-dynamodb, no middy, no schema library).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../../shared/config.js';
import { socketClientOptions } from '../../shared/store/local-socket.js';
import { DynamoTokenRepository } from '../../shared/store/tokens/repository.js';
import { createAuthorizer } from './authorizer.js';

const config = loadConfig();
const client = new DynamoDBClient({
  region: config.region,
  ...(config.dynamodbSocket
    ? socketClientOptions(config.dynamodbSocket)
    : config.dynamodbEndpoint
      ? { endpoint: config.dynamodbEndpoint }
      : {}),
});

export const handler = createAuthorizer({ tokens: new DynamoTokenRepository(client, config.tableName) });
