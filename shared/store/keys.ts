/**
 * The only module that knows how items are keyed (design decision 5). The table's physical layout is
 * declared here too, so the CDK table, the local stand-in's table and the code cannot disagree.
 *
 * Access patterns (no Scan on any request path):
 *
 * | Pattern                        | Where  | Key condition                                          | Notes                                     |
 * |--------------------------------|--------|--------------------------------------------------------|-------------------------------------------|
 * | Experiment by id               | table  | pk = `EXP#<id>`, sk = `EXP`                              | GetItem, strongly consistent               |
 * | Experiment id by name          | table  | pk = `EXPNAME#<name>`, sk = `EXPNAME`                    | the name claim; unique by conditional put |
 * | All experiments                | gsi1   | gsi1pk = `EXPERIMENTS`                                  | Query, sorted by id; search filters after |
 * | Next experiment id             | table  | pk = `COUNTER#EXPERIMENT`, sk = `COUNTER`                | atomic ADD                                |
 * | Run by id                      | table  | pk = `RUN#<run_id>`, sk = `RUN`                          | info, params, tags, dataset inputs         |
 * | Latest metrics + unsealed tail | table  | pk = `RUN#<run_id>`, sk = `LATEST`                       | read-modify-write under a version number  |
 * | Latest metrics of a wide run   | table  | pk = `RUN#<run_id>`, sk = `LG#<groups>#<group>`          | a spilled LATEST's `m`, by key hash; each under its own version; not indexed (latest-groups.ts) |
 * | Runs of an experiment          | gsi1   | gsi1pk = `EXPRUNS#<experiment_id>#<shard>`              | RUN items; RUN_SHARDS partitions, queried in parallel |
 * | … by start time                | gsi1   | same, gsi1sk = `<A\|D>#<start>#<run_id>`                | RUN items by lifecycle, then start time (listing pages) |
 * | … by name                      | gsi1   | gsi1pk = `EXPRUNN#<experiment_id>#<shard>`, gsi1sk = `<A\|D>#<hex of name>.<−start>#<run_id>` | ORDER items (pk `RUN#<run_id>`, sk `ORDER`), one per run |
 * | … by end time                  | gsi2   | gsi2pk = `EXPRUNE#<experiment_id>#<shard>`, gsi2sk = `<A\|D>#V#<end>#<run_id>` or `<A\|D>#N#<start>#<run_id>` | ORDER items; runs without an end time (N) by start time |
 * | Latest metrics of its runs     | gsi2   | gsi2pk = `EXPRUNS#<experiment_id>#<shard>`              | LATEST items, joined to runs by run id    |
 * | … of its open runs             | gsi2   | gsi2pk = `EXPOPEN#<experiment_id>#<shard>`              | LATEST items of runs without an end time (marked `value_index`) |
 * | Ended runs by a metric's value | gsi1   | gsi1pk = `EXPMV#<experiment_id>#<key hash>#<shard>`, gsi1sk = `<A\|D>#V#<value>#<run_id>` or `<A\|D>#X#<run_id>` (NaN) | value entries (pk `RUN#<run_id>`, sk `MV#<key>`) |
 * | Runs by a param's value        | gsi1   | gsi1pk = `EXPPV#<experiment_id>#<key hash>#<shard>`, gsi1sk = `<A\|D>#<hex of value>.<run_id>` | value entries (pk `RUN#<run_id>`, sk `PV#<key>`) |
 * | Runs by a tag's value          | gsi1   | gsi1pk = `EXPTV#<experiment_id>#<key hash>#<shard>`, gsi1sk = `<A\|D>#<hex of value>.<run_id>` | value entries (pk `RUN#<run_id>`, sk `TV#<key>`) |
 * | One key's history chunks       | table  | pk = `RUN#<run_id>`, sk begins_with `MC#<key>#`          | sealed, content-addressed, ordered by first (step, timestamp) |
 * | Mixed (many-key) chunks        | table  | pk = `RUN#<run_id>`, sk begins_with `MX#`                | small groups and sealed tails, all keys   |
 * | One key's chunk summaries      | table  | pk = `RUN#<run_id>`, sk begins_with `MS#<key>#`          | min/max/last/count of a large own chunk, same suffix as its `MC#` key (envelopes) |
 * | API token by name              | table  | pk = `TOKENS`, sk = `TOKEN#<name>`                       | GetItem per authorizer call; conditional put/delete |
 * | All API tokens                 | table  | pk = `TOKENS`, sk begins_with `TOKEN#`                   | Query (`cairn token list`, never on a request path) |
 * | Principal by name              | table  | pk = `PRINCIPALS`, sk = `PRINCIPAL#<name>`               | a token's name without its hash: grants check it exists (API functions may not read TOKENS) |
 * | Registered model by id         | table  | pk = `MODEL#<model_id>`, sk = `MODEL`                    | tags, aliases, version counter (atomic ADD) |
 * | Model id by name               | table  | pk = `MODELNAME#<name>`, sk = `MODELNAME`                | the name claim; unique by conditional put |
 * | All registered models          | gsi1   | gsi1pk = `MODELS`                                       | Query; search filters and sorts after     |
 * | One model's versions           | table  | pk = `MODEL#<model_id>`, sk begins_with `V#`             | Query; version numbers zero-padded        |
 * | All model versions             | gsi2   | gsi2pk = `MODELVERSIONS`                                | Query; version search without `name =`    |
 * | Logged model by id             | table  | pk = `LMODEL#<model_id>`, sk = `LMODEL`                  | info, tags, params, latest metrics (MLflow 3) |
 * | Logged models of an experiment | gsi1   | gsi1pk = `EXPMODELS#<experiment_id>`                    | Query; search filters and sorts after     |
 * | Promotion policy of a target   | table  | pk = `POLICY#<model_id>`, sk = `ALIAS#<alias>` or `STAGE#<stage>` | registered model's id, never its name (`cairn policy migrate` moves name-keyed ones) |
 * | Promotion policies of a model  | table  | pk = `POLICY#<model_id>`                                 | Query (policies get; the guard, per promotion) |
 * | Promotion audit of a model     | table  | pk = `PROMOTIONS#<model_id>`, sk = `<time>#<id>`         | one item per decision; Query newest first, paged |
 * | Sealed source of a version     | table  | pk = `RUN#<run_id>` or `LMODEL#<model_id>`, sk = `SEAL#<sha256 of path>` | written when a version is registered or promoted; read with its owner |
 * | Owner + its seals (writes)     | table  | pk = `RUN#<run_id>` (`LMODEL#<id>`), sk BETWEEN `RUN` (`LMODEL`) AND `SEAL$` | one Query per artifact write |
 * | Run summaries of an experiment | table  | pk = `EXPSUM#<experiment_id>#<shard>`, sk = `SEG#<n>`      | compressed rows of ≤ SEGMENT_ROWS runs each; Query strongly consistent (runs/run-summaries.ts) |
| … rows that may be out of date | table  | pk = `EXPSUMMARK#<experiment_id>#<shard>`, sk = `<run_id>#<write>` | a mark per write since the run's row; cleared by compaction |
| Run counters of an experiment  | table  | pk = `EXPSTATS#<experiment_id>#<shard>`, sk = `STATS`    | ADD per run create/move; BatchGet RUN_SHARDS per experiment (experiments page) |
 * | Trace by id                    | table  | pk = `TRACE#<trace_id>`, sk = `TRACE`                    | trace info, tags, metadata, assessments; spans are S3 objects (store/traces) |
 * | Traces of an experiment        | gsi1   | gsi1pk = `EXPTRACES#<experiment_id>`, gsi1sk = `<request time>#<trace_id>` | Query newest or oldest first from a page's position (search_traces, delete by age) |
 * | Registry webhook by id         | table  | pk = `WEBHOOKS`, sk = `WEBHOOK#<webhook_id>`              | GetItem (consistent); conditional put/update/delete |
 * | All registry webhooks          | table  | pk = `WEBHOOKS`, sk begins_with `WEBHOOK#`               | Query newest first (ids are UUIDv7); ≤ 100 items, read whole per registry event |
 *
 * Runs of one experiment are spread over RUN_SHARDS index partitions (by run id) so that a search over
 * a 10,000-run experiment reads several partitions in parallel and never drains one partition's
 * throughput on its own. Listing pages in start-time, end-time or name order read those partitions from
 * the page's position on, in key order (store/runs/run-index.ts): each index sort key is the order's value
 * in an encoding whose string order is the value's order. Name and end-time order live on a small ORDER
 * item beside the RUN item rather than on the RUN item's free gsi2: an index copy costs the whole item's
 * size on every write, and RUN items (params, tags) are large and written often; ORDER items change only
 * on a rename, a move or an end time. Runs stored before these keys existed (gsi1sk = the bare run id,
 * no ORDER item) are still read by full listings; `cairn migrate` rewrites
 * them and marks their experiment (`run_index`), and only marked experiments are listed by the keys.
 * Trace items carry `expires_at` (epoch seconds, TIME_TO_LIVE_ATTRIBUTE): DynamoDB's TTL deletes them after the
 * configured retention, and readers treat an item past it as gone (TTL deletes lazily, the local stand-in never).
 * Two generic GSIs (`gsi1`, `gsi2`, projection ALL) are created with the table because neither
 * dynalite nor an existing local data directory can gain a GSI later (local-stand-ins.md 4.1.3).
 * Items that carry no gsi attributes are not indexed (sparse), so they cost no index writes.
 */

