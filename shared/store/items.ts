/** Item-level helpers shared by the repositories. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { MlflowError } from '../errors.js';

/** True for the failure of a write's ConditionExpression (the SDK class, or its name across copies). */
export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof Error && error.name === 'ConditionalCheckFailedException')
  );
}

/**
 * User-chosen keys (tag, param and metric keys) are stored inside maps with this prefix: the SDK's
 * (un)marshaller assigns map keys as plain object properties, so a bare `__proto__` key would be lost on
 * the way in or out. Prefixed, every key is an ordinary property.
 */
const KEY_PREFIX = 't:';

export const storedKey = (key: string): string => `${KEY_PREFIX}${key}`;

export function toStoredMap<T>(values: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [storedKey(key), value]));
}

/** The inverse of toStoredMap; Object.fromEntries defines own properties, so `__proto__` stays a key. */
export function fromStoredMap<T>(stored: Record<string, T> | undefined): Record<string, T> {
  return Object.fromEntries(
    Object.entries(stored ?? {}).map(([key, value]) => [key.slice(KEY_PREFIX.length), value]),
  );
}

/**
 * DynamoDB's item size as it bills and limits it (UTF-8 names and strings, binary lengths, numbers by
 * digits, a few bytes per map and list), slightly overestimated. dynalite measures differently (UTF-16
 * lengths), so the repositories check this estimate themselves to behave alike locally and on AWS.
 */
export function approximateItemBytes(value: unknown): number {
  if (value === null || value === undefined) return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(value).length / 2) + 1;
  if (typeof value === 'boolean') return 1;
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value))
    return 3 + value.reduce((sum: number, item) => sum + 1 + approximateItemBytes(item), 0);
  let total = 3;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    total += Buffer.byteLength(key) + 1 + approximateItemBytes(item);
  }
  return total;
}

/** Stay clear of DynamoDB's 400 KB item limit, estimate error included. */
export const ITEM_BYTES_BUDGET = 380_000;

/** Full-jitter exponential backoff between optimistic-write attempts, capped at 250 ms, so contending writers spread out. */
export function contendedWriteBackoff(attempt: number): Promise<void> {
  if (attempt === 0) return Promise.resolve();
  const ceiling = Math.min(250, 5 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/** Still contended after every attempt: a 503, which the stock client retries with its own backoff. */
export class ConcurrentWritesError extends MlflowError {
  constructor(what: string) {
    super('TEMPORARILY_UNAVAILABLE', `Too many concurrent writes to ${what}; retry the request.`);
    this.name = 'ConcurrentWritesError';
  }
}

/**
 * A ProjectionExpression from attribute names checked against the item type, so that a projection cannot
 * name an attribute its entity does not declare (the item's shape is stated once, in its entity module).
 */
export function projection<Item>(...attributes: readonly (keyof Item & string)[]): string {
  return attributes.join(', ');
}

/**
 * A projection of whole attributes and of one user key inside map attributes (`tail.#key`): the key goes
 * in as a name placeholder, stored (prefixed) as toStoredMap writes it.
 */
export function projectionWithKey<Item>(
  whole: readonly (keyof Item & string)[],
  maps: readonly (keyof Item & string)[],
  key: string,
): { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> } {
  return {
    ProjectionExpression: [...whole, ...maps.map((map) => `${map}.#key`)].join(', '),
    ExpressionAttributeNames: { '#key': storedKey(key) },
  };
}
