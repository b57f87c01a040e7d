/**
 * Fetching metric envelopes: Cairn's `/api/2.0/cairn/metrics/get-envelope` (cost bounded by the bucket
 * count), or — on an older server that answers 404 ENDPOINT_NOT_FOUND — the full history paged from
 * MLflow's get-history and bucketed here by the same function the server's shape is tested against.
 */
import { ApiError, api, get, paths } from '../lib/api.js';
import {
  bucketSeries,
  concatSeries,
  type Envelope,
  parseEnvelope,
  type Series,
  seriesOf,
  type WireEnvelope,
} from './envelope.js';

export interface StepRange {
  start: number;
  end: number;
}

/** Remembered after the first 404 so an older server is not asked again on every zoom. */
let envelopeEndpointMissing = false;

/** Runs per envelope request: keeps each answer small and lets several go out at once. */
const RUNS_PER_REQUEST = 10;

/** Full histories fetched for the fallback, kept briefly so zooming re-buckets without re-fetching. */
const HISTORY_TTL_MS = 60_000;
const HISTORY_CACHE_LIMIT = 200;
const historyCache = new Map<string, { at: number; series: Promise<Series> }>();

async function fetchHistory(runId: string, metricKey: string, signal: AbortSignal): Promise<Series> {
  // Each page goes into typed arrays as it arrives, so 100k-point histories do not pile up as objects.
  const pages: Series[] = [];
  let pageToken: string | undefined;
  do {
    const page = await api.getMetricHistory(runId, metricKey, pageToken, signal);
    pages.push(seriesOf(page.metrics ?? []));
    pageToken = page.next_page_token || undefined;
  } while (pageToken);
  return concatSeries(pages);
}

function cachedHistory(runId: string, metricKey: string): Promise<Series> {
  const key = `${runId}\u0000${metricKey}`;
  const now = Date.now();
  const hit = historyCache.get(key);
  if (hit && now - hit.at < HISTORY_TTL_MS) return hit.series;
  // The fetch is shared by every chart asking for it, so one chart's abort must not cancel it for the
  // others: it runs on its own signal and is dropped from the cache if it fails.
  const own = new AbortController();
  const series = fetchHistory(runId, metricKey, own.signal);
  series.catch(() => historyCache.delete(key));
  historyCache.set(key, { at: now, series });
  if (historyCache.size > HISTORY_CACHE_LIMIT) {
    const oldest = historyCache.keys().next().value;
    if (oldest !== undefined) historyCache.delete(oldest);
  }
  return series;
}

async function fallbackEnvelopes(
  runIds: readonly string[],
  metricKey: string,
  buckets: number,
  range: StepRange | undefined,
  signal: AbortSignal,
): Promise<Envelope[]> {
  return Promise.all(
    runIds.map(async (runId) => {
      const series = await cachedHistory(runId, metricKey);
      signal.throwIfAborted();
      const bucketed = bucketSeries(series, buckets, range);
      return { runId, metricKey, ...bucketed };
    }),
  );
}

async function endpointEnvelopes(
  runIds: readonly string[],
  metricKey: string,
  buckets: number,
  range: StepRange | undefined,
  signal: AbortSignal,
): Promise<Envelope[]> {
  const chunks: string[][] = [];
  for (let i = 0; i < runIds.length; i += RUNS_PER_REQUEST)
    chunks.push(runIds.slice(i, i + RUNS_PER_REQUEST));
  const answers = await Promise.all(
    chunks.map((chunk) =>
      get<{ envelopes?: WireEnvelope[] }>(
        `${paths.CAIRN}/metrics/get-envelope`,
        {
          run_id: chunk,
          metric_key: metricKey,
          buckets,
          start_step: range?.start,
          end_step: range?.end,
        },
        signal,
      ),
    ),
  );
  const byRun = new Map<string, Envelope>();
  for (const answer of answers) {
    for (const wire of answer.envelopes ?? []) byRun.set(wire.run_id, parseEnvelope(wire));
  }
  return runIds.map((runId) => byRun.get(runId) ?? { runId, metricKey, totalPoints: 0, buckets: [] });
}

/** One envelope per run, in `runIds` order (a run without the key has no buckets). */
export async function fetchEnvelopes(
  runIds: readonly string[],
  metricKey: string,
  buckets: number,
  range: StepRange | undefined,
  signal: AbortSignal,
): Promise<Envelope[]> {
  if (!envelopeEndpointMissing) {
    try {
      return await endpointEnvelopes(runIds, metricKey, buckets, range, signal);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404 && error.errorCode === 'ENDPOINT_NOT_FOUND')) {
        throw error;
      }
      envelopeEndpointMissing = true;
    }
  }
  return fallbackEnvelopes(runIds, metricKey, buckets, range, signal);
}
