/**
 * The local stand-ins for DynamoDB (dynalite, LevelDB on disk) and S3 (s3rver, files on disk), started
 * in-process. A server's stand-ins listen on unix sockets in its data directory (mode 0700): neither
 * checks a signature, so a TCP port would let any local process or web page read and write the data,
 * tokens included. Only in-memory test tables listen on loopback TCP. See local-stand-ins.md.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { endpointOptions } from '../shared/store/clients.js';
import { SOCKET_ENDPOINT } from '../shared/store/local-socket.js';
import { createTableInput } from '../shared/store/table.js';

/** s3rver accepts only this access key id; dynalite accepts any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const LOCAL_REGION = 'us-east-1';

/** Where a stand-in answers: a unix socket (endpoint is then a placeholder), or a loopback URL. */
export interface StandInAddress {
  endpoint: string;
  socketPath?: string;
}

export interface RunningStandIn extends StandInAddress {
  close(): Promise<void>;
}

/** Options for an SDK client of a stand-in. */
export function standInClientConfig(address: StandInAddress): DynamoDBClientConfig {
  return {
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    ...endpointOptions(address.endpoint, address.socketPath),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

/** A stand-in listening on `socketPath`; closing it removes the socket file. */
function onSocket(server: Server, socketPath: string): RunningStandIn & { socketPath: string } {
  return {
    endpoint: SOCKET_ENDPOINT,
    socketPath,
    close: async () => {
      await closeServer(server);
      rmSync(socketPath, { force: true });
    },
  };
}

/** Listens on a socket path (a stale one left by a killed server is ours: the data dir lock says so). */
async function listenOnSocket(server: Server, socketPath: string): Promise<void> {
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
}

/**
 * dynalite on `dataDir/dynamodb`, or in memory when `dataDir` is undefined; on `socketPath` when given,
 * else on a loopback port (in-memory test tables only).
 */
export async function startDynalite(
  dataDir: string | undefined,
  socketPath?: string,
): Promise<RunningStandIn> {
  const server = dynalite({
    ...(dataDir ? { path: join(dataDir, 'dynamodb') } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  if (socketPath) {
    await listenOnSocket(server, socketPath);
    return onSocket(server, socketPath);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

/**
 * s3rver on `dataDir/s3`, listening on `socketPath` only. No CORS configuration: browsers reach
 * artifacts through the local front's presigned route (local/presigned.ts), never the stand-in.
 */
export async function startS3rver(
  dataDir: string,
  bucket: string,
  socketPath: string,
): Promise<RunningStandIn & { socketPath: string }> {
  const s3rver = new S3rver({
    directory: join(dataDir, 's3'),
    silent: true,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  // run() listens on a TCP port only; these are the two steps it takes, with a socket instead.
  await s3rver.configureBuckets();
  rmSync(socketPath, { force: true });
  return onSocket(await s3rver.listen(socketPath), socketPath);
}

/** Creates the table with all its indexes unless it exists, and waits until it is ACTIVE. */
export async function ensureTable(where: string | StandInAddress, tableName: string): Promise<void> {
  const client = new DynamoDBClient(
    standInClientConfig(typeof where === 'string' ? { endpoint: where } : where),
  );
  try {
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    for (let attempt = 0; attempt < 100; attempt++) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every(
        (index) => index.IndexStatus === 'ACTIVE',
      );
      if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`Table ${tableName} did not become ACTIVE`);
  } finally {
    client.destroy();
  }
}

/** sockaddr_un holds 108 bytes on Linux (104 on macOS), NUL included. */
const MAX_SOCKET_PATH_BYTES = 100;

/**
 * The directory for the stand-ins' sockets: the data directory itself, or, when its path is too long for
 * a socket address, a fresh private (0700) directory under the system temp dir, removed by `remove`.
 */
export function standInSocketDir(dataDir: string): { dir: string; remove(): void } {
  if (Buffer.byteLength(join(dataDir, 'dynamodb.sock')) <= MAX_SOCKET_PATH_BYTES) {
    return { dir: dataDir, remove: () => undefined };
  }
  const dir = mkdtempSync(join(tmpdir(), 'cairn-'));
  chmodSync(dir, 0o700);
  if (Buffer.byteLength(join(dir, 'dynamodb.sock')) > MAX_SOCKET_PATH_BYTES) {
    throw new Error(`No directory short enough for the stand-ins' sockets (tried ${dataDir} and ${dir})`);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
