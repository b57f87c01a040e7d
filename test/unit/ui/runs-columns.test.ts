import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRunOrderBy } from '../../../shared/domain/runs/search.js';
import {
  addKeys,
  basename,
  DEFAULT_SORT,
  defaultColumns,
  emptyKeys,
  nextSort,
  orderByClause,
  type RunLike,
  type SortSpec,
  sortedKeys,
  toggleColumn,
  toRow,
} from '../../../ui/src/runs/columns.js';

const run = (id: string, data: RunLike['data'], info: Partial<RunLike['info']> = {}): RunLike => ({
  info: { run_id: id, status: 'FINISHED', lifecycle_stage: 'active', ...info },
  data,
});

describe('runs table rows', () => {
  it('reads user, source, parent and name from the tags MLflow sets', () => {
    const row = toRow(
      run(
        'r1',
        {
          tags: [
            { key: 'mlflow.user', value: 'alice' },
            { key: 'mlflow.source.name', value: '/home/alice/project/train.py' },
            { key: 'mlflow.parentRunId', value: 'p1' },
          ],
          params: [{ key: 'lr', value: '0.1' }],
          metrics: [{ key: 'loss', value: 0.5 }],
        },
        { run_name: 'trial-1', user_id: 'unknown', start_time: '1700000000000', end_time: 0 },
      ),
    );
    expect(row).toMatchObject({
      id: 'r1',
      name: 'trial-1',
      user: 'alice',
      source: 'train.py',
      parentId: 'p1',
    });
    expect(row.start).toBe(1_700_000_000_000);
    expect(row.end).toBeUndefined();
    expect(row.params.get('lr')).toBe('0.1');
    expect(row.metrics.get('loss')).toBe(0.5);
    expect(toRow(run('r2', {}, { user_id: 'bob' })).user).toBe('bob');
    expect(toRow(run('r2', {})).name).toBe('r2');
    expect(basename('C:\\work\\nb.ipynb')).toBe('nb.ipynb');
    expect(basename('https://github.com/x/y.git')).toBe('y.git');
  });
});

describe('column keys', () => {
  it('collects every key seen across pages and says when it grew', () => {
    const seen = emptyKeys();
    expect(addKeys(seen, [toRow(run('a', { params: [{ key: 'b', value: '1' }] }))])).toBe(true);
    expect(addKeys(seen, [toRow(run('c', { params: [{ key: 'b', value: '2' }] }))])).toBe(false);
    expect(addKeys(seen, [toRow(run('d', { metrics: [{ key: 'm', value: 1 }] }))])).toBe(true);
    expect([...seen.params]).toEqual(['b']);
    expect([...seen.metrics]).toEqual(['m']);
  });

  it("lists the user's tags before MLflow's own", () => {
    expect(sortedKeys(['mlflow.user', 'team', 'alpha', 'mlflow.note.content'])).toEqual([
      'alpha',
      'team',
      'mlflow.note.content',
      'mlflow.user',
    ]);
  });

  it('defaults to the first three params then the first three metrics', () => {
    const seen = emptyKeys();
    for (const key of ['lr', 'depth', 'alpha', 'zeta']) seen.params.add(key);
    for (const key of ['loss', 'acc']) seen.metrics.add(key);
    seen.tags.add('team');
    expect(defaultColumns(seen)).toEqual([
      { kind: 'param', key: 'alpha' },
      { kind: 'param', key: 'depth' },
      { kind: 'param', key: 'lr' },
      { kind: 'metric', key: 'acc' },
      { kind: 'metric', key: 'loss' },
    ]);
  });

  it('toggles a column in and out, a param and a metric of the same key being different columns', () => {
    const one = toggleColumn([], { kind: 'param', key: 'x' });
    const two = toggleColumn(one, { kind: 'metric', key: 'x' });
    expect(two).toHaveLength(2);
    expect(toggleColumn(two, { kind: 'param', key: 'x' })).toEqual([{ kind: 'metric', key: 'x' }]);
  });
});

describe('order_by for a column', () => {
  it('writes the grammar the server parses', () => {
    expect(orderByClause(DEFAULT_SORT)).toBe('attributes.start_time DESC');
    expect(orderByClause({ entity: 'metrics', key: 'loss', ascending: true })).toBe('metrics.`loss` ASC');
    expect(orderByClause({ entity: 'params', key: 'max depth', ascending: false })).toBe(
      'params.`max depth` DESC',
    );
    expect(orderByClause({ entity: 'tags', key: 'a`b', ascending: true })).toBe('tags.`a``b` ASC');
  });

  it('round-trips any key through the server parser (spaces, dots, quotes, backticks)', () => {
    const entity = fc.constantFrom('params', 'metrics', 'tags') as fc.Arbitrary<SortSpec['entity']>;
    fc.assert(
      fc.property(
        entity,
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.boolean(),
        (kind, key, ascending) => {
          const [term] = parseRunOrderBy([orderByClause({ entity: kind, key, ascending })]);
          expect(term).toEqual({ entity: kind.slice(0, -1), key, ascending });
        },
      ),
    );
    for (const key of ['run_name', 'status', 'start_time', 'user_id']) {
      const [term] = parseRunOrderBy([orderByClause({ entity: 'attributes', key, ascending: true })]);
      expect(term).toEqual({ entity: 'attribute', key, ascending: true });
    }
  });

  it('flips direction on the same column and picks a natural first direction for a new one', () => {
    expect(nextSort(DEFAULT_SORT, 'attributes', 'start_time').ascending).toBe(true);
    expect(nextSort(DEFAULT_SORT, 'attributes', 'run_name')).toEqual({
      entity: 'attributes',
      key: 'run_name',
      ascending: true,
    });
    expect(nextSort(DEFAULT_SORT, 'metrics', 'loss').ascending).toBe(false);
    expect(nextSort(DEFAULT_SORT, 'params', 'start_time').ascending).toBe(true);
  });
});
