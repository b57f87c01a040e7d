/** Item-level helpers shared by the repositories. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

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
