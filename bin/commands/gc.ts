/**
 * `cairn gc`: removes for good the runs and experiments deleted longer ago than a threshold, their items
 * and their artifacts (shared/store/purge/purge.ts, the same code the deployed daily purge runs).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { readPublishedEndpoint } from '../../local/data-dir-endpoint.js';
import { isAlive } from '../../local/data-dir-lock.js';
import { LOCAL_BUCKET_NAME } from '../../local/server.js';
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type RunningStandIn,
  standInSocketDir,
  startS3rver,
} from '../../local/stand-ins.js';
import { endpointOptions } from '../../shared/store/clients.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { type PurgeEvent, parseAge, purgeDeleted } from '../../shared/store/purge/purge.js';
import { reportFailure, TARGET_OPTIONS, withTarget } from '../target.js';
import { TokenStoreUnavailableError } from '../token-stores.js';
import { UsageError, usage } from '../usage.js';

/** The API stack's output naming where artifacts live: `s3://<bucket>/<key prefix>`. */
export const ARTIFACT_LOCATION_OUTPUT = 'CairnArtifactLocation';

const DEFAULT_OLDER_THAN = '30d';

export async function gc(args: string[]): Promise<number> {
  try {
    return await gcCommand(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`cairn: ${error.message}\n`);
      return usage(2);
    }
    return reportFailure(error);
  }
}

async function gcCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_OPTIONS,
      'older-than': { type: 'string' },
      'experiment-ids': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return usage(0);
  // On a deployment, a purge with no threshold written down is too easy to start by mistake.
  if (values.stack !== undefined && values['older-than'] === undefined && !values.yes && !values['dry-run']) {
    throw new UsageError(
      `on a stack, say how old a delete must be (--older-than ${DEFAULT_OLDER_THAN}), or pass --yes for the default ${DEFAULT_OLDER_THAN}`,
    );
  }
  const olderThanText = values['older-than'] ?? DEFAULT_OLDER_THAN;
  const olderThanMs = parseAge(olderThanText);
  if (olderThanMs === undefined) {
    throw new UsageError(
      `--older-than must be a number of days, hours or minutes (30d, 12h, 90m), not '${olderThanText}'`,
    );
  }
  const experimentIds = values['experiment-ids']
    ?.split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  if (experimentIds?.some((id) => !/^\d{1,19}$/.test(id))) {
    throw new UsageError(
      `--experiment-ids takes experiment ids separated by commas, not '${values['experiment-ids']}'`,
    );
  }
  const dryRun = values['dry-run'];
  // With --stack this runs with the operator's own AWS credentials (the usual chain): it needs
  // cloudformation:DescribeStacks; dynamodb:Query, GetItem, UpdateItem, DeleteItem and BatchWriteItem on the
  // table; s3:ListBucket and s3:DeleteObject on the artifact bucket.
  return withTarget(values, async (store) => {
    const artifacts =
      values.stack !== undefined
        ? await stackArtifacts(values.stack, values.region)
        : await localArtifacts(resolve(values['data-dir'] ?? (process.env.CAIRN_DATA_DIR || './cairn-data')));
    try {
      const report = await purgeDeleted(
        {
          doc: createDocumentClient(store.client),
          tableName: store.tableName,
          s3: artifacts.s3,
          bucket: artifacts.bucket,
          keyPrefix: artifacts.keyPrefix,
        },
        {
          olderThanMs,
          dryRun,
          ...(experimentIds ? { experimentIds } : {}),
          progress: (event) => console.log(describe(event, dryRun)),
        },
      );
      const would = dryRun ? 'Would purge' : 'Purged';
      console.log(
        `${would} ${report.runs} runs, ${report.experiments} experiments, ${report.loggedModels} logged models and ${report.traces} traces deleted before ${new Date(report.cutoff).toISOString()} (older than ${olderThanText}) in ${store.where}: ${report.items} items, ${report.objects} artifact objects, ${formatBytes(report.bytes)}.`,
      );
      if (report.kept.length > 0) {
        console.log(`Kept ${report.kept.length} (registered model versions use them); see "kept" above.`);
      }
      if (report.stamped.length > 0) {
        console.log(
          `${report.stamped.length} deleted runs had no deleted time (deleted by an earlier Cairn): ${dryRun ? 'they would be' : 'they are now'} marked deleted as of now, and purged once that is older than ${olderThanText}.`,
        );
      }
      if (dryRun) console.log('Dry run: nothing was changed.');
      return 0;
    } finally {
      await artifacts.close();
    }
  });
}

