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
  /** Root of server-assigned experiment artifact locations. */
  artifactRoot: string;
  allowClientArtifactLocation: boolean;
}

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
    artifactRoot: env.CAIRN_ARTIFACT_ROOT || 'mlflow-artifacts:/',
    allowClientArtifactLocation: flag(env, 'CAIRN_ALLOW_CLIENT_ARTIFACT_LOCATION'),
  };
}
