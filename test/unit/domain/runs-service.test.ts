/** The runs service's rules on in-memory repositories: no HTTP, no table. */
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../shared/domain/rules.js';
import { RUN_LIMITS } from '../../../shared/domain/runs/rules.js';
import { InvalidParameterValueError, ResourceDoesNotExistError } from '../../../shared/errors.js';
import { memoryTracking } from '../../helpers/memory/index.js';

async function setup() {
  const tracking = memoryTracking();
  const experimentId = await tracking.experiments.create({ name: 'exp', tags: [] });
  const run = await tracking.runs.create({ experimentId, tags: [] });
  return { ...tracking, experimentId, runId: run.runId };
}

const point = (step: number, value = step) => ({ key: 'loss', value, timestamp: 10, step });

describe('run lifecycle', () => {
  it('creates a run in an active experiment, named by run_name or the mlflow.runName tag', async () => {
    const { runs, experimentId } = await setup();
    const named = await runs.create({ experimentId, runName: 'alpha', tags: [] });
    expect(named.tags['mlflow.runName']).toBe('alpha');
    const tagged = await runs.create({ experimentId, tags: [{ key: 'mlflow.runName', value: 'beta' }] });
    expect(tagged.runName).toBe('beta');
    await expect(
      runs.create({ experimentId, runName: 'a', tags: [{ key: 'mlflow.runName', value: 'b' }] }),
    ).rejects.toThrow(/different values/);
  });

  it('refuses a run in a deleted experiment', async () => {
    const { runs, experiments, experimentId } = await setup();
    await experiments.delete(experimentId);
    await expect(runs.create({ experimentId, tags: [] })).rejects.toThrow(/non-active experiment/);
  });

  it('deletes and restores idempotently, and refuses writes to a deleted run', async () => {
    const { runs, runId } = await setup();
    await runs.setLifecycle(runId, 'deleted');
    await runs.setLifecycle(runId, 'deleted');
    expect((await runs.get(runId)).lifecycleStage).toBe('deleted');
    await expect(runs.logParam(runId, 'a', '1')).rejects.toThrow(/must be in the 'active' state/);
    await expect(runs.logMetric(runId, point(0))).rejects.toThrow(/must be in the 'active' state/);
    await runs.setLifecycle(runId, 'active');
    await runs.logParam(runId, 'a', '1');
    expect((await runs.get(runId)).params).toEqual({ a: '1' });
  });

  it('cascades an experiment delete and restore to its runs', async () => {
    const { runs, experiments, experimentId, runId } = await setup();
    await experiments.delete(experimentId);
    expect((await runs.get(runId)).lifecycleStage).toBe('deleted');
    await experiments.restore(experimentId);
    expect((await runs.get(runId)).lifecycleStage).toBe('active');
  });

  it('answers 404 for a run that does not exist', async () => {
    const { runs } = await setup();
    await expect(runs.get('f'.repeat(32))).rejects.toBeInstanceOf(ResourceDoesNotExistError);
    await expect(runs.setLifecycle('f'.repeat(32), 'deleted')).rejects.toBeInstanceOf(
      ResourceDoesNotExistError,
    );
  });

  it('renames through update, keeping the mlflow.runName tag in step', async () => {
    const { runs, runId } = await setup();
    const updated = await runs.update(runId, { status: 'FINISHED', endTime: 5, runName: 'renamed' });
    expect(updated).toMatchObject({ status: 'FINISHED', endTime: 5, runName: 'renamed' });
    expect((await runs.get(runId)).tags['mlflow.runName']).toBe('renamed');
  });
});

describe('params and tags', () => {
  it('keeps params write-once: the same value again is a no-op, another is refused', async () => {
    const { runs, runId } = await setup();
    await runs.logParam(runId, 'lr', '0.1');
    await runs.logParam(runId, 'lr', '0.1');
    await expect(runs.logParam(runId, 'lr', '0.2')).rejects.toThrow(/Changing param values is not allowed/);
    await expect(
      runs.logBatch(runId, { metrics: [], params: [{ key: 'lr', value: '0.3' }], tags: [] }),
    ).rejects.toThrow(/Changing param values is not allowed/);
  });

  it('refuses deleting a tag the run does not have', async () => {
    const { runs, runId } = await setup();
    await runs.setTag(runId, 'team', 'a');
    await runs.deleteTag(runId, 'team');
    await expect(runs.deleteTag(runId, 'team')).rejects.toThrow(/No tag with name: team/);
  });

  it('refuses values over MLflow limits', async () => {
    const { runs, runId } = await setup();
    await expect(runs.logParam(runId, 'p', 'x'.repeat(RUN_LIMITS.paramValue + 1))).rejects.toThrow(
      /exceeds the maximum length/,
    );
    await expect(runs.setTag(runId, 't', 'x'.repeat(RUN_LIMITS.runTagValue + 1))).rejects.toThrow(
      /exceeds the maximum length/,
    );
  });
});

