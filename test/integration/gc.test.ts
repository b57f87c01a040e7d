/**
 * `cairn gc` on a local data directory, through a running server: runs and experiments deleted longer ago
 * than the threshold go for good (items, counters, artifacts), recent deletes stay, a run a registered
 * version uses is kept and reported, and everything active is left exactly as it was. A dry run and a
 * second run change nothing. The threshold's clock is the items' own deleted times, set back in the table.
 */
import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPublishedEndpoint } from '../../local/data-dir-endpoint.js';
import { LOCAL_BUCKET_NAME } from '../../local/server.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/stand-ins.js';
import { endpointOptions } from '../../shared/store/clients.js';
import { keys } from '../../shared/store/keys.js';
import { CairnCli } from '../helpers/cli.js';
import { Api } from '../helpers/http.js';
import { serverTable, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;
let table: ReturnType<typeof serverTable>;
let s3: S3Client;
const cli = new CairnCli();
const DAY = 86_400_000;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  table = serverTable(server);
  const published = readPublishedEndpoint(server.dataDir);
  s3 = new S3Client({
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
    ...endpointOptions(undefined, published?.s3Socket),
  });
});

afterAll(async () => {
  cli.killAll();
  s3?.destroy();
  table?.destroy();
  await server?.close();
});

type Item = Record<string, unknown> & { pk: string; sk: string };

async function scan(): Promise<Map<string, Item>> {
  const all = new Map<string, Item>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await table.doc.send(
      new ScanCommand({ TableName: table.tableName, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    for (const item of (page.Items ?? []) as Item[]) all.set(`${item.pk}|${item.sk}`, item);
    start = page.LastEvaluatedKey;
  } while (start);
  return all;
}

async function objects(prefix = ''): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: LOCAL_BUCKET_NAME, Prefix: prefix }));
  return (page.Contents ?? []).map((object) => object.Key as string).sort();
}

async function experiment(name: string): Promise<string> {
  const response = await api.post<{ experiment_id: string }>('experiments/create', { name });
  expect(response.status, response.text).toBe(200);
  return response.body.experiment_id;
}

/** A run with a param, a tag, a metric history, an ended status and two artifacts. */
async function run(experimentId: string, name: string): Promise<string> {
  const created = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
    experiment_id: experimentId,
    run_name: name,
    start_time: 1_000,
  });
  expect(created.status, created.text).toBe(200);
  const runId = created.body.run.info.run_id;
  const batch = await api.post('runs/log-batch', {
    run_id: runId,
    params: [{ key: 'lr', value: '0.1' }],
    tags: [{ key: 'team', value: 'a' }],
    metrics: Array.from({ length: 50 }, (_, step) => ({
      key: 'loss',
      value: 1 / (step + 1),
      timestamp: 2_000,
      step,
    })),
  });
  expect(batch.status, batch.text).toBe(200);
  await api.post('runs/update', { run_id: runId, status: 'FINISHED', end_time: 3_000 });
  for (const file of ['model/model.pkl', 'notes.txt']) {
    const put = await fetch(
      `${server.url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${file}`,
      { method: 'PUT', body: randomBytes(64) },
    );
    expect(put.status).toBe(200);
  }
  return runId;
}

async function deleteRun(runId: string, daysAgo: number): Promise<void> {
  expect((await api.post('runs/delete', { run_id: runId })).status).toBe(200);
  await table.doc.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: keys.run(runId),
      UpdateExpression: 'SET deleted_time = deleted_time - :back',
      ExpressionAttributeValues: { ':back': daysAgo * DAY },
    }),
  );
}

async function deleteExperiment(experimentId: string, daysAgo: number): Promise<void> {
  expect((await api.post('experiments/delete', { experiment_id: experimentId })).status).toBe(200);
  await table.doc.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: keys.experiment(experimentId),
      UpdateExpression: 'SET last_update_time = last_update_time - :back',
      ExpressionAttributeValues: { ':back': daysAgo * DAY },
    }),
  );
}

async function searchAll(experimentIds: string[]): Promise<string[]> {
  const response = await api.post<{ runs?: { info: { run_id: string } }[] }>('runs/search', {
    experiment_ids: experimentIds,
    run_view_type: 'ALL',
    max_results: 1000,
  });
  expect(response.status, response.text).toBe(200);
  return (response.body.runs ?? []).map((found) => found.info.run_id).sort();
}

