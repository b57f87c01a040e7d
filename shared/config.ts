/**
 * Configuration, read once from the environment when a function's module loads, and failing fast: a
 * function deployed without its table name must not start answering requests.
 */

export interface CairnConfig {
  tableName: string;
  region: string;
  /** Local stand-in endpoints; unset on AWS. */
  dynamodbEndpoint?: string;
  s3Endpoint?: string;
  /** Local stand-ins on unix sockets (cairn server): the endpoint is then a placeholder. */
  dynamodbSocket?: string;
  s3Socket?: string;
  /**
   * Local only: presigned URLs point at the calling request's own origin under this path, where the
   * local front verifies their signature before the bytes reach the stand-in (local/presigned.ts).
   */
  s3PresignPath?: string;
  /** Root of server-assigned experiment artifact locations. */
  artifactRoot: string;
  allowClientArtifactLocation: boolean;
  /** The artifact bucket; only the artifacts function needs it. */
  artifactBucket?: string;
  /** Key prefix for all artifacts in the bucket: '' or ending in '/'. */
  artifactKeyPrefix: string;
  /** Lifetime of presigned URLs, seconds (short by default; never beyond the signing credentials). */
  presignExpiresSeconds: number;
  /** Days a trace is kept: its item's TTL, and the bucket's lifecycle rule on span payloads (infra). */
  traceRetentionDays: number;
}

/** Traces are debugging data, kept a month unless the deployment says otherwise (infra/settings.ts). */
export const DEFAULT_TRACE_RETENTION_DAYS = 30;

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`Missing required environment variable ${name}`);
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = (env[name] ?? '').toLowerCase();
  if (value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new Error(`Environment variable ${name} must be true or false, not '${env[name]}'`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): CairnConfig {
  return {
    tableName: required(env, 'CAIRN_TABLE_NAME'),
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    dynamodbEndpoint: env.CAIRN_DYNAMODB_ENDPOINT || undefined,
    s3Endpoint: env.CAIRN_S3_ENDPOINT || undefined,
    dynamodbSocket: env.CAIRN_DYNAMODB_SOCKET || undefined,
    s3Socket: env.CAIRN_S3_SOCKET || undefined,
    s3PresignPath: env.CAIRN_S3_PRESIGN_PATH || undefined,
    artifactRoot: env.CAIRN_ARTIFACT_ROOT || 'mlflow-artifacts:/',
    allowClientArtifactLocation: flag(env, 'CAIRN_ALLOW_CLIENT_ARTIFACT_LOCATION'),
    artifactBucket: env.CAIRN_ARTIFACT_BUCKET || undefined,
    artifactKeyPrefix: keyPrefix(env.CAIRN_ARTIFACT_KEY_PREFIX ?? ''),
    presignExpiresSeconds: integer(env, 'CAIRN_PRESIGN_EXPIRES_SECONDS', 300, 1, 3600),
    traceRetentionDays: integer(env, 'CAIRN_TRACE_RETENTION_DAYS', DEFAULT_TRACE_RETENTION_DAYS, 1, 3650),
  };
}

function keyPrefix(value: string): string {
  const trimmed = value.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(
      `Environment variable ${name} must be a whole number from ${min} to ${max}, not '${raw}'`,
    );
  }
  return value;
}
