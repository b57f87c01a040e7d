import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { statusOf } from '../../../shared/api/http.js';
import type { PromotionPolicy, PromotionTarget } from '../../../shared/domain/promotion/model.js';
import {
  compileCondition,
  failingClauses,
  LEGACY_PENDING_CLAUSE,
  parseTarget,
} from '../../../shared/domain/promotion/rules.js';
import { PolicyPromotionGuard, PromotionPolicyService } from '../../../shared/domain/promotion/service.js';
import { parseStage } from '../../../shared/domain/registry/rules.js';
import type { LatestMetric, Run } from '../../../shared/domain/runs/model.js';
import { compileRunFilter } from '../../../shared/domain/runs/search.js';
import { MlflowError } from '../../../shared/errors.js';
import { MemoryPromotionRepository } from '../../helpers/memory/promotion.js';
import { testRun } from '../../helpers/runs.js';

function metrics(values: Record<string, number>): Record<string, LatestMetric> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, { key, value, step: 0, timestamp: 0 }]),
  );
}

const RUN: Run = testRun('a'.repeat(32), {
  runName: 'baseline',
  userId: 'alice',
  status: 'FINISHED',
  startTime: 1000,
  artifactUri: 'mlflow-artifacts:/1/run/artifacts',
  params: { lr: '0.01', optimizer: 'adam' },
  tags: { data_version: 'v2', quote: "it's" },
  metrics: metrics({ accuracy: 0.85, loss: 0.2, broken: Number.NaN, big: Number.POSITIVE_INFINITY }),
  datasets: [
    {
      name: 'train',
      digest: 'abc',
      sourceType: 'local',
      source: '{}',
      tags: { 'mlflow.data.context': 'training' },
    },
  ],
});

const failures = (condition: string, run: Run = RUN) => failingClauses(compileCondition(condition), run);

describe('failing clauses of a policy condition', () => {
  const cases: [string, string[]][] = [
    ['metrics.accuracy >= 0.8', []],
    ['metrics.accuracy >= 0.9', ['metrics.accuracy >= 0.9 (run has 0.85)']],
    ['metrics.accuracy > 0.8 and metrics.loss < 0.1', ['metrics.loss < 0.1 (run has 0.2)']],
    ['metrics.f1 >= 0.5', ['metrics.f1 >= 0.5 (run has no such metric)']],
    // NaN compares like Python's floats: only != holds.
    ['metrics.broken >= 0', ['metrics.broken >= 0 (run has NaN)']],
    ['metrics.broken < 0', ['metrics.broken < 0 (run has NaN)']],
    ['metrics.broken != 0', []],
    ['metrics.big > 1e308', []],
    ['metrics.big < 1', ['metrics.big < 1 (run has Infinity)']],
    ["params.lr = '0.01'", []],
    ["params.lr = '0.1'", ["params.lr = '0.1' (run has '0.01')"]],
    ["params.batch = '32'", ["params.batch = '32' (run has no such param)"]],
    ["params.optimizer LIKE 'sgd%'", ["params.optimizer LIKE 'sgd%' (run has 'adam')"]],
    ['params.batch IS NULL', []],
    ['params.lr IS NULL', ["params.lr IS NULL (run has '0.01')"]],
    [
      "metrics.accuracy >= 0.9 AND tags.data_version = 'v3'",
      ['metrics.accuracy >= 0.9 (run has 0.85)', "tags.data_version = 'v3' (run has 'v2')"],
    ],
    ["tags.reviewed = 'yes'", ["tags.reviewed = 'yes' (run has no such tag)"]],
    ['tags.reviewed IS NOT NULL', ['tags.reviewed IS NOT NULL (run has no such tag)']],
    ["tags.quote = 'its'", ["tags.quote = 'its' (run has 'it''s')"]],
    ["attributes.status = 'FINISHED'", []],
    ["status = 'RUNNING'", ["status = 'RUNNING' (run has 'FINISHED')"]],
    ["`Run Name` = 'other'", ["`Run Name` = 'other' (run has 'baseline')"]],
    ['attributes.end_time > 0', ['attributes.end_time > 0 (run has no value for it)']],
    ['created < 500', ['created < 500 (run has 1000)']],
    ["datasets.context = 'training'", []],
    ["datasets.name = 'eval'", ["datasets.name = 'eval' (run has 'train')"]],
    ["datasets.digest = 'x'", ["datasets.digest = 'x' (run has 'abc')"]],
  ];
  it.each(cases)('%s', (condition, expected) => {
    expect(failures(condition)).toEqual(expected);
  });

  it('reports a run without dataset inputs as having none', () => {
    expect(failures("datasets.name = 'train'", { ...RUN, datasets: [] })).toEqual([
      "datasets.name = 'train' (run has no dataset inputs)",
    ]);
  });

  it('keeps each clause as written, including an AND inside a quoted value', () => {
    expect(failures("tags.note = 'x AND y'   AND   metrics.loss  <  0.1")).toEqual([
      "tags.note = 'x AND y' (run has no such tag)",
      'metrics.loss  <  0.1 (run has 0.2)',
    ]);
  });

  it('agrees with the runs search evaluator on every condition (property)', () => {
    const clause = fc.oneof(
      fc
        .tuple(
          fc.constantFrom('accuracy', 'loss', 'broken', 'big', 'f1'),
          fc.constantFrom('=', '!=', '<', '<=', '>', '>='),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
        )
        .map(([key, op, value]) => `metrics.${key} ${op} ${value}`),
      fc
        .tuple(
          fc.constantFrom('params.lr', 'params.optimizer', 'params.batch', 'tags.data_version', 'tags.quote'),
          fc.constantFrom('=', '!=', 'LIKE', 'ILIKE'),
          fc.constantFrom('0.01', 'adam', 'v2', '%a%', "it''s", 'V2'),
        )
        .map(([key, op, value]) => `${key} ${op} '${value}'`),
      fc
        .tuple(fc.constantFrom('params.lr', 'tags.reviewed'), fc.constantFrom('IS NULL', 'IS NOT NULL'))
        .map(([key, op]) => `${key} ${op}`),
    );
    fc.assert(
      fc.property(fc.array(clause, { minLength: 1, maxLength: 5 }), (clauses) => {
        const condition = clauses.join(' AND ');
        const failing = failures(condition);
        expect(failing.length === 0).toBe(compileRunFilter(condition)(RUN));
        expect(failing.length).toBeLessThanOrEqual(clauses.length);
      }),
    );
  });
});

