/** SDK clients, built once per process (module scope in each function) and reused across invocations. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CairnConfig } from '../config.js';

export function createDynamoClient(config: Pick<CairnConfig, 'region' | 'dynamodbEndpoint'>): DynamoDBClient {
  return new DynamoDBClient({
    region: config.region,
    ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {}),
  });
}

export function createDocumentClient(
  config: Pick<CairnConfig, 'region' | 'dynamodbEndpoint'>,
): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(createDynamoClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/**
 * The S3 client. `requestChecksumCalculation: WHEN_REQUIRED` keeps the SDK from adding CRC checksums
 * that presigned URLs would then demand (an empty-body CRC32 in every presigned PUT) and that the local
 * stand-in stores inside the object (aws-chunked framing); see local-stand-ins.md.
 */
export function createS3Client(config: Pick<CairnConfig, 'region' | 's3Endpoint'>): S3Client {
  return new S3Client({
    region: config.region,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : {}),
  });
}
