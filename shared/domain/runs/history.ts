/**
 * Reading a run's metric history: get-history pages (and their page tokens), MLflow UI's get-history-bulk,
 * and get-history-bulk-interval (its request rules and read plan; the sampling itself is sampling.ts's).
 */
import { InvalidParameterValueError } from '../../errors.js';
import { validateRunId } from '../ids.js';
import { validateKey } from '../rules.js';
import { decodePageToken, encodePageToken, queryFingerprint } from '../search/page-token.js';
import { formatMetricValue, parseMetricValue } from './metrics.js';
import type { HistoryCursor, MetricPoint, RunRepository } from './model.js';
import { RUN_LIMITS, runNotFound } from './rules.js';
import { sampleByIntervals, sampleSteps, stepIntervals } from './sampling.js';

export interface HistoryPage {
  points: MetricPoint[];
  nextPageToken?: string;
}

export async function historyPage(
  repo: RunRepository,
  runId: string,
  key: string,
  maxResults: number | undefined,
  pageToken?: string,
): Promise<HistoryPage> {
  validateRunId(runId);
  validateKey('metric_key', key);
  const pageSize = maxResults ?? RUN_LIMITS.historyPageMax;
  if (pageSize < 1) {
    throw new InvalidParameterValueError(
      `Invalid value ${pageSize} for parameter 'max_results' supplied. It must be a positive integer`,
    );
  }
  const fingerprint = queryFingerprint({ r: runId, k: key });
  const cursor = pageToken ? decodeHistoryToken(pageToken, fingerprint) : undefined;
  // A page never exceeds what fits a Lambda response, whatever max_results asks for.
  const limit = Math.min(pageSize, RUN_LIMITS.historyPageMax);
  const page = await repo.readHistoryPage(runId, key, cursor, limit);
  if (!page) throw runNotFound(runId);
  return {
    points: page.points,
    ...(page.next ? { nextPageToken: encodeHistoryToken(fingerprint, page.next) } : {}),
  };
}

/** get-history-bulk's limits, MLflow's (`get_metric_history_bulk_handler`). */
export const HISTORY_BULK_LIMITS = { runs: 100, maxResults: 25_000 } as const;

/**
 * MLflow's `ajax-api/2.0/mlflow/metrics/get-history-bulk`: up to `max_results` points in all (25,000 at
 * most, MLflow's cap, which also keeps the answer under Lambda's 6 MB), runs by id, each run's points by
 * timestamp, step and value, as MLflow's SQL store orders them. Each run is read in its stored order (by
 * step), up to `max_results` points, then sorted: for a run longer than that, the points are its first
 * by step, not by timestamp (the same for any run whose timestamps grow with its steps).
 */
export async function historyBulk(
  readPage: (runId: string, key: string, maxResults: number, pageToken?: string) => Promise<HistoryPage>,
  request: { runIds: readonly string[]; key: string | undefined; maxResults?: number },
): Promise<{ runId: string; point: MetricPoint }[]> {
  if (request.runIds.length === 0) {
    throw new InvalidParameterValueError('GetMetricHistoryBulk request must specify at least one run_id.');
  }
  if (request.runIds.length > HISTORY_BULK_LIMITS.runs) {
    throw new InvalidParameterValueError(
      `GetMetricHistoryBulk request cannot specify more than ${HISTORY_BULK_LIMITS.runs} run_ids. Received ${request.runIds.length} run_ids.`,
    );
  }
  const { key } = request;
  if (key === undefined) {
    throw new InvalidParameterValueError('GetMetricHistoryBulk request must specify a metric_key.');
  }
  const maxResults = Math.min(
    request.maxResults ?? HISTORY_BULK_LIMITS.maxResults,
    HISTORY_BULK_LIMITS.maxResults,
  );
  if (maxResults < 0) {
    throw new InvalidParameterValueError(
      `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be a positive integer`,
    );
  }
  // Code-point order, as Python's sorted() and SQL's ORDER BY on ids; a run named twice counts once.
  const runIds = [...new Set(request.runIds)].sort();
  for (const runId of runIds) validateRunId(runId);
  validateKey('metric_key', key);
  const rows: { runId: string; point: MetricPoint }[] = [];
  for (const runId of runIds) {
    const points: MetricPoint[] = [];
    let token: string | undefined;
    // Up to max_results of every run, not only the points still wanted: a run's last points by step may
    // come first by timestamp. The runs before the last are read whole, so this reads 2 × max_results at most.
    do {
      if (points.length >= maxResults) break;
      const page = await readPage(runId, key, maxResults - points.length, token);
      points.push(...page.points);
      token = page.nextPageToken;
    } while (token);
    points.sort((a, b) => a.timestamp - b.timestamp || a.step - b.step || compareValues(a.value, b.value));
    for (const point of points.slice(0, maxResults - rows.length)) rows.push({ runId, point });
    if (rows.length >= maxResults) break;
  }
  return rows;
}

/** SQL's order of doubles with NaN last (as MLflow's stores sort it), for sorting equal timestamps and steps. */
function compareValues(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number(Number.isNaN(a)) - Number(Number.isNaN(b));
  return a - b;
}

/**
 * MLflow's get-history-bulk-interval: the steps of all runs pooled and sampled to `maxResults` evenly
 * spaced steps (the first and last in range always kept, and each run's own first and last step), then
 * every point of each run at those steps, runs in request order.
 */
