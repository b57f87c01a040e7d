/**
 * What `cairn server --auth` writes while real tokens are in use and requests fail on the server side:
 * DynamoDB is cut off behind a TCP relay mid-test, so the function's own reads fail (a 5xx after the
 * authorizer's cached answer) and the authorizer's token lookup fails (a 500 for an uncached token).
 * The log lines must show those failures, and never the tokens, their secrets or the Authorization
 * header, whatever the error carried.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenTokenStore, openLocalTokenStore } from '../../bin/token-stores.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import { type RunningStandIn, startDynalite } from '../../local/stand-ins.js';
import { basicAuthorization } from '../../shared/auth/credentials.js';
import { type IssuedToken, issueToken } from '../../shared/auth/issue.js';
import { externalDynamoEndpoint, uniqueTableName } from '../helpers/dynamo.js';
import { Api } from '../helpers/http.js';
import { type CapturedOutput, captureOutput } from '../helpers/output.js';

const dataDir = mkdtempSync(join(tmpdir(), 'cairn-obs-auth-'));
let output: CapturedOutput;
let dynalite: RunningStandIn | undefined;
let relay: Server;
let relayDown = false;
const sockets = new Set<Socket>();
let server: LocalServer;
let store: OpenTokenStore;
let api: Api;
let writer: IssuedToken;
let uncached: IssuedToken;
const statuses: Record<string, number> = {};

/** A TCP relay to DynamoDB that can be cut: then it drops every connection, open or new. */
async function startRelay(target: URL): Promise<Server> {
  const relayServer = createServer((client) => {
    if (relayDown) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => relayServer.listen(0, '127.0.0.1', resolve));
  return relayServer;
}

beforeAll(async () => {
  process.env.CAIRN_LOG_LEVEL = 'INFO';
  let target = externalDynamoEndpoint();
  if (!target) {
    dynalite = await startDynalite(undefined);
    target = dynalite.endpoint;
  }
  relay = await startRelay(new URL(target));
  const address = relay.address() as { port: number };
  server = await startLocalServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    auth: { cacheTtlMs: 60_000 },
    dynamodbEndpoint: `http://127.0.0.1:${address.port}`,
    tableName: uniqueTableName(),
  });
  api = new Api(server.url);
  store = await openLocalTokenStore(dataDir);
  writer = await issueToken(store.tokens, { name: 'obs-writer', scope: 'write' });
  uncached = await issueToken(store.tokens, { name: 'obs-uncached', scope: 'read' });
  // Console output too: the local gate reports an authorizer failure through console.error.
  output = captureOutput();

  const headers = { authorization: `Bearer ${writer.token}` };
  statuses.create = (
    await api.request('POST', '/api/2.0/mlflow/experiments/create', { json: { name: 'observed' }, headers })
  ).status;
  // Cut DynamoDB off: the writer's token is cached by the gate, so its request reaches the function.
  relayDown = true;
  for (const socket of sockets) socket.destroy();
  statuses.functionFailure = (
    await api.request('GET', '/api/2.0/mlflow/experiments/get?experiment_id=1', { headers })
  ).status;
  statuses.authorizerFailure = (
    await api.request('GET', '/api/2.0/mlflow/experiments/get?experiment_id=1', {
      headers: { authorization: basicAuthorization('obs-uncached', uncached.token) },
    })
  ).status;
}, 60_000);

// biome-ignore lint/correctness/noEmptyPattern: vitest reads hook fixtures from a destructuring pattern; none are needed
afterAll(async ({}, suite) => {
  // What the functions logged is held back unless one of this file's tests failed.
  output?.restore(suite.tasks.some((task) => task.result?.state === 'fail'));
  delete process.env.CAIRN_LOG_LEVEL;
  relayDown = false;
  await store?.close();
  await server?.close();
  await new Promise((resolve) => relay?.close(resolve));
  await dynalite?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('logs under --auth when the server fails', () => {
  it('answers 5xx for the failures it was made to have', () => {
    expect(statuses.create).toBe(200);
    expect(statuses.functionFailure).toBeGreaterThanOrEqual(500);
    expect(statuses.authorizerFailure).toBe(500);
  });

  it('logs the failed request with its route, status, error code and principal', () => {
    const lines = output.jsonLines();
    const failed = lines.find(
      (line) => line.message === 'request' && line.status === statuses.functionFailure,
    );
    expect(failed).toMatchObject({
      route: 'GET /api/2.0/mlflow/experiments/get',
      principal: 'obs-writer',
      errorCode: expect.any(String),
    });
    expect(lines.some((line) => line.message === 'authorizer failed')).toBe(true);
  });

  it('never writes a token, its secret or the Authorization header', () => {
    const text = output.written.join('').toLowerCase();
    for (const issued of [writer, uncached]) {
      expect(text).not.toContain(issued.token.toLowerCase());
      expect(text).not.toContain(issued.secret.toLowerCase());
    }
    expect(text).not.toContain(basicAuthorization('obs-uncached', uncached.token).toLowerCase());
    expect(text).not.toContain('bearer');
    expect(text).not.toContain('authorization');
  });
});
