/**
 * X-Ray capture of the SDK clients through the Powertools Tracer and the X-Ray SDK, run as on Lambda:
 * LAMBDA_TASK_ROOT and AWS_EXECUTION_ENV put both in their Lambda modes, `_X_AMZN_TRACE_ID` names the
 * invocation's segment, `AWS_XRAY_DAEMON_ADDRESS` a UDP socket this test listens on. Real DynamoDB and
 * S3 calls (dynalite, s3rver) through the project's own client factories and the functions' tracer
 * (functions/middleware/tracing.ts); the documents received are what X-Ray would show.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureTable,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type RunningStandIn,
  startDynalite,
  startS3rver,
} from '../../local/stand-ins.js';
import { type ClientCapture, createDynamoClient } from '../../shared/store/clients.js';
import { createS3Client } from '../../shared/store/s3-clients.js';
import { startXrayDaemon, type XrayDaemon } from '../helpers/xray-daemon.js';

const TABLE = 'traced';
const BUCKET = 'traced-artifacts';
const LAMBDA_PARENT = '53995c3f42cd8ad8';

let daemon: XrayDaemon;
let dynamo: RunningStandIn;
let s3: RunningStandIn;
let dataDir: string;
let capture: ClientCapture;
let dynamoClient: DynamoDBClient;
let s3Client: ReturnType<typeof createS3Client>;
/** The X-Amzn-Trace-Id header of each request as sent (captured after the X-Ray middleware ran). */
const sentHeaders: (string | undefined)[] = [];
const savedEnv = { ...process.env };

let traceCounter = 0;
/** A fresh trace id, as Lambda sets one per invocation. */
function invocation(sampled: '0' | '1' = '1'): string {
  traceCounter += 1;
  const root = `1-${Math.floor(Date.now() / 1000).toString(16)}-${traceCounter.toString(16).padStart(24, '0')}`;
  process.env._X_AMZN_TRACE_ID = `Root=${root};Parent=${LAMBDA_PARENT};Sampled=${sampled}`;
  return root;
}

function recordTraceHeader<Input extends object, Output extends object>(): FinalizeRequestMiddleware<
  Input,
  Output
> {
  return (next) => async (args) => {
    const request = args.request as { headers?: Record<string, string> };
    sentHeaders.push(request.headers?.['X-Amzn-Trace-Id']);
    return next(args);
  };
}
const RECORD = { step: 'finalizeRequest', name: 'recordTraceHeader' } as const;

beforeAll(async () => {
  daemon = await startXrayDaemon();
  dataDir = mkdtempSync(join(tmpdir(), 'cairn-xray-'));
  dynamo = await startDynalite(undefined);
  s3 = await startS3rver(dataDir, BUCKET, join(dataDir, 's3.sock'));
  await ensureTable(dynamo.endpoint, TABLE);
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    // What Lambda sets for a function with active tracing. The X-Ray SDK reads LAMBDA_TASK_ROOT once,
    // when it loads, so the tracer is imported only now.
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: 'cairn-artifacts',
    LAMBDA_TASK_ROOT: dataDir,
    AWS_XRAY_DAEMON_ADDRESS: daemon.address,
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
  });
  const { createClientTracer } = await import('../../functions/middleware/tracing.js');
  capture = createClientTracer('artifacts');
  const config = { region: LOCAL_REGION, dynamodbEndpoint: dynamo.endpoint, s3Socket: s3.socketPath };
  dynamoClient = createDynamoClient(config, capture);
  s3Client = createS3Client(config, capture);
  dynamoClient.middlewareStack.add(recordTraceHeader(), RECORD);
  s3Client.middlewareStack.add(recordTraceHeader(), RECORD);
});

