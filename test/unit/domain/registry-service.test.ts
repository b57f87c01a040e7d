/**
 * RegistryService's rules on an in-memory repository (no HTTP, no DynamoDB): version numbering, aliases,
 * stage transitions, source resolution and the promotion guard's place before every promotion. The same
 * behaviour over HTTP is in test/integration/registry.test.ts and promotion.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { statusOf } from '../../../shared/api/http.js';
import type { PromotionGuard, PromotionRequest } from '../../../shared/domain/promotion/guard.js';
import { allowAllPromotions } from '../../../shared/domain/promotion/guard.js';
import type { VersionSourceLookup } from '../../../shared/domain/registry/model.js';
import { RegistryService } from '../../../shared/domain/registry/service.js';
import { InvalidParameterValueError, MlflowError } from '../../../shared/errors.js';
import { MemoryRegistryRepository } from '../../helpers/memory/registry.js';

const RUN = 'a'.repeat(32);
const OTHER_RUN = 'b'.repeat(32);
const LOGGED = `m-${'c'.repeat(32)}`;
const DELETED_LOGGED = `m-${'d'.repeat(32)}`;
const UNVERIFIED_LOGGED = `m-${'e'.repeat(32)}`;
/** A run of an experiment whose artifact_location is a client's own bucket. */
const FOREIGN_STORE_RUN = '9'.repeat(32);
const ROOT = 'mlflow-artifacts:/';

const sources: VersionSourceLookup = {
  get: async (runId) =>
    runId === RUN || runId === OTHER_RUN
      ? { experimentId: '1', artifactUri: `${ROOT}1/${runId}/artifacts` }
      : runId === FOREIGN_STORE_RUN
        ? { experimentId: '2', artifactUri: `s3://someone-elses-bucket/2/${runId}/artifacts` }
        : undefined,
  getLoggedModel: async (modelId) =>
    modelId === LOGGED
      ? {
          experimentId: '1',
          lifecycleStage: 'active',
          artifactUri: `${ROOT}1/models/${LOGGED}/artifacts`,
          sourceRunId: RUN,
        }
      : modelId === DELETED_LOGGED
        ? { experimentId: '1', lifecycleStage: 'deleted', artifactUri: 'x' }
        : modelId === UNVERIFIED_LOGGED
          ? {
              experimentId: '1',
              lifecycleStage: 'active',
              artifactUri: `${ROOT}1/models/${UNVERIFIED_LOGGED}/artifacts`,
              sourceRunId: 'f'.repeat(32),
              unverified: `names source run ${'f'.repeat(32)}, which did not exist when the model was created`,
            }
          : undefined,
};

/** A guard that records what it was asked and refuses promotions to `refuse`. */
function recordingGuard(refuse?: string): PromotionGuard & { asked: PromotionRequest[] } {
  const asked: PromotionRequest[] = [];
  return {
    asked,
    async check(request) {
      asked.push(request);
      if (request.target.name === refuse) throw new InvalidParameterValueError(`refused ${refuse}`);
    },
  };
}

function setup(guard: PromotionGuard = allowAllPromotions) {
  let now = 1000;
  const repo = new MemoryRegistryRepository();
  const registry = new RegistryService(repo, { artifactRoot: ROOT }, guard, sources, () => ++now);
  return { repo, registry };
}

async function refusal(attempt: () => Promise<unknown>): Promise<MlflowError> {
  const error = await attempt().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MlflowError);
  return error as MlflowError;
}

const version = (name: string, source = `runs:/${RUN}/model`) => ({ name, source, tags: [] });

