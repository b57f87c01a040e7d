/**
 * Issue 14's leftovers over HTTP: MLflow 2's trace protocol as clients 2.14–2.21 speak it (StartTrace,
 * the `mlflow.traceSpans` tag, `traces.json` PUT to the trace's artifact location, EndTrace; then
 * GetTraceInfo, SearchTraces and the file read back), the same file served for a newer client's OTLP
 * trace, a trace whose spans never arrived, writes to a deleted experiment, and trace orders.
 *
 * The older client's requests are written from MLflow 2.17's RestStore and HttpArtifactRepository (no
 * older client could be installed here to record): JSON bodies for POST/PATCH, query parameters for GET.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/http.js';
import { newSpanHex, newTraceHex, otlpJson, type TestSpan } from '../helpers/otlp.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
});
afterAll(async () => {
  await server?.close();
});

const V2 = '/api/2.0/mlflow';
const V3 = '/api/3.0/mlflow';

interface KeyValue {
  key: string;
  value: string;
}
interface TraceInfoV2 {
  request_id: string;
  experiment_id: string;
  timestamp_ms: number;
  execution_time_ms: number;
  status: string;
  request_metadata?: KeyValue[];
  tags?: KeyValue[];
}

const asMap = (list: KeyValue[] | undefined) => Object.fromEntries((list ?? []).map((e) => [e.key, e.value]));

async function experiment(name: string): Promise<string> {
  const created = await api.post<{ experiment_id: string }>('experiments/create', { name });
  expect(created.status).toBe(200);
  return created.body.experiment_id;
}

function exportSpans(experimentId: string, spans: readonly TestSpan[]) {
  return api.request('POST', '/v1/traces', {
    body: otlpJson(spans),
    headers: { 'content-type': 'application/json', 'x-mlflow-experiment-id': experimentId },
  });
}

function startTraceV3(experimentId: string, traceHex: string, startMs: number) {
  return api.request('POST', `${V3}/traces`, {
    json: {
      trace: {
        trace_info: {
          trace_id: `tr-${traceHex}`,
          trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
          request_time: new Date(startMs).toISOString(),
          execution_duration: '0.010s',
          state: 'OK',
          trace_metadata: { 'mlflow.trace_schema.version': '3', 'mlflow.trace.sizeBytes': '7340032' },
          tags: { 'mlflow.traceName': 'big' },
        },
      },
    },
  });
}

const startV2 = (experimentId: string, timestampMs: number, name: string) =>
  api.request<{ trace_info: TraceInfoV2 }>('POST', `${V2}/traces`, {
    json: {
      experiment_id: experimentId,
      timestamp_ms: timestampMs,
      request_metadata: [{ key: 'mlflow.trace_schema.version', value: '2' }],
      tags: [{ key: 'mlflow.traceName', value: name }],
    },
  });

/** What MLflow 2.17's TraceData.to_dict() writes (json.dumps, ensure_ascii=False). */
function traceDataFile(requestId: string, startMs: number, name: string): string {
  const traceHex = newTraceHex();
  const spanHex = newSpanHex();
  return JSON.stringify({
    spans: [
      {
        name,
        context: { span_id: `0x${spanHex}`, trace_id: `0x${traceHex}` },
        parent_id: null,
        start_time: startMs * 1_000_000,
        end_time: (startMs + 25) * 1_000_000,
        status_code: 'OK',
        status_message: '',
        attributes: {
          'mlflow.traceRequestId': JSON.stringify(requestId),
          'mlflow.spanType': '"CHAIN"',
          'mlflow.spanInputs': '{"question": "ünïcode?"}',
          'mlflow.spanOutputs': '"42"',
        },
        events: [],
      },
    ],
    request: '{"question": "ünïcode?"}',
    response: '"42"',
  });
}

const artifactPath = (experimentId: string, requestId: string) =>
  `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/traces/${requestId}/artifacts/traces.json`;