import { createHash } from 'node:crypto';

export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  indexes: [
    { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  ],
} as const;

export type IndexName = (typeof TABLE_KEYS.indexes)[number]['name'];

export interface ItemKey {
  pk: string;
  sk: string;
}

/** Zero-padded so that numeric ids sort as numbers in a string sort key (ids have ≤ 19 digits). */
function padId(id: string): string {
  return id.padStart(20, '0');
}

/**
 * The keys of a run and of a logged model, also exported alone: the artifacts function needs only these,
 * and importing them without `keys` lets its bundle leave the rest of this table out (less to load at init).
 */
export const runKey = (runId: string): ItemKey => ({ pk: `RUN#${runId}`, sk: 'RUN' });
export const loggedModelKey = (modelId: string): ItemKey => ({ pk: `LMODEL#${modelId}`, sk: 'LMODEL' });

/**
 * A registered version's sealed source: an item in its owner's (run's or logged model's) partition, so that
 * the artifacts function reads the owner and every seal under it with one Query (`sealRange`). The path
 * is hashed into the sort key (a path may be 1,024 bytes, as long as a sort key may be) and kept in the
 * item's `path`; '' seals the owner's whole artifact root.
 */
export const SEAL_PREFIX = 'SEAL#';
export const artifactSealKey = (ownerKey: ItemKey, relative: string): ItemKey => ({
  pk: ownerKey.pk,
  sk: `${SEAL_PREFIX}${createHash('sha256').update(relative).digest('hex')}`,
});
/**
 * The sort-key range holding an owner's item and its seals: the owner's sk (`RUN`, `LMODEL`) sorts below
 * `SEAL#`, and `SEAL$` just above every `SEAL#...`; nothing else in these partitions sorts in between
 * (`LATEST`, `LG#`, `MC#`, `MS#`, `MX#` sort below `RUN`).
 */
