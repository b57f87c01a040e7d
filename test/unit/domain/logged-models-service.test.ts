/** The logged-models service's rules on in-memory repositories: no HTTP, no table. */
import { describe, expect, it } from 'vitest';
import { LOGGED_MODEL_LIMITS } from '../../../shared/domain/logged-models/service.js';
import { InvalidParameterValueError, ResourceDoesNotExistError } from '../../../shared/errors.js';
import { memoryTracking } from '../../helpers/memory/index.js';

async function setup(modelJsonLimit?: number) {
  const tracking = memoryTracking({ ...(modelJsonLimit ? { modelJsonLimit } : {}) });
  const experimentId = await tracking.experiments.create({ name: 'exp', tags: [] });
  return { ...tracking, experimentId };
}

describe('logged models', () => {
  it('creates a pending model under the experiment artifact location', async () => {
    const { models, experimentId } = await setup();
    const model = await models.create({ experimentId, name: 'clf', params: [], tags: [] });
    expect(model).toMatchObject({
      experimentId,
      name: 'clf',
      status: 'LOGGED_MODEL_PENDING',
      artifactUri: `mlflow-artifacts:/${experimentId}/models/${model.modelId}/artifacts`,
    });
  });

  it('refuses a missing experiment, a deleted one and a bad name; marks a missing source run unverified', async () => {
    const { models, experiments, experimentId } = await setup();
    await expect(models.create({ experimentId: '42', params: [], tags: [] })).rejects.toBeInstanceOf(
      ResourceDoesNotExistError,
    );
    const orphan = await models.create({ experimentId, sourceRunId: 'a'.repeat(32), params: [], tags: [] });
    expect(orphan).toMatchObject({
      sourceRunId: 'a'.repeat(32),
      unverified: expect.stringContaining('a'.repeat(32)),
    });
    await expect(
      models.create({ experimentId, sourceRunId: '../a', params: [], tags: [] }),
    ).rejects.toBeInstanceOf(InvalidParameterValueError);
    await expect(models.create({ experimentId, name: 'a/b', params: [], tags: [] })).rejects.toThrow(
      /Invalid model name/,
    );
    await experiments.delete(experimentId);
    await expect(models.create({ experimentId, params: [], tags: [] })).rejects.toThrow(/'active' state/);
  });

  it('keeps params write-once and limits entries per request', async () => {
    const { models, experimentId } = await setup();
    const { modelId } = await models.create({ experimentId, params: [{ key: 'a', value: '1' }], tags: [] });
    await models.logParams(modelId, [{ key: 'a', value: '1' }]);
    await expect(models.logParams(modelId, [{ key: 'a', value: '2' }])).rejects.toThrow(
      /Changing param values is not allowed/,
    );
    const many = Array.from({ length: LOGGED_MODEL_LIMITS.perRequest + 1 }, (_, i) => ({
      key: `k${i}`,
      value: 'v',
    }));
    await expect(models.setTags(modelId, many)).rejects.toBeInstanceOf(InvalidParameterValueError);
  });

  it('hides a deleted model unless allowDeleted, and refuses changing it', async () => {
    const { models, experimentId } = await setup();
    const { modelId } = await models.create({ experimentId, params: [], tags: [] });
    await models.delete(modelId);
    await models.delete(modelId);
    await expect(models.get(modelId)).rejects.toBeInstanceOf(ResourceDoesNotExistError);
    expect((await models.get(modelId, true)).lifecycleStage).toBe('deleted');
    await expect(models.finalize(modelId, 'LOGGED_MODEL_READY')).rejects.toBeInstanceOf(
      ResourceDoesNotExistError,
    );
  });

  it('keeps the latest metric per (key, dataset) by (timestamp, step)', async () => {
    const { models, experimentId } = await setup();
    const { modelId } = await models.create({ experimentId, params: [], tags: [] });
    const at = (timestamp: number, step: number, value: number) => ({
      key: 'acc',
      value,
      timestamp,
      step,
      modelId,
    });
    await models.recordMetrics('r1', [at(10, 5, 0.5), at(10, 6, 0.6), at(9, 100, 0.1)]);
    await models.recordMetrics('r2', [{ ...at(1, 1, 0.2), datasetName: 'eval' }]);
    const { metrics } = await models.get(modelId);
    expect(metrics).toEqual([
      { key: 'acc', value: 0.6, timestamp: 10, step: 6, runId: 'r1' },
      { key: 'acc', value: 0.2, timestamp: 1, step: 1, runId: 'r2', datasetName: 'eval' },
    ]);
  });

  it('checks, before a run is written, that each model can hold its new metrics', async () => {
    const { models, experimentId } = await setup(2_000);
    const { modelId } = await models.create({ experimentId, params: [], tags: [] });
    const points = Array.from({ length: 50 }, (_, i) => ({
      key: `metric-${i}`,
      value: i,
      timestamp: 1,
      step: 0,
      modelId,
    }));
    await expect(models.checkMetrics('r1', points)).rejects.toThrow(/cannot hold this/);
    await expect(
      models.requireModels(
        Array.from({ length: LOGGED_MODEL_LIMITS.modelsPerRequest + 1 }, (_, i) => `m-${i}`),
      ),
    ).rejects.toThrow(/at most 100 distinct logged models/);
  });
});
