/** SDK clients, built once per process (module scope in each function) and reused across invocations. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { CairnConfig } from '../config.js';

/**
 * Wraps a client for tracing (functions/middleware/tracing.ts passes the X-Ray capture). A hook rather
 * than an import, so that the X-Ray SDK reaches only the bundles of functions that trace.
 */
export type ClientCapture = <Client extends DynamoDBClient | S3Client>(client: Client) => Client;

const untraced: ClientCapture = (client) => client;

export function createDynamoClient(
  config: Pick<CairnConfig, 'region' | 'dynamodbEndpoint'>,
  capture: ClientCapture = untraced,
): DynamoDBClient {
  return capture(
    new DynamoDBClient({
      region: config.region,
      ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {}),
    }),
  );
}

/**
 * The S3 client. `requestChecksumCalculation: WHEN_REQUIRED` keeps the SDK from adding CRC checksums
 * that presigned URLs would then demand (an empty-body CRC32 in every presigned PUT) and that the local
 * stand-in stores inside the object (aws-chunked framing); see local-stand-ins.md.
 */
export function createS3Client(
  config: Pick<CairnConfig, 'region' | 's3Endpoint'>,
  capture: ClientCapture = untraced,
): S3Client {
  return capture(
    new S3Client({
      region: config.region,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : {}),
    }),
  );
}
