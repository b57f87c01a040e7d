import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { searchExperiments } from '../../../shared/domain/experiments/search.js';
import type { LoggedModel } from '../../../shared/domain/logged-models/model.js';
import { searchLoggedModels } from '../../../shared/domain/logged-models/search.js';
import type { ModelVersion, RegisteredModel } from '../../../shared/domain/registry/model.js';
import { searchModels, searchVersions } from '../../../shared/domain/registry/search.js';
import type { LatestMetric } from '../../../shared/domain/runs/model.js';
import { searchRuns } from '../../../shared/domain/runs/search.js';
import { compareSortKeys, type SortCell } from '../../../shared/domain/search/order.js';
import { encodePageToken, queryFingerprint } from '../../../shared/domain/search/page-token.js';
import {
  pairCodec,
  plainCodec,
  type SearchPlan,
  searchPage,
} from '../../../shared/domain/search/pipeline.js';
import { MlflowError } from '../../../shared/errors.js';
import { testRun } from '../../helpers/runs.js';

interface Item {
  id: number;
  group: number | null;
  live: boolean;
}

const plan = (overrides: Partial<SearchPlan<Item>> = {}): SearchPlan<Item> => ({
  fingerprint: 'fp',
  view: (item) => item.live,
  predicate: () => true,
  terms: [{ ascending: false }, { ascending: true }],
  sortKey: (item) => [item.group, item.id],
  codec: pairCodec(['number', 'number'], [2, null]),
  ...overrides,
});

const items = (count: number): Item[] =>
  Array.from({ length: count }, (_, id) => ({ id, group: id % 3 === 0 ? null : id % 4, live: id % 5 !== 4 }));

function refused(action: () => unknown): void {
  expect(action).toThrow(MlflowError);
  expect(action).toThrow(/Invalid page token/);
}

describe('searchPage', () => {
  it('pages through every selected item once, in order, whatever the page size (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 7 }), (count, size) => {
        const all = items(count);
        const expected = all
          .filter((item) => item.live)
          .sort((a, b) => compareSortKeys(plan().terms, [a.group, a.id], [b.group, b.id]))
          .map((item) => item.id);
        const served: number[] = [];
        let pageToken: string | undefined;
        for (;;) {
          const page = searchPage(all, plan(), { maxResults: size, ...(pageToken ? { pageToken } : {}) });
          expect(page.items.length).toBeLessThanOrEqual(size);
          served.push(...page.items.map((item) => item.id));
          if (page.nextPageToken === undefined) break;
          pageToken = page.nextPageToken;
        }
        expect(served).toEqual(expected);
      }),
    );
  });

  it('puts items without a value last in both directions', () => {
    const all = items(7);
    const order = (ascending: boolean) =>
      searchPage(all, plan({ terms: [{ ascending }, { ascending: true }] }), { maxResults: 10 }).items.map(
        (item) => item.group,
      );
    expect(order(true)).toEqual([1, 1, 2, null, null, null]);
    expect(order(false)).toEqual([2, 1, 1, null, null, null]);
  });

  it('stops a page before the item that would pass the byte budget, but always serves one', () => {
    const all = items(10);
    const sized = (byteBudget: number) =>
      searchPage(all, plan(), { maxResults: 100, byteBudget, sizeOf: () => 100 });
    const page = sized(250);
    expect(page.items).toHaveLength(2);
    const rest = searchPage(all, plan(), { maxResults: 100, pageToken: page.nextPageToken as string });
    expect(rest.items).toHaveLength(6);
    expect(sized(10).items).toHaveLength(1);
    expect(sized(10).nextPageToken).toBeDefined();
    expect(sized(800).nextPageToken).toBeUndefined();
  });

  it('pages a token of an earlier order on in that order to the end, and new ones in the new (property)', () => {
    const old = plan({
      fingerprint: 'old',
      terms: [{ ascending: true }],
      sortKey: (item) => [item.id],
      codec: plainCodec(['number']),
    });
    const current = plan({ earlier: [old] });
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 30 }), fc.integer({ min: 1, max: 5 }), (count, size) => {
        const all = items(count);
        const first = searchPage(all, old, { maxResults: 1 });
        const served = first.items.map((item) => item.id);
        let pageToken = first.nextPageToken;
        while (pageToken !== undefined) {
          const page = searchPage(all, current, { maxResults: size, pageToken });
          served.push(...page.items.map((item) => item.id));
          pageToken = page.nextPageToken;
        }
        expect(served).toEqual(all.filter((item) => item.live).map((item) => item.id));
        const fresh = searchPage(all, current, { maxResults: 1 }).nextPageToken;
        if (fresh !== undefined)
          expect(() => searchPage(all, old, { maxResults: 1, pageToken: fresh })).toThrow();
      }),
    );
  });

  it('refuses a token of another query, a forged one, and one whose values are not a key', () => {
    const token = searchPage(items(10), plan(), { maxResults: 1 }).nextPageToken as string;
    refused(() => searchPage([], plan({ fingerprint: 'other' }), { maxResults: 1, pageToken: token }));
    refused(() => searchPage([], plan(), { maxResults: 1, pageToken: 'not-a-token' }));
    for (const after of [
      [0, 'x', 0, 1],
      [0, 1],
      [3, null, 0, 1],
      [0, 1, 0, 1, 0],
    ]) {
      const forged = encodePageToken('fp', after);
      refused(() => searchPage([], plan(), { maxResults: 1, pageToken: forged }));
    }
  });
});

