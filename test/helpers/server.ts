/**
 * Starts the real local server (the same code as `npm start`) in this test file's process: stand-ins,
 * table, handlers and HTTP front, on a free loopback port and a fresh temporary data directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { readPublishedEndpoint } from '../../local/data-dir-endpoint.js';
import { type LocalServerOptions, startLocalServer } from '../../local/server.js';
import { standInClientConfig } from '../../local/stand-ins.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { externalDynamoEndpoint, uniqueTableName } from './dynamo.js';

export interface TestServer {
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Require tokens, as `cairn server --auth` does (startLocalServer's `auth`); off by default. */
  auth?: LocalServerOptions['auth'];
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-test-'));
  const external = externalDynamoEndpoint();
  const server = await startLocalServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    ...(options.auth ? { auth: options.auth } : {}),
    ...(external ? { dynamodbEndpoint: external, tableName: uniqueTableName() } : {}),
  });
  return {
    url: server.url,
    dataDir,
    close: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A document client on a running test server's own table (the endpoint the server publishes), for tests
 * that read or seed items the API does not expose. `destroy` closes it.
 */
export function serverTable(server: TestServer): {
  doc: DynamoDBDocumentClient;
  tableName: string;
  destroy(): void;
} {
  const published = readPublishedEndpoint(server.dataDir);
  if (!published) throw new Error('the server published no DynamoDB endpoint');
  // dynalite listens on a socket in the data dir; an external DynamoDB Local on its endpoint.
  const client = new DynamoDBClient(
    standInClientConfig({
      endpoint: published.dynamodbEndpoint,
      ...(published.dynamodbSocket ? { socketPath: published.dynamodbSocket } : {}),
    }),
  );
  return {
    doc: createDocumentClient(client),
    tableName: published.tableName,
    destroy: () => client.destroy(),
  };
}
