/**
 * Traces: span export over OTLP, the client's trace info, reads, search, tags, assessments, deletes and
 * retention. Plain TypeScript over two stores (trace info in the table, span payloads in the bucket); no
 * AWS imports (design decision 4).
 *
 * Write order keeps a trace whole or absent: an OTLP batch's spans are stored before the info item that
 * makes them findable, and a delete removes the item before the spans (orphaned objects are unreachable
 * and expire with the bucket's lifecycle rule).
 */
import { randomBytes } from 'node:crypto';
import { mapWithLimit } from '../../concurrency.js';
import { InvalidParameterValueError, MlflowError, ResourceDoesNotExistError } from '../../errors.js';
import { decodePageToken, encodePageToken, queryFingerprint } from '../search/page-token.js';
import {
  parseStartTrace,
  type TraceInfo,
  type TraceState,
  traceIdFromOtelHex,
  traceInfoJson,
  validateTag,
  validateTraceId,
} from './model.js';
import { decodeOtlpBody, nanosToMillis, type OtelSpan, otelTraceHex } from './otlp.js';
import { compareTraces, compileTraceFilter, isTimeOrder, parseTraceOrder } from './search.js';
import {
  parseEndTraceV2,
  parseStartTraceV2,
  TRACE_DATA_FILE,
  traceDataJson,
  traceDataV3Json,
  traceInfoV2Json,
} from './v2.js';

export interface ListedTrace {
  info: TraceInfo;
  sortKey: string;
}

export interface SpanSummary {
  root?: { name: string; startMs: number; durationMs?: number; state: TraceState };
  earliestStartMs: number;
}

export type StoreInfoOutcome =
  | { kind: 'stored'; info: TraceInfo }
  | { kind: 'absent' }
  | { kind: 'other-experiment' };

export interface TraceRepository {
  recordSpans(experimentId: string, traceId: string, summary: SpanSummary, expiresAt: number): Promise<void>;
  storeInfo(
    info: Omit<TraceInfo, 'infoStored' | 'assessments' | 'spansRecorded'>,
    expiresAt: number,
    mustExist: boolean,
  ): Promise<StoreInfoOutcome>;
  get(traceId: string): Promise<TraceInfo | undefined>;
  batchGet(traceIds: readonly string[]): Promise<TraceInfo[]>;
  listByTime(
    experimentId: string,
    descending: boolean,
    after: string | undefined,
    pageSize: number,
  ): AsyncIterable<ListedTrace>;
  setTag(traceId: string, key: string, value: string): Promise<boolean>;
  deleteTag(traceId: string, key: string): Promise<boolean>;
  /**
   * Links the trace (arrived or not) to the run. With `expected`, only while the trace is in that
   * experiment (or, undefined, has not arrived); false when it is not.
   */
  linkRun(
    traceId: string,
    runId: string,
    expiresAt: number,
    expected?: { experimentId: string | undefined },
  ): Promise<boolean>;
  putAssessments(
    traceId: string,
    assessments: Readonly<Record<string, Record<string, unknown>>>,
  ): Promise<boolean>;
  deleteAssessment(
    traceId: string,
    assessmentId: string,
    restored?: { assessmentId: string; assessment: Record<string, unknown> },
  ): Promise<boolean>;
  delete(experimentId: string, traceId: string): Promise<boolean>;
}

export interface SpanStore {
  /** Stored per experiment, so spans a refused export stored never join another experiment's trace. */
  put(experimentId: string, traceId: string, spans: readonly OtelSpan[]): Promise<void>;
  list(experimentId: string, traceId: string): Promise<OtelSpan[]>;
  /** An MLflow 2 client's `traces.json` for the trace, as uploaded. */
  putTraceData(experimentId: string, traceId: string, body: Uint8Array): Promise<void>;
  getTraceData(experimentId: string, traceId: string): Promise<Uint8Array | undefined>;
  deleteTrace(traceId: string): Promise<void>;
}

export interface TraceServiceDeps {
  traces: TraceRepository;
  spans: SpanStore;
  /** The experiment's artifact location; throws 404 RESOURCE_DOES_NOT_EXIST for an unknown experiment. */
  experimentArtifactLocation(experimentId: string): Promise<string>;
  /**
   * The same, read now (never from a cache), for writes that need the experiment active: throws 400
   * INVALID_PARAMETER_VALUE, as MLflow's store does, when it is deleted.
   */
  activeExperimentArtifactLocation(experimentId: string): Promise<string>;
  /** The run's experiment, or undefined when there is no such run (link-to-run). */
  runExperiment(runId: string): Promise<string | undefined>;
  /** Days a trace is kept (DynamoDB TTL on its item, the bucket's lifecycle rule on its spans). */
  retentionDays: number;
  clock?: () => number;
}

