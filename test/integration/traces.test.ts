/**
 * Traces over HTTP on the local server: OTLP export (protobuf and JSON), the client's trace info, get and
 * batch get, search filters, orders and paging, tags, assessments, link to a run, deletes by id and by age,
 * a 2 MB span, retention, and bad input (MLflow-shaped 400/404/413, nothing half-written).
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../shared/store/keys.js';
import { Api } from '../helpers/http.js';
import { newSpanHex, newTraceHex, otlpJson, otlpProtobuf, type TestSpan } from '../helpers/otlp.js';
import { serverTable, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
});
afterAll(async () => {
  await server?.close();
});

const V3 = '/api/3.0/mlflow';

async function experiment(name: string): Promise<string> {
  const created = await api.post<{ experiment_id: string }>('experiments/create', { name });
  expect(created.status).toBe(200);
  return created.body.experiment_id;
}

function exportSpans(
  experimentId: string,
  spans: readonly TestSpan[],
  format: 'json' | 'protobuf' = 'protobuf',
) {
  return api.request('POST', '/v1/traces', {
    body: format === 'json' ? otlpJson(spans) : otlpProtobuf(spans),
    headers: {
      'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf',
      'x-mlflow-experiment-id': experimentId,
    },
  });
}

interface TraceInfoJson {
  trace_id: string;
  state: string;
  request_time: string;
  execution_duration?: string;
  tags: Record<string, string>;
  trace_metadata: Record<string, string>;
  assessments?: Record<string, unknown>[];
}

function startTrace(
  experimentId: string,
  traceHex: string,
  options: {
    startMs: number;
    durationMs: number;
    state?: string;
    name?: string;
    tags?: Record<string, string>;
    metadata?: Record<string, string>;
  },
) {
  return api.request<{ trace: { trace_info: TraceInfoJson } }>('POST', `${V3}/traces`, {
    json: {
      trace: {
        trace_info: {
          trace_id: `tr-${traceHex}`,
          trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
          request_time: new Date(options.startMs).toISOString(),
          execution_duration: `${options.durationMs / 1000}s`,
          state: options.state ?? 'OK',
          trace_metadata: { 'mlflow.trace_schema.version': '3', ...options.metadata },
          tags: { 'mlflow.traceName': options.name ?? 'root', ...options.tags },
          request_preview: '{"x": 1}',
          response_preview: '2',
        },
      },
    },
  });
}

/** One traced call as the client makes it: the root span over OTLP, then the trace info. */
async function tracedCall(
  experimentId: string,
  options: {
    startMs: number;
    durationMs?: number;
    name?: string;
    error?: boolean;
    tags?: Record<string, string>;
    metadata?: Record<string, string>;
  },
): Promise<string> {
  const traceHex = newTraceHex();
  const durationMs = options.durationMs ?? 10;
  const name = options.name ?? 'root';
  const exported = await exportSpans(experimentId, [
    {
      traceHex,
      spanHex: newSpanHex(),
      name,
      startMs: options.startMs,
      endMs: options.startMs + durationMs,
      ...(options.error ? { error: true } : {}),
      attributes: { 'mlflow.spanInputs': '{"x": 1}' },
    },
  ]);
  expect(exported.status).toBe(200);
  const started = await startTrace(experimentId, traceHex, {
    startMs: options.startMs,
    durationMs,
    name,
    state: options.error ? 'ERROR' : 'OK',
    ...(options.tags ? { tags: options.tags } : {}),
    ...(options.metadata ? { metadata: options.metadata } : {}),
  });
  expect(started.status).toBe(200);
  return `tr-${traceHex}`;
}

function search(body: Record<string, unknown>) {
  return api.request<{ traces?: TraceInfoJson[]; next_page_token?: string }>('POST', `${V3}/traces/search`, {
    json: body,
  });
}

