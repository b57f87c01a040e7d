/**
 * Where `cairn token` finds the token table: a local data directory, or a deployed stack.
 *
 * Local: dynalite's LevelDB can be open in one process only. When no server holds the data directory the
 * command takes its lock and opens the data itself, as a server would; when a server holds it, the
 * command uses the DynamoDB endpoint that server published next to its lock (`cairn.endpoint.json`).
 *
 * Stack: CloudFormation's `CairnTableName` output names the table; credentials and region come from the
 * SDK's standard chain (environment, profile, SSO, instance role), or `--region`.
 */

import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readPublishedEndpoint } from '../local/data-dir-endpoint.js';
import { DataDirLockedError, isAlive, lockDataDir } from '../local/data-dir-lock.js';
import { LOCAL_PERMISSION_CACHE_TTL_MS, LOCAL_TABLE_NAME } from '../local/server.js';
import {
  ensureTable,
  type RunningStandIn,
  standInClientConfig,
  standInSocketDir,
  startDynalite,
} from '../local/stand-ins.js';
import { PERMISSION_CACHE_TTL_SECONDS } from '../shared/auth/permission-cache.js';
import { DynamoTokenRepository, type TokenRepository } from '../shared/store/tokens/repository.js';

export const TABLE_NAME_OUTPUT = 'CairnTableName';

export class TokenStoreUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TokenStoreUnavailableError';
  }
}

export interface OpenTokenStore {
  tokens: TokenRepository;
  /** The table itself, for the CLI's other commands on the same target (`cairn policy`). */
  client: DynamoDBClient;
  tableName: string;
  /** Where the tokens live, for messages: a directory, or a stack and table. */
  where: string;
  /**
   * How long servers already running on this data may keep serving grants from before a change (their
   * grant caches' TTL), for the CLI's messages; undefined when no server is running on it.
   */
  grantCacheTtlMs?: number;
  close(): Promise<void>;
}

export async function openLocalTokenStore(dataDir: string): Promise<OpenTokenStore> {
  let releaseLock: () => void;
  try {
    releaseLock = lockDataDir(dataDir);
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    const published = readPublishedEndpoint(dataDir);
    if (!published || !isAlive(published.pid)) {
      throw new TokenStoreUnavailableError(
        `The data directory ${dataDir} is busy (a server still starting or stopping, or another cairn token command). Try again in a moment.`,
        { cause: error },
      );
    }
    const client = new DynamoDBClient(
      standInClientConfig({
        endpoint: published.dynamodbEndpoint,
        ...(published.dynamodbSocket ? { socketPath: published.dynamodbSocket } : {}),
      }),
    );
    return {
      tokens: new DynamoTokenRepository(client, published.tableName),
      client,
      tableName: published.tableName,
      where: `${dataDir} (through the running server, pid ${published.pid})`,
      grantCacheTtlMs: LOCAL_PERMISSION_CACHE_TTL_MS,
      close: async () => client.destroy(),
    };
  }
  let dynamo: RunningStandIn | undefined;
  let sockets: ReturnType<typeof standInSocketDir> | undefined;
  try {
    // On a socket like the server's: a loopback port would let any local process in while this runs.
    sockets = standInSocketDir(dataDir);
    dynamo = await startDynalite(dataDir, join(sockets.dir, 'dynamodb.sock'));
    // A data directory no server has used yet gets its table here, exactly as a server would create it.
    await ensureTable(dynamo, LOCAL_TABLE_NAME);
  } catch (error) {
    await dynamo?.close().catch(() => undefined);
    sockets?.remove();
    releaseLock();
    throw error;
  }
  const standIn = dynamo;
  const socketDir = sockets;
  const client = new DynamoDBClient(standInClientConfig(standIn));
  return {
    tokens: new DynamoTokenRepository(client, LOCAL_TABLE_NAME),
    client,
    tableName: LOCAL_TABLE_NAME,
    where: dataDir,
    close: async () => {
      client.destroy();
      await standIn.close();
      socketDir.remove();
      releaseLock();
    },
  };
}

export async function openStackTokenStore(stackName: string, region?: string): Promise<OpenTokenStore> {
  const config = region ? { region } : {};
  const cloudFormation = new CloudFormationClient(config);
  let tableName: string | undefined;
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    tableName = Stacks?.[0]?.Outputs?.find((output) => output.OutputKey === TABLE_NAME_OUTPUT)?.OutputValue;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new TokenStoreUnavailableError(`Could not read the stack '${stackName}': ${detail}`, {
      cause: error,
    });
  } finally {
    cloudFormation.destroy();
  }
  if (!tableName) {
    throw new TokenStoreUnavailableError(
      `The stack '${stackName}' has no ${TABLE_NAME_OUTPUT} output. Is it Cairn's API stack (CairnApi), deployed from this version?`,
    );
  }
  const client = new DynamoDBClient(config);
  return {
    tokens: new DynamoTokenRepository(client, tableName),
    client,
    tableName,
    where: `stack ${stackName} (table ${tableName})`,
    grantCacheTtlMs: PERMISSION_CACHE_TTL_SECONDS * 1000,
    close: async () => client.destroy(),
  };
}