export const sealRange = (ownerKey: ItemKey) => ({ from: ownerKey.sk, to: 'SEAL$' });

export const keys = {
  experiment: (experimentId: string): ItemKey => ({ pk: `EXP#${experimentId}`, sk: 'EXP' }),
  experimentListing: (experimentId: string) => ({
    gsi1pk: 'EXPERIMENTS',
    gsi1sk: `EXP#${padId(experimentId)}`,
  }),
  allExperimentsPartition: 'EXPERIMENTS',
  experimentName: (name: string): ItemKey => ({ pk: `EXPNAME#${name}`, sk: 'EXPNAME' }),
  experimentCounter: (): ItemKey => ({ pk: 'COUNTER#EXPERIMENT', sk: 'COUNTER' }),
  run: runKey,
  /** A RUN item's index keys: start-time order (gsi1). */
  runListing: (run: RunOrderFields) => ({
    gsi1pk: experimentRunsPartition(run.experimentId, shardOf(run.runId)),
    gsi1sk: `${lifecycleMark(run.lifecycleStage)}#${sortableNumber(run.startTime)}#${run.runId}`,
  }),
  /** A run's ORDER item: its place in name order (gsi1) and end-time order (gsi2), beside its RUN item. */
  runOrder: (runId: string): ItemKey => ({ pk: `RUN#${runId}`, sk: 'ORDER' }),
  runOrderListing: (run: RunOrderFields & { runName: string }) => ({
    gsi1pk: `${RUN_NAME_PREFIX}${run.experimentId}#${shardOf(run.runId)}`,
    // Then start time descending (MLflow's tie-break after a name), so a name's runs read in order.
    gsi1sk: `${lifecycleMark(run.lifecycleStage)}#${sortableName(run.runName)}${NAME_END}${sortableNumber(-run.startTime)}#${run.runId}`,
    gsi2pk: `${RUN_END_PREFIX}${run.experimentId}#${shardOf(run.runId)}`,
    gsi2sk:
      run.endTime === undefined
        ? `${lifecycleMark(run.lifecycleStage)}#N#${sortableNumber(run.startTime)}#${run.runId}`
        : `${lifecycleMark(run.lifecycleStage)}#V#${sortableNumber(run.endTime)}#${run.runId}`,
  }),
  /**
   * The index partitions holding one experiment's runs in one order, per shard; `sk` prefixes select a
   * lifecycle stage (and, for end time, runs with (V) or without (N) one).
   */
  runOrderPartitions: (experimentId: string, order: RunIndexOrder): string[] =>
    Array.from({ length: RUN_SHARDS }, (_, shard) =>
      order === 'start_time'
        ? experimentRunsPartition(experimentId, shard)
        : `${order === 'end_time' ? RUN_END_PREFIX : RUN_NAME_PREFIX}${experimentId}#${shard}`,
    ),
  runLatest: (runId: string): ItemKey => ({ pk: `RUN#${runId}`, sk: 'LATEST' }),
  /**
   * One of a wide run's latest-value groups (runs/latest-groups.ts): `groups` is the count LATEST's `lg`
   * names, so a regrouping writes new items beside the old and readers follow `lg`.
   */
  runLatestGroup: (runId: string, groups: number, group: number): ItemKey => ({
    pk: `RUN#${runId}`,
    sk: `LG#${groups}#${group}`,
  }),
  /**
   * A LATEST item's index keys. An open run's (no end time yet, in an experiment marked `value_index`) are
   * in `EXPOPEN#…`, so that a metric search reads the few open runs' latest values whole while ended runs
   * answer from their value entries (runMetricValue); an ended run's, and every run's of an unmarked
   * experiment, in `EXPRUNS#…`. Full listings read both.
   */
  runLatestListing: (experimentId: string, runId: string, open = false) => ({
    gsi2pk: open
      ? `${RUN_OPEN_PREFIX}${experimentId}#${shardOf(runId)}`
      : experimentRunsPartition(experimentId, shardOf(runId)),
    gsi2sk: runId,
  }),
  /** The index partitions of an experiment's open runs' LATEST items, per shard (gsi2). */
  runOpenLatestPartitions: (experimentId: string): string[] =>
    Array.from({ length: RUN_SHARDS }, (_, shard) => `${RUN_OPEN_PREFIX}${experimentId}#${shard}`),
  /**
   * A value entry: one key's latest value of an ended run (`MV#<key>`) or one param's value (`PV#<key>`), in
   * the run's partition, indexed (gsi1) by experiment, key and shard, in value order within a lifecycle stage.
   */
  runMetricValue: (runId: string, key: string): ItemKey => ({ pk: `RUN#${runId}`, sk: `MV#${key}` }),
  runParamValue: (runId: string, key: string): ItemKey => keys.runTextValue('param', runId, key),
  /** A tag's value entry (`TV#<key>`): as a param's, but rewritten when the tag is set again, gone with it. */
  runTagValue: (runId: string, key: string): ItemKey => keys.runTextValue('tag', runId, key),
  runTextValue: (kind: 'param' | 'tag', runId: string, key: string): ItemKey => ({
    pk: `RUN#${runId}`,
    sk: `${keys.runValuePrefixes[kind]}${key}`,
  }),
  runValuePrefixes: { metric: 'MV#', param: 'PV#', tag: 'TV#' } as const,
  /**
   * A metric value entry's index keys: `<A|D>#V#<sortable value>#<run_id>` for a number (±Infinity
   * included), `<A|D>#X#<run_id>` for NaN, which MLflow orders after every number in both directions.
   */
  runMetricValueListing: (run: ValueEntryFields, key: string, value: number) => ({
    gsi1pk: `${METRIC_VALUE_PREFIX}${run.experimentId}#${keyHash(key)}#${shardOf(run.runId)}`,
    gsi1sk: Number.isNaN(value)
      ? `${lifecycleMark(run.lifecycleStage)}#X#${run.runId}`
      : `${lifecycleMark(run.lifecycleStage)}#V#${sortableNumber(value)}#${run.runId}`,
  }),
  /**
   * A param value entry's index keys: `<A|D>#<hex of value>.<run_id>` (code-point order, as names; values
   * sharing the first NAME_KEY_BYTES bytes tie in the key and are told apart by the entry's full `v`).
   */
  runParamValueListing: (run: ValueEntryFields, key: string, value: string) =>
    keys.runTextValueListing('param', run, key, value),
  /** A tag value entry's index keys: as a param's (runParamValueListing), in the tag's own partitions. */
  runTagValueListing: (run: ValueEntryFields, key: string, value: string) =>
    keys.runTextValueListing('tag', run, key, value),
  runTextValueListing: (kind: 'param' | 'tag', run: ValueEntryFields, key: string, value: string) => ({
    gsi1pk: `${VALUE_PREFIXES[kind]}${run.experimentId}#${keyHash(key)}#${shardOf(run.runId)}`,
    gsi1sk: `${lifecycleMark(run.lifecycleStage)}#${sortableName(value)}${NAME_END}${run.runId}`,
  }),
  /** One metric's, param's or tag's value-entry index partitions of an experiment, per shard (gsi1). */
  valuePartitions: (experimentId: string, kind: ValueKind, key: string): string[] =>
    Array.from(
      { length: RUN_SHARDS },
      (_, shard) => `${VALUE_PREFIXES[kind]}${experimentId}#${keyHash(key)}#${shard}`,
    ),
  experimentRunsPartitions: (experimentId: string): string[] =>
    Array.from({ length: RUN_SHARDS }, (_, shard) => experimentRunsPartition(experimentId, shard)),
  /**
   * An experiment's run counters, one item per run-index shard (the run's own shard), so that many writers
   * creating runs in one experiment add to RUN_SHARDS items on as many partitions, not to one hot item.
   */
  experimentRunStats: (experimentId: string, shard: number): ItemKey => ({
    pk: `EXPSTATS#${experimentId}#${shard}`,
    sk: 'STATS',
  }),
  experimentRunStatsOfRun: (experimentId: string, runId: string): ItemKey => ({
    pk: `EXPSTATS#${experimentId}#${shardOf(runId)}`,
    sk: 'STATS',
  }),
  /**
   * A write's summary mark (runs/run-summaries.ts): "this run's row in its experiment's summaries may be out
   * of date", one per write that changes what a row holds (`write` is its own token, so no write's mark
   * replaces another's). A plain item in a per-shard partition of the experiment (not in the run's own
   * partition, which a purge deletes), read strongly consistent.
   */
  runSummaryMark: (experimentId: string, runId: string, write: string): ItemKey => ({
    pk: `${SUMMARY_MARK_PREFIX}${experimentId}#${shardOf(runId)}`,
    sk: `${runId}#${write}`,
  }),
  runSummaryMarkPartitions: (experimentId: string): string[] =>
    Array.from({ length: RUN_SHARDS }, (_, shard) => `${SUMMARY_MARK_PREFIX}${experimentId}#${shard}`),
  /** One segment of an experiment's run summaries (compressed rows of many runs of one shard). */
  runSummarySegment: (experimentId: string, shard: number, segment: number): ItemKey => ({
    pk: `${SUMMARY_PREFIX}${experimentId}#${shard}`,
    sk: `SEG#${String(segment).padStart(6, '0')}`,
  }),
  runSummaryPartitions: (experimentId: string): string[] =>
    Array.from({ length: RUN_SHARDS }, (_, shard) => `${SUMMARY_PREFIX}${experimentId}#${shard}`),
  runShard: (runId: string): number => shardOf(runId),
  metricChunk: (runId: string, key: string, first: StepTime, contentId: string): ItemKey => ({
    pk: `RUN#${runId}`,
    sk: `MC#${key}#${sortableStep(first.step)}#${sortableStep(first.timestamp)}#${contentId}`,
  }),
  metricChunkPrefix: (key: string) => `MC#${key}#`,
  /**
   * A chunk's summary (metric envelopes): its sort key is the chunk's with `MS#` for `MC#`, so each names
   * the other and both sort alike.
   */
  metricSummary: (runId: string, key: string, first: StepTime, contentId: string): ItemKey => ({
    pk: `RUN#${runId}`,
    sk: `MS#${key}#${sortableStep(first.step)}#${sortableStep(first.timestamp)}#${contentId}`,
  }),
  metricSummaryPrefix: (key: string) => `MS#${key}#`,
  mixedChunk: (runId: string, first: StepTime, contentId: string): ItemKey => ({
    pk: `RUN#${runId}`,
    sk: `MX#${sortableStep(first.step)}#${sortableStep(first.timestamp)}#${contentId}`,
  }),
  mixedChunkPrefix: 'MX#',
  /** Every token lives in this one partition: the authorizer's IAM policy is limited to it. */
  tokensPartition: 'TOKENS',
  token: (name: string): ItemKey => ({ pk: 'TOKENS', sk: `TOKEN#${name}` }),
  tokenPrefix: 'TOKEN#',
  /**
   * A token's name and scope, never its hash, written and removed with the token: the API functions are
   * denied the TOKENS partition, and a grant must still name a principal that exists.
   */
  principal: (name: string): ItemKey => ({ pk: 'PRINCIPALS', sk: `PRINCIPAL#${name}` }),
  /** A principal's grants (shared/store/permissions), one partition per token name. */
  grantPartition: (principal: string): string => `PERM#${principal}`,
  /** Registered models are keyed by an immutable internal id, so a rename moves no version. */
  registeredModel: (modelId: string): ItemKey => ({ pk: `MODEL#${modelId}`, sk: 'MODEL' }),
  registeredModelListing: (modelId: string) => ({ gsi1pk: 'MODELS', gsi1sk: modelId }),
  allRegisteredModelsPartition: 'MODELS',
  registeredModelName: (name: string): ItemKey => ({ pk: `MODELNAME#${name}`, sk: 'MODELNAME' }),
  registeredModelPartition: (modelId: string) => `MODEL#${modelId}`,
  modelVersion: (modelId: string, version: number): ItemKey => ({
    pk: `MODEL#${modelId}`,
    sk: `V#${padId(String(version))}`,
  }),
  modelVersionPrefix: 'V#',
  modelVersionListing: (modelId: string, version: number) => ({
    gsi2pk: 'MODELVERSIONS',
    gsi2sk: `${modelId}#${padId(String(version))}`,
  }),
  allModelVersionsPartition: 'MODELVERSIONS',
  /** MLflow 3 logged models (`m-<32 hex>`), a different thing from registered models (`MODEL#`). */
  loggedModel: loggedModelKey,
  loggedModelListing: (experimentId: string, modelId: string) => ({
    gsi1pk: `EXPMODELS#${experimentId}`,
    gsi1sk: modelId,
  }),
  experimentLoggedModelsPartition: (experimentId: string) => `EXPMODELS#${experimentId}`,
  /** By the registered model's immutable id: a rename keeps the guard, a reused name does not get it. */
  promotionPolicy: (modelId: string, target: PromotionTargetKey): ItemKey => ({
    pk: `POLICY#${modelId}`,
    sk: `${target.kind === 'alias' ? 'ALIAS' : 'STAGE'}#${target.name}`,
  }),
  promotionPoliciesPartition: (modelId: string) => `POLICY#${modelId}`,
  /** What every policy partition's pk begins with (`cairn policy migrate` finds name-keyed ones by it). */
  promotionPoliciesPartitionPrefix: 'POLICY#',
  /** Time-ordered (epoch ms, zero-padded), then a random id so that simultaneous decisions never collide. */
  promotionAudit: (modelId: string, at: number, id: string): ItemKey => ({
    pk: `PROMOTIONS#${modelId}`,
    sk: `${String(at).padStart(15, '0')}#${id}`,
  }),
  promotionAuditPartition: (modelId: string) => `PROMOTIONS#${modelId}`,
  promotionAuditPartitionPrefix: 'PROMOTIONS#',
  /** A trace (MLflow 3, `tr-<32 hex>`): its info item; its spans are objects under the bucket's `traces/`. */
  trace: (traceId: string): ItemKey => ({ pk: `TRACE#${traceId}`, sk: 'TRACE' }),
  /** A trace's place in its experiment's time order (gsi1): the request time, then the id for ties. */
  traceListing: (experimentId: string, requestTime: number, traceId: string) => ({
    gsi1pk: `EXPTRACES#${experimentId}`,
    gsi1sk: `${sortableNumber(requestTime)}#${traceId}`,
  }),
  experimentTracesPartition: (experimentId: string) => `EXPTRACES#${experimentId}`,
  /** Registry webhooks: few (WEBHOOK_LIMITS.maxWebhooks), so one partition holds them all. */
  webhook: (webhookId: string): ItemKey => ({ pk: 'WEBHOOKS', sk: `WEBHOOK#${webhookId}` }),
  webhooksPartition: 'WEBHOOKS',
  webhookPrefix: 'WEBHOOK#',
} as const;