const locations = (experimentId: string) => [
  { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
];

async function searchIds(experimentId: string, extra: Record<string, unknown> = {}): Promise<string[]> {
  const response = await search({ locations: locations(experimentId), ...extra });
  expect(response.status).toBe(200);
  return (response.body.traces ?? []).map((trace) => trace.trace_id);
}

describe('export and read', () => {
  it('stores spans over OTLP protobuf and the client info, and reads them back whole', async () => {
    const experimentId = await experiment('traces-read');
    const traceHex = newTraceHex();
    const rootHex = newSpanHex();
    const start = 1_800_000_000_000;
    // Incremental export: the child span first, then the root, then the client's trace info.
    const child = {
      traceHex,
      spanHex: newSpanHex(),
      parentHex: rootHex,
      name: 'child',
      startMs: start + 1,
      endMs: start + 5,
    };
    expect((await exportSpans(experimentId, [child])).status).toBe(200);
    const root = { traceHex, spanHex: rootHex, name: 'root', startMs: start, endMs: start + 26 };
    const exported = await exportSpans(experimentId, [root]);
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toBe('application/x-protobuf');
    const started = await startTrace(experimentId, traceHex, {
      startMs: start,
      durationMs: 26,
      tags: { team: 'ml' },
    });
    expect(started.status).toBe(200);
    expect(started.body.trace.trace_info).toMatchObject({
      trace_id: `tr-${traceHex}`,
      request_time: new Date(start).toISOString(),
      execution_duration: '0.026s',
      state: 'OK',
      tags: {
        team: 'ml',
        'mlflow.trace.spansLocation': 'TRACKING_STORE',
        'mlflow.artifactLocation': `mlflow-artifacts:/${experimentId}/traces/tr-${traceHex}/artifacts`,
      },
    });

    const info = await api.request<{ trace: { trace_info: TraceInfoJson } }>(
      'GET',
      `${V3}/traces/tr-${traceHex}?trace_id=tr-${traceHex}`,
    );
    expect(info.status).toBe(200);
    expect(info.body.trace.trace_info.trace_metadata['mlflow.trace.infoFinalized']).toBe('true');

    const full = await api.request<{
      trace: { spans: { name: string; parent_span_id?: string; trace_id: string }[] };
    }>('GET', `${V3}/traces/get?trace_id=tr-${traceHex}&allow_partial=False`);
    expect(full.status).toBe(200);
    expect(full.body.trace.spans.map((span) => span.name)).toEqual(['root', 'child']);
    expect(full.body.trace.spans[1]?.parent_span_id).toBe(Buffer.from(rootHex, 'hex').toString('base64'));
    expect(Buffer.from(full.body.trace.spans[0]?.trace_id ?? '', 'base64').toString('hex')).toBe(traceHex);

    const batch = await api.request<{ traces: { trace_info: TraceInfoJson; spans: unknown[] }[] }>(
      'GET',
      `${V3}/traces/batchGet?trace_ids=tr-${traceHex}&trace_ids=tr-${newTraceHex()}`,
    );
    expect(batch.status).toBe(200);
    expect(batch.body.traces.map((trace) => [trace.trace_info.trace_id, trace.spans.length])).toEqual([
      [`tr-${traceHex}`, 2],
    ]);
    const infos = await api.request<{ trace_infos: TraceInfoJson[] }>('POST', `${V3}/traces/batchGetInfos`, {
      json: { trace_ids: [`tr-${traceHex}`] },
    });
    expect(infos.body.trace_infos.map((trace) => trace.trace_id)).toEqual([`tr-${traceHex}`]);
  });

  it('finds a trace from spans alone (an OTel SDK that sends no trace info), named and timed by its root', async () => {
    const experimentId = await experiment('traces-otel-only');
    const traceHex = newTraceHex();
    const start = 1_800_000_100_000;
    const exported = await exportSpans(
      experimentId,
      [{ traceHex, spanHex: newSpanHex(), name: 'agent', startMs: start, endMs: start + 1500, error: true }],
      'json',
    );
    expect(exported.status).toBe(200);
    const found = await search({ locations: locations(experimentId) });
    expect(found.body.traces).toEqual([
      expect.objectContaining({
        trace_id: `tr-${traceHex}`,
        state: 'ERROR',
        execution_duration: '1.500s',
        request_time: new Date(start).toISOString(),
        tags: expect.objectContaining({ 'mlflow.traceName': 'agent' }),
      }),
    ]);
  });

  it('round-trips a 2 MB span input', async () => {
    const experimentId = await experiment('traces-big');
    const traceHex = newTraceHex();
    const payload = 'y'.repeat(2 * 1024 * 1024);
    const exported = await exportSpans(experimentId, [
      {
        traceHex,
        spanHex: newSpanHex(),
        name: 'big',
        startMs: 1_800_000_200_000,
        endMs: 1_800_000_200_020,
        attributes: { 'mlflow.spanInputs': JSON.stringify({ payload }) },
      },
    ]);
    expect(exported.status).toBe(200);
    const full = await api.request<{
      trace: { spans: { attributes: { key: string; value: { string_value?: string } }[] }[] };
    }>('GET', `${V3}/traces/get?trace_id=tr-${traceHex}`);
    expect(full.status).toBe(200);
    const inputs = full.body.trace.spans[0]?.attributes.find((kv) => kv.key === 'mlflow.spanInputs');
    expect(JSON.parse(inputs?.value.string_value ?? '{}').payload).toBe(payload);
  });
});

describe('search', () => {
  let experimentId: string;
  let runId: string;
  const ids: Record<string, string> = {};
  const base = 1_800_001_000_000;

  beforeAll(async () => {
    experimentId = await experiment('traces-search');
    const run = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: experimentId,
    });
    runId = run.body.run.info.run_id;
    ids.a = await tracedCall(experimentId, {
      startMs: base,
      durationMs: 50,
      name: 'alpha',
      tags: { team: 'ml' },
    });
    ids.b = await tracedCall(experimentId, {
      startMs: base + 1000,
      durationMs: 5,
      name: 'beta',
      error: true,
    });
    ids.c = await tracedCall(experimentId, {
      startMs: base + 2000,
      durationMs: 500,
      name: 'gamma',
      tags: { team: 'data' },
      metadata: { 'mlflow.sourceRun': runId },
    });
    ids.d = await tracedCall(experimentId, { startMs: base + 3000, durationMs: 20, name: 'alpha' });
    ids.e = await tracedCall(experimentId, { startMs: base + 4000, durationMs: 1, name: 'delta' });
  });

  it('orders newest first by default, and by time or duration when asked', async () => {
    expect(await searchIds(experimentId)).toEqual([ids.e, ids.d, ids.c, ids.b, ids.a]);
    expect(await searchIds(experimentId, { order_by: ['timestamp_ms ASC'] })).toEqual([
      ids.a,
      ids.b,
      ids.c,
      ids.d,
      ids.e,
    ]);
    expect(await searchIds(experimentId, { order_by: ['execution_time_ms DESC'] })).toEqual([
      ids.c,
      ids.a,
      ids.d,
      ids.b,
      ids.e,
    ]);
    // The two 'alpha' traces tie on name; MLflow breaks ties newest first, then by trace id.
    expect(await searchIds(experimentId, { order_by: ['name ASC'] })).toEqual([
      ids.d,
      ids.a,
      ids.b,
      ids.e,
      ids.c,
    ]);
  });

  it('filters by status, name, tag, time, duration, run and metadata', async () => {
    expect(await searchIds(experimentId, { filter: "trace.status = 'ERROR'" })).toEqual([ids.b]);
    expect(await searchIds(experimentId, { filter: "attributes.status != 'ERROR'" })).toHaveLength(4);
    expect(await searchIds(experimentId, { filter: "trace.name = 'alpha'" })).toEqual([ids.d, ids.a]);
    expect(await searchIds(experimentId, { filter: "trace.name LIKE 'al%'" })).toEqual([ids.d, ids.a]);
    expect(await searchIds(experimentId, { filter: "tag.team = 'ml'" })).toEqual([ids.a]);
    expect(await searchIds(experimentId, { filter: 'tags.team IS NOT NULL' })).toEqual([ids.c, ids.a]);
    expect(await searchIds(experimentId, { filter: `trace.timestamp_ms >= ${base + 2000}` })).toEqual([
      ids.e,
      ids.d,
      ids.c,
    ]);
    expect(
      await searchIds(experimentId, {
        filter: `trace.timestamp_ms > ${base} AND trace.timestamp_ms < ${base + 3000}`,
      }),
    ).toEqual([ids.c, ids.b]);
    expect(await searchIds(experimentId, { filter: 'trace.execution_time_ms > 30' })).toEqual([ids.c, ids.a]);
    expect(await searchIds(experimentId, { filter: `attribute.run_id = '${runId}'` })).toEqual([ids.c]);
    expect(await searchIds(experimentId, { filter: 'metadata.`mlflow.sourceRun` IS NULL' })).toHaveLength(4);
    expect(await searchIds(experimentId, { filter: "trace.status IN ('ERROR', 'OK')" })).toHaveLength(5);
  });

  it('pages through every trace once, in order, with filters and without', async () => {
    for (const extra of [
      {},
      { order_by: ['timestamp_ms ASC'] },
      { filter: "trace.status = 'OK'" },
      { order_by: ['name DESC'] },
    ]) {
      const all = await searchIds(experimentId, { ...extra, max_results: 100 });
      const paged: string[] = [];
      let token: string | undefined;
      do {
        const page = await search({
          locations: locations(experimentId),
          ...extra,
          max_results: 2,
          ...(token ? { page_token: token } : {}),
        });
        expect(page.status).toBe(200);
        expect((page.body.traces ?? []).length).toBeLessThanOrEqual(2);
        paged.push(...(page.body.traces ?? []).map((trace) => trace.trace_id));
        token = page.body.next_page_token;
      } while (token);
      expect(paged).toEqual(all);
    }
  });

  it('refuses what it cannot search, with MLflow-shaped 400s', async () => {
    for (const body of [
      { locations: locations(experimentId), filter: "span.name = 'x'" },
      { locations: locations(experimentId), filter: "trace.status = 'OK' OR trace.name = 'x'" },
      { locations: locations(experimentId), filter: "trace.timestamp_ms > 'yesterday'" },
      { locations: locations(experimentId), order_by: ['span.name ASC'] },
      { locations: locations(experimentId), order_by: ['name', 'name DESC'] },
      { locations: locations(experimentId), max_results: 0 },
      { locations: locations(experimentId), page_token: 'not-a-token' },
      {},
    ]) {
      const response = await search(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body).toMatchObject({
        error_code: 'INVALID_PARAMETER_VALUE',
        message: expect.any(String),
      });
    }
    const unknown = await search({ locations: locations('987654') });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
  });
});