/** MLflow's limit on `search_traces` pages. */
export const MAX_SEARCH_RESULTS = 500;
/** Trace ids per batch get (MLflow's client asks for a search page's worth). */
export const MAX_BATCH_GET = 100;
/** A response body must fit Lambda's 6 MB response payload; spans beyond this are refused with a 413. */
export const MAX_RESPONSE_BYTES = 5_500_000;
/**
 * Spans and traces per OTLP export, far above what a real client puts in one batch; they bound the work
 * and the memory one request may ask for (a gzipped body can inflate to 64 MB of spans).
 */
export const MAX_EXPORT_SPANS = 10_000;
export const MAX_EXPORT_TRACES = 1_000;
/** Traces of one export written at once: each is an S3 put then a DynamoDB update. */
const EXPORT_CONCURRENCY = 16;
/** Traces deleted by one `delete-traces` call with `max_timestamp_millis` (MLflow bounds it too). */
export const MAX_DELETE = 1000;

const ONE_DAY_MS = 86_400_000;

function traceNotFound(traceId: string): ResourceDoesNotExistError {
  return new ResourceDoesNotExistError(`Trace with ID ${traceId} is not found.`);
}

function stringList(field: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  if (!list.every((item) => typeof item === 'string')) {
    throw new InvalidParameterValueError(
      `Invalid value for parameter '${field}': expected a list of strings.`,
    );
  }
  return list as string[];
}

function optionalInteger(field: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number)) {
    throw new InvalidParameterValueError(`Invalid value for parameter '${field}': expected an integer.`);
  }
  return number;
}

function spanState(span: OtelSpan): TraceState {
  const code = span.status?.code;
  return code === 'STATUS_CODE_ERROR'
    ? 'ERROR'
    : code === 'STATUS_CODE_OK' || span.end_time_unix_nano
      ? 'OK'
      : 'IN_PROGRESS';
}

/** What one batch's spans of one trace say about the trace. */
export function summarizeSpans(spans: readonly OtelSpan[]): SpanSummary {
  // A loop, not Math.min(...starts): spreading a large batch as arguments overflows the stack.
  let earliestStartMs = Number.POSITIVE_INFINITY;
  for (const span of spans) {
    earliestStartMs = Math.min(earliestStartMs, nanosToMillis(span.start_time_unix_nano) ?? 0);
  }
  const summary: SpanSummary = { earliestStartMs };
  const root = spans.find((span) => span.parent_span_id === undefined);
  if (root) {
    const startMs = nanosToMillis(root.start_time_unix_nano) ?? 0;
    const endMs = nanosToMillis(root.end_time_unix_nano);
    summary.root = {
      name: root.name,
      startMs,
      ...(endMs !== undefined && endMs >= startMs ? { durationMs: endMs - startMs } : {}),
      state: spanState(root),
    };
  }
  return summary;
}

/**
 * An expectation as MLflow's store keeps it: a value that is not a scalar (an object or a list) becomes
 * `serialized_value`, its JSON in MLflow's `JSON_FORMAT`, which is how MLflow's server answers and what its
 * clients read back.
 */
function storedExpectation(expectation: unknown): unknown {
  if (!expectation || typeof expectation !== 'object' || Array.isArray(expectation)) return expectation;
  const { value, ...rest } = expectation as Record<string, unknown>;
  if (value === null || typeof value !== 'object') return expectation;
  return { ...rest, serialized_value: { serialization_format: 'JSON_FORMAT', value: JSON.stringify(value) } };
}

/** The assessment fields MLflow's UpdateAssessment handler changes (`update_mask` paths). */
const UPDATABLE_ASSESSMENT_FIELDS: ReadonlySet<string> = new Set([
  'assessment_name',
  'expectation',
  'feedback',
  'rationale',
  'metadata',
  'valid',
]);

export class TraceService {
  private readonly clock: () => number;