/**
 * The bucket prefix (under the deployment's artifact key prefix) that every span object and uploaded
 * `traces.json` lives under; the lifecycle rule and the traces function's IAM grant name it. Here rather
 * than in the span store so that infra reads it without importing the S3 client into synth.
 */
export const TRACES_KEY_PREFIX = 'traces/';

/** The table's TTL attribute (epoch seconds): only items that expire carry it (traces). */
export const TIME_TO_LIVE_ATTRIBUTE = 'expires_at';

/** Where a promotion policy applies: an alias, or a stage (canonical MLflow spelling). */
export interface PromotionTargetKey {
  kind: 'alias' | 'stage';
  name: string;
}

/**
 * A chunk's first point's (step, timestamp): chunk keys sort by it, so that history pages can read chunks
 * in order even when every point has step 0 (MLflow's default when a client logs without a step).
 */
export interface StepTime {
  step: number;
  timestamp: number;
}

/** Index partitions per experiment for its runs; see the header. */
/** Partitions of run summaries and of their marks (runs/run-summaries.ts), per experiment and shard. */
const SUMMARY_PREFIX = 'EXPSUM#';
const SUMMARY_MARK_PREFIX = 'EXPSUMMARK#';

export const RUN_SHARDS = 4;

/**
 * The mark (`run_index`) on an experiment item whose runs all carry the order keys below: set on every
 * experiment created since, and by `cairn migrate` once it has rewritten an older experiment's runs.
 */
