import { describe, expect, it } from 'vitest';
import { searchLiteral } from '../../../ui/src/lib/format.js';
import {
  datasetRows,
  filterKeys,
  filterPairs,
  metricKeys,
  modelLinks,
  runFacts,
  runLabel,
  splitTags,
} from '../../../ui/src/run/run-model.js';

const run = {
  info: { run_id: 'abc', run_name: '', user_id: '' },
  data: {
    tags: [
      { key: 'team', value: 'vision' },
      { key: 'mlflow.user', value: 'alice' },
      { key: 'mlflow.runName', value: 'trial-0' },
      { key: 'Alpha', value: '1' },
      { key: 'mlflow.note.content', value: '<b>hi</b>' },
      { key: 'mlflow.parentRunId', value: 'parent1' },
      { key: 'mlflow.source.name', value: 'train.py' },
      { key: 'mlflow.source.git.commit', value: 'deadbeef' },
    ],
    metrics: [{ key: 'loss' }, { key: 'acc' }, { key: 'loss' }],
  },
  inputs: {
    dataset_inputs: [
      {
        dataset: { name: 'iris', digest: 'd1', source_type: 'local' },
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
      },
      { dataset: { name: 'eval', digest: 'd2' } },
    ],
    model_inputs: [{ model_id: 'm-in' }, { model_id: 'm-out' }],
  },
  outputs: { model_outputs: [{ model_id: 'm-out', step: 5 }] },
};

describe('run overview model', () => {
  it('splits user tags from mlflow.* system tags, each sorted', () => {
    const { user, system } = splitTags(run.data.tags);
    expect(user.map((tag) => tag.key)).toEqual(['Alpha', 'team']);
    expect(system.map((tag) => tag.key)).toEqual([
      'mlflow.note.content',
      'mlflow.parentRunId',
      'mlflow.runName',
      'mlflow.source.git.commit',
      'mlflow.source.name',
      'mlflow.user',
    ]);
    expect(splitTags(undefined)).toEqual({ user: [], system: [] });
  });

  it('reads the facts from info first, then system tags', () => {
    expect(runFacts(run)).toEqual({
      user: 'alice',
      sourceName: 'train.py',
      sourceType: undefined,
      gitCommit: 'deadbeef',
      description: '<b>hi</b>',
      parentRunId: 'parent1',
    });
    expect(runFacts({ ...run, info: { ...run.info, user_id: 'bob' } }).user).toBe('bob');
    expect(runFacts({ info: { run_id: 'x' }, data: {} }).parentRunId).toBeUndefined();
  });

  it('labels a run by name, runName tag, then id', () => {
    expect(runLabel(run)).toBe('trial-0');
    expect(runLabel({ ...run, info: { ...run.info, run_name: 'named' } })).toBe('named');
    expect(runLabel({ info: { run_id: 'id1' }, data: {} })).toBe('id1');
  });

  it('filters pairs and keys case-insensitively', () => {
    const params = [
      { key: 'learning_rate', value: '0.1' },
      { key: 'Depth', value: '3' },
    ];
    expect(filterPairs(params, 'DEP')).toEqual([params[1]]);
    expect(filterPairs(params, '0.1')).toEqual([params[0]]);
    expect(filterPairs(params, '  ')).toEqual(params);
    expect(filterKeys(['val/loss', 'train/loss', 'val/acc'], 'VAL loss')).toEqual(['val/loss']);
    expect(filterKeys(['a'], '')).toEqual(['a']);
  });

  it('lists each metric key once, sorted', () => {
    expect(metricKeys(run)).toEqual(['acc', 'loss']);
  });

  it('reads datasets with their context tag', () => {
    expect(datasetRows(run)).toEqual([
      { name: 'iris', digest: 'd1', sourceType: 'local', context: 'training' },
      { name: 'eval', digest: 'd2', sourceType: '', context: '' },
    ]);
  });

  it('lists logged models once, an output winning over an input', () => {
    expect(modelLinks(run)).toEqual([
      { modelId: 'm-out', role: 'output', step: '5' },
      { modelId: 'm-in', role: 'input' },
    ]);
  });

  it('quotes search literals SQL style', () => {
    expect(searchLiteral("it's")).toBe("'it''s'");
    expect(searchLiteral('abc')).toBe("'abc'");
  });
});
