/**
 * Trace info in the one table: one item per trace (`TRACE#<trace_id>`), indexed per experiment in time
 * order on gsi1 (`EXPTRACES#<experiment_id>`). Every write is a single UpdateItem: spans arriving over
 * OTLP create the item (or leave the client's info alone), the client's trace info then sets it, and tags,
 * metadata and assessments are maps inside it, changed key by key. No read before a write, so one traced
 * call costs the client's export plus one or two writes (and an experiment read, cached per container).
 *
 * Items carry `expires_at` (the table's TTL attribute); an item past it reads as absent here, since DynamoDB
 * deletes expired items lazily and the local stand-in never does.
 *
 * A link to a run (`linked_run`) may come before the trace does: the stock client links a trace to its run
 * while its asynchronous export is still on the way. The link is upserted into the trace's item as an
 * attribute of its own, which the trace's writes never touch, so it survives them; until the trace itself
 * arrives (`experiment_id` set) the item is link-only and reads as absent, and it expires like a trace would.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { SOURCE_RUN_METADATA, type TraceInfo, type TraceState } from '../../domain/traces/model.js';
import type {
  ListedTrace,
  SpanSummary,
  StoreInfoOutcome,
  TraceRepository,
} from '../../domain/traces/service.js';
import { InvalidParameterValueError } from '../../errors.js';
import { batchGetAll, sendIfCondition } from '../doc-commands.js';
import {
  approximateItemBytes,
  fromStoredMap,
  ITEM_BYTES_BUDGET,
  isConditionFailure,
  storedKey,
  toStoredMap,
} from '../items.js';
import { keyConditions, keys, TIME_TO_LIVE_ATTRIBUTE } from '../keys.js';

export interface TraceItem {
  pk: string;
  sk: string;
  trace_id: string;
  experiment_id: string;
  request_time?: number;
  duration_ms?: number;
  state?: TraceState;
  client_request_id?: string;
  request_preview?: string;
  response_preview?: string;
  metadata?: Record<string, string>;
  tags?: Record<string, string>;
  /** Assessment JSON by id. */
  assessments?: Record<string, string>;
  root_name?: string;
  /** The run `link-to-run` named last: read as metadata `mlflow.sourceRun`, over what the info said. */
  linked_run?: string;
  info?: boolean;
  /** Spans arrived over OTLP. */
  spans?: boolean;
  /** An MLflow 2 client's trace: its spans are the uploaded `traces.json`. */
  spans_artifact?: boolean;
  expires_at?: number;
  gsi1pk?: string;
  gsi1sk?: string;
}

export class TraceInOtherExperimentError extends InvalidParameterValueError {
  constructor(traceId: string) {
    super(`Trace '${traceId}' already exists in another experiment; a trace belongs to one experiment.`);
  }
}

const EMPTY = {};

/** DynamoDB's (and dynalite's) answer to an update that would take an item past 400 KB. */
function isItemTooLarge(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'ValidationException' &&
    /item size .*exceeded the maximum allowed size/i.test(error.message)
  );
}

export function toTraceInfo(item: TraceItem): TraceInfo {
  const metadata = fromStoredMap(item.metadata);
  // A link is the later word: the info's own `mlflow.sourceRun` is what the client knew when it exported.
  if (item.linked_run !== undefined) metadata[SOURCE_RUN_METADATA] = item.linked_run;
  const info: TraceInfo = {
    traceId: item.trace_id,
    experimentId: item.experiment_id,
    requestTime: item.request_time ?? 0,
    state: item.state ?? 'STATE_UNSPECIFIED',
    metadata,
    tags: fromStoredMap(item.tags),
    assessments: Object.fromEntries(
      Object.entries(fromStoredMap(item.assessments)).map(([id, json]) => [id, JSON.parse(json)]),
    ),
    infoStored: item.info === true,
    // Items written before `spans` was recorded carry a root span's name whenever spans came.
    spansRecorded: item.spans === true || item.root_name !== undefined,
  };
  if (item.spans_artifact === true) info.spansInArtifact = true;
  if (item.duration_ms !== undefined) info.durationMs = item.duration_ms;
  if (item.client_request_id !== undefined) info.clientRequestId = item.client_request_id;
  if (item.request_preview !== undefined) info.requestPreview = item.request_preview;
  if (item.response_preview !== undefined) info.responsePreview = item.response_preview;
  if (item.root_name !== undefined) info.rootSpanName = item.root_name;
  return info;
}