export const RUN_INDEX_VERSION = 1;

/** The orders runs are indexed in (besides the full listing by run id). */
export type RunIndexOrder = 'start_time' | 'end_time' | 'run_name';

/** What a run's index keys are made of. */
export interface RunOrderFields {
  runId: string;
  experimentId: string;
  lifecycleStage: string;
  startTime: number;
  endTime?: number | undefined;
}

const RUN_END_PREFIX = 'EXPRUNE#';
const RUN_NAME_PREFIX = 'EXPRUNN#';
const RUN_OPEN_PREFIX = 'EXPOPEN#';
const METRIC_VALUE_PREFIX = 'EXPMV#';
const PARAM_VALUE_PREFIX = 'EXPPV#';
const TAG_VALUE_PREFIX = 'EXPTV#';
const VALUE_PREFIXES = { metric: METRIC_VALUE_PREFIX, param: PARAM_VALUE_PREFIX, tag: TAG_VALUE_PREFIX };

/** What a value entry holds: a metric's latest value, a param's or a tag's. */
export type ValueKind = 'metric' | 'param' | 'tag';

/**
 * The mark (`value_index`) on an experiment item whose ended runs all have metric value entries, whose runs
 * all have param value entries and whose open runs' LATEST items are in `EXPOPEN#…`: set on every experiment
 * created since, and by `cairn migrate`. Only marked experiments are searched by value entries.
 */