describe('tags, assessments and runs', () => {
  it("takes the trace ids MLflow's clients choose ('tr-1234'), up to MLflow's 50 characters", async () => {
    const experimentId = await experiment('traces-own-ids');
    const timing = { startMs: 1_800_002_500_000, durationMs: 2000 };
    for (const suffix of ['1234', `${'x'.repeat(40)}_-AZ09`]) {
      const started = await startTrace(experimentId, suffix, {
        ...timing,
        tags: { tag1: 'red', tag2: 'blue' },
      });
      expect(started.status, started.text).toBe(200);
      const traceId = `tr-${suffix}`;
      expect(started.body.trace.trace_info.trace_id).toBe(traceId);
      const set = await api.request('PATCH', `${V3}/traces/${traceId}/tags`, {
        json: { key: 'tag1', value: 'green' },
      });
      expect(set.status, set.text).toBe(200);
      const deleted = await api.request('DELETE', `${V3}/traces/${traceId}/tags`, { json: { key: 'tag2' } });
      expect(deleted.status, deleted.text).toBe(200);
      const info = await api.request<{ trace: { trace_info: TraceInfoJson } }>(
        'GET',
        `${V3}/traces/${traceId}`,
      );
      expect(info.body.trace.trace_info.tags).toMatchObject({ tag1: 'green' });
      expect(info.body.trace.trace_info.tags.tag2).toBeUndefined();
    }
    expect(await searchIds(experimentId)).toHaveLength(2);
    // Nothing that could reach a key's separator or an S3 path's structure, and nothing past 50 characters.
    for (const suffix of ['', 'a.b', 'a#b', 'x'.repeat(48), 'é']) {
      const refused = await startTrace(experimentId, suffix, timing);
      expect(refused.status, suffix).toBe(400);
      expect(refused.body).toMatchObject({
        error_code: 'INVALID_PARAMETER_VALUE',
        message: expect.stringContaining("'trace.trace_info.trace_id'"),
      });
    }
    expect(await searchIds(experimentId)).toHaveLength(2);
  });

  it('sets and deletes tags on the 2.0 and 3.0 paths', async () => {
    const experimentId = await experiment('traces-tags');
    const traceId = await tracedCall(experimentId, { startMs: 1_800_002_000_000, tags: { stage: 'dev' } });
    for (const prefix of ['/api/2.0/mlflow', V3]) {
      expect(
        (
          await api.request('PATCH', `${prefix}/traces/${traceId}/tags`, {
            json: { key: 'k', value: prefix },
          })
        ).status,
      ).toBe(200);
    }
    expect(
      (await api.request('DELETE', `/api/2.0/mlflow/traces/${traceId}/tags`, { json: { key: 'stage' } }))
        .status,
    ).toBe(200);
    const info = await api.request<{ trace: { trace_info: TraceInfoJson } }>(
      'GET',
      `${V3}/traces/${traceId}`,
    );
    expect(info.body.trace.trace_info.tags.k).toBe(V3);
    expect(info.body.trace.trace_info.tags.stage).toBeUndefined();
    expect(await searchIds(experimentId, { filter: `tag.k = '${V3}'` })).toEqual([traceId]);

    const missingTag = await api.request('DELETE', `${V3}/traces/${traceId}/tags`, {
      json: { key: 'stage' },
    });
    expect(missingTag.status).toBe(404);
    const unknown = await api.request('PATCH', `${V3}/traces/tr-${newTraceHex()}/tags`, {
      json: { key: 'k', value: 'v' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
    const longKey = await api.request('PATCH', `${V3}/traces/${traceId}/tags`, {
      json: { key: 'k'.repeat(251), value: 'v' },
    });
    expect(longKey.status).toBe(400);
  });

  it('creates, reads, updates and deletes assessments, which the trace info carries', async () => {
    const experimentId = await experiment('traces-assessments');
    const traceId = await tracedCall(experimentId, { startMs: 1_800_003_000_000 });
    const created = await api.request<{ assessment: { assessment_id: string; valid: boolean } }>(
      'POST',
      `${V3}/traces/${traceId}/assessments`,
      {
        json: {
          assessment: {
            assessment_name: 'good',
            trace_id: traceId,
            source: { source_type: 'HUMAN', source_id: 'me' },
            feedback: { value: true },
          },
        },
      },
    );
    expect(created.status).toBe(200);
    const assessmentId = created.body.assessment.assessment_id;
    expect(created.body.assessment.valid).toBe(true);
    const path = `${V3}/traces/${traceId}/assessments/${assessmentId}`;
    const updated = await api.request<{ assessment: { rationale: string } }>('PATCH', path, {
      json: { assessment: { rationale: 'because' }, update_mask: 'rationale' },
    });
    expect(updated.body.assessment.rationale).toBe('because');
    expect(
      (await api.request<{ assessment: { rationale: string } }>('GET', path)).body.assessment.rationale,
    ).toBe('because');
    // The stock client sends the mask in FieldMask's JSON form (lowerCamelCase); paths MLflow does not
    // update (the id, the trace, the source) are ignored, as MLflow's handler ignores them.
    const renamed = await api.request<{
      assessment: { assessment_name: string; assessment_id: string; feedback: unknown; rationale: string };
    }>('PATCH', path, {
      json: {
        assessment: {
          assessment_id: 'a-other',
          assessment_name: 'better',
          feedback: { value: false },
          source: { source_type: 'LLM_JUDGE', source_id: 'x' },
        },
        update_mask: 'assessmentName,feedback,assessmentId,source',
      },
    });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body.assessment).toMatchObject({
      assessment_name: 'better',
      assessment_id: assessmentId,
      feedback: { value: false },
      rationale: 'because',
      source: { source_type: 'HUMAN', source_id: 'me' },
    });
    const info = await api.request<{ trace: { trace_info: TraceInfoJson } }>(
      'GET',
      `${V3}/traces/${traceId}`,
    );
    expect(info.body.trace.trace_info.assessments).toHaveLength(1);
    expect((await api.request('DELETE', path)).status).toBe(200);
    expect((await api.request('GET', path)).status).toBe(404);
    // An expectation whose value is an object is kept as MLflow keeps it: its JSON, in serialized_value.
    const expected = await api.request<{ assessment: { expectation: Record<string, unknown> } }>(
      'POST',
      `${V3}/traces/${traceId}/assessments`,
      {
        json: {
          assessment: {
            assessment_name: 'latency',
            source: { source_type: 'CODE', source_id: 't' },
            expectation: { value: { threshold_ms: 1000, passed: true } },
          },
        },
      },
    );
    expect(expected.status, expected.text).toBe(200);
    const serialized = expected.body.assessment.expectation.serialized_value as { value: string };
    expect(expected.body.assessment.expectation).toMatchObject({
      serialized_value: { serialization_format: 'JSON_FORMAT' },
    });
    expect(JSON.parse(serialized.value)).toEqual({ threshold_ms: 1000, passed: true });
    const scalar = await api.request<{ assessment: { expectation: Record<string, unknown> } }>(
      'POST',
      `${V3}/traces/${traceId}/assessments`,
      { json: { assessment: { assessment_name: 'answer', expectation: { value: 42 } } } },
    );
    expect(scalar.body.assessment.expectation).toEqual({ value: 42 });
    const noValue = await api.request('POST', `${V3}/traces/${traceId}/assessments`, {
      json: { assessment: { assessment_name: 'x' } },
    });
    expect(noValue.status).toBe(400);
  });

  it('links traces to a run, which run_id filters then find', async () => {
    const experimentId = await experiment('traces-link');
    const run = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: experimentId,
    });
    const runId = run.body.run.info.run_id;
    const traceId = await tracedCall(experimentId, { startMs: 1_800_004_000_000 });
    const linked = await api.post('traces/link-to-run', { trace_ids: [traceId], run_id: runId });
    expect(linked.status).toBe(200);
    expect(await searchIds(experimentId, { filter: `trace.run_id = '${runId}'` })).toEqual([traceId]);
    const noRun = await api.post('traces/link-to-run', { trace_ids: [traceId], run_id: 'f'.repeat(32) });
    expect(noRun.status).toBe(404);
  });
});

