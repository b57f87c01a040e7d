/**
 * `cairn gc`: removes for good the runs and experiments deleted longer ago than a threshold, their items
 * and their artifacts (shared/store/purge/purge.ts, the same code the deployed daily purge runs).
 */
import { parseArgs } from 'node:util';
import { formatBytes } from '../../shared/import/convert.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { type PurgeEvent, parseAge, purgeDeleted } from '../../shared/store/purge/purge.js';
import { openArtifactTarget } from '../artifact-target.js';
import { reportFailure, TARGET_OPTIONS, withTarget } from '../target.js';
import { UsageError, usage } from '../usage.js';

const DEFAULT_OLDER_THAN = '30d';

export async function gc(args: string[]): Promise<number> {
  try {
    return await gcCommand(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`cairn: ${error.message}\n`);
      return usage(2, 'gc');
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
    const artifacts = await openArtifactTarget(values, 'gc');
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
        console.log(
          `Kept ${report.kept.length} (registered model versions use them, or restored); see "kept" above.`,
        );
      }
      if (report.stamped.length > 0) {
        console.log(
          `${report.stamped.length} deleted runs had no deleted time (deleted by an earlier Cairn): ${dryRun ? 'they would be' : 'they are now'} marked deleted as of now, and purged once that is older than ${olderThanText}.`,
        );
      }
      if (dryRun) console.log('Dry run: nothing was changed.');
      for (const id of report.unknownExperiments) {
        console.error(`No experiment with id ${id} in ${store.where} (never created, or purged already).`);
      }
      return report.unknownExperiments.length > 0 ? 1 : 0;
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
