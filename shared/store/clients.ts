/**
 * SDK clients, built once per process (module scope in each function) and reused across invocations.
 * The S3 ones are in s3-clients.ts, so that a function can load them only when it needs them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { CairnConfig } from '../config.js';
import { socketClientOptions } from './local-socket.js';

/**
 * Wraps a client for tracing (functions/middleware/tracing.ts passes the X-Ray capture). A hook rather
 * than an import, so that the X-Ray SDK reaches only the bundles of functions that trace.
 */
export type ClientCapture = <Client extends DynamoDBClient | S3Client>(client: Client) => Client;

export const untraced: ClientCapture = (client) => client;

/** Where a client goes: AWS (nothing set), an endpoint, or a local stand-in's socket. */
export function endpointOptions(endpoint: string | undefined, socket: string | undefined) {
  if (socket) return socketClientOptions(socket);
  return endpoint ? { endpoint } : {};
}

export function createDynamoClient(
  config: Pick<CairnConfig, 'region' | 'dynamodbEndpoint' | 'dynamodbSocket'>,
  capture: ClientCapture = untraced,
): DynamoDBClient {
  return capture(
    new DynamoDBClient({
      region: config.region,
      ...endpointOptions(config.dynamodbEndpoint, config.dynamodbSocket),
    }),
  );
}
