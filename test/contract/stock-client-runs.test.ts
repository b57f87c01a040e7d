/**
 * Replays the stock MLflow client's run, metric and search traffic (mlflow-wire-traces.md sections A,
 * C and H) with the client's headers and request bodies as `requests` serializes them, and checks each
 * response the way the client parses it (protobuf ParseDict of Run, RunInfo, Metric; RestException).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STOCK_CLIENT_HEADERS } from '../fixtures/stock-client-experiments.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let experimentId: string;

beforeAll(async () => {
  server = await startTestServer();
  const response = await send('POST', '/api/2.0/mlflow/experiments/create', '{"name": "compat-demo"}');
  experimentId = (response.body as { experiment_id: string }).experiment_id;
});
afterAll(async () => {
  await server?.close();
});

async function send(method: 'GET' | 'POST', path: string, body?: string) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...STOCK_CLIENT_HEADERS,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, text };
}

/** The RunInfo message as protobuf's JSON parser accepts it. */
function expectRunInfo(info: unknown) {
  expect(info).toMatchObject({
    run_id: expect.stringMatching(/^[0-9a-f]{32}$/),
    run_uuid: expect.stringMatching(/^[0-9a-f]{32}$/),
    run_name: expect.any(String),
    experiment_id: expect.any(String),
    user_id: expect.any(String),
    status: expect.stringMatching(/^(RUNNING|SCHEDULED|FINISHED|FAILED|KILLED)$/),
    start_time: expect.any(Number),
    artifact_uri: expect.stringMatching(/^mlflow-artifacts:\/\d+\/[0-9a-f]{32}\/artifacts$/),
    lifecycle_stage: expect.stringMatching(/^(active|deleted)$/),
  });
}

/** A Metric message: numeric fields as numbers, doubles as numbers or protobuf's special strings. */
function expectMetric(metric: unknown) {
  const m = metric as Record<string, unknown>;
  expect(typeof m.key).toBe('string');
  expect(typeof m.value === 'number' || ['NaN', 'Infinity', '-Infinity'].includes(m.value as string)).toBe(
    true,
  );
  expect(Number.isSafeInteger(m.timestamp)).toBe(true);
  expect(Number.isSafeInteger(m.step)).toBe(true);
}

function expectRun(run: unknown) {
  const r = run as { info: unknown; data: { metrics?: unknown[]; params?: unknown[]; tags?: unknown[] } };
  expectRunInfo(r.info);
  for (const metric of r.data.metrics ?? []) expectMetric(metric);
  for (const pair of [...(r.data.params ?? []), ...(r.data.tags ?? [])]) {
    expect(pair).toEqual({ key: expect.any(String), value: expect.any(String) });
  }
}

