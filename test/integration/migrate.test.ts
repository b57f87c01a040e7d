/**
 * `cairn migrate`: runs stored before order keys existed are still searched correctly (by the full
 * listing), and after the migration they are keyed and searched a page at a time with the same answers;
 * a dry run changes nothing, and a second run finds nothing to do.
 */
import { DeleteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../shared/store/keys.js';
import { CairnCli } from '../helpers/cli.js';
import { setExperimentMark } from '../helpers/dynamo.js';
import { Api } from '../helpers/http.js';
import { serverTable, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;
let table: ReturnType<typeof serverTable>;
const cli = new CairnCli();

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  table = serverTable(server);
});

afterAll(async () => {
  cli.killAll();
  table?.destroy();
  await server?.close();
});

interface RunJson {
  info: { run_id: string };
}

const SEARCHES = [
  { order_by: [] },
  { order_by: ['attributes.run_name DESC'], run_view_type: 'ALL' },
  { order_by: ['attributes.end_time ASC'], filter: "params.lr = '0.1'" },
  { order_by: ['attributes.start_time ASC'], run_view_type: 'DELETED_ONLY' },
];

async function answers(experimentId: string): Promise<string[][]> {
  return Promise.all(
    SEARCHES.map(async (search) => {
      const ids: string[] = [];
      let token: string | undefined;
      do {
        const page = await api.post<{ runs?: RunJson[]; next_page_token?: string }>('runs/search', {
          experiment_ids: [experimentId],
          max_results: 7,
          ...search,
          ...(token ? { page_token: token } : {}),
        });
        expect(page.status).toBe(200);
        ids.push(...(page.body.runs ?? []).map((run) => run.info.run_id));
        token = page.body.next_page_token;
      } while (token);
      return ids;
    }),
  );
}

const item = async (key: { pk: string; sk: string }) =>
  (await table.doc.send(new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }))).Item;

describe('cairn migrate', () => {
  it('keys runs stored by earlier builds, idempotently, with the same search answers throughout', async () => {
    const created = await api.post<{ experiment_id: string }>('experiments/create', { name: 'from-before' });
    const experimentId = created.body.experiment_id;
    const runIds: string[] = [];
    for (let i = 0; i < 24; i++) {
      const run = await api.post<{ run: RunJson }>('runs/create', {
        experiment_id: experimentId,
        run_name: `run-${i % 9}`,
        start_time: 1_000 + (i % 5),
      });
      const runId = run.body.run.info.run_id;
      runIds.push(runId);
      await api.post('runs/log-parameter', { run_id: runId, key: 'lr', value: i % 2 ? '0.1' : '0.2' });
      if (i % 3 === 0)
        await api.post('runs/update', { run_id: runId, status: 'FINISHED', end_time: 2_000 + i });
      if (i % 4 === 0) await api.post('runs/delete', { run_id: runId });
    }
    const expected = await answers(experimentId);
    expect(expected[0]?.length).toBe(18);

    // As earlier builds stored them: gsi1sk the bare run id, no ORDER items, no mark.
    for (const runId of runIds) {
      await table.doc.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: keys.run(runId),
          UpdateExpression: 'SET gsi1sk = :id',
          ExpressionAttributeValues: { ':id': runId },
        }),
      );
      await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: keys.runOrder(runId) }));
    }
    await setExperimentMark(table, experimentId, 'run_index');
    expect(await answers(experimentId)).toEqual(expected);
    const uncounted = await api.request<{ stats: Record<string, unknown>[] }>(
      'GET',
      `/api/2.0/cairn/experiments/run-stats?experiment_ids=${experimentId}`,
    );
    expect(uncounted.body.stats[0]?.active_runs, 'not counted before the migration').toBeUndefined();

    const dryRun = await cli.run(['migrate', '--dry-run', '--data-dir', server.dataDir]);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain('Would key 24 runs in 1 experiments');
    expect((await item(keys.experiment(experimentId)))?.run_index).toBeUndefined();
    expect(await item(keys.runOrder(runIds[0] as string))).toBeUndefined();

    const migrated = await cli.run(['migrate', '--data-dir', server.dataDir]);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain('Keyed 24 runs in 1 experiments');
    expect((await item(keys.experiment(experimentId)))?.run_index).toBe(1);
    for (const runId of runIds) {
      expect(await item(keys.runOrder(runId))).toBeDefined();
      expect(String((await item(keys.run(runId)))?.gsi1sk)).toMatch(/^[AD]#[0-9a-f]{16}#/);
    }
    expect(await answers(experimentId)).toEqual(expected);
    const stats = await api.request<{ stats: { active_runs: number; deleted_runs: number }[] }>(
      'GET',
      `/api/2.0/cairn/experiments/run-stats?experiment_ids=${experimentId}`,
    );
    expect(stats.body.stats[0]).toMatchObject({ active_runs: 18, deleted_runs: 6 });

    const again = await cli.run(['migrate', '--data-dir', server.dataDir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to migrate');
  });
});
