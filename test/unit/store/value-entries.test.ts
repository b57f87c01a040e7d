/**
 * Which value entries a run's RUN and LATEST items call for (store/runs/value-entries.ts entriesOf): the
 * pure half of every entry write, which the integration tests check against a real table.
 */
import { describe, expect, it } from 'vitest';
import { storedKey, toStoredMap } from '../../../shared/store/items.js';
import { keys } from '../../../shared/store/keys.js';
import { itemsOfNewRun, type LatestItem } from '../../../shared/store/runs/entity.js';
import { type EntryRun, entriesOf } from '../../../shared/store/runs/value-entries.js';
import { testRun } from '../../helpers/runs.js';

const RUN_ID = 'a'.repeat(32);

function items(ended: boolean) {
  const run: EntryRun = {
    run_id: RUN_ID,
    experiment_id: '7',
    lifecycle_stage: 'active',
    params: toStoredMap({ lr: '0.1', 'x#y': '' }),
    ver: 4,
    ...(ended ? { end_time: 9 } : {}),
  };
  const latest = {
    ...keys.runLatest(RUN_ID),
    ...keys.runLatestListing('7', RUN_ID, !ended),
    ver: 12,
    m: {
      [storedKey('loss')]: [3, 0, 'NaN'],
      [storedKey('acc')]: [3, 0, '-0'],
      [storedKey('__proto__')]: [1, 0, '-Infinity'],
    },
  } as unknown as LatestItem;
  return { run, latest };
}

describe('entriesOf', () => {
  it('gives an open run param entries only', () => {
    const { run, latest } = items(false);
    const entries = entriesOf(run, latest, { metrics: 'all', params: 'all' });
    expect(entries.map((entry) => entry.sk).sort()).toEqual(['PV#lr', 'PV#x#y']);
    expect(entries.every((entry) => entry.ver === 4 && entry.type === 'param-value')).toBe(true);
  });

  it('gives an ended run one metric entry per latest key, its value as stored text, NaN after numbers', () => {
    const { run, latest } = items(true);
    const entries = entriesOf(run, latest, { metrics: 'all', params: [] });
    expect(Object.fromEntries(entries.map((entry) => [entry.sk, entry.value]))).toEqual({
      'MV#loss': 'NaN',
      'MV#acc': '-0',
      'MV#__proto__': '-Infinity',
    });
    expect(entries.find((entry) => entry.key === 'loss')?.gsi1sk).toBe(`A#X#${RUN_ID}`);
    expect(entries.every((entry) => entry.ver === 12 && entry.gsi1sk.startsWith('A#'))).toBe(true);
  });

  it('keeps to the scope, and leaves out keys the run does not have', () => {
    const { run, latest } = items(true);
    const entries = entriesOf({ ...run, lifecycle_stage: 'deleted' }, latest, {
      metrics: ['acc', 'nope'],
      params: ['lr', 'toString'],
    });
    expect(entries.map((entry) => entry.sk).sort()).toEqual(['MV#acc', 'PV#lr']);
    expect(entries.every((entry) => entry.gsi1sk.startsWith('D#'))).toBe(true);
  });

  it('gives no metric entries to a run with an end time whose LATEST is still open (an end not yet complete)', () => {
    const { run } = items(true);
    const { latest } = items(false);
    expect(entriesOf(run, latest, { metrics: 'all', params: [] })).toEqual([]);
  });

  it('are what a new run is stored with (itemsOfNewRun), open or created ended', () => {
    const metrics = { loss: { key: 'loss', value: 0.5, step: 1, timestamp: 2 } };
    const open = itemsOfNewRun(testRun(RUN_ID, { params: { lr: '1' }, metrics }));
    expect(open.values.map((entry) => entry.sk)).toEqual(['PV#lr']);
    expect(open.latest.gsi2pk).toBe(keys.runLatestListing('1', RUN_ID, true).gsi2pk);
    const ended = itemsOfNewRun(testRun(RUN_ID, { params: { lr: '1' }, metrics, endTime: 3 }));
    expect(ended.values.map((entry) => [entry.sk, entry.value])).toEqual([
      ['PV#lr', '1'],
      ['MV#loss', '0.5'],
    ]);
    expect(ended.latest.gsi2pk).toBe(keys.runLatestListing('1', RUN_ID).gsi2pk);
  });
});
