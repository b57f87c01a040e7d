import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LoggedModel, LoggedModelMetric } from '../../../shared/domain/logged-models/model.js';
import { type LoggedModelSearch, searchLoggedModels } from '../../../shared/domain/logged-models/search.js';
import { MlflowError } from '../../../shared/errors.js';

function model(n: number, overrides: Partial<LoggedModel> = {}): LoggedModel {
  const modelId = `m-${n.toString(16).padStart(32, '0')}`;
  return {
    modelId,
    experimentId: '1',
    name: `model-${n}`,
    artifactUri: `mlflow-artifacts:/1/models/${modelId}/artifacts`,
    creationTimestamp: 1000 + n,
    lastUpdatedTimestamp: 1000 + n,
    status: 'LOGGED_MODEL_READY',
    lifecycleStage: 'active',
    tags: {},
    params: {},
    metrics: [],
    ...overrides,
  };
}

const metric = (key: string, value: number, extra: Partial<LoggedModelMetric> = {}): LoggedModelMetric => ({
  key,
  value,
  timestamp: 1,
  step: 0,
  ...extra,
});

const search = (all: LoggedModel[], options: Partial<LoggedModelSearch> = {}) =>
  searchLoggedModels(all, { experimentIds: ['1'], datasets: [], orderBy: [], maxResults: 100, ...options });

const names = (page: { models: LoggedModel[] }) => page.models.map((m) => m.name);

function refuses(run: () => unknown, mention: string): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MlflowError);
    expect((error as MlflowError).errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect((error as MlflowError).message).toContain(mention);
    return;
  }
  throw new Error(`expected a refusal mentioning ${mention}`);
}

describe('searchLoggedModels', () => {
  it('returns active models of the named experiments, newest first', () => {
    const all = [
      model(1),
      model(2, { experimentId: '2' }),
      model(3, { lifecycleStage: 'deleted' }),
      model(4),
    ];
    expect(names(search(all))).toEqual(['model-4', 'model-1']);
    expect(names(search(all, { experimentIds: ['1', '2'] }))).toEqual(['model-4', 'model-2', 'model-1']);
  });

  it('compares metrics as numbers, only on models that have the metric, NaN counting as missing', () => {
    const all = [
      model(1, { metrics: [metric('acc', 0.8)] }),
      model(2, { metrics: [metric('acc', 0.95)] }),
      model(3, { metrics: [metric('acc', Number.NaN)] }),
      model(4),
    ];
    expect(names(search(all, { filter: 'metrics.acc >= 0.9' }))).toEqual(['model-2']);
    expect(names(search(all, { filter: 'metrics.acc != 0.8' }))).toEqual(['model-2']);
    expect(names(search(all, { filter: 'metrics.acc < 1' }))).toEqual(['model-2', 'model-1']);
  });

  it('scopes metric clauses to the requested datasets, and datasets alone select models with metrics on them', () => {
    const all = [
      model(1, { metrics: [metric('acc', 0.9, { datasetName: 'train', datasetDigest: 'd1' })] }),
      model(2, { metrics: [metric('acc', 0.9, { datasetName: 'eval', datasetDigest: 'd2' })] }),
      model(3),
    ];
    const evalOnly = [{ datasetName: 'eval' }];
    expect(names(search(all, { filter: 'metrics.acc > 0.5', datasets: evalOnly }))).toEqual(['model-2']);
    expect(names(search(all, { datasets: evalOnly }))).toEqual(['model-2']);
    expect(names(search(all, { datasets: [{ datasetName: 'train', datasetDigest: 'other' }] }))).toEqual([]);
    refuses(() => search(all, { datasets: [{ datasetName: '' }] }), 'dataset_name');
  });

  it('orders by a metric with nulls last in both directions, using the latest value per dataset', () => {
    const all = [
      model(1, { metrics: [metric('loss', 0.5)] }),
      model(2),
      model(3, {
        metrics: [
          metric('loss', 0.1, { timestamp: 5, datasetName: 'eval' }),
          metric('loss', 0.9, { timestamp: 1, datasetName: 'train' }),
        ],
      }),
    ];
    expect(names(search(all, { orderBy: [{ fieldName: 'metrics.loss', ascending: true }] }))).toEqual([
      'model-3',
      'model-1',
      'model-2',
    ]);
    expect(names(search(all, { orderBy: [{ fieldName: 'metrics.loss', ascending: false }] }))).toEqual([
      'model-1',
      'model-3',
      'model-2',
    ]);
    expect(
      names(
        search(all, { orderBy: [{ fieldName: 'metrics.loss', ascending: false, datasetName: 'train' }] }),
      ),
    ).toEqual(['model-3', 'model-2', 'model-1']);
  });

  it('stops a page early at the byte budget but always serves one model', () => {
    const all = [model(1), model(2), model(3)];
    const page = search(all, { byteBudget: 250, sizeOf: () => 100 });
    expect(names(page)).toEqual(['model-3', 'model-2']);
    expect(page.nextPageToken).toBeDefined();
    const tiny = search(all, { byteBudget: 10, sizeOf: () => 100 });
    expect(names(tiny)).toEqual(['model-3']);
  });

  it('refuses other entities, unknown attributes and order fields', () => {
    refuses(() => search([], { filter: "datasets.name = 'x'" }), 'invalid entity');
    refuses(() => search([], { filter: "flavour = 'x'" }), 'flavour');
    refuses(() => search([], { orderBy: [{ fieldName: 'tags.env', ascending: true }] }), 'Only metrics');
    refuses(() => search([], { orderBy: [{ fieldName: 'flavour', ascending: true }] }), 'flavour');
  });

  it('pages through any result without gaps or repeats, for any order and page size', () => {
    const arbitraryModel = fc.record({
      name: fc.constantFrom('a', 'b', 'c'),
      created: fc.integer({ min: 0, max: 5 }),
      loss: fc.option(fc.constantFrom(0.1, 0.2, Number.NaN), { nil: undefined }),
      type: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.array(arbitraryModel, { maxLength: 25 }),
        fc.integer({ min: 1, max: 7 }),
        fc.subarray(['name', 'metrics.loss', 'model_type', 'creation_timestamp']),
        fc.boolean(),
        (specs, pageSize, fields, ascending) => {
          const all = specs.map((spec, index) =>
            model(index, {
              name: spec.name,
              creationTimestamp: spec.created,
              ...(spec.type ? { modelType: spec.type } : {}),
              metrics: spec.loss === undefined ? [] : [metric('loss', spec.loss)],
            }),
          );
          const orderBy = fields.map((fieldName) => ({ fieldName, ascending }));
          const whole = search(all, { orderBy, maxResults: 1000 }).models.map((m) => m.modelId);
          const paged: string[] = [];
          let pageToken: string | undefined;
          do {
            const page = search(all, { orderBy, maxResults: pageSize, ...(pageToken ? { pageToken } : {}) });
            paged.push(...page.models.map((m) => m.modelId));
            pageToken = page.nextPageToken;
          } while (pageToken);
          expect(paged).toEqual(whole);
          expect(new Set(whole).size).toBe(all.length);
        },
      ),
    );
  });
});