describe('log-batch', () => {
  it.each([
    ['metrics', { metrics: RUN_LIMITS.batchMetrics + 1, params: 0, tags: 0 }],
    ['params', { metrics: 0, params: RUN_LIMITS.batchParams + 1, tags: 0 }],
    ['tags', { metrics: 0, params: 0, tags: RUN_LIMITS.batchTags + 1 }],
    ['total entities', { metrics: 900, params: 100, tags: 100 }],
  ])('refuses more %s than MLflow allows, writing nothing', async (what, counts) => {
    const { runs, runId } = await setup();
    const batch = {
      metrics: Array.from({ length: counts.metrics }, (_, step) => point(step)),
      params: Array.from({ length: counts.params }, (_, i) => ({ key: `p${i}`, value: 'v' })),
      tags: Array.from({ length: counts.tags }, (_, i) => ({ key: `t${i}`, value: 'v' })),
    };
    await expect(runs.logBatch(runId, batch)).rejects.toThrow(`at most`);
    await expect(runs.logBatch(runId, batch)).rejects.toThrow(what);
    const run = await runs.get(runId);
    expect(run.params).toEqual({});
    expect(run.metrics).toEqual({});
  });

  it('refuses duplicate param keys in one batch and negative timestamps', async () => {
    const { runs, runId } = await setup();
    await expect(
      runs.logBatch(runId, {
        metrics: [],
        params: [
          { key: 'a', value: '1' },
          { key: 'a', value: '2' },
        ],
        tags: [],
      }),
    ).rejects.toThrow(/Duplicate parameter keys/);
    await expect(
      runs.logBatch(runId, { metrics: [{ ...point(0), timestamp: -1 }], params: [], tags: [] }),
    ).rejects.toThrow(/metrics\[0\]\.timestamp/);
  });

  it('keeps the latest value per key by (step, timestamp, value) and serves the history in order', async () => {
    const { runs, runId } = await setup();
    await runs.logBatch(runId, {
      metrics: [point(2, 0.5), point(0, 1), point(1, 0.7)],
      params: [],
      tags: [],
    });
    expect((await runs.get(runId)).metrics.loss).toMatchObject({ step: 2, value: 0.5 });
    const page = await runs.history(runId, 'loss', 2);
    expect(page.points.map((p) => p.step)).toEqual([0, 1]);
    const rest = await runs.history(runId, 'loss', 2, page.nextPageToken);
    expect(rest.points.map((p) => p.step)).toEqual([2]);
    expect(rest.nextPageToken).toBeUndefined();
  });

  it('refuses a page token issued for another key', async () => {
    const { runs, runId } = await setup();
    await runs.logBatch(runId, { metrics: [point(0), point(1)], params: [], tags: [] });
    const page = await runs.history(runId, 'loss', 1);
    await expect(runs.history(runId, 'acc', 1, page.nextPageToken)).rejects.toBeInstanceOf(
      InvalidParameterValueError,
    );
  });
});

describe('metrics, inputs and outputs that name logged models', () => {
  async function withModel() {
    const context = await setup();
    const model = await context.models.create({ experimentId: context.experimentId, params: [], tags: [] });
    return { ...context, modelId: model.modelId };
  }

  it('records a metric logged against a model as the model metric too', async () => {
    const { runs, models, runId, modelId } = await withModel();
    await runs.logMetric(runId, { ...point(3, 0.9), modelId, datasetName: 'eval' });
    const model = await models.get(modelId);
    expect(model.metrics).toEqual([
      { key: 'loss', value: 0.9, timestamp: 10, step: 3, runId, datasetName: 'eval' },
    ]);
  });

  it('checks the model before writing the run: a missing model leaves the run untouched', async () => {
    const { runs, runId } = await withModel();
    const missing = `m-${'0'.repeat(32)}`;
    await expect(
      runs.logBatch(runId, { metrics: [{ ...point(0), modelId: missing }], params: [], tags: [] }),
    ).rejects.toBeInstanceOf(ResourceDoesNotExistError);
    expect((await runs.get(runId)).metrics).toEqual({});
  });

  it('refuses a model metric whose dataset fields exceed MLflow limits, naming the entry', async () => {
    const { runs, runId, modelId } = await withModel();
    await expect(
      runs.logBatch(runId, {
        metrics: [point(0), { ...point(1), modelId, datasetName: 'x'.repeat(RUN_LIMITS.datasetName + 1) }],
        params: [],
        tags: [],
      }),
    ).rejects.toThrow(/metrics\[1\]\.dataset_name/);
  });

  it('records nothing on the model when the run write is refused', async () => {
    const { runs, models, runId, modelId } = await withModel();
    await runs.setLifecycle(runId, 'deleted');
    await expect(runs.logMetric(runId, { ...point(0), modelId })).rejects.toThrow(/active/);
    expect((await models.get(modelId)).metrics).toEqual([]);
  });

  it('links inputs and outputs only to models that exist', async () => {
    const { runs, runId, modelId } = await withModel();
    const missing = `m-${'1'.repeat(32)}`;
    await expect(runs.logOutputs(runId, [{ modelId: missing, step: 0 }])).rejects.toBeInstanceOf(
      ResourceDoesNotExistError,
    );
    await expect(runs.logInputs(runId, [], [missing])).rejects.toBeInstanceOf(ResourceDoesNotExistError);
    await runs.logOutputs(runId, [{ modelId, step: 1 }]);
    await runs.logOutputs(runId, [{ modelId, step: 1 }]);
    await runs.logInputs(runId, [], [modelId, modelId]);
    const run = await runs.get(runId);
    expect(run.modelOutputs).toEqual([{ modelId, step: 1 }]);
    expect(run.modelInputs).toEqual([modelId]);
  });

  it('logs a dataset input once per (name, digest, context)', async () => {
    const { runs, runId } = await setup();
    const dataset = { name: 'd', digest: 'x', sourceType: 'local', source: '/d', tags: {} };
    await runs.logInputs(runId, [dataset, dataset]);
    await runs.logInputs(runId, [dataset, { ...dataset, tags: { 'mlflow.data.context': 'eval' } }]);
    expect((await runs.get(runId)).datasets).toHaveLength(2);
  });
});