describe('deletes and retention', () => {
  it('deletes by ids, and the oldest traces up to a time, at most max_traces', async () => {
    const experimentId = await experiment('traces-delete');
    const base = 1_800_005_000_000;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await tracedCall(experimentId, { startMs: base + i * 1000 }));
    const byIds = await api.post<{ traces_deleted: number }>('traces/delete-traces', {
      experiment_id: experimentId,
      request_ids: [ids[4], `tr-${newTraceHex()}`],
    });
    expect(byIds.body).toEqual({ traces_deleted: 1 });
    expect((await api.request('GET', `${V3}/traces/get?trace_id=${ids[4]}`)).status).toBe(404);

    const byAge = await api.request<{ traces_deleted: number }>('POST', `${V3}/traces/delete-traces`, {
      json: { experiment_id: experimentId, max_timestamp_millis: base + 2000, max_traces: 2 },
    });
    expect(byAge.body).toEqual({ traces_deleted: 2 });
    expect(await searchIds(experimentId)).toEqual([ids[3], ids[2]]);

    for (const body of [
      { experiment_id: experimentId },
      { experiment_id: experimentId, request_ids: [ids[2]], max_timestamp_millis: base },
      { request_ids: [ids[2]] },
    ]) {
      expect((await api.post('traces/delete-traces', body)).status, JSON.stringify(body)).toBe(400);
    }
  });

  it('treats a trace past its retention as gone, before DynamoDB’s TTL removes it', async () => {
    const experimentId = await experiment('traces-expired');
    const traceId = await tracedCall(experimentId, { startMs: 1_800_006_000_000 });
    const table = serverTable(server);
    try {
      await table.doc.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: keys.trace(traceId),
          UpdateExpression: 'SET expires_at = :past',
          ExpressionAttributeValues: { ':past': Math.floor(Date.now() / 1000) - 60 },
        }),
      );
    } finally {
      table.destroy();
    }
    expect((await api.request('GET', `${V3}/traces/${traceId}`)).status).toBe(404);
    expect(await searchIds(experimentId)).toEqual([]);
    expect(
      (await api.request('PATCH', `${V3}/traces/${traceId}/tags`, { json: { key: 'k', value: 'v' } })).status,
    ).toBe(404);
  });
});

