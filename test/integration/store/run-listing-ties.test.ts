/**
 * A name order over runs that share one name (a loop of `start_run(run_name="trial")`) reads about a page:
 * name keys hold start time descending after the name (MLflow's tie-break), so ascending name pages need no
 * buffering of the tie group. (Descending name pages still read a name's runs whole: README, "Searching
 * runs at scale".)
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRunListing, type RunSearch, searchRuns } from '../../../shared/domain/runs/search.js';
import { putBatch } from '../../../shared/store/doc-commands.js';
import { itemsOfNewRun } from '../../../shared/store/runs/entity.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import { createTestTable, putExperimentItem, type TestTable } from '../../helpers/dynamo.js';
import { testRun } from '../../helpers/runs.js';

let table: TestTable;
let itemsRead = 0;
let repo: DynamoRunRepository;

beforeAll(async () => {
  table = await createTestTable();
  const doc = new Proxy(table.doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: unknown) => {
        const answer = (await target.send(command as never)) as {
          Items?: unknown[];
          Responses?: Record<string, unknown[]>;
        };
        itemsRead += answer.Items?.length ?? 0;
        for (const items of Object.values(answer.Responses ?? {})) itemsRead += items.length;
        return answer;
      };
    },
  }) as DynamoDBDocumentClient;
  repo = new DynamoRunRepository(doc, table.tableName, { minRunsPerPartition: 0 });
});
afterAll(async () => {
  await table?.close();
});

describe('name order over one shared name', () => {
  it('reads about a page, not the tie group', async () => {
    const experimentId = '7000';
    await putExperimentItem(table, experimentId);
    const items: Record<string, unknown>[] = [];
    for (let i = 0; i < 2000; i++) {
      const run = testRun((i + 1).toString(16).padStart(32, '0'), {
        experimentId,
        runName: 'trial',
        startTime: 1_700_000_000_000 + i,
      });
      const { latest, order, run: item } = itemsOfNewRun(run);
      items.push(latest as never, order as never, item as never);
    }
    for (let i = 0; i < items.length; i += 25)
      await putBatch(table.doc, table.tableName, items.slice(i, i + 25));
    for (const orderBy of [[], ['attributes.run_name']]) {
      for (const pageToken of [undefined, 'second']) {
        const query: RunSearch = { orderBy, viewType: 'ACTIVE_ONLY', maxResults: 10, scope: [experimentId] };
        const first = searchRuns(
          (await repo.listIndexed([experimentId], planRunListing(query)!)) ?? [],
          query,
        );
        const page = pageToken && first.nextPageToken ? { ...query, pageToken: first.nextPageToken } : query;
        itemsRead = 0;
        const candidates = await repo.listIndexed([experimentId], planRunListing(page)!);
        expect(candidates?.length, JSON.stringify(orderBy)).toBe(11);
        expect(itemsRead, `${JSON.stringify(orderBy)} ${pageToken ?? 'first'} page`).toBeLessThan(200);
      }
    }
  });
});
