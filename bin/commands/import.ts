/**
 * `cairn import --from URL`: copies an MLflow tracking server's experiments, runs, artifacts and model
 * registry into a Cairn data directory or stack (shared/import/importer.ts). The target's table and bucket
 * are written directly, with the store's own functions; artifact bytes stream from the source into the
 * bucket, never through a Cairn function.
 */
import { parseArgs } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { formatBytes, formatSummary } from '../../shared/import/convert.js';
import { runImport } from '../../shared/import/importer.js';
import { MlflowSource } from '../../shared/import/source.js';
import type { TargetStore } from '../../shared/import/target.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { openArtifactTarget } from '../artifact-target.js';
import { reportFailure, TARGET_OPTIONS, withTarget } from '../target.js';
import { UsageError, usage } from '../usage.js';

export async function importCommand(args: string[]): Promise<number> {
  try {
    return await run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`cairn: ${error.message}\n`);
      return usage(2, 'import');
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
      'dry-run': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return usage(0);
  if (!values.from) throw new UsageError('import needs --from URL (the source tracking server)');
  if (!/^https?:\/\//.test(values.from))
    throw new UsageError(`--from must be an http(s) URL, not '${values.from}'`);
  const source = new MlflowSource({
    url: values.from,
    auth: {
      ...optional('token', values.token ?? process.env.MLFLOW_TRACKING_TOKEN),
      ...optional('username', values.username ?? process.env.MLFLOW_TRACKING_USERNAME),
      ...optional('password', values.password ?? process.env.MLFLOW_TRACKING_PASSWORD),
    },
  });
  return withTarget(
    values,
    async (store) => {
      const bucket = await openArtifactTarget(values, 'import');
      try {
        const target: TargetStore = {
          doc: createDocumentClient(store.client),
          tableName: store.tableName,
          s3: bucket.s3,
          bucket: bucket.bucket,
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
