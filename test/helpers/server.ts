/**
 * Starts the real local server (the same code as `npm start`) in this test file's process: stand-ins,
 * table, handlers and HTTP front, on a free loopback port and a fresh temporary data directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalServer } from '../../shared/local/server.js';
import { externalDynamoEndpoint, uniqueTableName } from './dynamo.js';

export interface TestServer {
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestServer(): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-test-'));
  const external = externalDynamoEndpoint();
  const server = await startLocalServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
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
