/**
 * The local server's DynamoDB stand-in (dynalite) must close the LevelDB iterator of every Query and Scan.
 * dynalite 4.0.0 wraps abstract-level iterators in streams that end them with `iterator.return()`, which
 * abstract-level 3 iterators do not have (theirs is `close()`): every Query left its iterator attached to
 * the database, so a long-running `npm start` grew by ~4 iterators per runs/search until it ran out of heap.
 * patches/dynalite+4.0.0.patch closes them. Counted through abstract-level's own resource registry, on the
 * in-memory store the tests use and on the on-disk one `npm start` uses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { AbstractLevel } from 'abstract-level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable, LOCAL_CREDENTIALS, LOCAL_REGION, startDynalite } from '../../local/stand-ins.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';

/** Resources (iterators, snapshots, batches) attached to any abstract-level database and not yet detached. */
const open = new Set<object>();
const proto = AbstractLevel.prototype as unknown as {
  attachResource(resource: object): void;
  detachResource(resource: object): void;
};
const { attachResource, detachResource } = proto;

beforeAll(() => {
  proto.attachResource = function (resource: object) {
    open.add(resource);
    return attachResource.call(this, resource);
  };
  proto.detachResource = function (resource: object) {
    open.delete(resource);
    return detachResource.call(this, resource);
  };
});
afterAll(() => {
  proto.attachResource = attachResource;
  proto.detachResource = detachResource;
});

const openIterators = () => [...open].filter((resource) => /Iterator/.test(resource.constructor.name)).length;

async function settle(): Promise<void> {
  // Closing is asynchronous (abstract-level closes after the read in flight): let it finish.
  for (let i = 0; i < 20 && openIterators() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe.each([
  ['in memory', false],
  ['on disk, as npm start keeps it', true],
])('dynalite %s', (_label, onDisk) => {
  it('closes the iterator of every Query and Scan, read to the end or cut short by a limit', async () => {
    const dir = onDisk ? mkdtempSync(join(tmpdir(), 'cairn-iterators-')) : undefined;
    const dynalite = await startDynalite(dir);
    const client = new DynamoDBClient({
      endpoint: dynalite.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    const doc = createDocumentClient(client);
    try {
      await ensureTable(dynalite.endpoint, 'iterators');
      for (let i = 0; i < 30; i++) {
        await doc.send(new PutCommand({ TableName: 'iterators', Item: { pk: 'P', sk: `S${i}` } }));
      }
      await settle();
      const before = openIterators();
      for (let i = 0; i < 25; i++) {
        const limited = await doc.send(
          new QueryCommand({
            TableName: 'iterators',
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': 'P' },
            Limit: 3,
          }),
        );
        expect(limited.Items).toHaveLength(3);
        const whole = await doc.send(
          new QueryCommand({
            TableName: 'iterators',
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': 'P' },
          }),
        );
        expect(whole.Items).toHaveLength(30);
        const scanned = await doc.send(new ScanCommand({ TableName: 'iterators', Limit: 5 }));
        expect(scanned.Items).toHaveLength(5);
      }
      await settle();
      // 75 reads: each left one iterator open before the patch.
      expect(openIterators() - before).toBe(0);
    } finally {
      client.destroy();
      await dynalite.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });
});
