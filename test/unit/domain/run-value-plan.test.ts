/**
 * Which filter clauses and orders a run search plans from value entries (planRunListing's valueClauses,
 * order and needsMetrics): the store reads key ranges from them, so a clause planned wrongly would narrow
 * a search to the wrong runs before its runs are checked.
 */
import { describe, expect, it } from 'vitest';
import type { ValueClause } from '../../../shared/domain/runs/model.js';
import { planRunListing, type RunSearch } from '../../../shared/domain/runs/search.js';

const search = (filter: string | undefined, orderBy: string[] = []): RunSearch => ({
  ...(filter === undefined ? {} : { filter }),
  orderBy,
  viewType: 'ACTIVE_ONLY',
  maxResults: 10,
});

const shape = (clause: ValueClause) =>
  clause.entity === 'metric'
    ? { entity: clause.entity, key: clause.key, comparator: clause.comparator, value: clause.value }
    : { entity: clause.entity, key: clause.key, range: clause.range };

describe('value-entry planning', () => {
  it('plans metric comparisons but !=, param = and LIKE with a literal prefix', () => {
    const plan = planRunListing(
      search(
        "metrics.loss <= 0.5 AND metrics.acc != 1 AND params.lr = '0.1' AND params.opt LIKE 'ad%m' AND params.x LIKE '%a'",
      ),
    );
    expect(plan?.valueClauses.map(shape)).toEqual([
      { entity: 'metric', key: 'loss', comparator: '<=', value: 0.5 },
      { entity: 'param', key: 'lr', range: { exact: '0.1' } },
      { entity: 'param', key: 'opt', range: { prefix: 'ad' } },
    ]);
    expect(plan?.needsMetrics).toBe(true);
  });

  it('plans tag = and LIKE with a literal prefix as params, but not tag != or a leading wildcard', () => {
    const plan = planRunListing(
      search(
        "tags.`mlflow.parentRunId` = 'abc' AND tags.team LIKE 'vis%' AND tags.x != 'y' AND tags.z LIKE '%q'",
      ),
    );
    expect(plan?.valueClauses.map(shape)).toEqual([
      { entity: 'tag', key: 'mlflow.parentRunId', range: { exact: 'abc' } },
      { entity: 'tag', key: 'team', range: { prefix: 'vis' } },
    ]);
    expect(plan?.needsMetrics).toBe(false);
  });

  it('plans ILIKE only when its literal prefix has no letters, and no NULL tests', () => {
    const plan = planRunListing(
      search(
        "params.a ILIKE 'Ab%' AND params.b ILIKE '0.1%' AND params.c IS NULL AND tags.t IS NOT NULL AND params.d LIKE '_x%'",
      ),
    );
    expect(plan?.valueClauses.map(shape)).toEqual([{ entity: 'param', key: 'b', range: { prefix: '0.1' } }]);
    expect(plan?.needsMetrics).toBe(false);
  });

  it('checks entry values with the clause itself', () => {
    const [metric, param] =
      planRunListing(search("metrics.m > 2 AND params.p LIKE 'a_c%'"))?.valueClauses ?? [];
    expect(
      metric?.entity === 'metric' && [metric.matches(3), metric.matches(2), metric.matches(Number.NaN)],
    ).toEqual([true, false, false]);
    expect(param?.entity === 'param' && [param.matches('abcd'), param.matches('ab')]).toEqual([true, false]);
  });

  it('orders by a metric from its entries, and by anything else with a value clause or from summaries', () => {
    expect(planRunListing(search(undefined, ['metrics.loss DESC']))).toMatchObject({
      order: 'metric',
      metricKey: 'loss',
      ascending: false,
      needsMetrics: true,
    });
    // Summaries hold params and tags, not metrics: a param order is theirs unless a metric is read.
    expect(planRunListing(search(undefined, ['params.p']))).toMatchObject({
      order: 'other',
      summary: {
        usable: true,
        reads: { params: ['p'], tags: [], attributes: ['start_time', 'run_id'], datasets: [] },
        orderReads: { params: ['p'], tags: [], attributes: ['start_time', 'run_id'], datasets: [] },
      },
    });
    // Attribute aliases read as the attribute (a row may leave out a long run name).
    expect(
      planRunListing(search("tags.t != 'x' AND `Run name` LIKE '%a'", ['params.p']))?.summary.reads,
    ).toEqual({
      params: ['p'],
      tags: ['t'],
      attributes: ['run_name', 'start_time', 'run_id'],
      datasets: [],
    });
    expect(planRunListing(search(undefined, ['params.p', 'metrics.loss']))).toBeUndefined();
    expect(planRunListing(search("datasets.name = 'd'", ['params.p']))?.summary).toMatchObject({
      usable: true,
      reads: { datasets: ['name'] },
    });
    expect(planRunListing(search("datasets.name = 'd'", ['metrics.m']))?.summary.usable).toBe(false);
    expect(planRunListing(search("params.p = '1'", ['params.p']))?.order).toBe('other');
    // A later metric term: an order index's tie groups could not be sorted unread.
    expect(planRunListing(search(undefined, ['attributes.start_time', 'metrics.loss']))).toBeUndefined();
    expect(planRunListing(search('metrics.loss > 0', ['attributes.start_time', 'metrics.loss']))?.order).toBe(
      'other',
    );
    expect(planRunListing(search('metrics.loss > 0'))?.order).toBe('start_time');
  });
});