describe('token codecs', () => {
  const cell = fc.oneof(
    fc.double(),
    fc.constant(null),
    fc.constantFrom(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN),
  );
  it('a pair-coded key survives the token round trip, through JSON (property)', () => {
    for (const missing of [
      [2, null],
      [1, 0],
    ] as const) {
      const codec = pairCodec(['number', 'string'], missing);
      fc.assert(
        fc.property(cell, fc.option(fc.string(), { nil: null }), (number, text) => {
          const key: SortCell[] = [number, text];
          const decoded = codec.decode(JSON.parse(JSON.stringify(codec.encode(key))));
          expect(decoded).toEqual(key.map((value) => (Object.is(value, -0) ? 0 : value)));
        }),
      );
    }
  });
  it('a plain key must have its terms’ kinds', () => {
    const codec = plainCodec(['string', 'number']);
    expect(codec.decode(['a', 1])).toEqual(['a', 1]);
    expect(codec.decode([1, 'a'])).toBeUndefined();
    expect(codec.decode(['a'])).toBeUndefined();
    expect(codec.decode(['a', null])).toBeUndefined();
  });
});

/**
 * Tokens issued before the searches shared one pipeline, recorded from that code (v1, before tokens carried
 * a digest): they still decode to the same next page, and the same query still issues a token of the same
 * query fingerprint and position (now v2, with its digest).
 */