/** Every step of a traced call by an MLflow 2.17 client; returns the request id and the uploaded file. */
async function tracedCallV2(
  experimentId: string,
  startMs: number,
  name: string,
  status = 'OK',
): Promise<{ requestId: string; file: string }> {
  const started = await startV2(experimentId, startMs, name);
  expect(started.status).toBe(200);
  const requestId = started.body.trace_info.request_id;
  const spansTag = await api.request('PATCH', `${V2}/traces/${requestId}/tags`, {
    json: { key: 'mlflow.traceSpans', value: JSON.stringify([{ name, type: 'CHAIN' }]) },
  });
  expect(spansTag.status).toBe(200);
  const file = traceDataFile(requestId, startMs, name);
  const uploaded = await api.request('PUT', artifactPath(experimentId, requestId), { body: file });
  expect(uploaded.status).toBe(200);
  const ended = await api.request<{ trace_info: TraceInfoV2 }>('PATCH', `${V2}/traces/${requestId}`, {
    json: {
      request_id: requestId,
      timestamp_ms: startMs + 25,
      status,
      request_metadata: [
        { key: 'mlflow.traceInputs', value: '{"question": "ünïcode?"}' },
        { key: 'mlflow.traceOutputs', value: '"42"' },
      ],
      tags: [{ key: 'mlflow.traceName', value: name }],
    },
  });
  expect(ended.status).toBe(200);
  return { requestId, file };
}

