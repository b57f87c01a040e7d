/** The pure parts of `cairn import`: source shapes to Cairn's, artifact paths, version sources, batching. */
import { describe, expect, it } from 'vitest';
import {
  artifactDownloadPath,
  emptyCounts,
  formatSummary,
  int64,
  metricPoint,
  proxiedPath,
  retryDelayMs,
  rewriteVersionSource,
  type SourceRun,
  toRun,
} from '../../../shared/import/convert.js';
import { appendBatches } from '../../../shared/import/target.js';

const RUN = 'a'.repeat(32);

describe('metric points', () => {
  it('reads NaN and ±Infinity as protobuf JSON sends them, and int64 as numbers or strings', () => {
    expect(metricPoint({ key: 'l', value: 'NaN', timestamp: '5', step: 2 }).value).toBeNaN();
    expect(metricPoint({ key: 'l', value: 'Infinity', timestamp: 5 }).value).toBe(Number.POSITIVE_INFINITY);
    expect(metricPoint({ key: 'l', value: '-Infinity', timestamp: 5 }).value).toBe(Number.NEGATIVE_INFINITY);
    expect(metricPoint({ key: 'l', value: -0, timestamp: '1700000000000', step: '3' })).toEqual({
      key: 'l',
      value: -0,
      timestamp: 1_700_000_000_000,
      step: 3,
    });
    expect(metricPoint({ key: 'l', value: 1 })).toEqual({ key: 'l', value: 1, timestamp: 0, step: 0 });
    expect(int64(undefined)).toBeUndefined();
    expect(int64('')).toBeUndefined();
  });
});

describe('runs', () => {
  const source: SourceRun = {
    info: {
      run_id: RUN,
      experiment_id: '7',
      run_name: 'child',
      user_id: 'ana',
      status: 'FINISHED',
      start_time: '10',
      end_time: 20,
      artifact_uri: 'mlflow-artifacts:/7/aaaa/artifacts',
      lifecycle_stage: 'deleted',
    },
    data: {
      metrics: [{ key: 'loss', value: 1, timestamp: 1, step: 1 }],
      params: [{ key: 'lr', value: '0.1' }],
      tags: [{ key: 'mlflow.parentRunId', value: 'b'.repeat(32) }],
    },
    inputs: {
      dataset_inputs: [
        {
          tags: [{ key: 'mlflow.data.context', value: 'training' }],
          dataset: { name: 'd', digest: 'x', source_type: 'local', source: '/d', schema: '{}' },
        },
      ],
      model_inputs: [{ model_id: 'm-1' }],
    },
    outputs: { model_outputs: [{ model_id: 'm-2', step: '4' }] },
  };

  it('become Cairn runs in the target experiment, ids, times, lifecycle, links and inputs kept', () => {
    expect(toRun(source, '3', 'mlflow-artifacts:/3/x/artifacts')).toEqual({
      runId: RUN,
      experimentId: '3',
      runName: 'child',
      userId: 'ana',
      status: 'FINISHED',
      startTime: 10,
      endTime: 20,
      artifactUri: 'mlflow-artifacts:/3/x/artifacts',
      lifecycleStage: 'deleted',
      params: { lr: '0.1' },
      tags: { 'mlflow.parentRunId': 'b'.repeat(32) },
      metrics: {},
      datasets: [
        {
          name: 'd',
          digest: 'x',
          sourceType: 'local',
          source: '/d',
          schema: '{}',
          tags: { 'mlflow.data.context': 'training' },
        },
      ],
      modelOutputs: [{ modelId: 'm-2', step: 4 }],
      modelInputs: ['m-1'],
    });
  });

  it('without an end time stay open', () => {
    const open = toRun({ info: { run_id: RUN, experiment_id: '1', status: 'RUNNING' } }, '1', 'u');
    expect(open.endTime).toBeUndefined();
    expect(open.status).toBe('RUNNING');
    expect(open.lifecycleStage).toBe('active');
  });
});