export async function historyBulkInterval(
  repo: RunRepository,
  request: {
    runIds: string[];
    key: string;
    startStep?: number;
    endStep?: number;
    maxResults?: number;
  },
): Promise<{ runId: string; point: MetricPoint }[]> {
  const { runIds, key } = request;
  if (runIds.length === 0) {
    throw new InvalidParameterValueError(
      "Missing value for required parameter 'run_ids'. See the API docs for more information about request parameters.",
    );
  }
  if (runIds.length > RUN_LIMITS.bulkIntervalRuns) {
    throw new InvalidParameterValueError(
      `GetMetricHistoryBulkInterval request must specify at most ${RUN_LIMITS.bulkIntervalRuns} run_ids. Received ${runIds.length} run_ids.`,
    );
  }
  const maxResults = request.maxResults ?? RUN_LIMITS.bulkIntervalMaxResults;
  if (maxResults < 1 || maxResults > RUN_LIMITS.bulkIntervalMaxResults) {
    throw new InvalidParameterValueError(
      `max_results must be between 1 and ${RUN_LIMITS.bulkIntervalMaxResults}.`,
    );
  }
  if ((request.startStep === undefined) !== (request.endStep === undefined)) {
    throw new InvalidParameterValueError(
      'If either start step or end step are specified, both must be specified.',
    );
  }
  if (
    request.startStep !== undefined &&
    request.endStep !== undefined &&
    request.startStep > request.endStep
  ) {
    throw new InvalidParameterValueError(
      `end_step must be greater than start_step. Found start_step=${request.startStep} and end_step=${request.endStep}.`,
    );
  }
  for (const runId of runIds) validateRunId(runId);
  validateKey('metric_key', key);
  // MLflow's default range starts at step 0 (negative steps are left out) and ends at the last step.
  const start = request.startStep ?? 0;
  const budget = Math.max(
    BULK_INTERVAL_MIN_BYTES,
    Math.min(maxResults * BULK_INTERVAL_BYTES_PER_POINT, BULK_INTERVAL_TOTAL_BYTES / runIds.length),
  );
  const heads = await Promise.all(
    runIds.map((runId) => repo.readHistoryHead(runId, key, start, request.endStep, budget)),
  );
  const found = heads.map((head, index) => {
    if (!head) throw runNotFound(runIds[index] as string);
    return head;
  });
  let selected: MetricPoint[][];
  if (found.every((head) => head.complete)) {
    // Every series in range was read whole: sample exactly as MLflow does.
    const series = found.map((head) => head.points);
    const steps = sampleSteps(series, maxResults, request.startStep, request.endStep);
    selected = series.map((points) => points.filter((point) => steps.has(point.step)));
  } else {
    // A long series: the same step intervals for every run, the first logged step of each, read
    // without reading the whole series (see shared/store/history-sample.ts).
    const end =
      request.endStep ??
      Math.max(...found.flatMap((head) => [head.latestStep ?? start, head.points.at(-1)?.step ?? start]));
    const partial = found.filter((head) => !head.complete).length;
    const perRun = Math.max(1, Math.floor(BULK_INTERVAL_MAX_QUERIES / (2 * partial)));
    const intervals = stepIntervals(start, end, Math.min(maxResults, perRun));
    const series = await Promise.all(
      found.map((head, index) =>
        head.complete
          ? head.points
          : repo.readHistoryIntervals(runIds[index] as string, key, head, intervals, start, end),
      ),
    );
    selected = series.map((points) => sampleByIntervals(points, intervals));
  }
  const rows = selected.reduce((count, points) => count + points.length, 0);
  // One answer must fit a Lambda response (6 MB): about 60,000 points of JSON with run ids.
  if (rows > RUN_LIMITS.bulkIntervalMaxPoints) {
    throw new InvalidParameterValueError(
      `The request selects ${rows} points, more than ${RUN_LIMITS.bulkIntervalMaxPoints} in one answer; request fewer run_ids or a lower max_results.`,
    );
  }
  return selected.flatMap((points, index) =>
    points.slice(0, RUN_LIMITS.historyPageMax).map((point) => ({ runId: runIds[index] as string, point })),
  );
}

function encodeHistoryToken(fingerprint: string, cursor: HistoryCursor): string {
  const { step, timestamp, value } = cursor.after;
  return encodePageToken(fingerprint, [
    step,
    timestamp,
    formatMetricValue(value),
    JSON.stringify(cursor.resume),
  ]);
}

function decodeHistoryToken(token: string, fingerprint: string): HistoryCursor {
  const [step, timestamp, value, resume] = decodePageToken(token, fingerprint);
  let positions: unknown;
  try {
    positions = typeof resume === 'string' ? JSON.parse(resume) : undefined;
  } catch {
    positions = undefined;
  }
  if (
    typeof step !== 'number' ||
    typeof timestamp !== 'number' ||
    typeof value !== 'string' ||
    typeof positions !== 'object' ||
    positions === null ||
    !Object.values(positions).every((position) => typeof position === 'string')
  ) {
    throw new InvalidParameterValueError('Invalid page token: it is not a token this server issued.');
  }
  return {
    after: { step, timestamp, value: parseMetricValue(value) },
    resume: positions as Record<string, string>,
  };
}

/**
 * get-history-bulk-interval's read budget: bytes of chunk data read whole per run before switching to
 * interval reads. Each interval read costs at least half a read unit (one item up to 4 KB), which reads
 * 4 KB of a whole series: reading ~2 KB per requested point first keeps series up to ~100,000 points
 * exact at a cost no more than the interval reads that follow for longer ones.
 */
const BULK_INTERVAL_BYTES_PER_POINT = 2 * 1024;
const BULK_INTERVAL_MIN_BYTES = 64 * 1024;
/** All runs of one request together: bounds the function's memory (about 1M decoded points). */
const BULK_INTERVAL_TOTAL_BYTES = 8 * 1024 * 1024;
/** Interval queries per request: at ~24 in flight, about a second of DynamoDB round trips. */
const BULK_INTERVAL_MAX_QUERIES = 4000;
