/** The S3 clients: apart from clients.ts, so that the registry loads them only to list a version's files. */
import { S3Client } from '@aws-sdk/client-s3';
import type { CairnConfig } from '../config.js';
import { type ClientCapture, endpointOptions, untraced } from './clients.js';

/**
 * The S3 client. `requestChecksumCalculation: WHEN_REQUIRED` keeps the SDK from adding CRC checksums
 * that presigned URLs would then demand (an empty-body CRC32 in every presigned PUT) and that the local
 * stand-in stores inside the object (aws-chunked framing); see local-stand-ins.md.
 */
export function createS3Client(
  config: Pick<CairnConfig, 'region' | 's3Endpoint' | 's3Socket'>,
  capture: ClientCapture = untraced,
): S3Client {
  const where = endpointOptions(config.s3Endpoint, config.s3Socket);
  return capture(
    new S3Client({
      region: config.region,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...where,
      ...('endpoint' in where ? { forcePathStyle: true } : {}),
    }),
  );
}

/** Distinct Host values the local server answers are few (its allowlist); the bound is a backstop. */
const MAX_PRESIGN_ORIGINS = 32;

/**
 * Local only (`s3PresignPath` set): a presign-only client per request origin, so that a presigned URL
 * points at the local front the client already reaches (`--host 0.0.0.0` clients included) rather than
 * at a stand-in. Undefined on AWS, where URLs point at S3 itself.
 */
export function createPresignClients(
  config: Pick<CairnConfig, 'region' | 's3PresignPath'>,
): ((host: string) => S3Client) | undefined {
  const path = config.s3PresignPath;
  if (path === undefined) return undefined;
  const clients = new Map<string, S3Client>();
  return (host) => {
    let client = clients.get(host);
    if (!client) {
      if (clients.size >= MAX_PRESIGN_ORIGINS) {
        const [oldest] = clients.keys();
        if (oldest !== undefined) clients.delete(oldest);
      }
      client = createS3Client({ region: config.region, s3Endpoint: `http://${host}${path}` });
      clients.set(host, client);
    }
    return client;
  };
}