describe("an MLflow 2 client's traces", () => {
  it('starts, uploads, ends and reads back a trace as MLflow answers it', async () => {
    const experimentId = await experiment('v2-client');
    const startMs = 1_800_000_000_000;
    const started = await startV2(experimentId, startMs, 'predict');
    expect(started.status).toBe(200);
    const info = started.body.trace_info;
    expect(info.request_id).toMatch(/^[0-9a-f]{32}$/);
    expect(info).toMatchObject({
      experiment_id: experimentId,
      timestamp_ms: startMs,
      execution_time_ms: 0,
      status: 'IN_PROGRESS',
      request_metadata: [{ key: 'mlflow.trace_schema.version', value: '2' }],
    });
    const tags = asMap(info.tags);
    expect(tags['mlflow.artifactLocation']).toBe(
      `mlflow-artifacts:/${experimentId}/traces/${info.request_id}/artifacts`,
    );
    expect(tags['mlflow.traceName']).toBe('predict');
    // Its spans are the uploaded file, not Cairn's: a 3.x client reading it must download traces.json.
    expect(tags['mlflow.trace.spansLocation']).toBeUndefined();
    expect(tags['cairn.trace.spansMissing']).toBeUndefined();

    const requestId = info.request_id;
    const file = traceDataFile(requestId, startMs, 'predict');
    const uploaded = await api.request('PUT', artifactPath(experimentId, requestId), { body: file });
    expect(uploaded.status).toBe(200);
    const ended = await api.request<{ trace_info: TraceInfoV2 }>('PATCH', `${V2}/traces/${requestId}`, {
      json: {
        request_id: requestId,
        timestamp_ms: String(startMs + 25),
        status: 'ERROR',
        request_metadata: [{ key: 'mlflow.traceInputs', value: '{"q": 1}' }],
        tags: [{ key: 'team', value: 'ml' }],
      },
    });
    expect(ended.status).toBe(200);
    expect(ended.body.trace_info).toMatchObject({
      request_id: requestId,
      timestamp_ms: startMs,
      execution_time_ms: 25,
      status: 'ERROR',
    });
    // Merged over what StartTrace stored, as MLflow's store merges them.
    expect(asMap(ended.body.trace_info.request_metadata)).toEqual({
      'mlflow.trace_schema.version': '2',
      'mlflow.traceInputs': '{"q": 1}',
    });
    expect(asMap(ended.body.trace_info.tags)).toMatchObject({ 'mlflow.traceName': 'predict', team: 'ml' });

    const got = await api.request<{ trace_info: TraceInfoV2 }>(
      'GET',
      `${V2}/traces/${requestId}/info?request_id=${requestId}`,
    );
    expect(got.status).toBe(200);
    expect(got.body.trace_info).toEqual(ended.body.trace_info);

    // Read back byte for byte, where the client downloads it and where MLflow's UI asks for it.
    for (const path of [
      artifactPath(experimentId, requestId),
      `/ajax-api/2.0/mlflow/get-trace-artifact?request_id=${requestId}`,
      `/api/2.0/mlflow/get-trace-artifact?request_id=${requestId}`,
    ]) {
      const download = await api.request('GET', path);
      expect(download.status, path).toBe(200);
      expect(download.text, path).toBe(file);
      expect(download.headers.get('content-disposition'), path).toBe('attachment; filename=traces.json');
    }

    // A 3.x client sees the same trace through the v3 API, with its spans left to traces.json.
    const v3 = await api.request<{ trace: { trace_info: Record<string, unknown> } }>(
      'GET',
      `${V3}/traces/${requestId}`,
    );
    expect(v3.status).toBe(200);
    expect(v3.body.trace.trace_info).toMatchObject({
      trace_id: requestId,
      state: 'ERROR',
      execution_duration: '0.025s',
    });
  });

  it('searches with query parameters, filters, orders and pages', async () => {
    const experimentId = await experiment('v2-search');
    const base = 1_800_000_100_000;
    const a = await tracedCallV2(experimentId, base, 'alpha');
    const b = await tracedCallV2(experimentId, base + 1000, 'beta', 'ERROR');
    const c = await tracedCallV2(experimentId, base + 2000, 'alpha');
    const ids = async (query: Record<string, string | number | string[]>) => {
      const response = await api.get<{ traces?: TraceInfoV2[]; next_page_token?: string }>('traces', {
        experiment_ids: experimentId,
        ...query,
      });
      expect(response.status, JSON.stringify(query)).toBe(200);
      return (response.body.traces ?? []).map((trace) => trace.request_id);
    };
    expect(await ids({})).toEqual([c.requestId, b.requestId, a.requestId]);
    expect(await ids({ order_by: 'timestamp_ms ASC' })).toEqual([a.requestId, b.requestId, c.requestId]);
    expect(await ids({ filter: "status = 'ERROR'" })).toEqual([b.requestId]);
    expect(await ids({ filter: "tag.`mlflow.traceName` = 'alpha'" })).toEqual([c.requestId, a.requestId]);
    expect(await ids({ order_by: ['name DESC'] })).toEqual([b.requestId, c.requestId, a.requestId]);

    const paged: string[] = [];
    let token: string | undefined;
    do {
      const page = await api.get<{ traces?: TraceInfoV2[]; next_page_token?: string }>('traces', {
        experiment_ids: experimentId,
        max_results: 2,
        ...(token ? { page_token: token } : {}),
      });
      expect(page.status).toBe(200);
      paged.push(...(page.body.traces ?? []).map((trace) => trace.request_id));
      token = page.body.next_page_token;
    } while (token);
    expect(paged).toEqual([c.requestId, b.requestId, a.requestId]);

    const listed = await api.get<{ traces: TraceInfoV2[] }>('traces', {
      experiment_ids: experimentId,
      filter: `request_id = '${a.requestId}'`,
    });
    expect(listed.body.traces).toHaveLength(1);
    expect(listed.body.traces[0]).toMatchObject({ execution_time_ms: 25, status: 'OK' });
    expect(asMap(listed.body.traces[0]?.tags)['mlflow.traceSpans']).toBe('[{"name":"alpha","type":"CHAIN"}]');
  });

  it("deletes a trace and its traces.json with MLflow 2's delete-traces", async () => {
    const experimentId = await experiment('v2-delete');
    const { requestId } = await tracedCallV2(experimentId, 1_800_000_200_000, 'gone');
    const deleted = await api.post<{ traces_deleted: number }>('traces/delete-traces', {
      experiment_id: experimentId,
      request_ids: [requestId],
    });
    expect(deleted.status).toBe(200);
    expect(deleted.body.traces_deleted).toBe(1);
    expect((await api.request('GET', `${V2}/traces/${requestId}/info`)).status).toBe(404);
    expect((await api.request('GET', artifactPath(experimentId, requestId))).status).toBe(404);
  });

  it('refuses bad requests with MLflow-shaped errors', async () => {
    const experimentId = await experiment('v2-bad');
    const { requestId } = await tracedCallV2(experimentId, 1_800_000_300_000, 'ok');
    const other = await experiment('v2-bad-other');
    const unknown = 'f'.repeat(32);
    const cases: [string, string, { json?: unknown; body?: string }, number][] = [
      ['POST', `${V2}/traces`, { json: { timestamp_ms: 1 } }, 400],
      ['POST', `${V2}/traces`, { json: { experiment_id: experimentId } }, 400],
      ['POST', `${V2}/traces`, { json: { experiment_id: experimentId, timestamp_ms: 'soon' } }, 400],
      ['POST', `${V2}/traces`, { json: { experiment_id: '987654', timestamp_ms: 1 } }, 404],
      [
        'POST',
        `${V2}/traces`,
        { json: { experiment_id: experimentId, timestamp_ms: 1, tags: [{ value: 'no key' }] } },
        400,
      ],
      ['PATCH', `${V2}/traces/${unknown}`, { json: { timestamp_ms: 1, status: 'OK' } }, 404],
      ['PATCH', `${V2}/traces/${requestId}`, { json: { timestamp_ms: 1, status: 'DONE' } }, 400],
      ['PATCH', `${V2}/traces/not-an-id`, { json: { timestamp_ms: 1, status: 'OK' } }, 400],
      ['GET', `${V2}/traces/${unknown}/info`, {}, 404],
      ['GET', `${V2}/traces`, {}, 400],
      ['GET', `${V2}/traces?experiment_ids=${experimentId}&max_results=501`, {}, 400],
      ['GET', `${V2}/get-trace-artifact`, {}, 400],
      ['GET', `${V2}/get-trace-artifact?request_id=${unknown}`, {}, 404],
      // The file belongs under its own experiment's location only.
      ['PUT', artifactPath(other, requestId), { body: traceDataFile(requestId, 1, 'x') }, 404],
      ['GET', artifactPath(other, requestId), {}, 404],
      ['PUT', artifactPath(experimentId, requestId), { body: 'not json' }, 400],
      ['PUT', artifactPath(experimentId, requestId), { body: '{"spans": 3}' }, 400],
      ['PUT', artifactPath(experimentId, unknown), { body: traceDataFile(unknown, 1, 'x') }, 404],
    ];
    for (const [method, path, options, status] of cases) {
      const response = await api.request(method, path, options);
      expect(response.status, `${method} ${path} ${JSON.stringify(options).slice(0, 80)}`).toBe(status);
      expect(response.body).toMatchObject({ error_code: expect.any(String), message: expect.any(String) });
    }
    // The refused upload left the trace's own file as it was.
    expect((await api.request('GET', artifactPath(experimentId, requestId))).text).toContain('"ok"');
  });
});