  constructor(private readonly deps: TraceServiceDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  private expiresAt(): number {
    return Math.floor((this.clock() + this.deps.retentionDays * ONE_DAY_MS) / 1000);
  }

  /** `POST /v1/traces`: stores each trace's spans, then records them on its info item. */
  async exportSpans(
    experimentHeader: string | undefined,
    body: Uint8Array,
    contentType: string | undefined,
    contentEncoding: string | undefined,
  ): Promise<void> {
    const experimentId = experimentHeader?.trim();
    if (!experimentId) {
      throw new InvalidParameterValueError(
        "Missing header 'x-mlflow-experiment-id': OTLP exports name the experiment their spans belong to.",
      );
    }
    const spans = decodeOtlpBody(body, contentType, contentEncoding);
    if (spans.length > MAX_EXPORT_SPANS) {
      throw new MlflowError(
        'RESOURCE_LIMIT_EXCEEDED',
        `The export holds ${spans.length} spans; one export may hold at most ${MAX_EXPORT_SPANS}. Export in smaller batches.`,
      );
    }
    // Read now, not from the container's cache: spans must not land in an experiment deleted since.
    await this.deps.activeExperimentArtifactLocation(experimentId);
    const byTrace = new Map<string, OtelSpan[]>();
    for (const span of spans) {
      const traceId = traceIdFromOtelHex(otelTraceHex(span));
      const list = byTrace.get(traceId);
      if (list) list.push(span);
      else byTrace.set(traceId, [span]);
    }
    if (byTrace.size > MAX_EXPORT_TRACES) {
      throw new MlflowError(
        'RESOURCE_LIMIT_EXCEEDED',
        `The export holds spans of ${byTrace.size} traces; one export may hold at most ${MAX_EXPORT_TRACES}. Export in smaller batches.`,
      );
    }
    const expiresAt = this.expiresAt();
    await mapWithLimit([...byTrace], EXPORT_CONCURRENCY, async ([traceId, traceSpans]) => {
      await this.deps.spans.put(experimentId, traceId, traceSpans);
      await this.deps.traces.recordSpans(experimentId, traceId, summarizeSpans(traceSpans), expiresAt);
    });
  }

  /** `startTraceV3`: the client's trace info, after (or, with async export, possibly before) its spans. */
  async startTrace(fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const info = parseStartTrace(fields);
    const expiresAt = this.expiresAt();
    // Usually the spans came first and the item exists in this experiment: one write, no experiment read
    // (the export found the experiment active). Otherwise the experiment must be active now, as MLflow's
    // store checks on start_trace.
    let outcome = await this.deps.traces.storeInfo(info, expiresAt, true);
    let artifactLocation: string;
    if (outcome.kind === 'absent') {
      artifactLocation = await this.deps.activeExperimentArtifactLocation(info.experimentId);
      outcome = await this.deps.traces.storeInfo(info, expiresAt, false);
    } else {
      artifactLocation = await this.deps.experimentArtifactLocation(info.experimentId);
    }
    if (outcome.kind !== 'stored') {
      throw new InvalidParameterValueError(
        `Trace '${info.traceId}' already exists in another experiment; a trace belongs to one experiment.`,
      );
    }
    return { trace: { trace_info: traceInfoJson(outcome.info, { artifactLocation }) } };
  }

  private async infoJson(info: TraceInfo): Promise<Record<string, unknown>> {
    return traceInfoJson(info, {
      artifactLocation: await this.deps.experimentArtifactLocation(info.experimentId),
    });
  }

  private async require(traceId: string): Promise<TraceInfo> {
    const info = await this.deps.traces.get(validateTraceId('trace_id', traceId));
    if (!info) throw traceNotFound(traceId);
    return info;
  }

  async getTraceInfo(traceId: string): Promise<Record<string, unknown>> {
    return { trace: { trace_info: await this.infoJson(await this.require(traceId)) } };
  }

  async getTrace(traceId: string): Promise<Record<string, unknown>> {
    const info = await this.require(traceId);
    const [json, spans] = await Promise.all([
      this.infoJson(info),
      this.deps.spans.list(info.experimentId, info.traceId),
    ]);
    return this.bounded({ trace: { trace_info: json, spans } });
  }

  private validIds(field: string, value: unknown): string[] {
    const ids = stringList(field, value);
    if (ids.length === 0)
      throw new InvalidParameterValueError(`Missing value for required parameter '${field}'.`);
    if (ids.length > MAX_BATCH_GET) {
      throw new InvalidParameterValueError(
        `'${field}' may name at most ${MAX_BATCH_GET} traces, not ${ids.length}.`,
      );
    }
    return ids.map((id) => validateTraceId(field, id));
  }

  async batchGetTraces(traceIds: unknown): Promise<Record<string, unknown>> {
    const infos = await this.deps.traces.batchGet(this.validIds('trace_ids', traceIds));
    const traces = await Promise.all(
      infos.map(async (info) => {
        const [json, spans] = await Promise.all([
          this.infoJson(info),
          this.deps.spans.list(info.experimentId, info.traceId),
        ]);
        return { trace_info: json, spans };
      }),
    );
    return this.bounded({ traces });
  }

  async batchGetTraceInfos(traceIds: unknown): Promise<Record<string, unknown>> {
    const infos = await this.deps.traces.batchGet(this.validIds('trace_ids', traceIds));
    return { trace_infos: await Promise.all(infos.map((info) => this.infoJson(info))) };
  }

  /** Refuses an answer that Lambda could not return, with a message instead of a 502. */
  private bounded(body: Record<string, unknown>): Record<string, unknown> {
    const size = Buffer.byteLength(JSON.stringify(body));
    if (size > MAX_RESPONSE_BYTES) {
      throw new MlflowError(
        'RESOURCE_LIMIT_EXCEEDED',
        `The traces' spans take ${size} bytes as JSON, beyond the ${MAX_RESPONSE_BYTES}-byte response limit; ask for fewer traces at a time.`,
      );
    }
    return body;
  }

  /** `searchTracesV3`. */
  async search(fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { page, nextPageToken } = await this.searchInfos(this.searchExperiments(fields), fields);
    const traces = await Promise.all(page.map((info) => this.infoJson(info)));
    return { traces, ...(nextPageToken ? { next_page_token: nextPageToken } : {}) };
  }

  /** SearchTraces (v2, `GET /api/2.0/mlflow/traces`): the same search, answered as v2 trace infos. */
  async searchV2(fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const experimentIds = stringList('experiment_ids', fields.experiment_ids);
    if (experimentIds.length === 0)
      throw new InvalidParameterValueError("Missing value for required parameter 'experiment_ids'.");
    if (new Set(experimentIds).size > 100)
      throw new InvalidParameterValueError('A trace search may name at most 100 experiments.');
    const { page, nextPageToken } = await this.searchInfos([...new Set(experimentIds)], fields);
    const traces = await Promise.all(
      page.map(async (info) =>
        traceInfoV2Json(info, {
          artifactLocation: await this.deps.experimentArtifactLocation(info.experimentId),
        }),
      ),
    );
    return {
      ...(traces.length > 0 ? { traces } : {}),
      ...(nextPageToken ? { next_page_token: nextPageToken } : {}),
    };
  }

  private async searchInfos(
    experimentIds: string[],
    fields: Record<string, unknown>,
  ): Promise<{ page: TraceInfo[]; nextPageToken?: string }> {
    const filter = fields.filter;
    if (filter !== undefined && filter !== null && typeof filter !== 'string') {
      throw new InvalidParameterValueError("Invalid value for parameter 'filter': expected a string.");
    }
    const maxResults = optionalInteger('max_results', fields.max_results) ?? 100;
    if (maxResults < 1 || maxResults > MAX_SEARCH_RESULTS) {
      throw new InvalidParameterValueError(
        `Invalid value ${maxResults} for parameter 'max_results': it must be between 1 and ${MAX_SEARCH_RESULTS}.`,
      );
    }
    const orderBy = stringList('order_by', fields.order_by);
    const predicate = compileTraceFilter((filter as string | undefined) ?? undefined);
    const terms = parseTraceOrder(orderBy);
    const fingerprint = queryFingerprint({ e: experimentIds, f: filter ?? '', o: terms });
    const token =
      typeof fields.page_token === 'string' && fields.page_token !== '' ? fields.page_token : undefined;
    const after = token === undefined ? undefined : decodePageToken(token, fingerprint);
    for (const experimentId of experimentIds) await this.deps.experimentArtifactLocation(experimentId);

    let page: TraceInfo[];
    let next: (string | number)[] | undefined;
    if (isTimeOrder(terms)) {
      const descending = !(terms[0]?.ascending ?? false);
      const resume = typeof after?.[0] === 'string' ? after[0] : undefined;
      const filtered = typeof filter === 'string' && filter.trim() !== '';
      const found = await this.readInTimeOrder(
        experimentIds,
        descending,
        resume,
        maxResults + 1,
        predicate,
        filtered,
      );
      page = found.slice(0, maxResults).map((listed) => listed.info);
      next = found.length > maxResults ? [found[maxResults - 1]?.sortKey as string] : undefined;
    } else {
      // Orders other than time read every trace of the experiments, then sort (O(traces), documented).
      const all: TraceInfo[] = [];
      for (const experimentId of experimentIds) {
        for await (const listed of this.deps.traces.listByTime(experimentId, true, undefined, 1000)) {
          if (predicate(listed.info)) all.push(listed.info);
        }
      }
      all.sort(compareTraces(terms));
      const offset = typeof after?.[0] === 'number' ? after[0] : 0;
      page = all.slice(offset, offset + maxResults);
      next = offset + maxResults < all.length ? [offset + maxResults] : undefined;
    }
    return { page, ...(next ? { nextPageToken: encodePageToken(fingerprint, next) } : {}) };
  }

  private searchExperiments(fields: Record<string, unknown>): string[] {
    const ids = new Set<string>();
    const locations = fields.locations;
    if (locations !== undefined) {
      if (!Array.isArray(locations)) {
        throw new InvalidParameterValueError("Invalid value for parameter 'locations': expected a list.");
      }
      for (const location of locations as Record<string, unknown>[]) {
        const experimentId = (location?.mlflow_experiment as Record<string, unknown> | undefined)
          ?.experiment_id;
        if (typeof experimentId !== 'string' || experimentId === '') {
          throw new InvalidParameterValueError(
            'Each of \'locations\' must be {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": ...}} (Cairn keeps traces in experiments).',
          );
        }
        ids.add(experimentId);
      }
    }
    for (const id of stringList('experiment_ids', fields.experiment_ids)) ids.add(id);
    if (ids.size === 0)
      throw new InvalidParameterValueError("Missing value for required parameter 'locations'.");
    if (ids.size > 100)
      throw new InvalidParameterValueError('A trace search may name at most 100 experiments.');
    return [...ids];
  }

  /** Merges the experiments' time-ordered listings, keeping matches, until `limit` are found. */
  private async readInTimeOrder(
    experimentIds: readonly string[],
    descending: boolean,
    after: string | undefined,
    limit: number,
    predicate: (info: TraceInfo) => boolean,
    filtered: boolean,
  ): Promise<ListedTrace[]> {
    // Unfiltered, a page reads exactly its traces; filtered, how many items match is unknown, so large
    // DynamoDB pages keep the round trips few (the items read are the same).
    const pageSize = filtered ? 1000 : Math.min(1000, Math.max(limit, 25));
    const cursors = experimentIds.map((id) =>
      this.deps.traces.listByTime(id, descending, after, pageSize)[Symbol.asyncIterator](),
    );
    const heads = await Promise.all(cursors.map((cursor) => cursor.next()));
    const found: ListedTrace[] = [];
    while (found.length < limit) {
      let best = -1;
      for (const [index, head] of heads.entries()) {
        if (head.done) continue;
        const bestHead = best === -1 ? undefined : heads[best];
        if (
          !bestHead ||
          bestHead.done ||
          (descending
            ? head.value.sortKey > bestHead.value.sortKey
            : head.value.sortKey < bestHead.value.sortKey)
        ) {
          best = index;
        }
      }
      if (best === -1) break;
      const head = heads[best] as IteratorYieldResult<ListedTrace>;
      if (predicate(head.value.info)) found.push(head.value);
      // Not one item further than the page needs: advancing past a DynamoDB page's end queries the next.
      if (found.length >= limit) break;
      heads[best] = await (cursors[best] as AsyncIterator<ListedTrace>).next();
    }
    await Promise.all(cursors.map((cursor) => cursor.return?.()));
    return found;
  }

  async setTag(traceId: string, fields: Record<string, unknown>): Promise<void> {
    validateTraceId('trace_id', traceId);
    validateTag('tag', fields.key, fields.value);
    const value = fields.value ?? '';
    if (typeof value !== 'string')
      throw new InvalidParameterValueError("Invalid value for parameter 'value': expected a string.");
    if (!(await this.deps.traces.setTag(traceId, fields.key as string, value))) throw traceNotFound(traceId);
  }

  async deleteTag(traceId: string, fields: Record<string, unknown>): Promise<void> {
    validateTraceId('trace_id', traceId);
    validateTag('tag', fields.key, undefined);
    const info = await this.require(traceId);
    if (!Object.hasOwn(info.tags, fields.key as string)) {
      throw new ResourceDoesNotExistError(
        `No trace tag with key '${fields.key}' for trace with ID '${traceId}'.`,
      );
    }
    if (!(await this.deps.traces.deleteTag(traceId, fields.key as string))) throw traceNotFound(traceId);
  }

  /** `delete-traces`: by ids, or the oldest traces up to `max_timestamp_millis`, at most `max_traces`. */
  async deleteTraces(fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const experimentId = fields.experiment_id;
    if (typeof experimentId !== 'string' || experimentId === '') {
      throw new InvalidParameterValueError("Missing value for required parameter 'experiment_id'.");
    }
    const ids = stringList('request_ids', fields.request_ids ?? fields.trace_ids);
    const maxTimestamp = optionalInteger('max_timestamp_millis', fields.max_timestamp_millis);
    const maxTraces = optionalInteger('max_traces', fields.max_traces);
    if (ids.length > 0 === (maxTimestamp !== undefined)) {
      throw new InvalidParameterValueError(
        "Exactly one of 'request_ids' or 'max_timestamp_millis' must be specified.",
      );
    }
    if (ids.length > 0 && maxTraces !== undefined) {
      throw new InvalidParameterValueError("'max_traces' can only be given with 'max_timestamp_millis'.");
    }
    if (maxTraces !== undefined && maxTraces < 1) {
      throw new InvalidParameterValueError("'max_traces' must be a positive integer.");
    }
    await this.deps.experimentArtifactLocation(experimentId);
    let targets: string[];
    if (ids.length > 0) {
      if (ids.length > MAX_DELETE)
        throw new InvalidParameterValueError(`At most ${MAX_DELETE} 'request_ids' per call.`);
      targets = ids.map((id) => validateTraceId('request_ids', id));
    } else {
      const limit = Math.min(maxTraces ?? MAX_DELETE, MAX_DELETE);
      targets = [];
      for await (const listed of this.deps.traces.listByTime(
        experimentId,
        false,
        undefined,
        Math.min(limit, 1000),
      )) {
        if (listed.info.requestTime > (maxTimestamp as number) || targets.length >= limit) break;
        targets.push(listed.info.traceId);
      }
    }
    let deleted = 0;
    for (let start = 0; start < targets.length; start += 25) {
      const results = await Promise.all(
        targets.slice(start, start + 25).map(async (traceId) => {
          if (!(await this.deps.traces.delete(experimentId, traceId))) return false;
          await this.deps.spans.deleteTrace(traceId);
          return true;
        }),
      );
      deleted += results.filter(Boolean).length;
    }
    return { traces_deleted: deleted };
  }

  /**
   * `link-to-run`: marks each trace as made under the run (what `run_id` filters match). As in MLflow, a
   * trace need not have arrived yet: the stock client links while its export is still on the way, so the
   * link is kept for the trace to find (the repository's `linkRun`).
   *
   * `mayEdit`, given when there is a caller to check, throws unless the caller may edit the experiment:
   * the run's (which the route checks too) and that of each trace already here, since the link changes
   * the trace. A trace not yet here has no experiment to check; when it arrives it is in whatever
   * experiment its export names, which that export's own check decides.
   */
  async linkToRun(
    fields: Record<string, unknown>,
    mayEdit?: (kind: 'experiment', resource: string) => void,
  ): Promise<void> {
    const runId = fields.run_id;
    if (typeof runId !== 'string' || runId === '')
      throw new InvalidParameterValueError("Missing value for required parameter 'run_id'.");
    const ids = [...new Set(this.validIds('trace_ids', fields.trace_ids))];
    const experiment = await this.deps.runExperiment(runId);
    if (experiment === undefined) throw new ResourceDoesNotExistError(`Run with id=${runId} not found`);
    const expiresAt = this.expiresAt();
    if (!mayEdit) {
      await Promise.all(ids.map((traceId) => this.deps.traces.linkRun(traceId, runId, expiresAt)));
      return;
    }
    mayEdit('experiment', experiment);
    // Every trace is checked before any is linked, so a refusal writes nothing.
    const seen = new Map((await this.deps.traces.batchGet(ids)).map((info) => [info.traceId, info]));
    for (const info of seen.values()) mayEdit('experiment', info.experimentId);
    await Promise.all(
      ids.map(async (traceId) => {
        let experimentId = seen.get(traceId)?.experimentId;
        // The write holds only while the trace is as checked; one that arrived meanwhile is checked again.
        while (!(await this.deps.traces.linkRun(traceId, runId, expiresAt, { experimentId }))) {
          const now = (await this.deps.traces.get(traceId))?.experimentId;
          if (now === experimentId) {
            throw new ResourceDoesNotExistError(
              `Trace with ID ${traceId} changed while being linked; retry.`,
            );
          }
          experimentId = now;
          if (experimentId !== undefined) mayEdit('experiment', experimentId);
        }
      }),
    );
  }

  async createAssessment(traceId: string, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    validateTraceId('trace_id', traceId);
    const input = fields.assessment;
    if (!input || typeof input !== 'object' || Array.isArray(input)) {
      throw new InvalidParameterValueError("Missing value for required parameter 'assessment'.");
    }
    const assessment = { ...(input as Record<string, unknown>) };
    if (typeof assessment.assessment_name !== 'string' || assessment.assessment_name === '') {
      throw new InvalidParameterValueError(
        "Missing value for required parameter 'assessment.assessment_name'.",
      );
    }
    if (assessment.feedback === undefined && assessment.expectation === undefined) {
      throw new InvalidParameterValueError("An assessment needs a 'feedback' or an 'expectation'.");
    }
    const now = new Date(this.clock()).toISOString();
    const stored = {
      ...assessment,
      assessment_id: `a-${randomBytes(16).toString('hex')}`,
      trace_id: traceId,
      create_time: typeof assessment.create_time === 'string' ? assessment.create_time : now,
      last_update_time: typeof assessment.last_update_time === 'string' ? assessment.last_update_time : now,
      // MLflow's store marks a new assessment valid unless told otherwise (an override sets false later).
      valid: typeof assessment.valid === 'boolean' ? assessment.valid : true,
      ...(assessment.expectation === undefined
        ? {}
        : { expectation: storedExpectation(assessment.expectation) }),
    };
    const writes: Record<string, Record<string, unknown>> = { [stored.assessment_id]: stored };
    // As MLflow's store does: an override (`mlflow.override_feedback`) marks the assessment it replaces
    // invalid, in the same write; deleting the override makes it valid again.
    const overrides = assessment.overrides;
    if (overrides !== undefined && overrides !== null && overrides !== '') {
      if (typeof overrides !== 'string') {
        throw new InvalidParameterValueError(
          "Invalid value for parameter 'assessment.overrides': expected a string.",
        );
      }
      const replaced = await this.findAssessment(traceId, overrides);
      writes[overrides] = { ...replaced, valid: false };
    }
    if (!(await this.deps.traces.putAssessments(traceId, writes))) throw traceNotFound(traceId);
    return { assessment: stored };
  }

  private async findAssessment(traceId: string, assessmentId: string): Promise<Record<string, unknown>> {
    const info = await this.require(traceId);
    const assessment = Object.hasOwn(info.assessments, assessmentId)
      ? info.assessments[assessmentId]
      : undefined;
    if (!assessment) {
      throw new ResourceDoesNotExistError(
        `Assessment with ID '${assessmentId}' not found for trace '${traceId}'.`,
      );
    }
    return assessment;
  }

  async getAssessment(traceId: string, assessmentId: string): Promise<Record<string, unknown>> {
    return { assessment: await this.findAssessment(traceId, assessmentId) };
  }

  /** `updateAssessment`: the fields named by `update_mask` (all given fields without one). */
  async updateAssessment(
    traceId: string,
    assessmentId: string,
    fields: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const current = await this.findAssessment(traceId, assessmentId);
    const input = fields.assessment;
    if (!input || typeof input !== 'object' || Array.isArray(input)) {
      throw new InvalidParameterValueError("Missing value for required parameter 'assessment'.");
    }
    const mask = fields.update_mask;
    const paths = (
      typeof mask === 'string'
        ? mask.split(',')
        : mask && typeof mask === 'object' && Array.isArray((mask as { paths?: unknown }).paths)
          ? (mask as { paths: unknown[] }).paths.map(String)
          : Object.keys(input)
    )
      // A FieldMask's JSON form names fields in lowerCamelCase (the stock client sends
      // `assessmentName,feedback`); its proto form, in snake_case.
      .map((path) => path.trim().replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`))
      // Only what MLflow's handler updates; any other path is ignored, as there.
      .filter((path) => UPDATABLE_ASSESSMENT_FIELDS.has(path));
    const updated: Record<string, unknown> = { ...current };
    for (const path of paths) {
      const value = Object.hasOwn(input, path) ? (input as Record<string, unknown>)[path] : undefined;
      if (value === undefined) delete updated[path];
      else updated[path] = path === 'expectation' ? storedExpectation(value) : value;
    }
    updated.last_update_time = new Date(this.clock()).toISOString();
    if (!(await this.deps.traces.putAssessments(traceId, { [assessmentId]: updated })))
      throw traceNotFound(traceId);
    return { assessment: updated };
  }

  async deleteAssessment(traceId: string, assessmentId: string): Promise<void> {
    const info = await this.require(traceId);
    const assessment = Object.hasOwn(info.assessments, assessmentId)
      ? info.assessments[assessmentId]
      : undefined;
    if (!assessment) {
      throw new ResourceDoesNotExistError(
        `Assessment with ID '${assessmentId}' not found for trace '${traceId}'.`,
      );
    }
    const overrides = assessment.overrides;
    const overridden =
      typeof overrides === 'string' && Object.hasOwn(info.assessments, overrides)
        ? info.assessments[overrides]
        : undefined;
    await this.deps.traces.deleteAssessment(
      traceId,
      assessmentId,
      overridden && typeof overrides === 'string'
        ? { assessmentId: overrides, assessment: { ...overridden, valid: true } }
        : undefined,
    );
  }

  /** StartTrace (v2): a new trace with a server-minted request id, its spans to come as `traces.json`. */
  async startTraceV2(fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const request = parseStartTraceV2(fields);
    const artifactLocation = await this.deps.activeExperimentArtifactLocation(request.experimentId);
    // MLflow 2's request id: a random UUID's hex digits (generate_request_id_v2).
    const traceId = randomBytes(16).toString('hex');
    const outcome = await this.deps.traces.storeInfo(
      {
        traceId,
        experimentId: request.experimentId,
        requestTime: request.timestampMs,
        state: 'IN_PROGRESS',
        metadata: request.metadata,
        tags: request.tags,
        spansInArtifact: true,
      },
      this.expiresAt(),
      false,
    );
    if (outcome.kind !== 'stored')
      throw new MlflowError('INTERNAL_ERROR', 'A new trace id was already taken.');
    return { trace_info: traceInfoV2Json(outcome.info, { artifactLocation }) };
  }

  /**
   * EndTrace (v2): the execution time (end minus start), the status, and metadata and tags merged over the
   * trace's own, as MLflow's store does.
   */
  async endTraceV2(traceId: string, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const info = await this.require(traceId);
    const request = parseEndTraceV2(fields);
    const outcome = await this.deps.traces.storeInfo(
      {
        traceId: info.traceId,
        experimentId: info.experimentId,
        requestTime: info.requestTime,
        durationMs: request.timestampMs - info.requestTime,
        state: request.state,
        ...(info.clientRequestId !== undefined ? { clientRequestId: info.clientRequestId } : {}),
        ...(info.requestPreview !== undefined ? { requestPreview: info.requestPreview } : {}),
        ...(info.responsePreview !== undefined ? { responsePreview: info.responsePreview } : {}),
        ...(info.rootSpanName !== undefined ? { rootSpanName: info.rootSpanName } : {}),
        metadata: { ...info.metadata, ...request.metadata },
        tags: { ...info.tags, ...request.tags },
        ...(info.spansInArtifact ? { spansInArtifact: true } : {}),
      },
      this.expiresAt(),
      true,
    );
    if (outcome.kind !== 'stored') throw traceNotFound(traceId);
    return { trace_info: traceInfoV2Json(outcome.info, await this.infoContext(outcome.info)) };
  }

  /** GetTraceInfo (v2). */
  async getTraceInfoV2(traceId: string): Promise<Record<string, unknown>> {
    const info = await this.require(traceId);
    return { trace_info: traceInfoV2Json(info, await this.infoContext(info)) };
  }

  private async infoContext(info: TraceInfo): Promise<{ artifactLocation: string }> {
    return { artifactLocation: await this.deps.experimentArtifactLocation(info.experimentId) };
  }

  /** The trace, if it is the one the artifact path names (`<experiment_id>/traces/<trace_id>/...`). */
  private async requireIn(experimentId: string | undefined, traceId: string): Promise<TraceInfo> {
    const info = await this.require(traceId);
    if (experimentId !== undefined && info.experimentId !== experimentId) throw traceNotFound(traceId);
    return info;
  }

  /**
   * An MLflow 2 client's span upload: `traces.json` PUT to the trace's artifact location. Kept whole, as
   * uploaded (the client reads it back byte for byte); it must be the JSON object TraceData.to_dict() writes.
   */
  async putTraceData(experimentId: string, traceId: string, body: Uint8Array): Promise<void> {
    const info = await this.requireIn(experimentId, traceId);
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body).toString('utf8'));
    } catch {
      throw new InvalidParameterValueError(`${TRACE_DATA_FILE} must be JSON: the trace's spans.`);
    }
    if (!parsed || typeof parsed !== 'object' || !Array.isArray((parsed as { spans?: unknown }).spans)) {
      throw new InvalidParameterValueError(
        `${TRACE_DATA_FILE} must be a JSON object with a 'spans' list (MLflow's trace data).`,
      );
    }
    await this.deps.spans.putTraceData(info.experimentId, info.traceId, body);
  }

  /**
   * The trace's spans as a file: the `traces.json` an older client uploaded, else its OTLP spans written as
   * `shape` says: 'v2' as MLflow 2's `traces.json` (what an older client downloads from the trace's artifact
   * location, so it reads a newer client's traces too), 'v3' as MLflow 3's `get-trace-artifact` answers for
   * spans in its store.
   */
  async getTraceData(
    experimentId: string | undefined,
    traceId: string,
    shape: 'v2' | 'v3',
  ): Promise<Uint8Array> {
    const info = await this.requireIn(experimentId, traceId);
    const uploaded = await this.deps.spans.getTraceData(info.experimentId, info.traceId);
    if (uploaded !== undefined) return uploaded;
    const spans = await this.deps.spans.list(info.experimentId, info.traceId);
    if (spans.length === 0) {
      throw new ResourceDoesNotExistError(`Trace with ID ${traceId} has no span data (${TRACE_DATA_FILE}).`);
    }
    const text = shape === 'v2' ? traceDataJson(info.traceId, spans) : traceDataV3Json(info.traceId, spans);
    const size = Buffer.byteLength(text);
    if (size > MAX_RESPONSE_BYTES) {
      throw new MlflowError(
        'RESOURCE_LIMIT_EXCEEDED',
        `The trace's spans take ${size} bytes as ${TRACE_DATA_FILE}, beyond the ${MAX_RESPONSE_BYTES}-byte response limit.`,
      );
    }
    return Buffer.from(text, 'utf8');
  }
}
