/**
 * A running server's DynamoDB stand-in, published next to its lock (`cairn.endpoint.json`) so that
 * `cairn token` can reach the data while the server holds it: dynalite's LevelDB cannot be opened by a
 * second process. The file names the server's pid; a reader trusts it only while the lock names the same
 * live process.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ENDPOINT_FILE = 'cairn.endpoint.json';

export interface PublishedEndpoint {
  pid: number;
  dynamodbEndpoint: string;
  /** dynalite's unix socket (the endpoint is then a placeholder); absent for an external DynamoDB. */
  dynamodbSocket?: string;
  tableName: string;
  /** s3rver's unix socket (`cairn gc` removes artifacts through it while the server runs). */
  s3Socket?: string;
}

/** Writes the file and returns its remover. */
export function publishEndpoint(dataDir: string, endpoint: PublishedEndpoint): () => void {
  const path = join(dataDir, ENDPOINT_FILE);
  writeFileSync(path, `${JSON.stringify(endpoint)}\n`, { mode: 0o600 });
  return () => rmSync(path, { force: true });
}

export function readPublishedEndpoint(dataDir: string): PublishedEndpoint | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(join(dataDir, ENDPOINT_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  const { pid, dynamodbEndpoint, dynamodbSocket, tableName, s3Socket } = (parsed ??
    {}) as Partial<PublishedEndpoint>;
  if (!Number.isInteger(pid) || typeof dynamodbEndpoint !== 'string' || typeof tableName !== 'string') {
    return undefined;
  }
  if (dynamodbSocket !== undefined && typeof dynamodbSocket !== 'string') return undefined;
  return {
    pid: pid as number,
    dynamodbEndpoint,
    ...(dynamodbSocket === undefined ? {} : { dynamodbSocket }),
    tableName,
    ...(typeof s3Socket === 'string' ? { s3Socket } : {}),
  };
}
