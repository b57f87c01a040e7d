/**
 * Counts DynamoDB calls and consumed capacity units for everything sent through one client, by asking
 * every request for `ReturnConsumedCapacity: TOTAL` (DynamoDB Local then reports index writes too, as
 * AWS bills them).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../shared/store/doc-commands.js';

interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

export class CapacityMeter {
  calls = 0;
  readUnits = 0;
  writeUnits = 0;
  /** Items read: Query/Scan `Count` (after any filter), BatchGet responses, a Get's item. */
  itemsRead = 0;
  readonly byOperation = new Map<string, number>();

  reset(): void {
    this.calls = 0;
    this.readUnits = 0;
    this.writeUnits = 0;
    this.itemsRead = 0;
    this.byOperation.clear();
  }

  snapshot() {
    return {
      calls: this.calls,
      readUnits: this.readUnits,
      writeUnits: this.writeUnits,
      itemsRead: this.itemsRead,
    };
  }
}

interface ReadOutput {
  Count?: number;
  Item?: unknown;
  Responses?: Record<string, unknown[]>;
}

function itemsIn(output: ReadOutput): number {
  if (output.Count !== undefined) return output.Count;
  if (output.Responses) return Object.values(output.Responses).reduce((sum, items) => sum + items.length, 0);
  return output.Item ? 1 : 0;
}

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand']);

export function meteredDocumentClient(endpoint: string): {
  doc: DynamoDBDocumentClient;
  meter: CapacityMeter;
} {
  const meter = new CapacityMeter();
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const name = context.commandName ?? 'unknown';
      meter.calls++;
      meter.byOperation.set(name, (meter.byOperation.get(name) ?? 0) + 1);
      meter.itemsRead += itemsIn(result.output as ReadOutput);
      const consumed = (result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
      for (const entry of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
        const units = entry.CapacityUnits ?? 0;
        if (READS.has(name)) meter.readUnits += units;
        else meter.writeUnits += units;
      }
      return result;
    },
    { step: 'initialize', name: 'cairnCapacityMeter' },
  );
  return {
    doc: createDocumentClient(client),
    meter,
  };
}
