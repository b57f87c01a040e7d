/**
 * Run summary rows (store/runs/run-summaries.ts): a segment's columns give back exactly the rows put in, for
 * any rows; a row keeps every short param and tag value and names the ones it leaves out.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toStoredMap } from '../../../shared/store/items.js';
import type { RunItem } from '../../../shared/store/runs/entity.js';
import {
  decodeRows,
  encodeRows,
  encodeSegment,
  rowLacks,
  SEGMENT_ROWS,
  type SummaryRow,
  summaryRow,
} from '../../../shared/store/runs/run-summaries.js';

const pairs = fc
  .uniqueArray(fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 30 })), {
    selector: ([key]) => key,
    maxLength: 5,
  })
  .map((list) => list.map(([key, value]): [string, string] => [key, value]));

const rowArb: fc.Arbitrary<SummaryRow> = fc
  .record({
    i: fc.stringMatching(/^[0-9a-f]{1,32}$/),
    n: fc.string({ maxLength: 20 }),
    s: fc.constantFrom('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'),
    b: fc.integer({ min: 0, max: 2 ** 45 }),
    e: fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: undefined }),
    u: fc.string({ maxLength: 10 }),
    l: fc.constantFrom('active', 'deleted'),
    a: fc.string({ maxLength: 40 }),
    withId: fc.boolean(),
    p: pairs,
    t: pairs,
    d: fc.option(
      fc.array(
        fc.tuple(
          fc.string({ maxLength: 8 }),
          fc.string({ maxLength: 8 }),
          fc.option(fc.string({ maxLength: 8 })),
        ),
        { minLength: 1, maxLength: 3 },
      ),
      { nil: undefined },
    ),
    c: fc.option(fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 3 }), { nil: undefined }),
    v: fc.nat(),
  })
  .map(({ withId, e, c, d, ...row }) => ({
    ...row,
    // URIs that hold the run id (the usual case) and that do not, or hold it twice.
    a: withId ? `${row.a}/${row.i}/artifacts/${row.i}` : row.a,
    ...(e === undefined ? {} : { e }),
    ...(d === undefined ? {} : { d }),
    ...(c === undefined ? {} : { c }),
  }));

const item = (params: Record<string, string>, tags: Record<string, string>): RunItem =>
  ({
    run_id: 'r1',
    run_name: 'n',
    status: 'FINISHED',
    start_time: 1,
    user_id: 'u',
    lifecycle_stage: 'active',
    artifact_uri: 'x',
    params: toStoredMap(params),
    tags: toStoredMap(tags),
    ver: 3,
  }) as unknown as RunItem;

const reads = (params: string[], tags: string[], attributes: string[] = [], datasets: string[] = []) => ({
  params,
  tags,
  attributes,
  datasets,
});

describe('run summary rows', () => {
  it('decode to exactly the rows encoded, for any rows (property)', () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 30 }), (rows) => {
        // Params and tags come back by key (a row's own order is not kept).
        const byKey = (row: SummaryRow) => ({
          ...row,
          p: [...row.p].sort(([a], [b]) => (a < b ? -1 : 1)),
          t: [...row.t].sort(([a], [b]) => (a < b ? -1 : 1)),
        });
        expect(decodeRows(encodeRows(rows)).map(byKey)).toEqual(rows.map(byKey));
      }),
      { numRuns: 200 },
    );
  });

  it('keep short values and name the long ones they leave out', () => {
    const row = summaryRow(
      item({ lr: '0.1', notes: 'x'.repeat(201) }, { team: 'a', history: 'y'.repeat(300) }),
    );
    expect(row.p).toEqual([['lr', '0.1']]);
    expect(row.t).toEqual([['team', 'a']]);
    expect(row.c).toEqual(['p:notes', 't:history']);
    expect(rowLacks(row, reads(['lr'], ['team']))).toBe(false);
    expect(rowLacks(row, reads(['notes'], []))).toBe(true);
    expect(rowLacks(row, reads([], ['history']))).toBe(true);
  });

  it('leave out every param and tag of a run whose values would make its row large', () => {
    const params = Object.fromEntries(Array.from({ length: 40 }, (_, n) => [`param_${n}`, 'v'.repeat(20)]));
    const row = summaryRow(item(params, {}));
    expect(row.p).toEqual([]);
    expect(rowLacks(row, reads(['param_1'], []))).toBe(true);
    // A search that reads no param or tag still trusts the row.
    expect(rowLacks(row, reads([], []))).toBe(false);
  });

  it("keep a run's dataset inputs, and leave out too many of them for a dataset filter to read the run", () => {
    const dataset = (name: string) => ({
      name,
      digest: 'abc',
      sourceType: 'local',
      source: 's',
      tags: { 'mlflow.data.context': 'training' },
    });
    const row = summaryRow({ ...item({}, {}), datasets: [dataset('train')] });
    expect(row.d).toEqual([['train', 'abc', 'training']]);
    const many = summaryRow({
      ...item({}, {}),
      datasets: Array.from({ length: 30 }, (_, n) => dataset(`d${n}`)),
    });
    expect(many.d).toBeUndefined();
    expect(rowLacks(many, reads([], [], [], ['name']))).toBe(true);
    expect(rowLacks(many, reads([], [], ['run_name']))).toBe(false);
  });

  it('leave out a long run name, and lack it only for what reads it', () => {
    const row = summaryRow({ ...item({ lr: '0.1' }, {}), run_name: 'n'.repeat(251) });
    expect(row.n).toBe('');
    expect(rowLacks(row, reads([], [], ['start_time', 'run_id']))).toBe(false);
    expect(rowLacks(row, reads([], [], ['run_name']))).toBe(true);
    expect(rowLacks(row, reads(['lr'], [], ['artifact_uri']))).toBe(true);
  });

  it('keep a segment of long non-Latin text under the item limit, cutting its largest rows to what always fits', () => {
    let seed = 7;
    // Deterministic CJK text: three UTF-8 bytes a character, and little for brotli to share.
    const text = (length: number) =>
      Array.from({ length }, () => {
        // xorshift32
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        return String.fromCodePoint(0x4e00 + ((seed >>> 0) % 0x5000));
      }).join('');
    const rows = Array.from({ length: SEGMENT_ROWS }, (_, n) =>
      summaryRow({
        // Params and tags just under the row's limit, each value under the value's.
        ...item(
          { [text(8)]: text(190), [text(8)]: text(190), [text(8)]: text(190) },
          { [text(8)]: text(140) },
        ),
        run_id: n.toString(16).padStart(32, '0'),
        run_name: text(250),
        user_id: text(250),
        artifact_uri: text(500),
        datasets: [{ name: text(100), digest: text(40), sourceType: 'x', source: 'y', tags: {} }],
      }),
    );
    expect(encodeRows(rows).length).toBeGreaterThan(400_000);
    const data = encodeSegment(rows);
    expect(data.length).toBeLessThanOrEqual(350_000);
    const decoded = decodeRows(data);
    expect(decoded.map((row) => [row.i, row.s, row.b, row.l, row.v])).toEqual(
      rows.map((row) => [row.i, row.s, row.b, row.l, row.v]),
    );
    for (const [index, row] of decoded.entries()) {
      // Whole, or cut to a skeleton that reads its run for any name, user, URI, param, tag or dataset.
      if (row.n === '' && rows[index]?.n !== '') {
        expect(rowLacks(row, reads(['k'], [], ['run_name'], ['name']))).toBe(true);
      } else {
        expect(row).toEqual(rows[index]);
      }
    }
    // Three brotli passes over ~600 KB: seconds on a loaded machine.
  }, 60_000);
});
