/**
 * Searches filtered for one caller before they page (issue 16): pages are full until the end, tokens never
 * name a hidden item, and searches scoped by experiment ids refuse an experiment the caller may not read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CallerPermissions, type Grant, type PermissionLevel } from '../../../shared/auth/permissions.js';
import {
  experimentIdsNamed,
  hiddenFrom,
  requireReadableExperiments,
} from '../../../shared/auth/search-visibility.js';
import type { Experiment } from '../../../shared/domain/experiments/model.js';
import { type ExperimentSearch, searchExperiments } from '../../../shared/domain/experiments/search.js';
import type { ModelVersion, RegisteredModel } from '../../../shared/domain/registry/model.js';
import { searchModels, searchVersions } from '../../../shared/domain/registry/search.js';
import { MlflowError } from '../../../shared/errors.js';

const grant = (resource: string, permission: PermissionLevel, kind: Grant['kind'] = 'experiment'): Grant => ({
  principal: 'carol',
  kind,
  resource,
  permission,
});

function experiment(id: number): Experiment {
  return {
    experimentId: String(id),
    name: `exp-${id}`,
    artifactLocation: `mlflow-artifacts:/${id}`,
    lifecycleStage: 'active',
    creationTime: 1000 + id,
    lastUpdateTime: 1000 + id,
    tags: {},
  };
}

function model(name: string, created: number): RegisteredModel {
  return {
    modelId: `id-${name}`,
    name,
    creationTimestamp: created,
    lastUpdatedTimestamp: created,
    tags: {},
    aliases: {},
  } as RegisteredModel;
}

/** Every page of an experiment search, following tokens; fails on a token that does not advance. */
function allPages(all: Experiment[], search: Omit<ExperimentSearch, 'pageToken'>) {
  const pages: Experiment[][] = [];
  const tokens: string[] = [];
  let pageToken: string | undefined;
  do {
    const page = searchExperiments(all, { ...search, ...(pageToken ? { pageToken } : {}) });
    pages.push(page.experiments);
    pageToken = page.nextPageToken;
    if (pageToken) tokens.push(pageToken);
    if (pages.length > all.length + 1) throw new Error('paging does not advance');
  } while (pageToken);
  return { pages, tokens };
}

describe('hiddenFrom', () => {
  it('asks no filtering of a caller without a grant below READ, of an admin, or with auth off', () => {
    expect(hiddenFrom(undefined, 'experiment')).toBeUndefined();
    expect(hiddenFrom(new CallerPermissions('carol', 'read', []), 'experiment')).toBeUndefined();
    expect(
      hiddenFrom(
        new CallerPermissions('carol', 'write', [grant('1', 'READ'), grant('2', 'MANAGE')]),
        'experiment',
      ),
    ).toBeUndefined();
    expect(
      hiddenFrom(new CallerPermissions('root', 'admin', [grant('1', 'NO_PERMISSIONS')]), 'experiment'),
    ).toBeUndefined();
  });

  it('hides exactly the NO_PERMISSIONS grants of the kind searched', () => {
    const caller = new CallerPermissions('carol', 'write', [
      grant('1', 'NO_PERMISSIONS'),
      grant('2', 'READ'),
      grant('m', 'NO_PERMISSIONS', 'registered_model'),
    ]);
    expect([...(hiddenFrom(caller, 'experiment') ?? [])]).toEqual(['1']);
    expect([...(hiddenFrom(caller, 'registered_model') ?? [])]).toEqual(['m']);
  });
});