describe('page tokens issued by earlier releases', () => {
  /** What a token says: its query's fingerprint and its position, whatever its version. */
  const said = (token: string | undefined) => {
    if (token === undefined) return undefined;
    const { q, after } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    return { q, after };
  };
  it('experiments', () => {
    const all = [1, 2, 3].map((id) => ({
      experimentId: String(id),
      name: `exp-${id}`,
      artifactLocation: 'x',
      lifecycleStage: 'active' as const,
      creationTime: 1000 + id,
      lastUpdateTime: 5,
      tags: {},
    }));
    const query = { orderBy: ['name DESC'], filter: "name LIKE 'exp%'", viewType: 'ACTIVE_ONLY' as const };
    const token = 'eyJ2IjoxLCJxIjoiSHJRczZsaTg0cDVWUExDViIsImFmdGVyIjpbImV4cC0zIiwzXX0';
    expect(said(searchExperiments(all, { ...query, maxResults: 1 }).nextPageToken)).toEqual(said(token));
    const next = searchExperiments(all, { ...query, maxResults: 5, pageToken: token });
    expect(next.experiments.map((e) => e.experimentId)).toEqual(['2', '1']);
  });

  it('runs, with ±Infinity, NaN and missing metric values', () => {
    const metric = (value: number): Record<string, LatestMetric> => ({
      m: { key: 'm', value, step: 0, timestamp: 0 },
    });
    const all = [
      testRun('r1', { startTime: 1, metrics: metric(3) }),
      testRun('r2', { startTime: 2, metrics: metric(Number.NaN) }),
      testRun('r3', { startTime: 3 }),
      testRun('r4', { startTime: 4, metrics: metric(Number.POSITIVE_INFINITY) }),
    ];
    const query = { orderBy: ['metrics.m DESC', 'tags.t'], viewType: 'ALL' as const, scope: ['1'] };
    const tokens = [
      'eyJ2IjoxLCJxIjoiR2Z5SjFSYXJxYWdDZWY4NyIsImFmdGVyIjpbMCwiSW5maW5pdHkiLDIsbnVsbCwwLDQsMCwicjQiXX0',
      'eyJ2IjoxLCJxIjoiR2Z5SjFSYXJxYWdDZWY4NyIsImFmdGVyIjpbMCwzLDIsbnVsbCwwLDEsMCwicjEiXX0',
      'eyJ2IjoxLCJxIjoiR2Z5SjFSYXJxYWdDZWY4NyIsImFmdGVyIjpbMSxudWxsLDIsbnVsbCwwLDIsMCwicjIiXX0',
    ];
    expect(said(searchRuns(all, { ...query, maxResults: 1 }).nextPageToken)).toEqual(said(tokens[0]));
    const pages = tokens.map((pageToken) => searchRuns(all, { ...query, maxResults: 1, pageToken }));
    expect(pages.map((page) => page.runs.map((run) => run.runId))).toEqual([['r1'], ['r2'], ['r3']]);
    expect(pages.map((page) => said(page.nextPageToken))).toEqual([
      said(tokens[1]),
      said(tokens[2]),
      undefined,
    ]);
  });

  it('registered models and model versions', () => {
    const models: RegisteredModel[] = ['b', 'a', 'c'].map((name, i) => ({
      modelId: name,
      name,
      creationTimestamp: i,
      lastUpdatedTimestamp: 10 - i,
      tags: {},
      aliases: {},
    }));
    const modelToken = 'eyJ2IjoxLCJxIjoiYUg3RDZrcEI3ZjUxa1lqSCIsImFmdGVyIjpbMTAsImIiXX0';
    expect(said(searchModels(models, { orderBy: ['timestamp DESC'], maxResults: 1 }).nextPageToken)).toEqual(
      said(modelToken),
    );
    const nextModels = searchModels(models, {
      orderBy: ['timestamp DESC'],
      maxResults: 5,
      pageToken: modelToken,
    });
    expect(nextModels.models.map((m) => m.name)).toEqual(['a', 'c']);

    const byId = new Map(models.map((m) => [m.modelId, m]));
    const versions: ModelVersion[] = [1, 2].flatMap((n) =>
      ['a', 'b'].map((modelId) => ({
        modelId,
        version: n,
        creationTimestamp: n,
        lastUpdatedTimestamp: n,
        currentStage: 'None' as const,
        source: 's',
        status: 'READY' as const,
        tags: {},
      })),
    );
    // Issued without an order_by by releases whose default order was name ASC, version DESC.
    const versionToken = 'eyJ2IjoxLCJxIjoiMG5MeUlhTDRtT1p6T2RrdSIsImFmdGVyIjpbImEiLDJdfQ';
    expect(said(searchVersions(versions, byId, { orderBy: ['name'], maxResults: 1 }).nextPageToken)).toEqual(
      said(versionToken),
    );
    const next = searchVersions(versions, byId, { orderBy: [], maxResults: 5, pageToken: versionToken });
    expect(next.versions.map((v) => `${v.modelId}${v.version}`)).toEqual(['a1', 'b2', 'b1']);
    // ... and page on in that order, with tokens of its layout, to the end.
    const oldOrder: string[] = [];
    let pageToken: string | undefined = versionToken;
    while (pageToken !== undefined) {
      const page = searchVersions(versions, byId, { orderBy: [], maxResults: 1, pageToken });
      oldOrder.push(...page.versions.map((v) => `${v.modelId}${v.version}`));
      const next = said(page.nextPageToken);
      expect(next === undefined || next.after.length === said(versionToken)?.after.length).toBe(true);
      pageToken = page.nextPageToken;
    }
    expect(oldOrder).toEqual(['a1', 'b2', 'b1']);

    // The default now is MLflow's: last_updated_timestamp DESC, then name, then version DESC.
    const newToken = 'eyJ2IjoxLCJxIjoiVExPckhVSXJYZElORTRaNyIsImFmdGVyIjpbMiwiYSIsMl19';
    const first = searchVersions(versions, byId, { orderBy: [], maxResults: 1 });
    expect(first.versions.map((v) => `${v.modelId}${v.version}`)).toEqual(['a2']);
    expect(said(first.nextPageToken)).toEqual(said(newToken));
    const rest = searchVersions(versions, byId, { orderBy: [], maxResults: 5, pageToken: newToken });
    expect(rest.versions.map((v) => `${v.modelId}${v.version}`)).toEqual(['b2', 'a1', 'b1']);
    // The same order named explicitly reads the same tokens; a token of one order is refused by another.
    expect(
      searchVersions(versions, byId, {
        orderBy: ['last_updated_timestamp DESC'],
        maxResults: 5,
        pageToken: newToken,
      }).versions.length,
    ).toBe(3);
    refused(() => searchVersions(versions, byId, { orderBy: ['name'], maxResults: 5, pageToken: newToken }));
    refused(() =>
      searchVersions(versions, byId, {
        orderBy: ['creation_timestamp'],
        maxResults: 5,
        pageToken: versionToken,
      }),
    );
    // A token with the new order's fingerprint but the old layout's values is refused, not misread.
    const forged = encodePageToken(JSON.parse(Buffer.from(newToken, 'base64url').toString()).q, ['a', 2]);
    refused(() => searchVersions(versions, byId, { orderBy: [], maxResults: 5, pageToken: forged }));
  });

  it('logged models, with a model that lacks the ordered metric', () => {
    const model = (n: number, metrics: LoggedModel['metrics']): LoggedModel => ({
      modelId: `m-${n.toString(16).padStart(32, '0')}`,
      experimentId: '1',
      name: `model-${n}`,
      artifactUri: 'x',
      creationTimestamp: 1000 + n,
      lastUpdatedTimestamp: 1,
      status: 'LOGGED_MODEL_READY',
      lifecycleStage: 'active',
      tags: {},
      params: {},
      metrics,
    });
    const all = [
      model(1, [{ key: 'acc', value: 0.5, timestamp: 1, step: 0 }]),
      model(2, []),
      model(3, [{ key: 'acc', value: 0.9, timestamp: 1, step: 0 }]),
    ];
    const query = {
      experimentIds: ['1'],
      datasets: [],
      orderBy: [{ fieldName: 'metrics.acc', ascending: false }],
      maxResults: 1,
    };
    const tokens = [
      'eyJ2IjoxLCJxIjoiUWxmd0xrci1JQmR6TnlNYiIsImFmdGVyIjpbMCwwLjksMCwxMDAzLDAsIm0tMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDMiXX0',
      'eyJ2IjoxLCJxIjoiUWxmd0xrci1JQmR6TnlNYiIsImFmdGVyIjpbMCwwLjUsMCwxMDAxLDAsIm0tMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDEiXX0',
    ];
    expect(said(searchLoggedModels(all, query).nextPageToken)).toEqual(said(tokens[0]));
    const pages = tokens.map((pageToken) => searchLoggedModels(all, { ...query, pageToken }));
    expect(pages.map((page) => page.models.map((m) => m.name))).toEqual([['model-1'], ['model-2']]);
    expect(pages.map((page) => said(page.nextPageToken))).toEqual([said(tokens[1]), undefined]);
  });

  it('still binds tokens to their query', () => {
    expect(queryFingerprint({ f: '', o: [], v: 'ALL' })).not.toBe(
      queryFingerprint({ f: '', o: [], v: 'ACTIVE_ONLY' }),
    );
  });
});
