/**
 * Logged-model benchmarks: DynamoDB calls and request units per step of MLflow 3's `log_model` flow
 * (create, link to the run, read back, finalize, tag, a metric logged against the model), and the read
 * cost of a logged-model search as an experiment's models grow. Units from DynamoDB Local.
 */

import { ensureTable } from '../../local/stand-ins.js';
import { ExperimentService } from '../../shared/domain/experiments/service.js';
import { LoggedModelService } from '../../shared/domain/logged-models/service.js';
import { RunService } from '../../shared/domain/runs/service.js';
import { DynamoExperimentRepository } from '../../shared/store/experiments/repository.js';
import { DynamoLoggedModelRepository } from '../../shared/store/logged-models/repository.js';
import { DynamoRunRepository } from '../../shared/store/runs/repository.js';
import { startDynamoDbLocal } from '../helpers/dynamodb-local.js';
import { meteredDocumentClient } from './capacity.js';

const SEARCH_MODELS = (process.env.BENCH_SEARCH_MODELS ?? '100,1000').split(',').map(Number);

/** `log_model`'s tags (mlflow.user, source name and type, git commit). */
const CLIENT_TAGS = [
  { key: 'mlflow.user', value: 'root' },
  { key: 'mlflow.source.name', value: 'train.py' },
  { key: 'mlflow.source.type', value: 'LOCAL' },
  { key: 'mlflow.source.git.commit', value: 'c0ffee'.repeat(6).slice(0, 40) },
];

export async function loggedModelBenchmarks() {
  const dynamoLocal = await startDynamoDbLocal();
  try {
    await ensureTable(dynamoLocal.endpoint, 'bench');
    const { doc, meter } = meteredDocumentClient(dynamoLocal.endpoint);
    const experiments: ExperimentService = new ExperimentService(
      new DynamoExperimentRepository(doc, 'bench'),
      { artifactRoot: 'mlflow-artifacts:/', allowClientArtifactLocation: false },
      Date.now,
      (id, from, to) => runs.setLifecycleForExperiment(id, from, to),
    );
    const runRepository = new DynamoRunRepository(doc, 'bench');
    const runs: RunService = new RunService(runRepository, experiments);
    const models = new LoggedModelService(new DynamoLoggedModelRepository(doc, 'bench'), {
      getExperiment: (id) => experiments.get(id),
      runExists: async (id) => (await runRepository.get(id)) !== undefined,
    });
    const experimentId = await experiments.create({ name: 'models', tags: [] });
    const run = await runs.create({ experimentId, tags: [] });

    const steps: Record<string, string | number>[] = [];
    const measure = async (step: string, action: () => Promise<unknown>) => {
      meter.reset();
      await action();
      steps.push({
        step,
        'DynamoDB calls': meter.calls,
        'read units': meter.readUnits.toFixed(1),
        'write units': meter.writeUnits.toFixed(1),
      });
    };
    let modelId = '';
    await measure('create (4 tags, source run checked)', async () => {
      modelId = (
        await models.create({
          experimentId,
          name: 'm',
          sourceRunId: run.runId,
          tags: CLIENT_TAGS,
          params: [],
        })
      ).modelId;
    });
    await measure('runs/outputs (model checked, run updated)', async () => {
      await models.requireModels([modelId]);
      await runs.logOutputs(run.runId, [{ modelId, step: 0 }]);
    });
    await measure('get', () => models.get(modelId));
    await measure('finalize (PATCH status)', () => models.finalize(modelId, 'LOGGED_MODEL_READY'));
    await measure('set tags (mlflow.modelVersions)', () =>
      models.setTags(modelId, [{ key: 'mlflow.modelVersions', value: '[{"name": "m", "version": 1}]' }]),
    );
    await measure('log-metric with model_id (run + model)', async () => {
      const point = { key: 'acc', value: 0.93, timestamp: Date.now(), step: 0 };
      await models.requireModels([modelId]);
      await runs.logMetric(run.runId, point);
      await models.recordMetrics(run.runId, [{ ...point, modelId }]);
    });

    const search: Record<string, string | number>[] = [];
    let created = 1;
    for (const count of SEARCH_MODELS) {
      for (; created < count; created++) {
        await models.create({ experimentId, name: `m${created}`, tags: CLIENT_TAGS, params: [] });
      }
      meter.reset();
      const started = performance.now();
      const page = await models.search({
        experimentIds: [experimentId],
        filter: "tags.`mlflow.source.type` = 'LOCAL'",
        datasets: [],
        orderBy: [{ fieldName: 'name', ascending: true }],
        maxResults: 50,
      });
      search.push({
        'models in experiment': count,
        returned: page.models.length,
        'read units': meter.readUnits.toFixed(1),
        'DynamoDB calls': meter.calls,
        'latency ms': (performance.now() - started).toFixed(0),
      });
    }
    return { steps, search };
  } finally {
    dynamoLocal.stop();
  }
}