function caught(action: () => unknown): MlflowError {
  try {
    action();
  } catch (error) {
    if (error instanceof MlflowError) return error;
    throw error;
  }
  throw new Error('expected an MlflowError');
}

describe('validating policies', () => {
  it.each([
    ['metrics.accuracy >', 'position 18'],
    ['metrics.accuracy >= 0.9 OR tags.x = 1', 'OR is not supported'],
    ["metrics.accuracy = 'high'", 'expected a numeric value'],
    ['lifecycle_stage = 1', "invalid attribute key 'lifecycle_stage'"],
    ['   ', "Missing value for 'condition'"],
  ])('refuses %j with a 400 naming the field', (condition, where) => {
    const error = caught(() => compileCondition(condition));
    expect(statusOf(error)).toBe(400);
    expect(error.errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain('condition');
    expect(error.message).toContain(where);
  });

  it('canonicalizes stages in any case and refuses others', () => {
    expect(parseStage('production')).toBe('Production');
    expect(parseStage('STAGING')).toBe('Staging');
    expect(parseStage('none')).toBe('None');
    expect(caught(() => parseStage('prod')).message).toContain('None, Staging, Production, Archived');
    expect(parseTarget(undefined, 'STAGING')).toEqual({ kind: 'stage', name: 'Staging' });
  });

  it('needs exactly one valid target', () => {
    expect(parseTarget('champion', undefined)).toEqual({ kind: 'alias', name: 'champion' });
    expect(parseTarget(undefined, 'archived')).toEqual({ kind: 'stage', name: 'Archived' });
    expect(caught(() => parseTarget('a', 'Staging')).message).toContain('exactly one');
    expect(caught(() => parseTarget(undefined, undefined)).message).toContain('exactly one');
    expect(caught(() => parseTarget('latest', undefined)).message).toContain('reserved');
    expect(caught(() => parseTarget('v3', undefined)).message).toContain('reserved');
    expect(caught(() => parseTarget('a'.repeat(256), undefined)).message).toContain('255');
    // The registry's alias rule: a policy can only guard an alias a version could ever carry.
    expect(caught(() => parseTarget('a.b', undefined)).message).toContain('Invalid alias name');
  });

  it('names an alias in the NFC form the registry sets it in, so a look-alike spelling is the same target', () => {
    // The registry sets 'cafe\u0301' as 'café' (registry service setAlias): its policy must be that one.
    expect(parseTarget('cafe\u0301', undefined)).toEqual({ kind: 'alias', name: 'caf\u00e9' });
    expect(caught(() => parseTarget('champ\u200bion', undefined)).message).toContain('U+200B');
  });
});

describe('PolicyPromotionGuard', () => {
  const setup = () => {
    const repo = new MemoryPromotionRepository();
    const runs = { get: async (id: string) => (id === RUN.runId ? RUN : undefined) };
    const guard = new PolicyPromotionGuard(repo, runs, () => 42);
    return { repo, guard };
  };
  const policy = (target: PromotionTarget, condition: string): PromotionPolicy => ({
    modelId: 'id-m',
    modelName: 'm',
    target,
    condition,
    lastUpdated: 1,
  });

  it('allows and records a promotion when the target has no policy', async () => {
    const { repo, guard } = setup();
    await guard.check({
      modelId: 'id-m',
      modelName: 'm',
      version: '1',
      target: { kind: 'alias', name: 'champion' },
    });
    expect(repo.decisions).toEqual([
      expect.objectContaining({ outcome: 'ALLOWED', failingClauses: [], timestamp: 42, version: '1' }),
    ]);
    expect(repo.decisions[0]).not.toHaveProperty('condition');
  });

  it('refuses with every failing clause, and records the refusal', async () => {
    const { repo, guard } = setup();
    await repo.putPolicy(
      policy({ kind: 'stage', name: 'Production' }, "metrics.accuracy >= 0.9 AND tags.data_version = 'v3'"),
    );
    const error = await guard
      .check({
        modelId: 'id-m',
        modelName: 'm',
        version: '4',
        runId: RUN.runId,
        target: { kind: 'stage', name: 'production' },
        principal: 'ci',
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(MlflowError);
    expect(statusOf(error as MlflowError)).toBe(400);
    expect((error as MlflowError).errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect((error as MlflowError).message).toBe(
      "Promotion of model 'm' version 4 to stage 'Production' refused by its promotion policy `metrics.accuracy >= 0.9 AND tags.data_version = 'v3'`: metrics.accuracy >= 0.9 (run has 0.85); tags.data_version = 'v3' (run has 'v2').",
    );
    expect(repo.decisions).toEqual([
      {
        id: expect.any(String),
        modelId: 'id-m',
        modelName: 'm',
        version: '4',
        runId: RUN.runId,
        target: { kind: 'stage', name: 'Production' },
        principal: 'ci',
        timestamp: 42,
        outcome: 'REFUSED',
        condition: "metrics.accuracy >= 0.9 AND tags.data_version = 'v3'",
        failingClauses: ['metrics.accuracy >= 0.9 (run has 0.85)', "tags.data_version = 'v3' (run has 'v2')"],
      },
    ]);
  });

  it('allows a run that meets the policy', async () => {
    const { repo, guard } = setup();
    await repo.putPolicy(policy({ kind: 'alias', name: 'champion' }, 'metrics.accuracy >= 0.8'));
    await guard.check({
      modelId: 'id-m',
      modelName: 'm',
      version: '2',
      runId: RUN.runId,
      target: { kind: 'alias', name: 'champion' },
    });
    expect(repo.decisions.map((d) => d.outcome)).toEqual(['ALLOWED']);
  });

  it('refuses a version without a run, or whose run is missing', async () => {
    const { repo, guard } = setup();
    await repo.putPolicy(policy({ kind: 'alias', name: 'champion' }, 'metrics.accuracy >= 0.8'));
    const target = { kind: 'alias', name: 'champion' } as const;
    await expect(guard.check({ modelId: 'id-m', modelName: 'm', version: '1', target })).rejects.toThrow(
      'has no source run',
    );
    await expect(
      guard.check({ modelId: 'id-m', modelName: 'm', version: '2', runId: 'f'.repeat(32), target }),
    ).rejects.toThrow(`source run ${'f'.repeat(32)} does not exist`);
    expect(repo.decisions.map((d) => d.outcome)).toEqual(['REFUSED', 'REFUSED']);
  });

  it('refuses, and records, while policies of an earlier version wait under the name', async () => {
    const { repo, guard } = setup();
    repo.legacy.add('m');
    const target = { kind: 'alias', name: 'champion' } as const;
    const error = await guard
      .check({ modelId: 'id-m', modelName: 'm', version: '1', runId: RUN.runId, target })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(MlflowError);
    expect(statusOf(error as MlflowError)).toBe(400);
    expect((error as MlflowError).errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect((error as MlflowError).message).toContain('cairn policy migrate');
    expect(repo.decisions).toEqual([
      expect.objectContaining({ outcome: 'REFUSED', failingClauses: [LEGACY_PENDING_CLAUSE] }),
    ]);
  });

  it('ignores name-keyed leftovers once the model has policies under its id', async () => {
    const { repo, guard } = setup();
    repo.legacy.add('m');
    let legacyChecks = 0;
    const has = repo.hasLegacyPolicies.bind(repo);
    repo.hasLegacyPolicies = async (name: string) => {
      legacyChecks++;
      return has(name);
    };
    await repo.putPolicy(policy({ kind: 'stage', name: 'Staging' }, 'metrics.accuracy >= 0.5'));
    // Another target than the policy's: unguarded, and no read of the legacy partition.
    await guard.check({
      modelId: 'id-m',
      modelName: 'm',
      version: '1',
      runId: RUN.runId,
      target: { kind: 'alias', name: 'champion' },
    });
    expect(legacyChecks).toBe(0);
    expect(repo.decisions.map((d) => d.outcome)).toEqual(['ALLOWED']);
  });
});

describe('PromotionPolicyService', () => {
  // name → id, as the registry's name claims resolve it; a rename moves the name, never the id.
  const names = new Map<string, string>([['fraud', 'id-1']]);
  const models = {
    getModelByName: async (name: string) => {
      const modelId = names.get(name);
      return modelId ? { modelId, name } : undefined;
    },
  };

  it('keys policies and decisions by the model id and answers with the current name', async () => {
    const repo = new MemoryPromotionRepository();
    const service = new PromotionPolicyService(repo, models, () => 7);
    const target = { kind: 'alias', name: 'champion' } as const;
    await service.set('fraud', target, 'metrics.x > 0');
    expect([...repo.policies.values()]).toEqual([
      { modelId: 'id-1', modelName: 'fraud', target, condition: 'metrics.x > 0', lastUpdated: 7 },
    ]);
    await new PolicyPromotionGuard(repo, { get: async () => undefined }, () => 8)
      .check({ modelId: 'id-1', modelName: 'fraud', version: '1', target })
      .catch(() => undefined);
    names.delete('fraud');
    names.set('renamed', 'id-1');
    expect((await service.list('renamed')).map((p) => [p.modelId, p.modelName])).toEqual([
      ['id-1', 'renamed'],
    ]);
    expect((await service.decisions('renamed')).decisions.map((d) => [d.modelId, d.modelName])).toEqual([
      ['id-1', 'renamed'],
    ]);
  });

  it('answers 404 RESOURCE_DOES_NOT_EXIST for a name that names no model, before any write', async () => {
    const repo = new MemoryPromotionRepository();
    const service = new PromotionPolicyService(repo, models);
    const target = { kind: 'stage', name: 'Production' } as const;
    for (const attempt of [
      () => service.set('nobody', target, 'metrics.x > 0'),
      () => service.list('nobody'),
      () => service.delete('nobody', target),
      () => service.decisions('nobody'),
    ]) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MlflowError);
      expect(statusOf(error as MlflowError)).toBe(404);
      expect((error as MlflowError).errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
      expect((error as MlflowError).message).toBe('Registered Model with name=nobody not found');
    }
    expect(repo.policies.size).toBe(0);
  });

  it("names models by the registry's rule: a name the registry refuses is a 400, a long one it allows a 404", async () => {
    const service = new PromotionPolicyService(new MemoryPromotionRepository(), models);
    const status = (attempt: Promise<unknown>) =>
      attempt.then(
        () => 200,
        (e: unknown) => statusOf(e as MlflowError),
      );
    expect(await status(service.list('a/b'))).toBe(400);
    expect(await status(service.list('x'.repeat(501)))).toBe(400);
    expect(await status(service.list('x'.repeat(500)))).toBe(404);
  });

  it('pages the audit trail newest first with tokens bound to the model', async () => {
    const repo = new MemoryPromotionRepository();
    const [modelId, name] = ['id-p', 'paged'];
    const service = new PromotionPolicyService(repo, {
      getModelByName: async (n) => (n === name ? { modelId, name } : undefined),
    });
    const guard = new PolicyPromotionGuard(repo, { get: async () => undefined }, () => 1);
    for (const v of ['1', '2', '3']) {
      await guard.check({ modelId, modelName: name, version: v, target: { kind: 'alias', name: 'a' } });
    }
    const first = await service.decisions(name, 2);
    expect(first.decisions.map((d) => d.version)).toEqual(['3', '2']);
    const second = await service.decisions(name, 2, first.nextPageToken);
    expect(second.decisions.map((d) => d.version)).toEqual(['1']);
    expect(second.nextPageToken).toBeUndefined();
    expect(caught(() => parseTarget(undefined, undefined)).errorCode).toBe('INVALID_PARAMETER_VALUE');
  });
});