describe('registered models', () => {
  it('refuses an invalid name or a taken one, writing nothing', async () => {
    const { repo, registry } = setup();
    for (const name of ['', 'a/b', 'a:b', 'x'.repeat(501)]) {
      expect(statusOf(await refusal(() => registry.createModel({ name, tags: [] })))).toBe(400);
    }
    expect(repo.models.size).toBe(0);
    await registry.createModel({ name: 'x'.repeat(500), tags: [{ key: 'k', value: 'v' }] });
    await registry.createModel({ name: 'm', tags: [] });
    const taken = await refusal(() => registry.createModel({ name: 'm', tags: [] }));
    expect(taken.errorCode).toBe('RESOURCE_ALREADY_EXISTS');
    expect(repo.models.size).toBe(2);
  });

  it('keeps the id, versions and aliases across a rename', async () => {
    const { registry } = setup();
    const { model } = await registry.createModel({ name: 'old', tags: [] });
    await registry.createVersion(version('old'));
    await registry.setAlias('old', 'champion', '1');
    const renamed = await registry.renameModel('old', 'new');
    expect(renamed.model.modelId).toBe(model.modelId);
    expect(renamed.model.aliases).toEqual({ champion: 1 });
    expect(renamed.latestVersions.map((v) => v.version)).toEqual([1]);
    expect((await refusal(() => registry.getModel('old'))).errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(statusOf(await refusal(() => registry.renameModel('new', 'a/b')))).toBe(400);
  });
});

describe('version numbers', () => {
  it('counts 1, 2, 3 and never reuses a deleted number', async () => {
    const { registry } = setup();
    await registry.createModel({ name: 'm', tags: [] });
    for (const expected of [1, 2, 3]) {
      expect((await registry.createVersion(version('m'))).version.version).toBe(expected);
    }
    await registry.deleteVersion('m', '3');
    expect((await registry.createVersion(version('m'))).version.version).toBe(4);
    expect((await refusal(() => registry.getVersion('m', '3'))).message).toBe(
      'Model Version (name=m, version=3) not found',
    );
  });

  it('takes no number for a refused version', async () => {
    const { registry } = setup();
    await registry.createModel({ name: 'm', tags: [] });
    await refusal(() => registry.createVersion(version('m', 'file:///etc/passwd')));
    await refusal(() => registry.createVersion(version('m', `runs:/${RUN}/../${'e'.repeat(32)}/model`)));
    await refusal(() => registry.createVersion({ ...version('m'), tags: [{ key: '', value: 'v' }] }));
    expect((await registry.createVersion(version('m'))).version.version).toBe(1);
  });

  it('reads versions like MLflow: whole numbers only', async () => {
    const { registry } = setup();
    await registry.createModel({ name: 'm', tags: [] });
    await registry.createVersion(version('m'));
    expect((await registry.getVersion('m', ' 1 ')).version.version).toBe(1);
    for (const raw of ['1.5', 'latest', '-1']) {
      expect(statusOf(await refusal(() => registry.getVersion('m', raw)))).toBe(400);
    }
  });
});

describe('version sources', () => {
  it('takes the run from a runs:/ source; a run_id that contradicts it makes the version unverified', async () => {
    const guard = recordingGuard();
    const { registry } = setup(guard);
    await registry.createModel({ name: 'm', tags: [] });
    const verified = (await registry.createVersion(version('m'))).version;
    expect(verified.runId).toBe(RUN);
    expect(verified.unverified).toBeUndefined();
    // As MLflow: stored, and reported with the run the request names.
    const contradicted = (await registry.createVersion({ ...version('m'), runId: OTHER_RUN })).version;
    expect(contradicted.runId).toBe(OTHER_RUN);
    expect(contradicted.unverified).toBe(
      `run_id ${OTHER_RUN} is not run ${RUN}, which its source comes from`,
    );
    // The guard is told, so that a policy refuses it.
    await registry.setAlias('m', 'champion', '2');
    expect(guard.asked[0]).toMatchObject({
      version: '2',
      runId: OTHER_RUN,
      unverified: contradicted.unverified,
    });
  });

  it('marks versions of runs that do not exist, foreign sources and unverified logged models unverified', async () => {
    const { registry } = setup();
    await registry.createModel({ name: 'm', tags: [] });
    const missing = 'e'.repeat(32);
    const cases: [string, string | undefined, string][] = [
      [`runs:/${missing}/model`, undefined, `its source run ${missing} does not exist`],
      [`runs:/${RUN}/model`, 'run_id_1', 'run_id run_id_1 is not run'],
      ['s3://elsewhere/model', RUN, 'its source is a location outside this deployment'],
      [`models:/${UNVERIFIED_LOGGED}`, undefined, `its logged model ${UNVERIFIED_LOGGED} names source run`],
      // The run exists, but the client writes its files to its own bucket: nothing there can be sealed.
      [
        `runs:/${FOREIGN_STORE_RUN}/model`,
        undefined,
        `its source run ${FOREIGN_STORE_RUN} keeps its artifacts at s3://someone-elses-bucket/2/${FOREIGN_STORE_RUN}/artifacts, outside this deployment's artifact store`,
      ],
    ];
    for (const [source, runId, reason] of cases) {
      const created = (await registry.createVersion({ ...version('m', source), ...(runId ? { runId } : {}) }))
        .version;
      expect(created.unverified).toContain(reason);
      if (runId) expect(created.runId).toBe(runId);
    }
  });

  it("stores a models:/ source at the logged model's location, with its source run", async () => {
    const { registry } = setup();
    await registry.createModel({ name: 'm', tags: [] });
    const { version: created } = await registry.createVersion(version('m', `models:/${LOGGED}`));
    expect(created).toMatchObject({ runId: RUN, storageLocation: `${ROOT}1/models/${LOGGED}/artifacts` });
    expect(await registry.getDownloadUri('m', '1')).toBe(`${ROOT}1/models/${LOGGED}/artifacts`);
    const deleted = await refusal(() => registry.createVersion(version('m', `models:/${DELETED_LOGGED}`)));
    expect(deleted.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('resolves a path under the artifact root to the run whose artifacts hold it', async () => {
    const { registry } = setup();
    await registry.createModel({ name: 'm', tags: [] });
    const { version: created } = await registry.createVersion(
      version('m', `${ROOT}1/${RUN}/artifacts/model`),
    );
    expect(created.runId).toBe(RUN);
    expect(await registry.getDownloadUri('m', '1')).toBe(`${ROOT}1/${RUN}/artifacts/model`);
    const outside = (await registry.createVersion(version('m', `${ROOT}1/elsewhere/model`))).version;
    expect(outside.unverified).toContain("outside any run's or logged model's artifacts");
    expect(outside.runId).toBeUndefined();
  });

  it('refuses a malformed percent-encoding in a source path with a 400 naming the source', async () => {
    const { registry } = setup();
    await registry.createModel({ name: 'm', tags: [] });
    for (const source of [`runs:/${RUN}/model%`, `runs:/${RUN}/a%zzb`]) {
      const error = await refusal(() => registry.createVersion(version('m', source)));
      expect(statusOf(error)).toBe(400);
      expect(error.message).toContain("'source'");
    }
    // Well-formed encodings still pass, decoded once for the check and stored as sent.
    const { version: encoded } = await registry.createVersion(version('m', `runs:/${RUN}/my%20model`));
    expect(encoded.source).toBe(`runs:/${RUN}/my%20model`);
  });
});

describe('aliases', () => {
  it('refuses reserved and malformed aliases, and aliases of missing versions', async () => {
    const { repo, registry } = setup();
    await registry.createModel({ name: 'm', tags: [] });
    await registry.createVersion(version('m'));
    for (const alias of ['latest', 'V2', 'a.b', 'a b', 'x'.repeat(256)]) {
      expect(statusOf(await refusal(() => registry.setAlias('m', alias, '1')))).toBe(400);
    }
    expect(statusOf(await refusal(() => registry.setAlias('m', 'champion', '9')))).toBe(404);
    expect([...repo.models.values()][0]?.aliases).toEqual({});
  });

  it('moves an alias, finds the version by it, and drops it with its version', async () => {
    const { registry } = setup();
    await registry.createModel({ name: 'm', tags: [] });
    await registry.createVersion(version('m'));
    await registry.createVersion(version('m'));
    await registry.setAlias('m', 'champion', '1');
    await registry.setAlias('m', 'champion', '2');
    expect((await registry.getVersionByAlias('m', 'champion')).version.version).toBe(2);
    await registry.deleteVersion('m', '2');
    expect((await registry.getModel('m')).model.aliases).toEqual({});
    expect((await refusal(() => registry.getVersionByAlias('m', 'champion'))).message).toBe(
      'Registered model alias champion not found.',
    );
    // MLflow answers 200 for deleting an alias that is not set.
    await registry.deleteAlias('m', 'nothing');
  });

  it('hides an alias whose version is gone (a delete interrupted before its aliases)', async () => {
    const { repo, registry } = setup();
    const { model } = await registry.createModel({ name: 'm', tags: [] });
    await registry.createVersion(version('m'));
    await registry.setAlias('m', 'champion', '1');
    await repo.deleteVersion(model.modelId, 1);
    expect((await registry.getModel('m')).model.aliases).toEqual({});
  });
});

describe('stage transitions', () => {
  async function threeVersions(registry: RegistryService) {
    await registry.createModel({ name: 'm', tags: [] });
    for (let i = 0; i < 3; i++) await registry.createVersion(version('m'));
  }
  const stages = async (registry: RegistryService) =>
    (
      await registry.searchVersions({ filter: "name = 'm'", orderBy: ['version_number ASC'] })
    ).page.versions.map((v) => v.currentStage);

  it('archives the other versions in the target stage only with archive_existing', async () => {
    const { registry } = setup();
    await threeVersions(registry);
    await registry.transitionStage('m', '1', 'production', false);
    await registry.transitionStage('m', '2', 'Staging', false);
    await registry.transitionStage('m', '3', 'PRODUCTION', false);
    expect(await stages(registry)).toEqual(['Production', 'Staging', 'Production']);
    await registry.transitionStage('m', '2', 'Production', true);
    expect(await stages(registry)).toEqual(['Archived', 'Production', 'Archived']);
    expect(
      (await registry.getLatestVersions('m', [])).map((v) => [v.version.version, v.version.currentStage]),
    ).toEqual([
      [2, 'Production'],
      [3, 'Archived'],
    ]);
  });

  it('refuses archive_existing into an inactive stage, and unknown stages, before any write', async () => {
    const { registry } = setup();
    await threeVersions(registry);
    for (const stage of ['Archived', 'None']) {
      const error = await refusal(() => registry.transitionStage('m', '1', stage, true));
      expect(error.message).toContain('not an Active stage');
    }
    expect((await refusal(() => registry.transitionStage('m', '1', 'Prod', false))).message).toContain(
      'None, Staging, Production, Archived',
    );
    expect(await stages(registry)).toEqual(['None', 'None', 'None']);
  });
});

describe('the promotion guard', () => {
  it("is asked before every alias and stage, with the version's run and the principal", async () => {
    const guard = recordingGuard();
    const { registry } = setup(guard);
    const { model } = await registry.createModel({ name: 'm', tags: [] });
    await registry.createVersion(version('m'));
    await registry.setAlias('m', 'champion', '1', { principal: 'alice' });
    await registry.transitionStage('m', '1', 'staging', false);
    expect(guard.asked).toEqual([
      {
        modelId: model.modelId,
        modelName: 'm',
        version: '1',
        runId: RUN,
        target: { kind: 'alias', name: 'champion' },
        principal: 'alice',
      },
      {
        modelId: model.modelId,
        modelName: 'm',
        version: '1',
        runId: RUN,
        target: { kind: 'stage', name: 'Staging' },
      },
    ]);
  });

  it('leaves the alias and the stage unchanged when it refuses', async () => {
    const { registry } = setup(recordingGuard('Production'));
    await registry.createModel({ name: 'm', tags: [] });
    await registry.createVersion(version('m'));
    await registry.createVersion(version('m'));
    await registry.transitionStage('m', '2', 'Production', false).catch(() => undefined);
    const refused = await refusal(() => registry.transitionStage('m', '1', 'Production', true));
    expect(refused.message).toBe('refused Production');
    expect((await registry.getVersion('m', '1')).version.currentStage).toBe('None');
    expect((await registry.getVersion('m', '2')).version.currentStage).toBe('None');

    const aliasGuarded = setup(recordingGuard('champion'));
    await aliasGuarded.registry.createModel({ name: 'm', tags: [] });
    await aliasGuarded.registry.createVersion(version('m'));
    await refusal(() => aliasGuarded.registry.setAlias('m', 'champion', '1'));
    expect((await aliasGuarded.registry.getModel('m')).model.aliases).toEqual({});
  });

  it('is asked about the NFC alias the registry sets, whichever spelling the request used', async () => {
    const guarded = setup(recordingGuard('caf\u00e9'));
    await guarded.registry.createModel({ name: 'm', tags: [] });
    await guarded.registry.createVersion(version('m'));
    await refusal(() => guarded.registry.setAlias('m', 'cafe\u0301', '1'));
    expect((await guarded.registry.getModel('m')).model.aliases).toEqual({});
  });
});

describe('names stored before names were normalised (issue 11, item 9)', () => {
  it('still read, and their aliases too, by the spelling they were stored in', async () => {
    const { repo, registry } = setup();
    // An NFD name and alias as an earlier version stored them, bypassing today's create.
    await repo.createModel({ name: 'cafe\u0301', tags: {}, now: 1 });
    await registry.createVersion(version('cafe\u0301'));
    const { model } = await registry.getModel('cafe\u0301');
    await repo.setAlias(model.modelId, 'ole\u0301', 1, 2);
    expect((await registry.getVersionByAlias('cafe\u0301', 'ole\u0301')).version.version).toBe(1);
    await registry.deleteAlias('cafe\u0301', 'ole\u0301');
    expect((await registry.getModel('cafe\u0301')).model.aliases).toEqual({});
    // A model created in the NFC spelling is another name: each spelling still finds its own.
    const { model: created } = await registry.createModel({ name: 'caf\u00e9', tags: [] });
    expect((await registry.getModel('caf\u00e9')).model.modelId).toBe(created.modelId);
    expect((await registry.getModel('cafe\u0301')).model.modelId).toBe(model.modelId);
  });
});

describe('where a version reads from (issue 16)', () => {
  it("asks mayRead for the source's experiment or the copied model before writing anything", async () => {
    const { repo, registry } = setup();
    await registry.createModel({ name: 'src', tags: [] });
    await registry.createVersion(version('src'));
    await registry.createModel({ name: 'm', tags: [] });
    const asked: string[] = [];
    const noting = (kind: string, resource: string) => {
      asked.push(`${kind}:${resource}`);
    };
    await registry.createVersion({ ...version('m'), mayRead: noting });
    await registry.createVersion({ ...version('m', `models:/${LOGGED}`), mayRead: noting });
    await registry.createVersion({ ...version('m', `${ROOT}1/${RUN}/artifacts/model`), mayRead: noting });
    await registry.createVersion({ ...version('m', 'models:/src/1'), mayRead: noting });
    // A source outside the store has no files here to serve: nothing to ask.
    await registry.createVersion({ ...version('m', 's3://elsewhere/model'), mayRead: noting });
    expect(asked).toEqual(['experiment:1', 'experiment:1', 'experiment:1', 'registered_model:src']);

    const versionsBefore = repo.versions.size;
    const refusing = () => {
      throw new InvalidParameterValueError('refused');
    };
    await refusal(() => registry.createVersion({ ...version('m'), mayRead: refusing }));
    await refusal(() => registry.createVersion({ ...version('m', 'models:/src/1'), mayRead: refusing }));
    expect(repo.versions.size).toBe(versionsBefore);
  });
});
