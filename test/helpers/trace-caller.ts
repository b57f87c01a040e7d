/**
 * A caller of the trace RPCs for link-to-run's tests (traces-link*.test.ts): a bearer token or none, and
 * the client's trace writes (OTLP spans, start_trace v3) and reads.
 */
import { expect } from 'vitest';
import type { Api, ApiResponse } from './http.js';
import { newSpanHex, otlpProtobuf } from './otlp.js';

export const V3 = '/api/3.0/mlflow';
export const V2 = '/api/2.0/mlflow';

export interface TraceInfoJson {
  trace_id: string;
  trace_metadata: Record<string, string>;
  tags: Record<string, string>;
}

/** Requests as one caller (a bearer token, or none with auth off). */
export class Caller {
  constructor(
    private readonly api: Api,
    private readonly bearer?: string,
  ) {}

  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    json?: unknown,
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = this.bearer ? { authorization: `Bearer ${this.bearer}` } : {};
    return this.api.request<T>(method, path, json === undefined ? { headers } : { json, headers });
  }

  async experiment(name: string): Promise<string> {
    const created = await this.request<{ experiment_id: string }>('POST', `${V2}/experiments/create`, {
      name,
    });
    expect(created.status, created.text).toBe(200);
    return created.body.experiment_id;
  }

  async run(experimentId: string): Promise<string> {
    const created = await this.request<{ run: { info: { run_id: string } } }>('POST', `${V2}/runs/create`, {
      experiment_id: experimentId,
    });
    expect(created.status, created.text).toBe(200);
    return created.body.run.info.run_id;
  }

  link(traceIds: unknown, runId: unknown) {
    return this.request('POST', `${V2}/traces/link-to-run`, { trace_ids: traceIds, run_id: runId });
  }

  /** The root span over OTLP, as the stock client's exporter sends it. */
  async exportSpans(experimentId: string, traceHex: string, startMs: number): Promise<void> {
    const exported = await this.api.request('POST', '/v1/traces', {
      body: otlpProtobuf([{ traceHex, spanHex: newSpanHex(), name: 'root', startMs, endMs: startMs + 10 }]),
      headers: {
        'content-type': 'application/x-protobuf',
        'x-mlflow-experiment-id': experimentId,
        ...(this.bearer ? { authorization: `Bearer ${this.bearer}` } : {}),
      },
    });
    expect(exported.status, exported.text).toBe(200);
  }

  /** The client's trace info (start_trace v3), which sets the trace's metadata whole. */
  async startTrace(
    experimentId: string,
    traceHex: string,
    startMs: number,
    metadata: Record<string, string> = {},
  ): Promise<TraceInfoJson> {
    const started = await this.request<{ trace: { trace_info: TraceInfoJson } }>('POST', `${V3}/traces`, {
      trace: {
        trace_info: {
          trace_id: `tr-${traceHex}`,
          trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
          request_time: new Date(startMs).toISOString(),
          execution_duration: '0.010s',
          state: 'OK',
          trace_metadata: { 'mlflow.trace_schema.version': '3', ...metadata },
          tags: { 'mlflow.traceName': 'root' },
        },
      },
    });
    expect(started.status, started.text).toBe(200);
    return started.body.trace.trace_info;
  }

  info(traceId: string) {
    return this.request<{ trace: { trace_info: TraceInfoJson } }>(
      'GET',
      `${V3}/traces/${traceId}?trace_id=${traceId}`,
    );
  }

  async search(experimentId: string, filter?: string): Promise<TraceInfoJson[]> {
    const found = await this.request<{ traces?: TraceInfoJson[] }>('POST', `${V3}/traces/search`, {
      locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
      ...(filter ? { filter } : {}),
    });
    expect(found.status, found.text).toBe(200);
    return found.body.traces ?? [];
  }
}

export async function sourceRunOf(caller: Caller, traceId: string): Promise<string | undefined> {
  const info = await caller.info(traceId);
  expect(info.status, info.text).toBe(200);
  return info.body.trace.trace_info.trace_metadata['mlflow.sourceRun'];
}
