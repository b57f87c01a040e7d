/**
 * `cairn token` as a user runs it: child processes through the package's bin, on a data directory with
 * no server, on one a running `cairn server --auth` holds, and on a "deployed stack" (a stand-in
 * CloudFormation endpoint answering DescribeStacks, and a stand-in DynamoDB, reached through the SDK's
 * standard AWS_ENDPOINT_URL_* settings). Also: `cairn server` refuses non-loopback addresses without --auth.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../shared/auth/token.js';
import { DynamoTokenRepository } from '../../shared/store/tokens/repository.js';
import { CairnCli } from '../helpers/cli.js';
import { createTestTable, type TestTable } from '../helpers/dynamo.js';
import { Api } from '../helpers/http.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-cli-token-'));
const cli = new CairnCli();

afterAll(() => {
  cli.killAll();
  rmSync(root, { recursive: true, force: true });
});

const spawnCairn = (args: string[], env: Record<string, string> = {}) => cli.spawn(args, env);
const cairn = (args: string[], env: Record<string, string> = {}) => cli.run(args, env);

/** The token and the password lines `token create` prints for pasting. */
function pasted(stdout: string) {
  const token = /^ {2}export MLFLOW_TRACKING_TOKEN=(cairn_\S+)$/m.exec(stdout)?.[1];
  const username = /^ {2}export MLFLOW_TRACKING_USERNAME=(\S+)$/m.exec(stdout)?.[1];
  const password = /^ {2}export MLFLOW_TRACKING_PASSWORD=(\S+)$/m.exec(stdout)?.[1];
  return { token, username, password };
}