describe('stock client: a tracked run (section A)', () => {
  it('answers every request of the script as MLflow does', async () => {
    const created = await send(
      'POST',
      '/api/2.0/mlflow/runs/create',
      `{"experiment_id": "${experimentId}", "user_id": "root", "run_name": "r1", "start_time": 1795702724424, "tags": [{"key": "mlflow.user", "value": "root"}, {"key": "mlflow.source.name", "value": "demo.py"}, {"key": "mlflow.source.type", "value": "LOCAL"}, {"key": "mlflow.runName", "value": "r1"}]}`,
    );
    expect(created.status, created.text).toBe(200);
    expectRun(created.body.run);
    const runId = (created.body.run as { info: { run_id: string } }).info.run_id;

    const requests: [string, string][] = [
      ['runs/log-parameter', `{"run_uuid": "${runId}", "key": "lr", "value": "0.01", "run_id": "${runId}"}`],
      [
        'runs/log-batch',
        `{"run_id": "${runId}", "params": [{"key": "a", "value": "1"}, {"key": "b", "value": "x"}]}`,
      ],
      ['runs/set-tag', `{"run_uuid": "${runId}", "key": "team", "value": "ml", "run_id": "${runId}"}`],
      ['runs/log-batch', `{"run_id": "${runId}", "tags": [{"key": "t1", "value": "v1"}]}`],
      [
        'runs/log-metric',
        `{"run_uuid": "${runId}", "key": "single", "value": 1.5, "timestamp": 1795702724761, "step": 0, "run_id": "${runId}"}`,
      ],
      [
        'runs/log-batch',
        JSON.stringify({
          run_id: runId,
          metrics: Array.from({ length: 100 }, (_, step) => ({
            key: 'loss',
            value: 1 / (step + 1),
            timestamp: 1795702724800 + step,
            step,
          })),
          params: [],
          tags: [],
        })
          .replaceAll(',"', ', "')
          .replaceAll('":', '": '),
      ],
      [
        'runs/log-batch',
        `{"run_id": "${runId}", "metrics": [{"key": "acc", "value": 0.9, "timestamp": 1795702724892, "step": 1, "run_id": "${runId}"}, {"key": "f1", "value": 0.8, "timestamp": 1795702724892, "step": 1, "run_id": "${runId}"}]}`,
      ],
    ];
    for (const [endpoint, body] of requests) {
      const response = await send('POST', `/api/2.0/mlflow/${endpoint}`, body);
      expect(response.status, `${endpoint}: ${response.text}`).toBe(200);
      expect(response.body).toEqual({});
    }

    const fetched = await send('GET', `/api/2.0/mlflow/runs/get?run_uuid=${runId}&run_id=${runId}`);
    expect(fetched.status).toBe(200);
    expectRun(fetched.body.run);
    const data = (fetched.body.run as { data: { params: { key: string }[]; metrics: { key: string }[] } })
      .data;
    expect(data.params.map((p) => p.key).sort()).toEqual(['a', 'b', 'lr']);
    expect(data.metrics.map((m) => m.key).sort()).toEqual(['acc', 'f1', 'loss', 'single']);

    const finished = await send(
      'POST',
      '/api/2.0/mlflow/runs/update',
      `{"run_uuid": "${runId}", "status": "FINISHED", "end_time": 1795702725234, "run_id": "${runId}"}`,
    );
    expect(finished.status).toBe(200);
    expectRunInfo(finished.body.run_info);
    expect(finished.body.run_info).toMatchObject({ status: 'FINISHED', end_time: 1795702725234 });

    const searched = await send(
      'POST',
      '/api/2.0/mlflow/runs/search',
      `{"experiment_ids": ["${experimentId}"], "run_view_type": "ACTIVE_ONLY", "filter": "params.lr = '0.01' and metrics.loss < 0.5", "max_results": 10000, "order_by": ["attributes.start_time DESC"]}`,
    );
    expect(searched.status, searched.text).toBe(200);
    const runs = searched.body.runs as unknown[];
    expect(runs).toHaveLength(1);
    for (const run of runs) expectRun(run);

    const history = await send(
      'GET',
      `/api/2.0/mlflow/metrics/get-history?run_uuid=${runId}&metric_key=loss&run_id=${runId}&max_results=25000`,
    );
    expect(history.status).toBe(200);
    const metrics = history.body.metrics as { step: number }[];
    expect(metrics).toHaveLength(100);
    for (const metric of metrics) expectMetric(metric);
    expect(history.body.next_page_token).toBeUndefined();

    for (const endpoint of ['runs/delete', 'runs/restore']) {
      const response = await send('POST', `/api/2.0/mlflow/${endpoint}`, `{"run_id": "${runId}"}`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({});
    }
  });
});

describe('stock client: paging and datasets (section C), values and errors (section H)', () => {
  it('pages search results the way search_runs(max_results=2) follows them', async () => {
    const experiment = await send('POST', '/api/2.0/mlflow/experiments/create', '{"name": "extra-exp"}');
    const id = (experiment.body as { experiment_id: string }).experiment_id;
    for (let i = 0; i < 5; i++) {
      const run = await send(
        'POST',
        '/api/2.0/mlflow/runs/create',
        `{"experiment_id": "${id}", "user_id": "unknown", "run_name": "run${i}", "start_time": ${1795702691796 + i}}`,
      );
      const runId = (run.body.run as { info: { run_id: string } }).info.run_id;
      await send(
        'POST',
        '/api/2.0/mlflow/runs/log-metric',
        `{"run_uuid": "${runId}", "key": "m", "value": ${i}.0, "timestamp": 1795702691869, "step": 0, "run_id": "${runId}"}`,
      );
      await send(
        'POST',
        '/api/2.0/mlflow/runs/update',
        `{"run_uuid": "${runId}", "status": "${i === 0 ? 'FAILED' : 'FINISHED'}", "end_time": 1795702691932, "run_id": "${runId}"}`,
      );
    }
    const body = `{"experiment_ids": ["${id}"], "run_view_type": "ACTIVE_ONLY", "filter": "", "max_results": 2, "order_by": ["metrics.m DESC"]}`;
    const first = await send('POST', '/api/2.0/mlflow/runs/search', body);
    const token = first.body.next_page_token as string;
    expect(typeof token).toBe('string');
    const second = await send(
      'POST',
      '/api/2.0/mlflow/runs/search',
      `${body.slice(0, -1)}, "page_token": "${token}"}`,
    );
    const namesOf = (response: { body: Record<string, unknown> }) =>
      (response.body.runs as { info: { run_name: string } }[]).map((run) => run.info.run_name);
    expect([...namesOf(first), ...namesOf(second)]).toEqual(['run4', 'run3', 'run2', 'run1']);
    const finished = await send(
      'POST',
      '/api/2.0/mlflow/runs/search',
      `{"experiment_ids": ["${id}"], "run_view_type": "ACTIVE_ONLY", "filter": "attributes.status = 'FINISHED'", "max_results": 10000}`,
    );
    expect(namesOf(finished)).toHaveLength(4);
  });

  it('logs a dataset input as log_input(from_pandas) sends it', async () => {
    const run = await send(
      'POST',
      '/api/2.0/mlflow/runs/create',
      `{"experiment_id": "${experimentId}", "user_id": "root", "start_time": 1795702693527}`,
    );
    const runId = (run.body.run as { info: { run_id: string } }).info.run_id;
    const response = await send(
      'POST',
      '/api/2.0/mlflow/runs/log-inputs',
      `{"run_id": "${runId}", "datasets": [{"tags": [{"key": "mlflow.data.context", "value": "training"}], "dataset": {"name": "tiny", "digest": "2d5bcbd3", "source_type": "code", "source": "{\\"tags\\": {}}", "schema": "{\\"mlflow_colspec\\": []}", "profile": "{\\"num_rows\\": 3}"}}]}`,
    );
    expect(response.status, response.text).toBe(200);
    const fetched = await send('GET', `/api/2.0/mlflow/runs/get?run_uuid=${runId}&run_id=${runId}`);
    const inputs = (fetched.body.run as { inputs: { dataset_inputs: { dataset: { name: string } }[] } })
      .inputs;
    expect(inputs.dataset_inputs[0]?.dataset.name).toBe('tiny');
  });

  it('round-trips NaN and ±Infinity and refuses a changed param and a bad key as section H records', async () => {
    const run = await send('POST', '/api/2.0/mlflow/runs/create', `{"experiment_id": "${experimentId}"}`);
    const runId = (
      run.body.run as { info: { run_id: string; run_name: string; user_id: string; start_time: number } }
    ).info;
    expect(runId.run_name).toMatch(/^[a-z]+-[a-z]+-\d+$/);
    expect(runId.start_time).toBe(0);
    expect(runId.user_id).toBe('');
    const id = runId.run_id;
    await send(
      'POST',
      '/api/2.0/mlflow/runs/log-metric',
      `{"run_id": "${id}", "key": "m", "value": "NaN", "timestamp": 1, "step": 0}`,
    );
    await send(
      'POST',
      '/api/2.0/mlflow/runs/log-batch',
      `{"run_id": "${id}", "metrics": [{"key": "m", "value": "Infinity", "timestamp": 2, "step": 1}, {"key": "m", "value": "-Infinity", "timestamp": 3, "step": 2}]}`,
    );
    const history = await send(
      'GET',
      `/api/2.0/mlflow/metrics/get-history?run_id=${id}&metric_key=m&max_results=25000`,
    );
    expect((history.body.metrics as { value: unknown }[]).map((m) => m.value)).toEqual([
      'NaN',
      'Infinity',
      '-Infinity',
    ]);
    const latest = await send('GET', `/api/2.0/mlflow/runs/get?run_id=${id}`);
    expect((latest.body.run as { data: { metrics: { value: unknown }[] } }).data.metrics[0]?.value).toBe(
      '-Infinity',
    );

    await send('POST', '/api/2.0/mlflow/runs/log-parameter', `{"run_id": "${id}", "key": "p", "value": "1"}`);
    const changed = await send(
      'POST',
      '/api/2.0/mlflow/runs/log-parameter',
      `{"run_id": "${id}", "key": "p", "value": "2"}`,
    );
    expect(changed.status).toBe(400);
    expect(changed.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(String(changed.body.message)).toMatch(/^Changing param values is not allowed/);
    const badKey = await send(
      'POST',
      '/api/2.0/mlflow/runs/log-parameter',
      `{"run_id": "${id}", "key": "bad/../key", "value": "1"}`,
    );
    expect(badKey.status).toBe(400);
    expect(String(badKey.body.message)).toContain("would resolve to 'key'");
    const plain = await fetch(`${server.url}/api/2.0/mlflow/runs/create`, {
      method: 'POST',
      headers: { ...STOCK_CLIENT_HEADERS, 'Content-Type': 'text/plain' },
      body: `{"experiment_id": "${experimentId}"}`,
    });
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { message: string }).message).toBe(
      "Bad Request. Content-Type must be one of ['application/json'].",
    );
  });
});