describe('get-history-bulk-interval', () => {
  it('refuses too many runs, a bad range and an out-of-range max_results', async () => {
    const { runs, runId } = await setup();
    const many = Array.from({ length: RUN_LIMITS.bulkIntervalRuns + 1 }, () => runId);
    await expect(runs.historyBulkInterval({ runIds: many, key: 'loss' })).rejects.toThrow(/at most 100/);
    await expect(runs.historyBulkInterval({ runIds: [runId], key: 'loss', startStep: 1 })).rejects.toThrow(
      /both must be specified/,
    );
    await expect(runs.historyBulkInterval({ runIds: [runId], key: 'loss', maxResults: 0 })).rejects.toThrow(
      /max_results/,
    );
  });

  it('samples steps across runs, keeping each run first and last step', async () => {
    const { runs, experimentId, runId } = await setup();
    const other = (await runs.create({ experimentId, tags: [] })).runId;
    await runs.logBatch(runId, {
      metrics: Array.from({ length: 10 }, (_, s) => point(s)),
      params: [],
      tags: [],
    });
    await runs.logBatch(other, { metrics: [point(4)], params: [], tags: [] });
    const rows = await runs.historyBulkInterval({ runIds: [runId, other], key: 'loss', maxResults: 3 });
    expect(rows.filter((row) => row.runId === other).map((row) => row.point.step)).toEqual([4]);
    const steps = rows.filter((row) => row.runId === runId).map((row) => row.point.step);
    expect(steps).toContain(0);
    expect(steps).toContain(9);
  });
});

describe('search fan-out', () => {
  it(`names at most ${LIMITS.searchExperimentIds} experiments, and reads ${LIMITS.searchExperimentsInFlight} at a time`, async () => {
    const { runs, runRepo, runId } = await setup();
    const listByExperiment = runRepo.listByExperiment.bind(runRepo);
    let pending = 0;
    let most = 0;
    let calls = 0;
    runRepo.listByExperiment = async (experimentId) => {
      calls++;
      pending++;
      most = Math.max(most, pending);
      await new Promise((resolve) => setImmediate(resolve));
      pending--;
      return listByExperiment(experimentId);
    };
    const ids = (count: number) => Array.from({ length: count }, (_, index) => String(index + 1));
    // Ordered by a param, then a metric, with no filter: read by full listings (index orders and metric
    // orders, filters value entries answer and anything summaries answer are read from keys instead).
    const page = await runs.search({
      experimentIds: ids(LIMITS.searchExperimentIds),
      orderBy: ['params.p', 'metrics.m'],
      viewType: 'ACTIVE_ONLY',
    });
    expect(page.runs.map((run) => run.runId)).toEqual([runId]);
    expect(calls).toBe(LIMITS.searchExperimentIds);
    expect(most).toBe(LIMITS.searchExperimentsInFlight);

    calls = 0;
    const refused = runs.search({
      experimentIds: ids(LIMITS.searchExperimentIds + 1),
      orderBy: [],
      viewType: 'ACTIVE_ONLY',
    });
    await expect(refused).rejects.toBeInstanceOf(InvalidParameterValueError);
    await expect(refused).rejects.toThrow(`at most ${LIMITS.searchExperimentIds}`);
    expect(calls).toBe(0);
  });
});