describe('cairn token on a data directory no server holds', () => {
  const dataDir = join(root, 'idle');
  let secret = '';

  it('creates a token, prints it once in both client forms, and releases the directory', async () => {
    const created = await cairn([
      'token',
      'create',
      '--name',
      'ci',
      '--scope',
      'write',
      '--expires',
      '30',
      '--data-dir',
      dataDir,
    ]);
    expect(created.code).toBe(0);
    const { token, username, password } = pasted(created.stdout);
    expect(token).toMatch(/^cairn_ci_[A-Za-z0-9_-]{43}$/);
    expect(username).toBe('ci');
    expect(token).toBe(`cairn_ci_${password}`);
    secret = password as string;
    expect(created.stdout).toContain('only time');
    expect(existsSync(join(dataDir, 'cairn.lock'))).toBe(false);
  });

  it('lists tokens without secrets or hashes', async () => {
    await cairn(['token', 'create', '--name', 'reader', '--scope', 'read', '--data-dir', dataDir]);
    const listed = await cairn(['token', 'list', '--data-dir', dataDir]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^NAME\s+SCOPE\s+CREATED\s+LAST USED\s+EXPIRES$/m);
    expect(listed.stdout).toMatch(/^ci\s+write\s+\S+\s+never\s+\d{4}-/m);
    expect(listed.stdout).toMatch(/^reader\s+read\s+\S+\s+never\s+never$/m);
    expect(listed.stdout).not.toContain(secret);
    expect(listed.stdout).not.toContain(hashSecret(secret));
    expect(listed.stdout).not.toContain('cairn_');
  });

  it('refuses a duplicate name and keeps the first token', async () => {
    const again = await cairn(['token', 'create', '--name', 'ci', '--scope', 'admin', '--data-dir', dataDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("A token named 'ci' already exists");
    expect((await cairn(['token', 'list', '--data-dir', dataDir])).stdout).toMatch(/^ci\s+write\s/m);
  });

  // Ten CLI processes at once: generous on a loaded 2-core machine (a time limit, never an assertion).
  it('refuses bad input with usage and exit code 2', { timeout: 90_000 }, async () => {
    const cases: [string[], string][] = [
      [['token', 'create', '--name', 'Bad_Name', '--scope', 'read'], 'invalid --name'],
      [['token', 'create', '--name', 'x'.repeat(65), '--scope', 'read'], 'invalid --name'],
      [['token', 'create', '--scope', 'read'], '--name is required'],
      [['token', 'create', '--name', 'ok', '--scope', 'root'], '--scope must be one of read, write, admin'],
      [['token', 'create', '--name', 'ok', '--scope', 'read', '--expires', '1.5'], '--expires'],
      [['token', 'create', '--name', 'ok', '--scope', 'read', '--expires', '0'], 'Expiry'],
      [['token', 'list', '--stack', 'CairnApi', '--data-dir', dataDir], 'not both'],
      [['token', 'revoke'], 'exactly one token'],
      [['token', 'rotate'], 'create, list or revoke'],
      [['token', 'list', '--colour'], 'Unknown option'],
    ];
    // All refused before the data directory is opened, so they may run at once.
    const results = await Promise.all(
      cases.map(([args]) => cairn(args.includes('--data-dir') ? args : [...args, '--data-dir', dataDir])),
    );
    cases.forEach(([args, message], index) => {
      const result = results[index] as Awaited<ReturnType<typeof cairn>>;
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(message);
    });
    expect((await cairn(['token', 'list', '--data-dir', dataDir])).stdout).not.toContain('ok ');
  });

  it('refuses to list or revoke in a directory that holds no data, and creates nothing there', async () => {
    const typo = join(root, 'no-such-dir');
    for (const args of [
      ['token', 'list', '--data-dir', typo],
      ['token', 'revoke', 'ci', '--data-dir', typo],
    ]) {
      const run = await cairn(args);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`No Cairn data in ${typo}`);
    }
    expect(existsSync(typo)).toBe(false);
  });

  it('refuses a directory that exists but holds no Cairn data, and writes nothing into it', async () => {
    const other = join(root, 'not-cairn');
    mkdirSync(other);
    writeFileSync(join(other, 'readme.txt'), 'hi');
    for (const args of [
      ['token', 'list', '--data-dir', other],
      ['migrate', '--dry-run', '--data-dir', other],
      ['gc', '--dry-run', '--data-dir', other],
    ]) {
      const run = await cairn(args);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr, args.join(' ')).toContain(`No Cairn data in ${other}`);
    }
    expect(readdirSync(other)).toEqual(['readme.txt']);
  });

  it('revokes a token, and refuses to revoke an unknown one with exit code 1', async () => {
    const revoked = await cairn(['token', 'revoke', 'reader', '--data-dir', dataDir]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain("Revoked token 'reader'");
    expect((await cairn(['token', 'list', '--data-dir', dataDir])).stdout).not.toMatch(/^reader/m);
    const unknown = await cairn(['token', 'revoke', 'reader', '--data-dir', dataDir]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("There is no token named 'reader'");
  });
});

describe('cairn token next to a running cairn server --auth', () => {
  const dataDir = join(root, 'served');
  let server: ReturnType<typeof spawnCairn>;
  let url = '';

  beforeAll(async () => {
    server = spawnCairn(['server', '--auth', '--port', '0', '--data-dir', dataDir]);
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no Tracking URI; output:\n${server.stdout()}${server.stderr()}`)),
        25_000,
      );
      server.child.stdout?.on('data', () => {
        const match = /Tracking URI: (http:\/\/\S+)/.exec(server.stdout());
        if (match) {
          clearTimeout(timer);
          resolve(match[1] as string);
        }
      });
    });
  });

  afterAll(async () => {
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.once('exit', resolve));
  });

  it('creates a token through the server, which then accepts it, and lists its last use', async () => {
    const created = await cairn([
      'token',
      'create',
      '--name',
      'live',
      '--scope',
      'write',
      '--data-dir',
      dataDir,
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('through the running server');
    const { token, password } = pasted(created.stdout);
    const api = new Api(url);
    expect((await api.request('GET', '/api/2.0/mlflow/experiments/get?experiment_id=0')).status).toBe(401);
    const withToken = await api.request('GET', '/api/2.0/mlflow/experiments/get?experiment_id=0', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(withToken.status).toBe(200);
    const basic = `Basic ${Buffer.from(`live:${password}`).toString('base64')}`;
    const created2 = await api.request('POST', '/api/2.0/mlflow/experiments/create', {
      json: { name: 'from-cli-token' },
      headers: { authorization: basic },
    });
    expect(created2.status).toBe(200);
    const listed = await cairn(['token', 'list', '--data-dir', dataDir]);
    expect(listed.stdout).toMatch(/^live\s+write\s+\S+\s+\d{4}-\S+\s+never$/m);
    const revoked = await cairn(['token', 'revoke', 'live', '--data-dir', dataDir]);
    expect(revoked.code).toBe(0);
    expect((await cairn(['token', 'list', '--data-dir', dataDir])).stdout).toContain('No tokens');
  });
});

describe('cairn server and authentication', () => {
  it('refuses to listen beyond loopback without --auth, with exit code 2', async () => {
    const refused = await cairn([
      'server',
      '--host',
      '0.0.0.0',
      '--port',
      '0',
      '--data-dir',
      join(root, 'open'),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('refusing to listen on 0.0.0.0 without authentication');
    expect(refused.stderr).toContain('--auth');
    expect(existsSync(join(root, 'open', 'cairn.lock'))).toBe(false);
  });
});

describe('cairn token --stack', () => {
  let table: TestTable;
  let cloudFormation: Server;
  let env: Record<string, string>;
  const requests: string[] = [];

  beforeAll(async () => {
    table = await createTestTable();
    cloudFormation = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        requests.push(body);
        const stack = new URLSearchParams(body).get('StackName');
        const outputs =
          stack === 'CairnApi'
            ? `<Outputs><member><OutputKey>TrackingUri</OutputKey><OutputValue>https://x</OutputValue></member><member><OutputKey>CairnTableName</OutputKey><OutputValue>${table.tableName}</OutputValue></member></Outputs>`
            : '';
        if (stack !== 'CairnApi' && stack !== 'OtherStack') {
          response.writeHead(400, { 'content-type': 'text/xml' });
          response.end(
            `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${stack} does not exist</Message></Error><RequestId>1</RequestId></ErrorResponse>`,
          );
          return;
        }
        response.writeHead(200, { 'content-type': 'text/xml' });
        response.end(
          `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${stack}</StackName><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime>${outputs}</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>`,
        );
      });
    });
    await new Promise<void>((resolve) => cloudFormation.listen(0, '127.0.0.1', resolve));
    env = {
      AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${(cloudFormation.address() as AddressInfo).port}`,
      AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'eu-west-1',
      AWS_PROFILE: '',
    };
  });

  afterAll(async () => {
    await new Promise((resolve) => cloudFormation.close(resolve));
    await table.close();
  });

  it("finds the table from the stack's CairnTableName output, with credentials from the environment", async () => {
    const created = await cairn(
      ['token', 'create', '--name', 'deployed', '--scope', 'read', '--stack', 'CairnApi'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`stack CairnApi (table ${table.tableName})`);
    expect(requests.at(-1)).toContain('Action=DescribeStacks');
    const { password } = pasted(created.stdout);
    const stored = await new DynamoTokenRepository(table.client, table.tableName).get('deployed');
    expect(stored).toMatchObject({ scope: 'read', secretHash: hashSecret(password as string) });
    const listed = await cairn(['token', 'list', '--stack', 'CairnApi', '--region', 'eu-west-1'], env);
    expect(listed.stdout).toMatch(/^deployed\s+read\s/m);
    expect((await cairn(['token', 'revoke', 'deployed', '--stack', 'CairnApi'], env)).code).toBe(0);
  });

  it('says clearly when the stack does not exist or is not a Cairn API stack', async () => {
    const missing = await cairn(['token', 'list', '--stack', 'Nope'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("Could not read the stack 'Nope': Stack with id Nope does not exist");
    const other = await cairn(['token', 'list', '--stack', 'OtherStack'], env);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("The stack 'OtherStack' has no CairnTableName output");
  });
});