describe('experiment search filtered before paging', () => {
  const seven = [1, 2, 3, 4, 5, 6, 7].map(experiment);
  const hidden = new Set(['2', '4', '6']);

  it('pages exactly the visible experiments, full pages until the last, in order', () => {
    const { pages, tokens } = allPages(seven, {
      orderBy: ['name'],
      viewType: 'ACTIVE_ONLY',
      maxResults: 2,
      hidden,
    });
    expect(pages.map((page) => page.map((e) => e.experimentId))).toEqual([
      ['1', '3'],
      ['5', '7'],
    ]);
    // The second page is the last: no token after it, so nothing tells that hidden ones exist beyond.
    expect(tokens).toHaveLength(1);
    // Pages and tokens are those of a store that never held the hidden experiments.
    const visibleOnly = allPages(
      seven.filter((e) => !hidden.has(e.experimentId)),
      { orderBy: ['name'], viewType: 'ACTIVE_ONLY', maxResults: 2 },
    );
    expect(tokens).toEqual(visibleOnly.tokens);
  });

  it('answers one empty page, without a token, to a caller who may read none', () => {
    const page = searchExperiments(seven, {
      orderBy: [],
      viewType: 'ALL',
      maxResults: 3,
      hidden: new Set(seven.map((e) => e.experimentId)),
    });
    expect(page).toEqual({ experiments: [] });
  });

  it('property: pages and tokens are those of a store without the hidden experiments, every page full but the last', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { minLength: 0, maxLength: 25 }),
        fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 25 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(['name'], ['creation_time DESC'], [] as string[], ['experiment_id DESC']),
        (ids, hiddenIds, maxResults, orderBy) => {
          const all = ids.map(experiment);
          const hidden = new Set(hiddenIds.map(String));
          const expected = searchExperiments(all, {
            orderBy,
            viewType: 'ACTIVE_ONLY',
            maxResults: 1000,
          }).experiments.filter((e) => !hidden.has(e.experimentId));
          const { pages, tokens } = allPages(all, { orderBy, viewType: 'ACTIVE_ONLY', maxResults, hidden });
          expect(pages.flat()).toEqual(expected);
          for (const page of pages.slice(0, -1)) expect(page).toHaveLength(maxResults);
          // Identical tokens: a token can tell nothing of the hidden experiments, not even that they exist.
          const visibleOnly = allPages(
            all.filter((e) => !hidden.has(e.experimentId)),
            { orderBy, viewType: 'ACTIVE_ONLY', maxResults },
          );
          expect(pages).toEqual(visibleOnly.pages);
          expect(tokens).toEqual(visibleOnly.tokens);
        },
      ),
    );
  });
});

describe('registry searches filtered before paging', () => {
  const models = ['a', 'b', 'c', 'd', 'e'].map((name, index) => model(name, index));
  const hidden = new Set(['b', 'd']);

  it('leaves hidden models out of model pages', () => {
    const first = searchModels(models, { orderBy: [], maxResults: 2, hidden });
    expect(first.models.map((m) => m.name)).toEqual(['a', 'c']);
    const second = searchModels(models, {
      orderBy: [],
      maxResults: 2,
      hidden,
      ...(first.nextPageToken ? { pageToken: first.nextPageToken } : {}),
    });
    expect(second.models.map((m) => m.name)).toEqual(['e']);
    expect(second.nextPageToken).toBeUndefined();
  });

  it('leaves out the versions of hidden models, whatever the filter names', () => {
    const byId = new Map(models.map((m) => [m.modelId, m]));
    const versions = models.flatMap((m) =>
      [1, 2].map((version) => ({ modelId: m.modelId, version, creationTimestamp: version }) as ModelVersion),
    );
    const page = searchVersions(versions, byId, { orderBy: [], maxResults: 3, hidden });
    expect(page.versions.map((v) => `${v.modelId}/${v.version}`)).toEqual(['id-a/2', 'id-a/1', 'id-c/2']);
    const named = searchVersions(versions, byId, {
      filter: "name = 'b'",
      orderBy: [],
      maxResults: 3,
      hidden,
    });
    expect(named.versions).toEqual([]);
    expect(named.nextPageToken).toBeUndefined();
  });
});

describe('requireReadableExperiments', () => {
  const caller = new CallerPermissions('carol', 'read', [grant('7', 'NO_PERMISSIONS')]);

  it('refuses the hidden experiment by name, in any spelling of its id', () => {
    for (const spelling of ['7', '007', ' +7 ']) {
      let error: unknown;
      try {
        requireReadableExperiments(caller, ['1', spelling]);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(MlflowError);
      expect((error as MlflowError).errorCode).toBe('PERMISSION_DENIED');
      expect((error as MlflowError).message).toContain("experiment '7'");
    }
  });

  it('lets readable experiments, unparsable ids (the search refuses them itself), admins and auth off pass', () => {
    expect(() => requireReadableExperiments(caller, ['1', '8', 'x7'])).not.toThrow();
    const admin = new CallerPermissions('root', 'admin', [grant('7', 'NO_PERMISSIONS')]);
    expect(() => requireReadableExperiments(admin, ['7'])).not.toThrow();
    expect(() => requireReadableExperiments(undefined, ['7'])).not.toThrow();
  });

  it('reads experiment ids from experiment_ids and from trace locations', () => {
    expect(experimentIdsNamed({ experiment_ids: '3' })).toEqual(['3']);
    expect(
      experimentIdsNamed({
        experiment_ids: ['1', 2, '4'],
        locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: '5' } }, null, 'x'],
      }),
    ).toEqual(['1', '4', '5']);
  });
});
