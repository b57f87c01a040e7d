/**
 * The registry's and promotion's item mappers (store/<aggregate>/entity.ts): every domain value survives a
 * round trip through its item, and items as earlier builds wrote them still read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PromotionDecision, PromotionPolicy } from '../../../shared/domain/promotion/model.js';
import type { ModelVersion, RegisteredModel } from '../../../shared/domain/registry/model.js';
import { decisionEntity, policyEntity } from '../../../shared/store/promotion/entity.js';
import { modelEntity, versionEntity } from '../../../shared/store/registry/entity.js';

const text = fc.string({ minLength: 1, maxLength: 20 });
// Includes `__proto__` and `constructor`: stored map keys are prefixed so that these stay keys.
const key = fc.oneof(text, fc.constantFrom('__proto__', 'constructor', 'toString'));
const stringMap = fc.dictionary(key, fc.string({ maxLength: 20 }), { maxKeys: 4 });
const time = fc.nat();
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** Drops keys whose value is undefined: the domain's optional fields are absent, never undefined. */
const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

const registeredModel: fc.Arbitrary<RegisteredModel> = fc
  .record({
    modelId: fc.stringMatching(/^[0-9a-f]{32}$/),
    name: text,
    description: optional(text),
    creationTimestamp: time,
    lastUpdatedTimestamp: time,
    userId: optional(text),
    tags: stringMap,
    aliases: fc.dictionary(key, fc.integer({ min: 1, max: 10_000 }), { maxKeys: 4 }),
  })
  .map(defined);

const modelVersion: fc.Arbitrary<ModelVersion> = fc
  .record({
    modelId: fc.stringMatching(/^[0-9a-f]{32}$/),
    version: fc.integer({ min: 1, max: 1e9 }),
    creationTimestamp: time,
    lastUpdatedTimestamp: time,
    userId: optional(text),
    currentStage: fc.constantFrom('None', 'Staging', 'Production', 'Archived' as const),
    description: optional(text),
    source: text,
    runId: optional(fc.stringMatching(/^[0-9a-f]{32}$/)),
    runLink: optional(text),
    loggedModelId: optional(fc.stringMatching(/^m-[0-9a-f]{32}$/)),
    storageLocation: optional(text),
    status: fc.constant('READY' as const),
    tags: stringMap,
  })
  .map(defined);

describe('registry items', () => {
  it('round-trips every registered model and model version', () => {
    fc.assert(
      fc.property(registeredModel, (model) => {
        expect(modelEntity.fromItem({ ...modelEntity.toItem(model) })).toEqual(model);
      }),
    );
    fc.assert(
      fc.property(modelVersion, (version) => {
        expect(versionEntity.fromItem({ ...versionEntity.toItem(version) })).toEqual(version);
      }),
    );
  });

  it('reads a model and a version item as the first builds stored them', () => {
    const id = '0123456789abcdef0123456789abcdef';
    expect(
      modelEntity.fromItem({
        pk: `MODEL#${id}`,
        sk: 'MODEL',
        gsi1pk: 'MODELS',
        gsi1sk: id,
        type: 'registered-model',
        model_id: id,
        name: 'churn',
        creation_timestamp: 1,
        last_updated_timestamp: 2,
        tags: { 't:team': 'risk' },
        aliases: { 't:champion': 3 },
        version_counter: 3,
      }),
    ).toEqual({
      modelId: id,
      name: 'churn',
      creationTimestamp: 1,
      lastUpdatedTimestamp: 2,
      tags: { team: 'risk' },
      aliases: { champion: 3 },
    });
    const item = versionEntity.toItem({
      modelId: id,
      version: 3,
      creationTimestamp: 1,
      lastUpdatedTimestamp: 2,
      currentStage: 'Staging',
      source: `runs:/${'a'.repeat(32)}/model`,
      runId: 'a'.repeat(32),
      status: 'READY',
      tags: {},
    });
    expect(item).toEqual({
      pk: `MODEL#${id}`,
      sk: `V#${'3'.padStart(20, '0')}`,
      gsi2pk: 'MODELVERSIONS',
      gsi2sk: `${id}#${'3'.padStart(20, '0')}`,
      type: 'model-version',
      model_id: id,
      version: 3,
      creation_timestamp: 1,
      last_updated_timestamp: 2,
      current_stage: 'Staging',
      source: `runs:/${'a'.repeat(32)}/model`,
      run_id: 'a'.repeat(32),
      status: 'READY',
      tags: {},
    });
  });
});

describe('promotion items', () => {
  const target = fc.oneof(
    fc.record({ kind: fc.constant('alias' as const), name: text }),
    fc.record({ kind: fc.constant('stage' as const), name: fc.constantFrom('Staging', 'Production') }),
  );

  it('round-trips every policy and decision', () => {
    const policy: fc.Arbitrary<PromotionPolicy> = fc.record({
      modelId: text,
      modelName: text,
      target,
      condition: text,
      lastUpdated: time,
    });
    fc.assert(
      fc.property(policy, (p) => {
        expect(policyEntity.fromItem({ ...policyEntity.toItem(p) })).toEqual(p);
      }),
    );
    const decision: fc.Arbitrary<PromotionDecision> = fc
      .record({
        id: fc.uuid(),
        modelId: text,
        modelName: text,
        version: fc.integer({ min: 1 }).map(String),
        runId: optional(text),
        target,
        principal: optional(text),
        timestamp: time,
        outcome: fc.constantFrom('ALLOWED', 'REFUSED' as const),
        condition: optional(text),
        failingClauses: fc.array(text, { maxLength: 3 }),
      })
      .map(defined);
    fc.assert(
      fc.property(decision, (d) => {
        expect(decisionEntity.fromItem({ ...decisionEntity.toItem(d) })).toEqual(d);
      }),
    );
  });

  it('reads a decision stored without failingClauses as having none', () => {
    expect(
      decisionEntity.fromItem({
        pk: 'PROMOTIONS#id',
        sk: `${'5'.padStart(15, '0')}#${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}`,
        id: 'd1',
        modelId: 'id',
        modelName: 'm',
        version: '1',
        kind: 'alias',
        target: 'champion',
        timestamp: 5,
        outcome: 'ALLOWED',
      }),
    ).toEqual({
      id: 'd1',
      modelId: 'id',
      modelName: 'm',
      version: '1',
      target: { kind: 'alias', name: 'champion' },
      timestamp: 5,
      outcome: 'ALLOWED',
      failingClauses: [],
    });
  });
});