describe("a newer client's OTLP trace, read by an older client", () => {
  it('answers v2 trace info and writes the spans as traces.json, nanoseconds exact', async () => {
    const experimentId = await experiment('v2-reads-v3');
    const traceHex = newTraceHex();
    const rootHex = newSpanHex();
    const childHex = newSpanHex();
    const startMs = 1_800_000_400_123;
    const exported = await exportSpans(experimentId, [
      {
        traceHex,
        spanHex: rootHex,
        name: 'root',
        startMs,
        endMs: startMs + 40,
        attributes: { 'mlflow.spanInputs': '{"x": 1}', 'mlflow.spanOutputs': '2' },
      },
      {
        traceHex,
        spanHex: childHex,
        parentHex: rootHex,
        name: 'child',
        startMs: startMs + 1,
        endMs: startMs + 30,
        error: true,
      },
    ]);
    expect(exported.status).toBe(200);
    const traceId = `tr-${traceHex}`;

    const info = await api.request<{ trace_info: TraceInfoV2 }>('GET', `${V2}/traces/${traceId}/info`);
    expect(info.status).toBe(200);
    expect(info.body.trace_info).toMatchObject({
      request_id: traceId,
      experiment_id: experimentId,
      timestamp_ms: startMs,
      execution_time_ms: 40,
      status: 'OK',
    });
    expect(asMap(info.body.trace_info.tags)).toMatchObject({
      'mlflow.artifactLocation': `mlflow-artifacts:/${experimentId}/traces/${traceId}/artifacts`,
      'mlflow.trace.spansLocation': 'TRACKING_STORE',
    });

    const download = await api.request<{
      spans: Record<string, unknown>[];
      request: unknown;
      response: unknown;
    }>('GET', artifactPath(experimentId, traceId));
    expect(download.status).toBe(200);
    // Nanosecond times beyond a double's precision are written digit for digit.
    expect(download.text).toContain(`"start_time": ${BigInt(startMs) * 1_000_000n}`);
    expect(download.body.request).toBe(JSON.stringify('{"x": 1}'));
    expect(download.body.response).toBe(JSON.stringify('2'));
    expect(download.body.spans).toEqual([
      {
        name: 'root',
        context: { span_id: `0x${rootHex}`, trace_id: `0x${traceHex}` },
        parent_id: null,
        start_time: expect.any(Number),
        end_time: expect.any(Number),
        status_code: 'OK',
        status_message: '',
        // As MLflow's store keeps them: each OTLP value JSON-dumped, the request id first.
        attributes: {
          'mlflow.traceRequestId': JSON.stringify(traceId),
          'mlflow.spanInputs': JSON.stringify('{"x": 1}'),
          'mlflow.spanOutputs': JSON.stringify('2'),
        },
        events: [],
      },
      expect.objectContaining({
        name: 'child',
        parent_id: `0x${rootHex}`,
        status_code: 'ERROR',
        status_message: 'boom',
      }),
    ]);
    // MLflow's UI call answers as MLflow 3's server does for spans in its store (Span.to_dict()).
    const artifact = await api.request<{ spans: Record<string, unknown>[] }>(
      'GET',
      `/ajax-api/2.0/mlflow/get-trace-artifact?request_id=${traceId}`,
    );
    expect(artifact.status).toBe(200);
    expect(artifact.text).toContain(`"start_time_unix_nano": ${BigInt(startMs) * 1_000_000n}`);
    expect(artifact.body.spans[0]).toEqual({
      trace_id: Buffer.from(traceHex, 'hex').toString('base64'),
      span_id: Buffer.from(rootHex, 'hex').toString('base64'),
      parent_span_id: null,
      name: 'root',
      start_time_unix_nano: expect.any(Number),
      end_time_unix_nano: expect.any(Number),
      events: [],
      status: { code: 'STATUS_CODE_OK', message: '' },
      attributes: {
        'mlflow.traceRequestId': JSON.stringify(traceId),
        'mlflow.spanInputs': JSON.stringify('{"x": 1}'),
        'mlflow.spanOutputs': JSON.stringify('2'),
      },
    });
    expect(artifact.body.spans[1]).toMatchObject({
      parent_span_id: Buffer.from(rootHex, 'hex').toString('base64'),
      status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
    });
  });
});

