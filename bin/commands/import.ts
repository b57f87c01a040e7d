/**
 * `cairn import --from URL`: copies an MLflow tracking server's experiments, runs, artifacts and model
 * registry into a Cairn data directory or stack (shared/import/importer.ts). The target's table and bucket
 * are written directly, with the store's own functions; artifact bytes stream from the source into the
 * bucket, never through a Cairn function.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { readPublishedEndpoint } from '../../local/data-dir-endpoint.js';
import { isAlive } from '../../local/data-dir-lock.js';
import { LOCAL_BUCKET_NAME } from '../../local/server.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, standInSocketDir, startS3rver } from '../../local/stand-ins.js';
import { formatBytes, formatSummary } from '../../shared/import/convert.js';
import { runImport } from '../../shared/import/importer.js';
import { MlflowSource } from '../../shared/import/source.js';
import type { TargetStore } from '../../shared/import/target.js';
import { endpointOptions } from '../../shared/store/clients.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { reportFailure, TARGET_OPTIONS, withTarget } from '../target.js';
import { UsageError, usage } from '../usage.js';

export async function importCommand(args: string[]): Promise<number> {
  try {
    return await run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`cairn: ${error.message}\n`);
      return usage(2);
    }
    return reportFailure(error);
  }
}

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_OPTIONS,
      from: { type: 'string' },
      experiment: { type: 'string', multiple: true },
      token: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      bucket: { type: 'string' },
      'key-prefix': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return usage(0);
  if (!values.from) throw new UsageError('import needs --from URL (the source tracking server)');
  if (!/^https?:\/\//.test(values.from))
    throw new UsageError(`--from must be an http(s) URL, not '${values.from}'`);
  if (values.stack !== undefined && values.bucket === undefined) {
    throw new UsageError("with --stack, give --bucket (the stack's artifact bucket) and --key-prefix if set");
  }
  const source = new MlflowSource({
    url: values.from,
    auth: {
      ...optional('token', values.token ?? process.env.MLFLOW_TRACKING_TOKEN),
      ...optional('username', values.username ?? process.env.MLFLOW_TRACKING_USERNAME),
      ...optional('password', values.password ?? process.env.MLFLOW_TRACKING_PASSWORD),
    },
  });
  const dataDir = resolve(values['data-dir'] ?? (process.env.CAIRN_DATA_DIR || './cairn-data'));
  return withTarget(
    values,
    async (store) => {
      const bucket = await openBucket(values.stack === undefined ? dataDir : undefined, values);
      try {
        const target: TargetStore = {
          doc: createDocumentClient(store.client),
          tableName: store.tableName,
          s3: bucket.s3,
          bucket: bucket.name,
          keyPrefix: bucket.keyPrefix,
        };
        const tty = process.stderr.isTTY;
        const report = await runImport({
          source,
          target,
          client: store.client as DynamoDBClient,
          experiments: values.experiment ?? [],
          dryRun: values['dry-run'],
          ...(tty
            ? {
                progress: ({ counts, runsSeen, runsTotal, phase }) => {
                  process.stderr.write(
                    `\r\x1b[K${phase}: runs ${runsSeen}/${runsTotal}, ${counts.points} points, ${counts.artifacts} files (${formatBytes(counts.bytes)})`,
                  );
                },
              }
            : {}),
        });
        if (tty) process.stderr.write('\r\x1b[K');
        console.log(
          formatSummary(report.counts, report.skipped, report.notes, report.seconds, values['dry-run']),
        );
        console.log(`Into ${store.where}.`);
        if (values['dry-run']) console.log('Dry run: nothing was changed.');
        return report.skipped.length > 0 ? 1 : 0;
      } finally {
        await bucket.close();
      }
    },
    false,
  );
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined || value === '' ? {} : ({ [key]: value } as Record<K, string>);
}

/**
 * The artifact bucket: a stack's (named), or a data directory's s3rver: the running server's, on the
 * socket beside its DynamoDB socket, or one started here on the directory's files (the data-dir lock,
 * already held by withTarget, keeps a server from starting on it meanwhile).
 */
async function openBucket(
  dataDir: string | undefined,
  values: { bucket?: string; 'key-prefix'?: string; region?: string },
): Promise<{ s3: S3Client; name: string; keyPrefix: string; close(): Promise<void> }> {
  if (dataDir === undefined) {
    const s3 = new S3Client({
      ...(values.region ? { region: values.region } : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const prefix = values['key-prefix'] ?? '';
    return {
      s3,
      name: values.bucket as string,
      keyPrefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`,
      close: async () => s3.destroy(),
    };
  }
  const published = readPublishedEndpoint(dataDir);
  const running =
    published && isAlive(published.pid)
      ? [
          ...(published.dynamodbSocket ? [join(dirname(published.dynamodbSocket), 's3.sock')] : []),
          join(dataDir, 's3.sock'),
        ].find((path) => existsSync(path))
      : undefined;
  let socketPath = running;
  let close: () => Promise<void> = async () => undefined;
  if (!socketPath) {
    const sockets = standInSocketDir(dataDir);
    const started = await startS3rver(dataDir, LOCAL_BUCKET_NAME, join(sockets.dir, 'import-s3.sock'));
    socketPath = started.socketPath;
    close = async () => {
      await started.close();
      sockets.remove();
    };
  }
  const s3 = new S3Client({
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    forcePathStyle: true,
    ...endpointOptions(undefined, socketPath),
  });
  return {
    s3,
    name: LOCAL_BUCKET_NAME,
    keyPrefix: '',
    close: async () => {
      s3.destroy();
      await close();
    },
  };
}