function describe(event: PurgeEvent, dryRun: boolean): string {
  const verb = dryRun ? 'would purge' : 'purged';
  switch (event.kind) {
    case 'run':
      return `${verb} run ${event.runId} (experiment ${event.experimentId}): ${event.items} items, ${event.objects} objects, ${formatBytes(event.bytes)}`;
    case 'experiment':
      return `${verb} experiment ${event.experimentId} '${event.name}'`;
    case 'kept':
      return `kept ${event.what} ${event.id}: ${event.reason}`;
    case 'stamped':
      return `run ${event.runId} (experiment ${event.experimentId}) has no deleted time: ${dryRun ? 'would mark it' : 'marked'} deleted now`;
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

interface ArtifactTarget {
  s3: S3Client;
  bucket: string;
  keyPrefix: string;
  close(): Promise<void>;
}

/** The stack's bucket and key prefix, from its `CairnArtifactLocation` output. */
async function stackArtifacts(stackName: string, region: string | undefined): Promise<ArtifactTarget> {
  const config = region ? { region } : {};
  const cloudFormation = new CloudFormationClient(config);
  let location: string | undefined;
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    location = Stacks?.[0]?.Outputs?.find(
      (output) => output.OutputKey === ARTIFACT_LOCATION_OUTPUT,
    )?.OutputValue;
  } finally {
    cloudFormation.destroy();
  }
  const match = location ? /^s3:\/\/([^/]+)\/(.*)$/.exec(location) : null;
  if (!match) {
    throw new TokenStoreUnavailableError(
      `The stack '${stackName}' has no ${ARTIFACT_LOCATION_OUTPUT} output: deploy this version of Cairn first.`,
    );
  }
  const s3 = new S3Client({ ...config, requestChecksumCalculation: 'WHEN_REQUIRED' });
  return { s3, bucket: match[1] as string, keyPrefix: match[2] as string, close: async () => s3.destroy() };
}

/**
 * The data directory's s3rver: the running server's (the socket it published), or one started here on
 * the same files when no server runs (withTarget then holds the directory's lock).
 */
async function localArtifacts(dataDir: string): Promise<ArtifactTarget> {
  const client = (socketPath: string) =>
    new S3Client({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      forcePathStyle: true,
      ...endpointOptions(undefined, socketPath),
    });
  const published = readPublishedEndpoint(dataDir);
  if (published && isAlive(published.pid)) {
    if (!published.s3Socket) {
      throw new TokenStoreUnavailableError(
        `The server running on ${dataDir} (pid ${published.pid}) is from an earlier Cairn and does not say where its artifacts are: stop it, or restart it with this version, and run cairn gc again.`,
      );
    }
    const s3 = client(published.s3Socket);
    return { s3, bucket: LOCAL_BUCKET_NAME, keyPrefix: '', close: async () => s3.destroy() };
  }
  if (!existsSync(dataDir)) throw new TokenStoreUnavailableError(`No Cairn data in ${dataDir}.`);
  const sockets = standInSocketDir(dataDir);
  let standIn: RunningStandIn | undefined;
  try {
    standIn = await startS3rver(dataDir, LOCAL_BUCKET_NAME, join(sockets.dir, 'gc-s3.sock'));
  } catch (error) {
    sockets.remove();
    throw error;
  }
  const running = standIn;
  const s3 = client(running.socketPath as string);
  return {
    s3,
    bucket: LOCAL_BUCKET_NAME,
    keyPrefix: '',
    close: async () => {
      s3.destroy();
      await running.close();
      sockets.remove();
    },
  };
}