export const VALUE_INDEX_VERSION = 2;

/**
 * The first `value_index` at which every run also has tag value entries (`TV#<key>`, since 2026-12-07):
 * experiments marked 1 are still searched by their metric and param entries, and tag clauses are checked
 * on the runs read, until `cairn migrate` writes their tag entries and marks them VALUE_INDEX_VERSION.
 */
export const TAG_VALUE_INDEX_VERSION = 2;

/**
 * The mark (`run_summaries`) on an experiment item whose runs all have a summary row or a summary mark
 * (runs/run-summaries.ts): set on every experiment created since, and by `cairn migrate`. Only marked
 * experiments are searched by summaries.
 */
export const RUN_SUMMARIES_VERSION = 1;

/** What a value entry's index keys are made of. */
export interface ValueEntryFields {
  runId: string;
  experimentId: string;
  lifecycleStage: string;
}

/**
 * A metric or param key in an index partition key: keys may hold `#` and be 250 characters long, so the
 * partition names 64 bits of their SHA-256 (the entry's sort key `MV#<key>` / `PV#<key>` keeps the key whole).
 */
function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** `A` (active) or `D` (deleted): the first part of every run order key, so one stage is one key range. */
export function lifecycleMark(stage: string): 'A' | 'D' {
  return stage === 'deleted' ? 'D' : 'A';
}

