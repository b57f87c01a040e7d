import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Experiment } from '../../../shared/domain/experiments/model.js';
import { parseExperimentOrderBy, searchExperiments } from '../../../shared/domain/experiments/search.js';
import { MlflowError } from '../../../shared/errors.js';

function experiment(id: number, overrides: Partial<Experiment> = {}): Experiment {
  return {
    experimentId: String(id),
    name: `exp-${id}`,
    artifactLocation: `mlflow-artifacts:/${id}`,
    lifecycleStage: 'active',
    creationTime: 1000 + id,
    lastUpdateTime: 1000 + id,
    tags: {},
    ...overrides,
  };
}

const search = (all: Experiment[], options: Partial<Parameters<typeof searchExperiments>[1]> = {}) =>
  searchExperiments(all, { orderBy: [], viewType: 'ACTIVE_ONLY', maxResults: 1000, ...options });

const ids = (page: { experiments: Experiment[] }) => page.experiments.map((e) => e.experimentId);

describe('searchExperiments', () => {
  it('orders by creation_time DESC then experiment_id ASC by default', () => {
    const all = [
      experiment(1, { creationTime: 5 }),
      experiment(2, { creationTime: 9 }),
      experiment(3, { creationTime: 5 }),
    ];
    expect(ids(search(all))).toEqual(['2', '1', '3']);
  });

  it('compares experiment ids as numbers, not strings', () => {
    expect(
      ids(search([experiment(10), experiment(9), experiment(100)], { orderBy: ['experiment_id'] })),
    ).toEqual(['9', '10', '100']);
  });

  it('appends experiment_id DESC as the tie-breaker to an explicit order, as MLflow does', () => {
    expect(parseExperimentOrderBy(['name DESC'])).toEqual([
      { key: 'name', ascending: false },
      { key: 'experiment_id', ascending: false },
    ]);
    const all = [experiment(1, { name: 'same' }), experiment(2, { name: 'same' })];
    expect(ids(search(all, { orderBy: ['name'] }))).toEqual(['2', '1']);
  });

  it('matches tags: `!=` needs the tag present, IS NULL needs it absent', () => {
    const all = [
      experiment(1, { tags: { team: 'a' } }),
      experiment(2, { tags: { team: 'b' } }),
      experiment(3),
    ];
    expect(ids(search(all, { filter: "tags.team != 'a'" }))).toEqual(['2']);
    expect(ids(search(all, { filter: 'tags.team IS NULL' }))).toEqual(['3']);
    expect(ids(search(all, { filter: 'tags.team IS NOT NULL', orderBy: ['experiment_id'] }))).toEqual([
      '1',
      '2',
    ]);
  });

  it('filters on last_update_time with numeric comparators', () => {
    const all = [experiment(1), experiment(2), experiment(3)];
    expect(ids(search(all, { filter: 'last_update_time >= 1002', orderBy: ['experiment_id'] }))).toEqual([
      '2',
      '3',
    ]);
    expect(ids(search(all, { filter: 'attribute.last_update_time = 1001' }))).toEqual(['1']);
  });

  it('refuses comparators and entities that experiments do not support', () => {
    for (const filter of [
      "name IN ('a')",
      'name IS NULL',
      "creation_time LIKE '1'",
      "tags.x > 'a'",
      'params.p = 1',
    ]) {
      expect(() => search([], { filter }), filter).toThrow(MlflowError);
    }
    expect(() => search([], { orderBy: ['tags.x'] })).toThrow(/order_by entity/);
    expect(() => search([], { orderBy: ['name', 'name DESC'] })).toThrow(/more than once/);
  });

  it('rejects a page token issued for another query', () => {
    const all = [experiment(1), experiment(2), experiment(3)];
    const first = search(all, { maxResults: 1, orderBy: ['name'] });
    expect(first.nextPageToken).toBeDefined();
    expect(() =>
      search(all, { maxResults: 1, orderBy: ['name DESC'], pageToken: first.nextPageToken }),
    ).toThrow(/different filter, order, view type or experiments/);
  });

  const experimentsArb = fc
    .uniqueArray(fc.integer({ min: 0, max: 500 }), { minLength: 0, maxLength: 40 })
    .chain((idList) =>
      fc.tuple(
        ...idList.map((id) =>
          fc
            .record({
              name: fc.constantFrom('a', 'b', 'c', 'd'),
              creationTime: fc.integer({ min: 0, max: 5 }),
              deleted: fc.boolean(),
            })
            .map((fields) =>
              experiment(id, {
                name: fields.name,
                creationTime: fields.creationTime,
                lastUpdateTime: fields.creationTime,
                lifecycleStage: fields.deleted ? 'deleted' : 'active',
              }),
            ),
        ),
      ),
    );
  const orderArb = fc.constantFrom(
    [],
    ['name'],
    ['name DESC', 'creation_time'],
    ['creation_time ASC'],
    ['experiment_id DESC'],
  );

  it('pages through exactly the unpaged result, in order, for any page size (property)', () => {
    fc.assert(
      fc.property(experimentsArb, orderArb, fc.integer({ min: 1, max: 7 }), (all, orderBy, pageSize) => {
        const whole = ids(search(all, { orderBy, viewType: 'ALL' }));
        const paged: string[] = [];
        let token: string | undefined;
        do {
          const page = search(all, { orderBy, viewType: 'ALL', maxResults: pageSize, pageToken: token });
          expect(page.experiments.length).toBeLessThanOrEqual(pageSize);
          paged.push(...ids(page));
          token = page.nextPageToken;
        } while (token);
        expect(paged).toEqual(whole);
      }),
    );
  });

  it('never skips or repeats a surviving row when rows are added between pages (property)', () => {
    fc.assert(
      fc.property(experimentsArb, experimentsArb, orderArb, (initial, added, orderBy) => {
        const extra = added.map((e) => ({ ...e, experimentId: String(Number(e.experimentId) + 1000) }));
        const first = search(initial, { orderBy, viewType: 'ALL', maxResults: 3 });
        const rest: string[] = [];
        let token = first.nextPageToken;
        const grown = [...initial, ...extra];
        while (token) {
          const page = search(grown, { orderBy, viewType: 'ALL', maxResults: 3, pageToken: token });
          rest.push(...ids(page));
          token = page.nextPageToken;
        }
        const seen = [...ids(first), ...rest];
        expect(new Set(seen).size).toBe(seen.length);
        for (const original of initial) expect(seen).toContain(original.experimentId);
      }),
    );
  });
});