describe('a trace whose spans never arrived', () => {
  it('says so in a tag, searchable, until its spans come', async () => {
    const experimentId = await experiment('spans-missing');
    const traceHex = newTraceHex();
    const startMs = 1_800_000_500_000;
    // The export was refused before Cairn saw it (413 over 6 MB); the client then logs the info alone.
    expect((await startTraceV3(experimentId, traceHex, startMs)).status).toBe(200);
    const traceId = `tr-${traceHex}`;
    const got = await api.request<{ trace: { trace_info: { state: string; tags: Record<string, string> } } }>(
      'GET',
      `${V3}/traces/${traceId}`,
    );
    expect(got.body.trace.trace_info.state).toBe('OK');
    expect(got.body.trace.trace_info.tags['cairn.trace.spansMissing']).toMatch(/6 MB/);
    const search = (filter: string) =>
      api.request<{ traces?: { trace_id: string }[] }>('POST', `${V3}/traces/search`, {
        json: {
          locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
          filter,
        },
      });
    const missing = await search('tag.`cairn.trace.spansMissing` IS NOT NULL');
    expect((missing.body.traces ?? []).map((trace) => trace.trace_id)).toEqual([traceId]);

    // Spans that come late (an async export) clear the note.
    const exported = await exportSpans(experimentId, [
      { traceHex, spanHex: newSpanHex(), name: 'big', startMs, endMs: startMs + 10 },
    ]);
    expect(exported.status).toBe(200);
    const again = await api.request<{ trace: { trace_info: { tags: Record<string, string> } } }>(
      'GET',
      `${V3}/traces/${traceId}`,
    );
    expect(again.body.trace.trace_info.tags['cairn.trace.spansMissing']).toBeUndefined();
    expect((await search('tag.`cairn.trace.spansMissing` IS NOT NULL')).body.traces ?? []).toEqual([]);
  });
});