/**
 * Ends a name in a name-order key: below every hex digit, so a name sorts before the names it is a prefix
 * of, as in code-point order.
 */
export const NAME_END = '.';

/**
 * The longest name prefix (in UTF-8 bytes) a name-order key holds: within a sort key's 1,024 bytes with room
 * for the rest. Runs whose names share it are ordered by their full names after reading (run-index.ts).
 */
export const NAME_KEY_BYTES = 400;

/**
 * A name as lowercase hex of its UTF-8 bytes: byte order is code-point order (MLflow's order for run names),
 * and hex keeps every key character below `~`, which range ends use as "above everything".
 */
export function sortableName(name: string): string {
  return Buffer.from(name, 'utf8').subarray(0, NAME_KEY_BYTES).toString('hex');
}

/**
 * Any finite double as 16 hex digits whose string order is numeric order (the IEEE 754 bits with the sign
 * flipped, all bits flipped for negatives), so start and end times of any magnitude sort as numbers.
 */
export function sortableNumber(value: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value === 0 ? 0 : value);
  let bits = view.getBigUint64(0);
  bits = bits >> 63n === 1n ? ~bits & 0xffff_ffff_ffff_ffffn : bits | (1n << 63n);
  return bits.toString(16).padStart(16, '0');
}

function experimentRunsPartition(experimentId: string, shard: number): string {
  return `EXPRUNS#${experimentId}#${shard}`;
}

