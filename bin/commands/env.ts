/**
 * `cairn env --stack NAME`: the environment a training job needs to log to a deployed stack, rendered
 * from the stack's outputs. The secret is never printed (Cairn cannot show it again anyway): the token
 * variable either reads it at run time from Secrets Manager or SSM, or is left as a placeholder to fill.
 * The multipart variables matter as much as the URI: without them the stock client sends a model above
 * ~4 MB through the API, which Lambda's 6 MB request limit refuses with 413.
 */
import { parseArgs } from 'node:util';
import { readStackOutputs, TRACKING_URI_OUTPUT } from '../stack-outputs.js';
import { reportFailure } from '../target.js';
import { openStackTokenStore } from '../token-stores.js';
import { UsageError, usage } from '../usage.js';
import { checkNamedToken } from './doctor.js';

/** Files from this size up go through presigned multipart: anything larger may not fit the 6 MB request once base64-encoded. */
export const MULTIPART_MINIMUM_BYTES = 4 * 1024 * 1024;
/** MLflow's own default part size; with the ~3,400 part URLs one answer carries, files up to ~34 GB. */
export const MULTIPART_CHUNK_BYTES = 10 * 1024 * 1024;

export const FORMATS = ['shell', 'dotenv', 'json'] as const;
export type EnvFormat = (typeof FORMATS)[number];

export interface TokenSource {
  kind: 'secretsmanager' | 'ssm';
  /** Secret name or ARN; parameter name or ARN. */
  id: string;
}

export interface JobEnvInput {
  stackName: string;
  /** The stack's outputs (DescribeStacks), of which TrackingUri is used. */
  outputs: Record<string, string>;
  region?: string;
  tokenName?: string;
  tokenSource?: TokenSource;
}

export interface JobEnvironment {
  /** Plain variables. */
  environment: Record<string, string>;
  /** Variables whose value comes from a secret store: variable → secret or parameter id. */
  secrets: Record<string, string>;
}

/** What a job needs, independent of how it is printed. */
export function jobEnvironment(input: JobEnvInput): JobEnvironment {
  const uri = input.outputs[TRACKING_URI_OUTPUT];
  if (!uri) throw new Error(`the stack '${input.stackName}' has no ${TRACKING_URI_OUTPUT} output`);
  return {
    environment: {
      MLFLOW_TRACKING_URI: uri.replace(/\/+$/, ''),
      MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD: 'true',
      MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE: String(MULTIPART_MINIMUM_BYTES),
      MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE: String(MULTIPART_CHUNK_BYTES),
    },
    secrets: input.tokenSource ? { MLFLOW_TRACKING_TOKEN: input.tokenSource.id } : {},
  };
}

/** A shell word: plain when it is safe unquoted, else single-quoted. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function fetchCommand(source: TokenSource, region: string | undefined): string {
  const where = region ? ` --region ${shellQuote(region)}` : '';
  return source.kind === 'secretsmanager'
    ? `aws secretsmanager get-secret-value --secret-id ${shellQuote(source.id)}${where} --query SecretString --output text`
    : `aws ssm get-parameter --name ${shellQuote(source.id)} --with-decryption${where} --query Parameter.Value --output text`;
}

const placeholder = (name: string | undefined) => `cairn_${name ?? '<name>'}_<secret>`;

export function renderEnv(input: JobEnvInput, format: EnvFormat): string {
  const { environment, secrets } = jobEnvironment(input);
  if (format === 'json') {
    return JSON.stringify({ environment, secrets }, null, 2);
  }
  const [uri, ...multipart] = Object.entries(environment);
  const line = ([key, value]: [string, string]) =>
    format === 'shell' ? `export ${key}=${shellQuote(value)}` : `${key}=${value}`;
  const lines = [
    `# Cairn stack ${input.stackName}${input.region ? ` (${input.region})` : ''}: npx cairn env`,
  ];
  lines.push(line(uri as [string, string]));
  const create = `npx cairn token create --name ${input.tokenName ?? 'NAME'} --scope write --stack ${input.stackName}`;
  if (input.tokenSource && format === 'shell') {
    lines.push(`export MLFLOW_TRACKING_TOKEN="$(${fetchCommand(input.tokenSource, input.region)})"`);
  } else if (input.tokenSource) {
    lines.push(
      `# MLFLOW_TRACKING_TOKEN: inject at run time from ${input.tokenSource.kind === 'ssm' ? 'SSM parameter' : 'Secrets Manager secret'} ${input.tokenSource.id}`,
    );
  } else {
    lines.push(`# the token, printed once by: ${create}`);
    lines.push(
      `${format === 'shell' ? '# export ' : '# '}MLFLOW_TRACKING_TOKEN=${placeholder(input.tokenName)}`,
    );
  }
  lines.push('# models above 4 MB upload in parts straight to S3 (without these: 413 from the API)');
  for (const entry of multipart) lines.push(line(entry));
  return lines.join('\n');
}

export async function env(args: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(args).values;
    if (values.help) return usage(0);
    if (values.stack === undefined) throw new UsageError('--stack is required');
    if (values['token-secret'] !== undefined && values['token-parameter'] !== undefined) {
      throw new UsageError('give either --token-secret or --token-parameter, not both');
    }
    if (!(FORMATS as readonly string[]).includes(values.format ?? 'shell')) {
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not '${values.format}'`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`cairn: ${error.message}\n`);
      return usage(2, 'env');
    }
    throw error;
  }
  const stack = values.stack;
  try {
    const { outputs, region } = await readStackOutputs(stack, values.region);
    const tokenName = values['token-name'];
    if (tokenName !== undefined) {
      const store = await openStackTokenStore(stack, values.region);
      try {
        const checked = await checkNamedToken(store, tokenName, 'write');
        if (checked.status === 'failed') {
          const target = `--stack ${stack}${values.region ? ` --region ${values.region}` : ''}`;
          console.error(
            `cairn: token '${tokenName}': ${checked.detail}. ${checked.fix?.replaceAll('--stack STACK', target) ?? ''}`,
          );
          return 1;
        }
      } finally {
        await store.close();
      }
    }
    const source: TokenSource | undefined =
      values['token-secret'] !== undefined
        ? { kind: 'secretsmanager', id: values['token-secret'] }
        : values['token-parameter'] !== undefined
          ? { kind: 'ssm', id: values['token-parameter'] }
          : undefined;
    console.log(
      renderEnv(
        {
          stackName: stack,
          outputs,
          ...(region ? { region } : {}),
          ...(tokenName !== undefined ? { tokenName } : {}),
          ...(source ? { tokenSource: source } : {}),
        },
        (values.format ?? 'shell') as EnvFormat,
      ),
    );
    return 0;
  } catch (error) {
    return reportFailure(error);
  }
}

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      stack: { type: 'string' },
      region: { type: 'string' },
      'token-name': { type: 'string' },
      'token-secret': { type: 'string' },
      'token-parameter': { type: 'string' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
}
