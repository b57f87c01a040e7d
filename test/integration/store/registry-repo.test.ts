/**
 * The registry service on the registry repository against a real table (dynalite, or DynamoDB Local in
 * the fidelity lane): the promotion guard runs before any write, and readers cope with half-done steps.
 */
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PromotionGuard, PromotionRequest } from '../../../shared/domain/promotion/guard.js';
import type { VersionSourceLookup } from '../../../shared/domain/registry/model.js';
import { RegistryService } from '../../../shared/domain/registry/service.js';
import { InvalidParameterValueError, ResourceAlreadyExistsError } from '../../../shared/errors.js';
import { CLAIM_TAKEOVER_MS } from '../../../shared/store/experiments/repository.js';
import { keys } from '../../../shared/store/keys.js';
import { DynamoRegistryRepository } from '../../../shared/store/registry/repository.js';
import { createTestTable, type TestTable } from '../../helpers/dynamo.js';

let table: TestTable;
let now = 1_800_000_000_000;
const clock = () => now;
let repo: DynamoRegistryRepository;
const seen: PromotionRequest[] = [];
let refuse = false;
const guard: PromotionGuard = {
  async check(request) {
    seen.push(request);
    if (refuse) throw new InvalidParameterValueError(`Promotion of version ${request.version} refused.`);
  },
};
let registry: RegistryService;
const RUN_ID = 'c'.repeat(32);
// The repository is what this file tests; the tracking store's answer for the one run it names is given.
const sources: VersionSourceLookup = {
  get: async (runId) =>
    runId === RUN_ID
      ? { runId, experimentId: '0', artifactUri: `mlflow-artifacts:/0/${runId}/artifacts` }
      : undefined,
  getLoggedModel: async () => undefined,
};

beforeAll(async () => {
  table = await createTestTable();
  repo = new DynamoRegistryRepository(table.doc, table.tableName, clock);
  registry = new RegistryService(repo, { artifactRoot: 'mlflow-artifacts:/' }, guard, sources, clock);
});
afterAll(async () => {
  await table?.close();
});

describe('the promotion guard', () => {
  it('is asked before set-alias and transition-stage, with the version, run and principal', async () => {
    const { model } = await registry.createModel({ name: 'guarded', tags: [] });
    await registry.createVersion({ name: 'guarded', source: `runs:/${RUN_ID}/m`, runId: RUN_ID, tags: [] });
    seen.length = 0;
    await registry.setAlias('guarded', 'champion', '1', { principal: 'alice' });
    await registry.transitionStage('guarded', '1', 'production', false, { principal: 'bob' });
    expect(seen).toEqual([
      {
        modelId: model.modelId,
        modelName: 'guarded',
        version: '1',
        runId: RUN_ID,
        target: { kind: 'alias', name: 'champion' },
        principal: 'alice',
      },
      {
        modelId: model.modelId,
        modelName: 'guarded',
        version: '1',
        runId: RUN_ID,
        target: { kind: 'stage', name: 'Production' },
        principal: 'bob',
      },
    ]);
  });

  it('refusing leaves the alias and the stage untouched', async () => {
    await registry.createModel({ name: 'refused', tags: [] });
    await registry.createVersion({ name: 'refused', source: `runs:/${RUN_ID}/m`, tags: [] });
    refuse = true;
    try {
      await expect(registry.setAlias('refused', 'prod', '1')).rejects.toThrow(InvalidParameterValueError);
      await expect(registry.transitionStage('refused', '1', 'Staging', true)).rejects.toThrow(
        InvalidParameterValueError,
      );
    } finally {
      refuse = false;
    }
    const { model } = await registry.getModel('refused');
    expect(model.aliases).toEqual({});
    expect((await registry.getVersion('refused', '1')).version.currentStage).toBe('None');
  });

  it('is not asked for input that is refused anyway (reserved alias, unknown version)', async () => {
    seen.length = 0;
    await expect(registry.setAlias('guarded', 'latest', '1')).rejects.toThrow(InvalidParameterValueError);
    await expect(registry.setAlias('guarded', 'a', '9')).rejects.toThrow(/not found/);
    expect(seen).toEqual([]);
  });
});

describe('half-done steps', () => {
  it('a claim whose model is gone reads as absent, and is taken over once stale', async () => {
    await registry.createModel({ name: 'orphaned', tags: [] });
    const { model } = await registry.getModel('orphaned');
    // An interrupted delete: the model item went, the claim stayed.
    await table.doc.send(
      new DeleteCommand({ TableName: table.tableName, Key: keys.registeredModel(model.modelId) }),
    );
    expect(await repo.getModelByName('orphaned')).toBeUndefined();
    await expect(registry.createModel({ name: 'orphaned', tags: [] })).rejects.toThrow(
      ResourceAlreadyExistsError,
    );
    now += CLAIM_TAKEOVER_MS + 1;
    await registry.createModel({ name: 'orphaned', tags: [] });
    expect((await registry.getModel('orphaned')).model.name).toBe('orphaned');
  });

  it('an alias whose version is gone is not shown', async () => {
    await registry.createModel({ name: 'stale-alias', tags: [] });
    await registry.createVersion({ name: 'stale-alias', source: `runs:/${RUN_ID}/m`, tags: [] });
    await registry.setAlias('stale-alias', 'a', '1');
    const { model } = await registry.getModel('stale-alias');
    // An interrupted version delete: the version went, the alias stayed.
    await table.doc.send(
      new DeleteCommand({ TableName: table.tableName, Key: keys.modelVersion(model.modelId, 1) }),
    );
    expect((await registry.getModel('stale-alias')).model.aliases).toEqual({});
    await expect(registry.getVersionByAlias('stale-alias', 'a')).rejects.toThrow(/not found/);
  });

  it('a version left behind by an interrupted model delete is ignored by version search', async () => {
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...keys.modelVersion('gone', 1),
          ...keys.modelVersionListing('gone', 1),
          type: 'model-version',
          model_id: 'gone',
          version: 1,
          creation_timestamp: now,
          last_updated_timestamp: now,
          current_stage: 'None',
          source: `runs:/${RUN_ID}/m`,
          status: 'READY',
          tags: {},
        },
      }),
    );
    const { page } = await registry.searchVersions({ orderBy: [] });
    expect(page.versions.some((version) => version.modelId === 'gone')).toBe(false);
  });
});
