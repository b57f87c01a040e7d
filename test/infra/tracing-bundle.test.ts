/**
 * The artifacts function's Lambda bundle (the CDK construct's esbuild settings) traces its S3 and
 * DynamoDB calls through the Powertools Tracer and the X-Ray SDK it bundles. The bundle runs in its own
 * Node process with the environment Lambda gives a traced function (AWS_EXECUTION_ENV and
 * LAMBDA_TASK_ROOT, which put the Tracer and the X-Ray SDK in their Lambda modes, _X_AMZN_TRACE_ID per
 * invocation, AWS_XRAY_DAEMON_ADDRESS), against the local server's stand-ins, and this test is the daemon.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent } from '../../local/front.js';
import { LOCAL_BUCKET_NAME, type LocalServer, startLocalServer } from '../../local/server.js';
import { buildBundle, writeBundle } from '../bench/bundles.js';
import { Api } from '../helpers/http.js';
import { startXrayDaemon, type XrayDaemon } from '../helpers/xray-daemon.js';

const LAMBDA_PARENT = '7a2b4c6d8e0f1a3b';
/** Invokes the bundle's handler once per request, setting _X_AMZN_TRACE_ID first as the runtime does. */
const RUNNER = `
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [bundle, requestsFile, resultsFile] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundle).href);
const results = [];
for (const { traceHeader, event } of JSON.parse(readFileSync(requestsFile, 'utf8'))) {
  process.env._X_AMZN_TRACE_ID = traceHeader;
  const context = { awsRequestId: event.requestContext.requestId, functionName: 'cairn-artifacts', getRemainingTimeInMillis: () => 30000 };
  results.push(await handler(event, context));
}
writeFileSync(resultsFile, JSON.stringify(results));
`;

let dir: string;
let server: LocalServer;
let daemon: XrayDaemon;
let api: Api;
let bundleInputs: string[];
let bundleFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-trace-bundle-'));
  daemon = await startXrayDaemon();
  server = await startLocalServer({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'data') });
  api = new Api(server.url);
  const bundle = await buildBundle('artifacts');
  bundleInputs = Object.keys(bundle.metafile.inputs);
  bundleFile = writeBundle(bundle, join(dir, 'bundle'));
  writeFileSync(join(dir, 'runner.mjs'), RUNNER);
});

afterAll(async () => {
  await server?.close();
  await daemon?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function event(method: string, url: string, body = '') {
  const request = {
    method,
    url,
    httpVersion: '1.1',
    headers: { host: 'localhost', ...(body ? { 'content-type': 'application/octet-stream' } : {}) },
    socket: {},
  } as unknown as IncomingMessage;
  const built = buildEvent(request, Buffer.from(body)).event;
  // What the gateway's authorizer hands the function on AWS: the functions refuse requests without it.
  return {
    ...built,
    requestContext: { ...built.requestContext, authorizer: { lambda: { principal: 'ci', scope: 'write' } } },
  };
}

let traceCounter = 0;
function traceId(): string {
  traceCounter += 1;
  return `1-${Math.floor(Date.now() / 1000).toString(16)}-${traceCounter.toString(16).padStart(24, 'a')}`;
}

describe('the bundled artifacts function, traced', () => {
  it('carries the Powertools Tracer over the X-Ray SDK itself', () => {
    expect(bundleInputs.some((path) => path.includes('@aws-lambda-powertools/tracer/'))).toBe(true);
    expect(bundleInputs.some((path) => path.endsWith('aws-xray-sdk-core/dist/lib/segments/segment.js'))).toBe(
      true,
    );
    expect(bundleInputs.filter((path) => path.startsWith('infra/'))).toEqual([]);
  });

  it('sends a subsegment for each DynamoDB and S3 call of each invocation', async () => {
    const experimentId = (await api.post<{ experiment_id: string }>('experiments/create', { name: 'traced' }))
      .body.experiment_id;
    const runId = (
      await api.post<{ run: { info: { run_id: string } } }>('runs/create', { experiment_id: experimentId })
    ).body.run.info.run_id;
    const root = `${experimentId}/${runId}/artifacts`;
    const [upload, list] = [traceId(), traceId()];
    const requests = [
      {
        traceHeader: `Root=${upload};Parent=${LAMBDA_PARENT};Sampled=1`,
        event: event(
          'PUT',
          `/api/2.0/mlflow-artifacts/artifacts/${root}/notes.txt`,
          'traced through the bundle',
        ),
      },
      {
        traceHeader: `Root=${list};Parent=${LAMBDA_PARENT};Sampled=1`,
        event: event('GET', `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(root)}`),
      },
    ];
    writeFileSync(join(dir, 'requests.json'), JSON.stringify(requests));

    // What loadConfig and the SDK read on Lambda; startLocalServer pointed process.env at its stand-ins.
    const pick = (names: string[]) => Object.fromEntries(names.map((name) => [name, process.env[name]]));
    const child = await promisify(execFile)(
      process.execPath,
      [join(dir, 'runner.mjs'), bundleFile, join(dir, 'requests.json'), join(dir, 'results.json')],
      {
        env: {
          PATH: process.env.PATH,
          ...pick([
            'CAIRN_TABLE_NAME',
            'CAIRN_DYNAMODB_ENDPOINT',
            'CAIRN_S3_ENDPOINT',
            'CAIRN_DYNAMODB_SOCKET',
            'CAIRN_S3_SOCKET',
            'CAIRN_S3_PRESIGN_PATH',
            'CAIRN_ARTIFACT_BUCKET',
            'AWS_REGION',
            'AWS_ACCESS_KEY_ID',
            'AWS_SECRET_ACCESS_KEY',
          ]),
          AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
          AWS_LAMBDA_FUNCTION_NAME: 'cairn-artifacts',
          LAMBDA_TASK_ROOT: dir,
          AWS_XRAY_DAEMON_ADDRESS: daemon.address,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      },
    );
    // The X-Ray SDK logs to stderr what goes wrong: a missing trace context, a segment it cannot send.
    expect(child.stderr).toBe('');
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { statusCode: number }[];
    expect(results.map((result) => result.statusCode)).toEqual([200, 200]);

    const calls = async (trace: string, count: number) =>
      (await daemon.waitFor(trace, count)).map((document) => {
        expect(document).toMatchObject({ type: 'subsegment', namespace: 'aws', parent_id: LAMBDA_PARENT });
        expect(document.end_time).toBeGreaterThanOrEqual(document.start_time);
        expect(document.error ?? document.fault ?? false).toBe(false);
        return [
          document.name,
          document.aws?.operation,
          document.aws?.table_name ?? document.aws?.bucket_name,
        ];
      });
    const table = process.env.CAIRN_TABLE_NAME;
    // The container's first request reads the caller's grants (one Query, issue 16's one extra read, then
    // cached for the list below); the write's run check reads the run's item with its seal items (one
    // Query), then the bytes go to the bucket.
    expect(await calls(upload, 3)).toEqual([
      ['DynamoDB', 'Query', table],
      ['DynamoDB', 'Query', table],
      ['S3', 'PutObject', LOCAL_BUCKET_NAME],
    ]);
    expect(await calls(list, 2)).toEqual([
      ['DynamoDB', 'BatchGetItem', undefined],
      ['S3', 'ListObjectsV2', LOCAL_BUCKET_NAME],
    ]);
    const batchGets = daemon.documents.filter((document) => document.aws?.operation === 'BatchGetItem');
    expect(batchGets.map((document) => document.aws?.table_names)).toEqual([[table]]);
    expect(daemon.malformed).toEqual([]);
  });
});
