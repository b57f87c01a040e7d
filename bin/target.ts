/**
 * Where `cairn token` and `cairn policy` act: a local data directory or a deployed stack (TARGET in the
 * usage text), opened for one command and closed after it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { statusOf } from '../shared/api/http.js';
import { MlflowError } from '../shared/errors.js';
import {
  type OpenTokenStore,
  openLocalTokenStore,
  openStackTokenStore,
  TokenStoreUnavailableError,
} from './token-stores.js';
import { UsageError, usage } from './usage.js';

export const TARGET_OPTIONS = {
  'data-dir': { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * `existing`: the command reads or removes what is there, so a local data directory that holds no data
 * is a mistyped path, not an empty store (opening it would create it). Creating commands may start one.
 */
async function openTarget(
  values: { 'data-dir'?: string; stack?: string; region?: string },
  existing: boolean,
) {
  if (values.stack !== undefined && values['data-dir'] !== undefined) {
    throw new UsageError('give either --stack or --data-dir, not both');
  }
  if (values.region !== undefined && values.stack === undefined) {
    throw new UsageError('--region goes with --stack');
  }
  if (values.stack !== undefined) return openStackTokenStore(values.stack, values.region);
  const dataDir = resolve(values['data-dir'] ?? (process.env.CAIRN_DATA_DIR || './cairn-data'));
  // Its tables, or a running server's published endpoint (a server on an external DynamoDB keeps no tables
  // there): a directory with neither holds no Cairn data, and opening it would create tables in it.
  const holdsData = ['dynamodb', 'cairn.endpoint.json'].some((name) => existsSync(join(dataDir, name)));
  if (existing && !holdsData) {
    throw new TokenStoreUnavailableError(
      `No Cairn data in ${dataDir}: check --data-dir (or CAIRN_DATA_DIR); nothing was created there.`,
    );
  }
  return openLocalTokenStore(dataDir);
}

export async function withTarget(
  values: { 'data-dir'?: string; stack?: string; region?: string },
  work: (store: OpenTokenStore) => Promise<number>,
  existing = true,
): Promise<number> {
  const store = await openTarget(values, existing);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

export const formatTime = (epochMs: number | undefined, none: string) =>
  epochMs === undefined ? none : new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * How every command reports what went wrong after its own cases: an unreachable store in one line (exit 1),
 * AWS's answers (no credentials, access denied, throttling) in one line, the user's to act on (exit 1);
 * a program error (TypeError) is rethrown, with its stack.
 */
export function reportFailure(error: unknown): number {
  if (error instanceof TokenStoreUnavailableError) {
    console.error(`cairn: ${error.message}`);
    return 1;
  }
  if (error instanceof Error && error.name !== 'TypeError') {
    console.error(`cairn: ${error.name}: ${error.message}`);
    return 1;
  }
  throw error;
}

/** A document client on the target's table, for the commands that act through the store's repositories. */
export const targetDocumentClient = (store: OpenTokenStore) =>
  DynamoDBDocumentClient.from(store.client, { marshallOptions: { removeUndefinedValues: true } });

/**
 * How a command that applies the API's rules (`cairn permission`, `cairn policy`) reports a failure: a
 * usage error with the usage text (exit 2), a value the rules refuse (400) as a usage error without it
 * (exit 2), a resource that does not exist (404) in one line (exit 1), anything else as reportFailure.
 */
export function reportRuleFailure(error: unknown, command: string): number {
  if (error instanceof UsageError) {
    console.error(`cairn: ${error.message}\n`);
    return usage(2, command);
  }
  if (error instanceof MlflowError && statusOf(error) === 400) {
    console.error(`cairn: ${error.message}`);
    return 2;
  }
  if (error instanceof MlflowError && statusOf(error) === 404) {
    console.error(`cairn: ${error.message}`);
    return 1;
  }
  return reportFailure(error);
}