describe("a deleted experiment's traces", () => {
  it('keeps them readable, refuses new ones as MLflow does, and takes them again once restored', async () => {
    const experimentId = await experiment('deleted-traces');
    const kept = newTraceHex();
    const startMs = 1_800_000_600_000;
    const span = (traceHex: string): TestSpan => ({
      traceHex,
      spanHex: newSpanHex(),
      name: 'f',
      startMs,
      endMs: startMs + 5,
    });
    // Warms the function's cache of the experiment, which must not let later exports through.
    expect((await exportSpans(experimentId, [span(kept)])).status).toBe(200);
    expect((await startTraceV3(experimentId, kept, startMs)).status).toBe(200);

    expect((await api.post('experiments/delete', { experiment_id: experimentId })).status).toBe(200);
    const refusals = [
      await exportSpans(experimentId, [span(newTraceHex())]),
      await startTraceV3(experimentId, newTraceHex(), startMs),
      await startV2(experimentId, startMs, 'f'),
    ];
    for (const refused of refusals) {
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({
        error_code: 'INVALID_PARAMETER_VALUE',
        message: `The experiment ${experimentId} must be in the 'active' state. Current state is deleted.`,
      });
    }
    // MLflow's delete_experiment leaves traces in place (and `mlflow gc` removes them with the experiment).
    expect((await api.request('GET', `${V3}/traces/tr-${kept}`)).status).toBe(200);
    const listed = await api.request<{ traces?: unknown[] }>('POST', `${V3}/traces/search`, {
      json: {
        locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
      },
    });
    expect(listed.body.traces).toHaveLength(1);

    expect((await api.post('experiments/restore', { experiment_id: experimentId })).status).toBe(200);
    expect((await exportSpans(experimentId, [span(newTraceHex())])).status).toBe(200);
  });
});

describe('trace orders', () => {
  it('orders by a tag, nulls last, ties newest first', async () => {
    const experimentId = await experiment('tag-orders');
    const base = 1_800_000_700_000;
    const made: string[] = [];
    for (const [offset, team] of [
      [0, 'ml'],
      [1000, undefined],
      [2000, 'ml'],
      [3000, 'data'],
    ] as const) {
      const { requestId } = await tracedCallV2(experimentId, base + offset, 'f');
      if (team) {
        const tagged = await api.request('PATCH', `${V2}/traces/${requestId}/tags`, {
          json: { key: 'team', value: team },
        });
        expect(tagged.status).toBe(200);
      }
      made.push(requestId);
    }
    const [a, b, c, d] = made;
    const order = async (orderBy: string[]) => {
      const response = await api.request<{ traces?: { trace_id: string }[] }>('POST', `${V3}/traces/search`, {
        json: {
          locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
          order_by: orderBy,
        },
      });
      expect(response.status).toBe(200);
      return (response.body.traces ?? []).map((trace) => trace.trace_id);
    };
    expect(await order(['tag.team ASC'])).toEqual([d, c, a, b]);
    expect(await order(['tags.team DESC'])).toEqual([c, a, d, b]);
    expect(await order(['execution_time_ms ASC', 'timestamp_ms ASC'])).toEqual([a, b, c, d]);
    expect(await order(['status DESC'])).toEqual([d, c, b, a]);
  });
});