afterAll(async () => {
  dynamoClient?.destroy();
  s3Client?.destroy();
  process.env = savedEnv;
  await daemon?.close();
  await s3?.close();
  await dynamo?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const item = { pk: { S: 'RUN#1' }, sk: { S: 'RUN' } };

describe('client tracing through the Powertools Tracer, as on Lambda', () => {
  it('sends one subsegment per DynamoDB and S3 call under the invocation segment', async () => {
    const root = invocation();
    await dynamoClient.send(new PutItemCommand({ TableName: TABLE, Item: item }));
    await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'runs/1/notes.txt', Body: 'traced' }));

    const [put, upload] = await daemon.waitFor(root, 2);
    expect(daemon.malformed).toEqual([]);
    expect(put).toMatchObject({
      type: 'subsegment',
      name: 'DynamoDB',
      namespace: 'aws',
      trace_id: root,
      parent_id: LAMBDA_PARENT,
      aws: { operation: 'PutItem', region: LOCAL_REGION, table_name: TABLE },
      http: { response: { status: 200 } },
    });
    expect(upload).toMatchObject({
      type: 'subsegment',
      name: 'S3',
      namespace: 'aws',
      trace_id: root,
      parent_id: LAMBDA_PARENT,
      aws: { operation: 'PutObject', bucket_name: BUCKET, key: 'runs/1/notes.txt' },
      http: { response: { status: 200 } },
    });
    for (const document of [put, upload]) {
      expect(document?.id).toMatch(/^[0-9a-f]{16}$/);
      expect(document?.in_progress).toBeUndefined();
      expect(document?.start_time).toBeGreaterThan(1_600_000_000);
      expect(document?.end_time).toBeGreaterThanOrEqual(document?.start_time as number);
      expect(document?.error ?? false).toBe(false);
      expect(document?.fault ?? false).toBe(false);
    }
    // dynalite answers with a request id, as DynamoDB does (s3rver sends none).
    expect(put?.aws?.request_id).toEqual(expect.any(String));
    // The services join the trace: each request carried its subsegment as the parent.
    expect(sentHeaders.slice(-2)).toEqual([
      `Root=${root};Parent=${put?.id};Sampled=1`,
      `Root=${root};Parent=${upload?.id};Sampled=1`,
    ]);
  });

  it('flags a call the service refused as an error with its cause, and a call with no answer as a fault', async () => {
    const root = invocation();
    await expect(
      dynamoClient.send(new GetItemCommand({ TableName: 'missing', Key: item })),
    ).rejects.toThrow();
    await expect(s3Client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'absent' }))).rejects.toThrow();
    const unreachable = capture(
      new DynamoDBClient({
        region: LOCAL_REGION,
        endpoint: 'http://127.0.0.1:9',
        credentials: LOCAL_CREDENTIALS,
        maxAttempts: 1,
      }),
    );
    await expect(unreachable.send(new GetItemCommand({ TableName: TABLE, Key: item }))).rejects.toThrow();
    unreachable.destroy();

    const [refused, absent, noAnswer] = await daemon.waitFor(root, 3);
    // The X-Ray SDK flags a refused call both as an error (the 4xx status) and as a fault (the SDK threw).
    expect(refused).toMatchObject({
      name: 'DynamoDB',
      aws: { operation: 'GetItem', table_name: 'missing' },
      http: { response: { status: 400 } },
      error: true,
      cause: { exceptions: [{ type: 'ResourceNotFoundException', remote: true }] },
    });
    expect(absent).toMatchObject({
      name: 'S3',
      aws: { operation: 'HeadObject', bucket_name: BUCKET, key: 'absent' },
      http: { response: { status: 404 } },
      error: true,
      cause: { exceptions: [{ type: 'NotFound', remote: true }] },
    });
    expect(noAnswer).toMatchObject({
      name: 'DynamoDB',
      fault: true,
      cause: { exceptions: [{ message: expect.stringContaining('ECONNREFUSED') }] },
    });
    expect(noAnswer?.http?.response).toBeUndefined();
    expect(noAnswer?.error).toBeUndefined();
  });

  it('records nothing, and tells the service so, when Lambda did not sample the invocation', async () => {
    const unsampled = invocation('0');
    await dynamoClient.send(new PutItemCommand({ TableName: TABLE, Item: item }));
    expect(sentHeaders.at(-1)).toMatch(new RegExp(`^Root=${unsampled};Parent=[0-9a-f]{16};Sampled=0$`));

    // A sampled call afterwards arrives; by then the unsampled one would have been sent before it.
    const sampled = invocation();
    await dynamoClient.send(new PutItemCommand({ TableName: TABLE, Item: item }));
    await daemon.waitFor(sampled, 1);
    expect(daemon.documents.filter((document) => document.trace_id === unsampled)).toEqual([]);
  });
});
