/** The trace endpoints the UI reads (MLflow 3's `/api/3.0/mlflow/traces/*`, shared/api/routes-traces.ts). */
import { get, post } from '../lib/api.js';
import type { Span, TraceInfo } from './model.js';

const V3 = '/api/3.0/mlflow';

export interface TracePage {
  traces?: TraceInfo[];
  next_page_token?: string;
}

/** One page of an experiment's traces, newest first, with MLflow's search filter. */
export function searchTraces(
  body: { experimentId: string; filter?: string; maxResults: number; pageToken?: string },
  signal?: AbortSignal,
): Promise<TracePage> {
  return post<TracePage>(
    `${V3}/traces/search`,
    {
      locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: body.experimentId } }],
      ...(body.filter ? { filter: body.filter } : {}),
      max_results: body.maxResults,
      order_by: ['timestamp_ms DESC'],
      ...(body.pageToken ? { page_token: body.pageToken } : {}),
    },
    signal,
  );
}

/** A trace's info and every span. */
export function getTrace(
  traceId: string,
  signal?: AbortSignal,
): Promise<{ trace: { trace_info: TraceInfo; spans?: Span[] } }> {
  return get(`${V3}/traces/get`, { trace_id: traceId }, signal);
}
