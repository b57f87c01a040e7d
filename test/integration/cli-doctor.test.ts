/**
 * `cairn doctor --url` as a user runs it (a child process) against the local server with --auth: all
 * checks pass with a write token and what it made is gone afterwards; a read token fails the first write
 * with the scope fix named; no token and an unreachable URL fail with their own fixes. Exit codes 0, 1
 * and 2 (usage). The same without auth is cli-doctor-open.test.ts: a process holds one server's settings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenTokenStore, openLocalTokenStore } from '../../bin/token-stores.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import { type IssuedToken, issueToken } from '../../shared/auth/issue.js';
import { CairnCli } from '../helpers/cli.js';
import { DOCTOR_STEPS, doctorSteps, freePort } from '../helpers/doctor.js';
import { externalDynamoEndpoint, uniqueTableName } from '../helpers/dynamo.js';
import { Api } from '../helpers/http.js';

const cli = new CairnCli();
let secured: LocalServer;
const securedDir = mkdtempSync(join(tmpdir(), 'cairn-doctor-'));
let store: OpenTokenStore;
let writeToken: IssuedToken;
let readToken: IssuedToken;

beforeAll(async () => {
  const external = externalDynamoEndpoint();
  secured = await startLocalServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: securedDir,
    auth: true,
    ...(external ? { dynamodbEndpoint: external, tableName: uniqueTableName() } : {}),
  });
  store = await openLocalTokenStore(securedDir);
  writeToken = await issueToken(store.tokens, { name: 'job', scope: 'write' });
  readToken = await issueToken(store.tokens, { name: 'viewer', scope: 'read' });
}, 60_000);

afterAll(async () => {
  cli.killAll();
  await store?.close();
  await secured?.close();
  rmSync(securedDir, { recursive: true, force: true });
});

describe('cairn doctor --url', () => {
  it('passes on a server with --auth and a write token, and leaves nothing of its own behind', async () => {
    const result = await cli.run(['doctor', '--url', secured.url, '--token', writeToken.token]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const table = doctorSteps(result.stdout);
    expect([...table.keys()]).toEqual(DOCTOR_STEPS);
    for (const step of table.values()) expect(step.mark, step.line).toBe('✓');
    expect(table.get('refuses requests without a token')?.line).toContain('401 without a token');

    const api = new Api(secured.url);
    const headers = { authorization: `Bearer ${writeToken.token}` };
    const experiments = await api.request<{ experiments?: { name: string; lifecycle_stage: string }[] }>(
      'GET',
      '/api/2.0/mlflow/experiments/search?max_results=100&view_type=ALL',
      { headers },
    );
    const made = (experiments.body.experiments ?? []).filter((e) => e.name.startsWith('cairn-doctor-'));
    expect(made).toHaveLength(1);
    expect(made[0]?.lifecycle_stage).toBe('deleted');
    const models = await api.request<{ registered_models?: unknown[] }>(
      'GET',
      `/api/2.0/mlflow/registered-models/search?filter=${encodeURIComponent("name LIKE 'cairn-doctor-%'")}`,
      { headers },
    );
    expect(models.body.registered_models ?? []).toEqual([]);
  }, 120_000);

  it('with a read token, fails the first write naming the scope fix, skips what depends on it, exit 1', async () => {
    const result = await cli.run(['doctor', '--url', secured.url], {
      MLFLOW_TRACKING_TOKEN: readToken.token,
    });
    expect(result.code, result.stdout + result.stderr).toBe(1);
    const table = doctorSteps(result.stdout);
    expect(table.get('health')?.mark).toBe('✓');
    expect(table.get('refuses requests without a token')?.mark).toBe('✓');
    const create = table.get('create experiment');
    expect(create?.mark).toBe('✗');
    expect(create?.line).toContain('403');
    expect(create?.fix).toMatch(/scope is too small/);
    expect(create?.fix).toContain('--scope write');
    // A local server's tokens are in its data directory: the fix says to name it.
    expect(create?.fix).toContain('--data-dir');
    for (const name of ['create run', 'log-batch', 'multipart upload', 'registry: model, version, alias']) {
      expect(table.get(name)?.mark, name).toBe('-');
    }
    expect(table.get('cleanup')?.line).toContain('nothing was created');
    expect(result.stdout).toContain('1 check failed.');
  }, 120_000);

  it('without a token against --auth, fails the first call that needs one and says how to give one', async () => {
    const result = await cli.run(['doctor', '--url', secured.url], {
      MLFLOW_TRACKING_TOKEN: '',
      MLFLOW_TRACKING_USERNAME: '',
      MLFLOW_TRACKING_PASSWORD: '',
    });
    expect(result.code).toBe(1);
    const create = doctorSteps(result.stdout).get('create experiment');
    expect(create?.mark).toBe('✗');
    expect(create?.line).toContain('401');
    expect(create?.fix).toContain('MLFLOW_TRACKING_TOKEN');
  }, 120_000);

  it('names the fix for a URL where nothing listens', async () => {
    const port = await freePort();
    const result = await cli.run(['doctor', '--url', `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    const table = doctorSteps(result.stdout);
    expect(table.get('health')?.mark).toBe('✗');
    expect(table.get('health')?.fix).toContain(`Nothing listens at http://127.0.0.1:${port}`);
    expect(table.get('create experiment')?.mark).toBe('-');
  }, 60_000);

  it('refuses a command line without exactly one of --url and --stack (exit 2)', async () => {
    const neither = await cli.run(['doctor']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('give either --url or --stack');
    const both = await cli.run(['doctor', '--url', 'http://x', '--stack', 'CairnApi']);
    expect(both.code).toBe(2);
  }, 60_000);
});
