/**
 * Review 14 of the traces function over HTTP: what a writer to one experiment can do to another's traces,
 * payloads that are well-formed yet large in span count, and odd filter strings (no 5xx).
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/http.js';
import { newSpanHex, newTraceHex, otlpJson, otlpProtobuf, type TestSpan } from '../helpers/otlp.js';
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

const V3 = '/api/3.0/mlflow';

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

describe('a trace belongs to one experiment', () => {
  it('keeps spans sent under another experiment out of the trace, as it keeps the trace itself', async () => {
    const owner = await experiment('review-owner');
    const intruder = await experiment('review-intruder');
    const traceHex = newTraceHex();
    const root = {
      traceHex,
      spanHex: newSpanHex(),
      name: 'root',
      startMs: 1_800_000_000_000,
      endMs: 1_800_000_000_010,
    };
    expect((await exportSpans(owner, [root])).status).toBe(200);
    const injected = { ...root, spanHex: newSpanHex(), parentHex: root.spanHex, name: 'injected' };
    // Refused: the trace is the owner's.
    expect((await exportSpans(intruder, [injected])).status).toBe(400);
    const trace = await api.request<{ trace: { spans: { name: string }[] } }>(
      'GET',
      `${V3}/traces/get?trace_id=tr-${traceHex}`,
    );
    expect(trace.status).toBe(200);
    expect(trace.body.trace.spans.map((span) => span.name)).toEqual(['root']);
  });
});

describe('large but well-formed exports', () => {
  // Gzip lets a body under the 6 MB request limit inflate to 64 MB (otlp.ts MAX_DECOMPRESSED_BYTES).
  const gzipped = (
    experimentId: string,
    spans: readonly TestSpan[],
    format: 'json' | 'protobuf' = 'protobuf',
  ) =>
    api.request('POST', '/v1/traces', {
      body: gzipSync(format === 'json' ? otlpJson(spans) : otlpProtobuf(spans)),
      headers: {
        'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf',
        'content-encoding': 'gzip',
        'x-mlflow-experiment-id': experimentId,
      },
    });

  it('reads a gzipped OTLP JSON export', async () => {
    const experimentId = await experiment('review-gzip-json');
    const span = {
      traceHex: newTraceHex(),
      spanHex: newSpanHex(),
      name: 'r',
      startMs: 1_800_000_000_000,
      endMs: 1_800_000_000_001,
    };
    const response = await gzipped(experimentId, [span], 'json');
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  });

  it('answers an export of 150,000 spans of one trace without a 5xx', async () => {
    const experimentId = await experiment('review-many-spans');
    const traceHex = newTraceHex();
    const spans = Array.from({ length: 150_000 }, (_, i) => ({
      traceHex,
      spanHex: i.toString(16).padStart(16, '0'),
      parentHex: '1'.repeat(16),
      name: '',
      startMs: 1_800_000_000_000 + i,
      endMs: 1_800_000_000_001 + i,
    }));
    const response = await gzipped(experimentId, spans);
    expect(response.status, JSON.stringify(response.body).slice(0, 300)).toBe(413);
    expect(JSON.stringify(response.body)).toContain('at most 10000');
    const trace = await api.request('GET', `${V3}/traces/get?trace_id=tr-${traceHex}`);
    expect(trace.status).toBe(404);
  });

  it('answers an export of 20,000 traces without a 5xx', async () => {
    const experimentId = await experiment('review-many-traces');
    const spans = Array.from({ length: 20_000 }, (_, i) => ({
      traceHex: newTraceHex(),
      spanHex: newSpanHex(),
      name: 'r',
      startMs: 1_800_000_000_000 + i,
      endMs: 1_800_000_000_001 + i,
    }));
    const response = await gzipped(experimentId, spans);
    expect(response.status, JSON.stringify(response.body).slice(0, 300)).toBeLessThan(500);
  }, 300_000);

  it('refuses an export of 1,001 traces naming the limit, and stores one of 1,000', async () => {
    const experimentId = await experiment('review-trace-limit');
    const spansOf = (count: number, base: number) =>
      Array.from({ length: count }, (_, i) => ({
        traceHex: newTraceHex(),
        spanHex: newSpanHex(),
        name: 'r',
        startMs: base + i,
        endMs: base + i + 1,
      }));
    const tooMany = spansOf(1001, 1_800_000_000_000);
    const refused = await gzipped(experimentId, tooMany);
    expect(refused.status).toBe(413);
    expect(JSON.stringify(refused.body)).toContain('at most 1000');
    const first = tooMany[0] as TestSpan;
    expect((await api.request('GET', `${V3}/traces/get?trace_id=tr-${first.traceHex}`)).status).toBe(404);

    const accepted = spansOf(1000, 1_800_000_100_000);
    expect((await gzipped(experimentId, accepted)).status).toBe(200);
    const last = accepted[999] as TestSpan;
    const trace = await api.request<{ trace: { spans: unknown[] } }>(
      'GET',
      `${V3}/traces/get?trace_id=tr-${last.traceHex}`,
    );
    expect(trace.status).toBe(200);
    expect(trace.body.trace.spans).toHaveLength(1);
  }, 120_000);
});

describe('search filters', () => {
  it('answers odd filter strings and orders with 4xx, never 5xx', async () => {
    const experimentId = await experiment('review-filters');
    const filters = [
      "tag.`a` = 'x'",
      "metadata.`` = 'x'",
      'timestamp_ms > 1e400',
      'timestamp_ms > -0',
      'execution_time_ms > NaN',
      'timestamp_ms > 99999999999999999999999',
      "name LIKE '%'",
      "name ILIKE '%\\'",
      "trace.status = 'OK' AND",
      "status IN ('OK')",
      "run_id = ''",
      'attributes.timestamp_ms >= 0 AND attributes.timestamp_ms <= 0 AND attributes.timestamp_ms != 0',
      "span.name = 'x'",
      "feedback.`x` = 'y'",
      "prompt = 'x'",
      `tag.k = '${'x'.repeat(100_000)}'`,
    ];
    const orders = [
      ['timestamp_ms DESC'],
      ['name'],
      ['tag.x'],
      [''],
      ['timestamp_ms sideways'],
      ['execution_time_ms ASC', 'timestamp_ms'],
    ];
    const answers: string[] = [];
    for (const filter of filters) {
      const response = await api.request('POST', `${V3}/traces/search`, {
        json: {
          locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
          filter,
        },
      });
      if (response.status >= 500) answers.push(`${filter}: ${response.status}`);
    }
    for (const order_by of orders) {
      const response = await api.request('POST', `${V3}/traces/search`, {
        json: {
          locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
          order_by,
        },
      });
      if (response.status >= 500) answers.push(`${order_by}: ${response.status}`);
    }
    for (const body of [
      { locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: '999999' } }] },
      { locations: [{ type: 'MLFLOW_EXPERIMENT' }] },
      { locations: [{ type: 'UC_SCHEMA', uc_schema: {} }] },
      { locations: 'x' },
      { locations: [null] },
      { page_token: 'garbage' },
      {
        locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
        page_token: 'eyJ4IjoxfQ==',
      },
      {
        locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
        max_results: 1.5,
      },
    ]) {
      const response = await api.request('POST', `${V3}/traces/search`, { json: body });
      if (response.status >= 500)
        answers.push(`${JSON.stringify(body)}: ${response.status} ${JSON.stringify(response.body)}`);
    }
    expect(answers).toEqual([]);
  });

  it("says what a trace filter looks like, not a run filter's example", async () => {
    const experimentId = await experiment('review-filter-hint');
    const response = await api.request<{ message: string }>('POST', `${V3}/traces/search`, {
      json: {
        locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
        filter: "trace.status = 'OK' AND",
      },
    });
    expect(response.status).toBe(400);
    expect(response.body.message).toContain("trace.status = 'OK'");
    expect(response.body.message).not.toContain('metrics.loss');
  });
});

describe('a trace item past 400 KB', () => {
  it('refuses tags and assessments that would outgrow the item with a 4xx, never a 5xx', async () => {
    const experimentId = await experiment('review-item-size');
    const traceHex = newTraceHex();
    const root = {
      traceHex,
      spanHex: newSpanHex(),
      name: 'root',
      startMs: 1_800_000_000_000,
      endMs: 1_800_000_000_010,
    };
    expect((await exportSpans(experimentId, [root])).status).toBe(200);
    const statuses = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const response = await api.request('PATCH', `${V3}/traces/tr-${traceHex}/tags`, {
        json: { key: `k${i}`, value: 'v'.repeat(8000) },
      });
      statuses.add(response.status);
    }
    for (let i = 0; i < 8; i++) {
      const response = await api.request('POST', `${V3}/traces/tr-${traceHex}/assessments`, {
        json: {
          assessment: {
            assessment_name: `a${i}`,
            trace_id: `tr-${traceHex}`,
            source: { source_type: 'HUMAN', source_id: 'me' },
            feedback: { value: 'x'.repeat(20_000) },
          },
        },
      });
      statuses.add(response.status);
    }
    expect([...statuses].filter((status) => status >= 500)).toEqual([]);
    expect(statuses).toContain(400);
    const info = await api.request<{
      trace: { trace_info: { tags: Record<string, string>; assessments?: unknown[] } };
    }>('GET', `${V3}/traces/tr-${traceHex}`);
    expect(info.status).toBe(200);
    const tags = Object.entries(info.body.trace.trace_info.tags).filter(([key]) => /^k\d+$/.test(key));
    // Refused updates wrote nothing: every tag there is whole, and some were refused.
    expect(tags.length).toBeGreaterThan(0);
    expect(tags.length).toBeLessThan(60);
    for (const [, value] of tags) expect(value).toHaveLength(8000);
  });
});

describe('overriding feedback', () => {
  it('marks the overridden assessment invalid, and valid again when the override is deleted', async () => {
    const experimentId = await experiment('review-override');
    const traceHex = newTraceHex();
    const traceId = `tr-${traceHex}`;
    const root = {
      traceHex,
      spanHex: newSpanHex(),
      name: 'root',
      startMs: 1_800_000_000_000,
      endMs: 1_800_000_000_010,
    };
    expect((await exportSpans(experimentId, [root])).status).toBe(200);
    const create = (extra: Record<string, unknown>) =>
      api.request<{ assessment: { assessment_id: string; valid: boolean; overrides?: string } }>(
        'POST',
        `${V3}/traces/${traceId}/assessments`,
        {
          json: {
            assessment: {
              assessment_name: 'correct',
              trace_id: traceId,
              source: { source_type: 'LLM_JUDGE', source_id: 'judge' },
              feedback: { value: false },
              ...extra,
            },
          },
        },
      );
    const original = await create({});
    expect(original.status).toBe(200);
    const originalId = original.body.assessment.assessment_id;
    const override = await create({
      source: { source_type: 'HUMAN', source_id: 'me' },
      feedback: { value: true },
      overrides: originalId,
    });
    expect(override.status).toBe(200);
    expect(override.body.assessment.valid).toBe(true);
    expect(override.body.assessment.overrides).toBe(originalId);
    const get = (id: string) =>
      api.request<{ assessment: { valid: boolean; feedback: { value: unknown } } }>(
        'GET',
        `${V3}/traces/${traceId}/assessments/${id}`,
      );
    const overridden = await get(originalId);
    expect(overridden.body.assessment.valid).toBe(false);
    expect(overridden.body.assessment.feedback.value).toBe(false);

    const overrideId = override.body.assessment.assessment_id;
    expect((await api.request('DELETE', `${V3}/traces/${traceId}/assessments/${overrideId}`)).status).toBe(
      200,
    );
    expect((await get(originalId)).body.assessment.valid).toBe(true);

    const unknown = await create({ overrides: 'a-0000' });
    expect(unknown.status).toBe(404);
  });
});