describe('bad input', () => {
  let experimentId: string;
  beforeAll(async () => {
    experimentId = await experiment('traces-bad');
  });

  const post = (body: string | Uint8Array, headers: Record<string, string>) =>
    api.request('POST', '/v1/traces', { body, headers });

  it('answers malformed OTLP with a 400 and stores nothing', async () => {
    const protobuf = { 'content-type': 'application/x-protobuf', 'x-mlflow-experiment-id': experimentId };
    const cases: [string | Uint8Array, Record<string, string>][] = [
      [Buffer.from([0x0a, 0xff, 0xff]), protobuf],
      [Buffer.alloc(0), protobuf],
      [
        '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "abc"}]}]}]}',
        { ...protobuf, 'content-type': 'application/json' },
      ],
      ['not json', { ...protobuf, 'content-type': 'application/json' }],
      [
        otlpJson([{ traceHex: newTraceHex(), spanHex: newSpanHex(), name: 'x', startMs: 1, endMs: 2 }]),
        { ...protobuf, 'content-type': 'text/plain' },
      ],
      [Buffer.from('not gzip'), { ...protobuf, 'content-encoding': 'gzip' }],
      [
        otlpProtobuf([{ traceHex: newTraceHex(), spanHex: newSpanHex(), name: 'x', startMs: 1, endMs: 2 }]),
        { 'content-type': 'application/x-protobuf' },
      ],
    ];
    for (const [body, headers] of cases) {
      const response = await post(body, headers);
      expect(response.status, JSON.stringify(headers)).toBe(400);
      expect(response.body).toMatchObject({
        error_code: 'INVALID_PARAMETER_VALUE',
        message: expect.any(String),
      });
    }
    expect(await searchIds(experimentId)).toEqual([]);
  });

  it('answers spans for an unknown experiment with a 404, storing nothing', async () => {
    const traceHex = newTraceHex();
    const response = await exportSpans('424242', [
      { traceHex, spanHex: newSpanHex(), name: 'x', startMs: 1_800_007_000_000, endMs: 1_800_007_000_001 },
    ]);
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
    expect((await api.request('GET', `${V3}/traces/tr-${traceHex}`)).status).toBe(404);
  });

  it('answers an export beyond the 6 MB request limit with a 413 that says so', async () => {
    const response = await exportSpans(experimentId, [
      {
        traceHex: newTraceHex(),
        spanHex: newSpanHex(),
        name: 'huge',
        startMs: 1_800_008_000_000,
        endMs: 1_800_008_000_001,
        attributes: { 'mlflow.spanInputs': 'z'.repeat(5 * 1024 * 1024) },
      },
    ]);
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({
      error_code: 'RESOURCE_LIMIT_EXCEEDED',
      message: expect.stringMatching(/limit/),
    });
    expect(await searchIds(experimentId)).toEqual([]);
  });

  it('answers bad trace info and ids with 400s, unknown traces with 404s', async () => {
    const start = await api.request('POST', `${V3}/traces`, {
      json: { trace: { trace_info: { trace_id: 'nope' } } },
    });
    expect(start.status).toBe(400);
    const noInfo = await api.request('POST', `${V3}/traces`, { json: {} });
    expect(noInfo.status).toBe(400);
    const badTime = await api.request('POST', `${V3}/traces`, {
      json: {
        trace: {
          trace_info: {
            trace_id: `tr-${newTraceHex()}`,
            trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
            request_time: 'yesterday',
            state: 'OK',
          },
        },
      },
    });
    expect(badTime.status).toBe(400);
    const unknownExperiment = await startTrace('424242', newTraceHex(), {
      startMs: 1_800_009_000_000,
      durationMs: 1,
    });
    expect(unknownExperiment.status).toBe(404);
    expect((await api.request('GET', `${V3}/traces/not-a-trace-id`)).status).toBe(400);
    expect((await api.request('GET', `${V3}/traces/get`)).status).toBe(400);
    expect((await api.request('GET', `${V3}/traces/get?trace_id=tr-${newTraceHex()}`)).status).toBe(404);
    expect((await api.request('GET', `${V3}/traces/batchGet`)).status).toBe(400);
  });

  it('keeps a trace in the experiment it was first stored in', async () => {
    const other = await experiment('traces-bad-other');
    const traceHex = newTraceHex();
    const span = {
      traceHex,
      spanHex: newSpanHex(),
      name: 'x',
      startMs: 1_800_010_000_000,
      endMs: 1_800_010_000_001,
    };
    expect((await exportSpans(experimentId, [span])).status).toBe(200);
    expect((await exportSpans(other, [span])).status).toBe(400);
    const moved = await startTrace(other, traceHex, { startMs: span.startMs, durationMs: 1 });
    expect(moved.status).toBe(400);
    expect(await searchIds(other)).toEqual([]);
  });
});
