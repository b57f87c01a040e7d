/**
 * The daily purge (EventBridge Scheduler invokes it once a day): removes for good what was deleted more
 * than CAIRN_PURGE_AFTER_DAYS days ago, with the same code as `cairn gc` (shared/store/purge/purge.ts).
 * Env: CAIRN_TABLE_NAME, CAIRN_ARTIFACT_BUCKET, CAIRN_ARTIFACT_KEY_PREFIX, CAIRN_PURGE_AFTER_DAYS.
 *
 * Time-boxed: it starts no new run, model or trace once less than STOP_BEFORE_TIMEOUT_MS of its time is
 * left, and answers `complete: false`; the next day's invocation carries on from what is left (a purge
 * resumes by design: whatever is half-purged is still listed and finished first). It does not re-invoke
 * itself: a backlog larger than a day's run drains over days at no risk of an invocation loop, and
 * the log line says so.
 */
import { loadConfig } from '../../shared/config.js';
import { createDynamoClient } from '../../shared/store/clients.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { createS3Client } from '../../shared/store/s3-clients.js';
import { createPurgeHandler } from './purge-handler.js';

function purgeDays(raw: string | undefined): number {
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 1)
    throw new Error(`CAIRN_PURGE_AFTER_DAYS must be a whole number of days ≥ 1, not ${raw}`);
  return days;
}

const config = loadConfig();
if (!config.artifactBucket) throw new Error('CAIRN_ARTIFACT_BUCKET is not set');

export const handler = createPurgeHandler(
  {
    doc: createDocumentClient(createDynamoClient(config)),
    tableName: config.tableName,
    s3: createS3Client(config),
    bucket: config.artifactBucket,
    keyPrefix: config.artifactKeyPrefix,
  },
  purgeDays(process.env.CAIRN_PURGE_AFTER_DAYS),
);