/** A stable shard from the run id's last hex digit (run ids are random hex). */
function shardOf(runId: string): number {
  const digit = Number.parseInt(runId.slice(-1), 16);
  return (Number.isNaN(digit) ? runId.length : digit) % RUN_SHARDS;
}

/**
 * Steps are signed safe integers; this maps them to fixed-width strings whose lexical order is their
 * numeric order (offset by 2^53, zero-padded to 17 digits), so chunks sort by their first step.
 */
export function sortableStep(step: number): string {
  return (BigInt(step) + 2n ** 53n).toString().padStart(17, '0');
}

/** The key-condition part of a Query: spread into QueryCommand input, merging `ExpressionAttributeValues`. */
export interface KeyCondition {
  IndexName?: IndexName;
  KeyConditionExpression: string;
  ExpressionAttributeValues: Record<string, string>;
}

/**
 * Every Query's key condition, built here so that no repository spells `pk = :pk` by hand. Value
 * placeholders are `:kpk`, `:ksk1`, `:ksk2`, so a caller's own filter values cannot collide with them.
 */
export const keyConditions = {
  /** Every item of one table partition. */
  partition: (pk: string): KeyCondition => ({
    KeyConditionExpression: 'pk = :kpk',
    ExpressionAttributeValues: { ':kpk': pk },
  }),
  /** The items of one table partition whose sort key begins with `prefix`. */
  prefix: (pk: string, prefix: string): KeyCondition => ({
    KeyConditionExpression: 'pk = :kpk AND begins_with(sk, :ksk1)',
    ExpressionAttributeValues: { ':kpk': pk, ':ksk1': prefix },
  }),
  /** The items of one table partition whose sort key lies in [from, to]. */
  between: (pk: string, from: string, to: string): KeyCondition => ({
    KeyConditionExpression: 'pk = :kpk AND sk BETWEEN :ksk1 AND :ksk2',
    ExpressionAttributeValues: { ':kpk': pk, ':ksk1': from, ':ksk2': to },
  }),
  /** The items of one index partition whose sort key lies in [from, to]. */
  indexBetween: (index: IndexName, partition: string, from: string, to: string): KeyCondition => ({
    IndexName: index,
    KeyConditionExpression: `${index}pk = :kpk AND ${index}sk BETWEEN :ksk1 AND :ksk2`,
    ExpressionAttributeValues: { ':kpk': partition, ':ksk1': from, ':ksk2': to },
  }),
  /** Every item of one index partition. */
  indexPartition: (index: IndexName, partition: string): KeyCondition => ({
    IndexName: index,
    KeyConditionExpression: `${index}pk = :kpk`,
    ExpressionAttributeValues: { ':kpk': partition },
  }),
} as const;

/**
 * A key condition for the low-level client (the token store avoids the document client): its values as
 * DynamoDB string attribute values.
 */
export function asAttributeValues(condition: KeyCondition) {
  return {
    ...condition,
    ExpressionAttributeValues: Object.fromEntries(
      Object.entries(condition.ExpressionAttributeValues).map(([name, value]) => [name, { S: value }]),
    ),
  };
}