describe('artifact locations', () => {
  it('finds the proxied path with or without the server authority', () => {
    expect(proxiedPath('mlflow-artifacts:/1/abc/artifacts')).toBe('1/abc/artifacts');
    expect(proxiedPath('mlflow-artifacts://host:5000/1/abc/artifacts/')).toBe('1/abc/artifacts');
    expect(proxiedPath('s3://bucket/1/abc/artifacts')).toBeUndefined();
  });

  it('downloads proxied files from the artifact service and others through get-artifact, encoded', () => {
    const proxied: SourceRun = {
      info: { run_id: RUN, experiment_id: '1', artifact_uri: 'mlflow-artifacts:/1/abc/artifacts' },
    };
    expect(artifactDownloadPath(proxied, 'a dir/b#c.txt')).toBe(
      '/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/a%20dir/b%23c.txt',
    );
    const s3: SourceRun = {
      info: { run_id: RUN, experiment_id: '1', artifact_uri: 's3://b/1/abc/artifacts' },
    };
    expect(artifactDownloadPath(s3, 'model/MLmodel')).toBe(
      `/get-artifact?path=model%2FMLmodel&run_uuid=${RUN}`,
    );
  });
});

describe('version sources', () => {
  const runs = new Map([
    [RUN, { from: 'mlflow-artifacts://src:5000/1/abc/artifacts', to: 'mlflow-artifacts:/4/abc/artifacts' }],
  ]);

  it('follow their run to its location in the target', () => {
    expect(rewriteVersionSource('mlflow-artifacts:/1/abc/artifacts/model', runs, RUN)).toBe(
      'mlflow-artifacts:/4/abc/artifacts/model',
    );
    expect(rewriteVersionSource('mlflow-artifacts:/1/abc/artifacts', runs, undefined)).toBe(
      'mlflow-artifacts:/4/abc/artifacts',
    );
  });

  it('keep runs:/, models:/ and locations no copied run holds', () => {
    expect(rewriteVersionSource(`runs:/${RUN}/model`, runs, RUN)).toBe(`runs:/${RUN}/model`);
    expect(rewriteVersionSource('models:/m-1', runs, undefined)).toBe('models:/m-1');
    expect(rewriteVersionSource('mlflow-artifacts:/1/abcd/artifacts', runs, RUN)).toBe(
      'mlflow-artifacts:/1/abcd/artifacts',
    );
    expect(rewriteVersionSource('s3://elsewhere/model', runs, RUN)).toBe('s3://elsewhere/model');
  });
});

describe('batches and retries', () => {
  it('keeps each key together where it fits, and splits long histories', () => {
    const points = [
      ...Array.from({ length: 5 }, (_, step) => ({ key: 'a', step, timestamp: 0, value: 1 })),
      ...Array.from({ length: 3 }, (_, step) => ({ key: 'b', step, timestamp: 0, value: 1 })),
      { key: 'a', step: 9, timestamp: 0, value: 1 },
    ];
    const batches = appendBatches(points, 4);
    expect(batches.map((batch) => batch.map((p) => `${p.key}${p.step}`))).toEqual([
      ['a0', 'a1', 'a2', 'a3'],
      ['a4', 'a9'],
      ['b0', 'b1', 'b2'],
    ]);
    expect(batches.flat()).toHaveLength(points.length);
  });

  it('backs off exponentially, capped', () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, 500))).toEqual([500, 1000, 2000, 4000]);
    expect(retryDelayMs(20, 500)).toBe(10_000);
  });

  it('summarises counts, notes and skips', () => {
    const text = formatSummary(
      { ...emptyCounts(), runs: 2, bytes: 3 * 1024 * 1024 },
      [{ what: 'run x', why: 'boom' }],
      ['experiment a is 5 here'],
      1.25,
      false,
    );
    expect(text).toContain('Imported 0 experiments, 2 runs');
    expect(text).toContain('(3.0 MB)');
    expect(text).toContain('in 1.3 s');
    expect(text).toContain('note: experiment a is 5 here');
    expect(text).toContain('Skipped 1:\n  run x: boom');
  });
});