export class DynamoTraceRepository implements TraceRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: () => number = Date.now,
  ) {}

  /** A trace that has arrived (not a link-only item) and has not expired. */
  private live(item: TraceItem | undefined): item is TraceItem {
    return (
      item !== undefined &&
      item.experiment_id !== undefined &&
      (item.expires_at === undefined || item.expires_at * 1000 > this.clock())
    );
  }

  /** Creates the trace from its spans, or updates what spans may say about it; one UpdateItem. */
  async recordSpans(
    experimentId: string,
    traceId: string,
    summary: SpanSummary,
    expiresAt: number,
  ): Promise<void> {
    const values: Record<string, unknown> = {
      ':id': traceId,
      ':exp': experimentId,
      ':ttl': expiresAt,
      ':gpk': keys.experimentTracesPartition(experimentId),
      ':empty': EMPTY,
      ':no': false,
      ':yes': true,
    };
    const sets = [
      'trace_id = :id',
      'experiment_id = :exp',
      'gsi1pk = :gpk',
      '#ttl = if_not_exists(#ttl, :ttl)',
      'tags = if_not_exists(tags, :empty)',
      'metadata = if_not_exists(metadata, :empty)',
      'assessments = if_not_exists(assessments, :empty)',
      'info = if_not_exists(info, :no)',
      'spans = :yes',
    ];
    const root = summary.root;
    if (root) {
      // The root span is what the client's own trace info is computed from: the same time, name and state.
      values[':t'] = root.startMs;
      values[':sk'] = keys.traceListing(experimentId, root.startMs, traceId).gsi1sk;
      values[':name'] = root.name;
      values[':state'] = root.state;
      sets.push('request_time = :t', 'gsi1sk = :sk', 'root_name = :name', '#state = :state');
      if (root.durationMs !== undefined) {
        values[':d'] = root.durationMs;
        sets.push('duration_ms = :d');
      }
    } else {
      values[':t'] = summary.earliestStartMs;
      values[':sk'] = keys.traceListing(experimentId, summary.earliestStartMs, traceId).gsi1sk;
      values[':state'] = 'IN_PROGRESS';
      sets.push(
        'request_time = if_not_exists(request_time, :t)',
        'gsi1sk = if_not_exists(gsi1sk, :sk)',
        '#state = if_not_exists(#state, :state)',
      );
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.trace(traceId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          // A link-only item (no experiment yet) is a trace not yet arrived: the spans create it.
          ConditionExpression: 'attribute_not_exists(experiment_id) OR experiment_id = :exp',
          ExpressionAttributeNames: { '#ttl': TIME_TO_LIVE_ATTRIBUTE, '#state': 'state' },
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new TraceInOtherExperimentError(traceId);
      throw error;
    }
  }

  /**
   * Stores the client's trace info (start_trace), keeping assessments and what spans said. With
   * `mustExist`, only over an item the spans already created in the same experiment (so no experiment read
   * is needed); otherwise it may create the item.
   */
  async storeInfo(
    info: Omit<TraceInfo, 'infoStored' | 'assessments' | 'spansRecorded'>,
    expiresAt: number,
    mustExist: boolean,
  ): Promise<StoreInfoOutcome> {
    const listing = keys.traceListing(info.experimentId, info.requestTime, info.traceId);
    const values: Record<string, unknown> = {
      ':id': info.traceId,
      ':exp': info.experimentId,
      ':t': info.requestTime,
      ':state': info.state,
      ':tags': toStoredMap(info.tags),
      ':metadata': toStoredMap(info.metadata),
      ':yes': true,
      ':ttl': expiresAt,
      ':empty': EMPTY,
      ':gpk': listing.gsi1pk,
      ':sk': listing.gsi1sk,
    };
    const sets = [
      'trace_id = :id',
      'experiment_id = :exp',
      'request_time = :t',
      '#state = :state',
      'tags = :tags',
      'metadata = :metadata',
      'info = :yes',
      '#ttl = if_not_exists(#ttl, :ttl)',
      'assessments = if_not_exists(assessments, :empty)',
      'gsi1pk = :gpk',
      'gsi1sk = :sk',
    ];
    if (info.spansInArtifact === true) sets.push('spans_artifact = :yes');
    const removes: string[] = [];
    const optional: [string, string, unknown][] = [
      ['duration_ms', ':d', info.durationMs],
      ['client_request_id', ':crid', info.clientRequestId],
      ['request_preview', ':rq', info.requestPreview],
      ['response_preview', ':rs', info.responsePreview],
    ];
    for (const [attribute, placeholder, value] of optional) {
      if (value === undefined) removes.push(attribute);
      else {
        values[placeholder] = value;
        sets.push(`${attribute} = ${placeholder}`);
      }
    }
    const size = approximateItemBytes(values);
    if (size > ITEM_BYTES_BUDGET) {
      throw new InvalidParameterValueError(
        `Trace ${info.traceId}'s info (tags, metadata, previews) would take about ${size} bytes, beyond the ${ITEM_BYTES_BUDGET}-byte limit of a trace's info.`,
      );
    }
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.trace(info.traceId),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: mustExist
            ? 'attribute_exists(pk) AND experiment_id = :exp'
            : 'attribute_not_exists(experiment_id) OR experiment_id = :exp',
          ExpressionAttributeNames: { '#ttl': TIME_TO_LIVE_ATTRIBUTE, '#state': 'state' },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { kind: 'stored', info: toTraceInfo(Attributes as TraceItem) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return mustExist ? { kind: 'absent' } : { kind: 'other-experiment' };
    }
  }

  async get(traceId: string): Promise<TraceInfo | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.trace(traceId), ConsistentRead: true }),
    );
    return this.live(Item as TraceItem | undefined) ? toTraceInfo(Item as TraceItem) : undefined;
  }

  /** The live traces among `traceIds`, in the order asked. */
  async batchGet(traceIds: readonly string[]): Promise<TraceInfo[]> {
    const unique = [...new Set(traceIds)];
    const items = await batchGetAll<TraceItem>(this.doc, this.tableName, unique.map(keys.trace), {
      consistent: true,
    });
    const byId = new Map(
      items.filter((item) => this.live(item)).map((item) => [item.trace_id, toTraceInfo(item)]),
    );
    return unique.flatMap((id) => {
      const info = byId.get(id);
      return info ? [info] : [];
    });
  }

  /**
   * An experiment's traces in time order, one DynamoDB page at a time, starting strictly after `after`
   * (a sort key this method returned). Callers stop reading when their page is full: O(page), not O(traces).
   */
  async *listByTime(
    experimentId: string,
    descending: boolean,
    after: string | undefined,
    pageSize: number,
  ): AsyncGenerator<ListedTrace> {
    const partition = keys.experimentTracesPartition(experimentId);
    // Sort keys are hex and `#`, all above `!` and below `~`: the open ends of either range (DynamoDB refuses
    // an empty string in a key condition, which dynalite lets through).
    const [from, to] = after === undefined ? ['!', '~'] : descending ? ['!', after] : [after, '~'];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          ...keyConditions.indexBetween('gsi1', partition, from, to),
          ScanIndexForward: !descending,
          Limit: pageSize,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of (page.Items ?? []) as TraceItem[]) {
        if (item.gsi1sk === after || !this.live(item)) continue;
        yield { info: toTraceInfo(item), sortKey: item.gsi1sk as string };
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  async setTag(traceId: string, key: string, value: string): Promise<boolean> {
    return this.updateExisting(traceId, 'SET tags.#k = :v', { '#k': storedKey(key) }, { ':v': value });
  }

  async deleteTag(traceId: string, key: string): Promise<boolean> {
    return this.updateExisting(traceId, 'REMOVE tags.#k', { '#k': storedKey(key) }, {});
  }

  /** Sets each assessment by id in one UpdateItem, so an override and the overridden one change together. */
  async putAssessments(
    traceId: string,
    assessments: Readonly<Record<string, Record<string, unknown>>>,
  ): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    for (const [index, [assessmentId, assessment]] of Object.entries(assessments).entries()) {
      const json = JSON.stringify(assessment);
      if (json.length > ITEM_BYTES_BUDGET / 4) {
        throw new InvalidParameterValueError(
          `The assessment is ${json.length} bytes as JSON; an assessment may take at most ${ITEM_BYTES_BUDGET / 4}.`,
        );
      }
      names[`#k${index}`] = storedKey(assessmentId);
      values[`:v${index}`] = json;
      sets.push(`assessments.#k${index} = :v${index}`);
    }
    return this.updateExisting(traceId, `SET ${sets.join(', ')}`, names, values);
  }

  /** Removes the assessment and, in the same UpdateItem, sets `restored` (the one it overrode). */
  async deleteAssessment(
    traceId: string,
    assessmentId: string,
    restored?: { assessmentId: string; assessment: Record<string, unknown> },
  ): Promise<boolean> {
    if (!restored) {
      return this.updateExisting(traceId, 'REMOVE assessments.#k', { '#k': storedKey(assessmentId) }, {});
    }
    return this.updateExisting(
      traceId,
      'REMOVE assessments.#k SET assessments.#r = :r',
      { '#k': storedKey(assessmentId), '#r': storedKey(restored.assessmentId) },
      { ':r': JSON.stringify(restored.assessment) },
    );
  }

  /**
   * Links the trace to the run, whether or not the trace has arrived: one UpdateItem that creates a
   * link-only item if need be, expiring at `expiresAt` unless the trace already set its expiry. With
   * `expected`, only while the trace is as the caller saw it: in that experiment, or (undefined) not
   * arrived; false when it changed meanwhile.
   */
  async linkRun(
    traceId: string,
    runId: string,
    expiresAt: number,
    expected?: { experimentId: string | undefined },
  ): Promise<boolean> {
    const now = Math.floor(this.clock() / 1000);
    const condition =
      expected === undefined
        ? {}
        : expected.experimentId === undefined
          ? {
              // Absent as readers see it: never arrived, or expired and not yet deleted.
              ConditionExpression: 'attribute_not_exists(experiment_id) OR #ttl <= :now',
              ExpressionAttributeValues: { ':now': now },
            }
          : {
              ConditionExpression: 'experiment_id = :exp AND (attribute_not_exists(#ttl) OR #ttl > :now)',
              ExpressionAttributeValues: { ':now': now, ':exp': expected.experimentId },
            };
    return sendIfCondition(
      this.doc,
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.trace(traceId),
        UpdateExpression: 'SET linked_run = :run, #ttl = if_not_exists(#ttl, :ttl)',
        ...condition,
        ExpressionAttributeNames: { '#ttl': TIME_TO_LIVE_ATTRIBUTE },
        ExpressionAttributeValues: {
          ...condition.ExpressionAttributeValues,
          ':run': runId,
          ':ttl': expiresAt,
        },
      }),
    );
  }

  private async updateExisting(
    traceId: string,
    expression: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.trace(traceId),
          UpdateExpression: expression,
          ConditionExpression:
            'attribute_exists(experiment_id) AND (attribute_not_exists(#ttl) OR #ttl > :now)',
          ExpressionAttributeNames: { ...names, '#ttl': TIME_TO_LIVE_ATTRIBUTE },
          ExpressionAttributeValues: { ...values, ':now': Math.floor(this.clock() / 1000) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      // The update is refused whole, so nothing is half-written: the trace keeps what it had.
      if (isItemTooLarge(error)) {
        throw new InvalidParameterValueError(
          `Trace ${traceId}'s tags, metadata and assessments would take more than DynamoDB's 400 KB item limit; delete some before adding more.`,
        );
      }
      throw error;
    }
  }

  /** Deletes the trace's item if it is in `experimentId`; true when it was there to delete. */
  async delete(experimentId: string, traceId: string): Promise<boolean> {
    return sendIfCondition(
      this.doc,
      new DeleteCommand({
        TableName: this.tableName,
        Key: keys.trace(traceId),
        ConditionExpression: 'experiment_id = :exp',
        ExpressionAttributeValues: { ':exp': experimentId },
      }),
    );
  }
}