const gc = (...args: string[]) => cli.run(['gc', '--data-dir', server.dataDir, ...args]);

describe('cairn gc', () => {
  it('purges old deletes whole, keeps recent ones, registered sources and all active data', async () => {
    const kept = await experiment('gc-kept');
    const active = await run(kept, 'active');
    const old = await run(kept, 'old');
    const recent = await run(kept, 'recent');
    const registered = await run(kept, 'registered');
    const legacy = await run(kept, 'legacy');
    const model = await api.post('registered-models/create', { name: 'gc-model' });
    expect(model.status, model.text).toBe(200);
    const version = await api.post('model-versions/create', {
      name: 'gc-model',
      source: `runs:/${registered}/model`,
      run_id: registered,
    });
    expect(version.status, version.text).toBe(200);
    await deleteRun(old, 40);
    await deleteRun(recent, 2);
    await deleteRun(registered, 40);
    // Deleted by a build that kept no deleted time.
    await deleteRun(legacy, 40);
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: keys.run(legacy),
        UpdateExpression: 'REMOVE deleted_time',
      }),
    );

    const gone = await experiment('gc-gone');
    const goneRuns = [await run(gone, 'a'), await run(gone, 'b')];
    const loggedModel = await api.request<{ model: { info: { model_id: string } } }>(
      'POST',
      '/api/2.0/mlflow/logged-models',
      { json: { experiment_id: gone, name: 'lm' } },
    );
    expect(loggedModel.status, loggedModel.text).toBe(200);
    const traceId = `tr-${randomBytes(16).toString('hex')}`;
    const trace = await api.request('POST', '/api/3.0/mlflow/traces', {
      json: {
        trace: {
          trace_info: {
            trace_id: traceId,
            trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: gone } },
            request_time: new Date().toISOString(),
            execution_duration: '1s',
            state: 'OK',
            trace_metadata: { 'mlflow.trace_schema.version': '3' },
            tags: {},
          },
        },
      },
    });
    expect(trace.status, trace.text).toBe(200);
    await deleteExperiment(gone, 40);
    const young = await experiment('gc-young');
    const youngRun = await run(young, 'c');
    await deleteExperiment(young, 2);

    const activeBefore = await api.get('runs/get', { run_id: active });
    const historyBefore = await api.get('metrics/get-history', { run_id: active, metric_key: 'loss' });
    const itemsBefore = await scan();
    const objectsBefore = await objects();

    // A dry run says what would go and changes nothing.
    const dry = await gc('--older-than', '30d', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`would purge run ${old}`);
    expect(dry.stdout).toContain(`would purge experiment ${gone} 'gc-gone'`);
    expect(dry.stdout).toContain(`kept run ${registered}`);
    expect(dry.stdout).toMatch(/Would purge 3 runs, 1 experiments, 1 logged models and 1 traces/);
    expect(dry.stdout).toContain('Dry run: nothing was changed.');
    expect(await scan()).toEqual(itemsBefore);
    expect(await objects()).toEqual(objectsBefore);

    const real = await gc('--older-than', '30d');
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toMatch(/Purged 3 runs, 1 experiments, 1 logged models and 1 traces/);
    // The dry run counted each object once: what it said would go is what went.
    const objectsSaid = (out: string) => /(\d+) artifact objects, ([^.]+)\./.exec(out)?.slice(1);
    expect(objectsSaid(dry.stdout)).toEqual(objectsSaid(real.stdout));
    expect(Number(objectsSaid(real.stdout)?.[0])).toBeGreaterThan(0);
    expect(real.stdout).toContain(`kept run ${registered}: source of registered model`);
    expect(real.stdout).toContain(`run ${legacy} (experiment ${kept}) has no deleted time`);

    for (const purged of [old, ...goneRuns]) {
      const got = await api.get<{ error_code?: string }>('runs/get', { run_id: purged });
      expect(got.status).toBe(404);
      expect(got.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    }
    const goneExperiment = await api.get<{ error_code?: string }>('experiments/get', { experiment_id: gone });
    expect(goneExperiment.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(await searchAll([kept])).toEqual([active, recent, registered, legacy].sort());
    expect(await searchAll([young])).toEqual([youngRun]);
    expect(await objects(`${kept}/${old}/`)).toEqual([]);
    expect(await objects(`${gone}/`)).toEqual([]);
    expect(await objects(`${kept}/${registered}/`)).toHaveLength(2);
    expect(await objects(`${young}/${youngRun}/`)).toHaveLength(2);

    // Every item not of a purged run or experiment is as it was, but for the counters and the stamp.
    const itemsAfter = await scan();
    const purgedPartitions = new Set([
      ...[old, ...goneRuns].map((id) => keys.run(id).pk),
      keys.experiment(gone).pk,
      keys.loggedModel(loggedModel.body.model.info.model_id).pk,
      keys.trace(traceId).pk,
    ]);
    for (const [key, item] of itemsBefore) {
      const after = itemsAfter.get(key);
      if (
        purgedPartitions.has(item.pk) ||
        item.pk.startsWith(`EXPSTATS#${gone}#`) ||
        item.pk.startsWith(`EXPSUMMARK#${gone}#`) ||
        item.pk.startsWith(`EXPSUM#${gone}#`) ||
        key === 'EXPNAME#gc-gone|EXPNAME'
      ) {
        expect(after, key).toBeUndefined();
      } else if (item.pk.startsWith(`EXPSTATS#${kept}#`)) {
        expect(after, key).toBeDefined();
      } else if (key === `RUN#${legacy}|RUN`) {
        expect(after?.deleted_time, key).toEqual(expect.any(Number));
        expect({ ...after, deleted_time: undefined }).toEqual({ ...item, deleted_time: undefined });
      } else {
        expect(after, key).toEqual(item);
      }
    }
    // New items: one summary mark per run purged from an experiment that stays (its row goes with the next
    // fold, run-summaries.ts), and nothing else.
    const added = [...itemsAfter.entries()].filter(([key]) => !itemsBefore.has(key));
    expect(added.map(([, item]) => [item.pk.split('#').slice(0, 2).join('#'), item.run_id])).toEqual([
      [`EXPSUMMARK#${kept}`, old],
    ]);
    expect(await api.get('runs/get', { run_id: active })).toMatchObject({
      status: 200,
      body: activeBefore.body,
    });
    expect((await api.get('metrics/get-history', { run_id: active, metric_key: 'loss' })).body).toEqual(
      historyBefore.body,
    );
    const stats = await api.request<{
      stats: { experiment_id: string; active_runs?: number; deleted_runs?: number }[];
    }>('GET', `/api/2.0/cairn/experiments/run-stats?experiment_ids=${kept}`);
    expect(stats.body.stats[0]).toMatchObject({ active_runs: 1, deleted_runs: 3 });

    // A second run finds nothing more to do.
    const again = await gc('--older-than', '30d');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Purged 0 runs, 0 experiments/);
    expect(await scan()).toEqual(itemsAfter);
  });

  it('only touches the experiments it is given', async () => {
    const first = await experiment('gc-only-first');
    const second = await experiment('gc-only-second');
    const a = await run(first, 'a');
    const b = await run(second, 'b');
    await deleteRun(a, 40);
    await deleteRun(b, 40);
    const result = await gc('--older-than', '30d', '--experiment-ids', second);
    expect(result.code, result.stderr).toBe(0);
    expect((await api.get('runs/get', { run_id: a })).status).toBe(200);
    expect((await api.get('runs/get', { run_id: b })).status).toBe(404);
    // An id no experiment has is named, and the exit code says so; the others are still purged.
    const missing = await gc('--older-than', '30d', '--experiment-ids', `${first},987654321`);
    expect(missing.code, missing.stderr).toBe(1);
    expect(missing.stderr).toContain('No experiment with id 987654321');
    expect((await api.get('runs/get', { run_id: a })).status).toBe(404);
  });

  it('refuses a bad threshold, and a stack without one', async () => {
    const bad = await gc('--older-than', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--older-than must be');
    const stack = await cli.run(['gc', '--stack', 'CairnApi']);
    expect(stack.code).toBe(2);
    expect(stack.stderr).toContain('--older-than 30d');
  });
});
