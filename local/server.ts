/**
 * `cairn server`: the whole deployment in one Node process. It locks the data directory, starts the
 * stand-ins, creates the table and bucket on first start, points the handlers' configuration at them and
 * only then loads the handlers (they read their configuration once, at load, as on Lambda).
 */
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { FunctionName } from '../shared/api/routes.js';
import { AUTHORIZER_CACHE_TTL_SECONDS } from '../shared/auth/scopes.js';
import { createAuthGate } from './auth-gate.js';
import { publishEndpoint } from './data-dir-endpoint.js';
import { lockDataDir } from './data-dir-lock.js';
import { createFront, type LambdaHandler } from './front.js';
import {
  ensureTable,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type RunningStandIn,
  startDynalite,
  startS3rver,
} from './stand-ins.js';

export const LOCAL_TABLE_NAME = 'cairn';
export const LOCAL_BUCKET_NAME = 'cairn-artifacts';

export interface LocalServerOptions {
  host: string;
  port: number;
  dataDir: string;
  /** Use this DynamoDB endpoint (e.g. DynamoDB Local in the fidelity lane) instead of starting dynalite. */
  dynamodbEndpoint?: string;
  /** Table name; lets several servers share one external DynamoDB. */
  tableName?: string;
  timeoutMs?: number;
  /**
   * Loads the handlers in place of the sources (the infra tests load the bundles `cdk synth` wrote).
   * Called once the environment points at the stand-ins, since handlers read it when they load.
   */
  loadHandlers?: () => Promise<Record<FunctionName, LambdaHandler>>;
  /**
   * Require tokens, as the deployed API does (`cairn server --auth`): the authorizer runs in front of every
   * non-public route, its answers cached per Authorization value for `cacheTtlMs` (default: API
   * Gateway's TTL). Without it the functions skip authorization (CAIRN_AUTH=off).
   */
  auth?: boolean | { cacheTtlMs?: number };
}

export interface LocalServer {
  url: string;
  close(): Promise<void>;
}

async function loadHandlers(): Promise<Record<FunctionName, LambdaHandler>> {
  const tracking = await import('../functions/tracking/handler.js');
  const artifacts = await import('../functions/artifacts/handler.js');
  const registry = await import('../functions/registry/handler.js');
  return {
    registry: registry.handler as unknown as LambdaHandler,
    tracking: tracking.handler as unknown as LambdaHandler,
    artifacts: artifacts.handler as unknown as LambdaHandler,
  };
}

export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const dataDir = resolve(options.dataDir);
  const tableName = options.tableName ?? LOCAL_TABLE_NAME;
  const releaseLock = lockDataDir(dataDir);
  const standIns: RunningStandIn[] = [];
  let unpublish: (() => void) | undefined;
  const closeAll = async () => {
    unpublish?.();
    for (const standIn of standIns.reverse()) await standIn.close().catch(() => undefined);
    releaseLock();
  };
  try {
    let dynamodbEndpoint = options.dynamodbEndpoint;
    if (!dynamodbEndpoint) {
      const dynamo = await startDynalite(dataDir);
      standIns.push(dynamo);
      dynamodbEndpoint = dynamo.endpoint;
    }
    const s3 = await startS3rver(dataDir, LOCAL_BUCKET_NAME);
    standIns.push(s3);
    await ensureTable(dynamodbEndpoint, tableName);
    // `cairn token` reaches the data through this while the lock keeps it from opening dynalite itself.
    unpublish = publishEndpoint(dataDir, { pid: process.pid, dynamodbEndpoint, tableName });

    Object.assign(process.env, {
      CAIRN_TABLE_NAME: tableName,
      CAIRN_DYNAMODB_ENDPOINT: dynamodbEndpoint,
      CAIRN_S3_ENDPOINT: s3.endpoint,
      CAIRN_ARTIFACT_BUCKET: LOCAL_BUCKET_NAME,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      CAIRN_AUTH: options.auth ? 'on' : 'off',
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    // The handlers' Tracer is off here (it traces only on Lambda), but the X-Ray SDK it loads would
    // still, in its default automatic mode, enable an async hook that tracks every promise the handlers,
    // the AWS SDK and dynalite make, for nothing (docs/benchmarks.md, 2026-12-06). Manual mode is the
    // X-Ray SDK's documented switch to leave the hook off; on Lambda, where the Tracer works, it stays on.
    process.env.AWS_XRAY_MANUAL_MODE ??= 'true';

    const cacheTtlMs =
      (typeof options.auth === 'object' ? options.auth.cacheTtlMs : undefined) ??
      AUTHORIZER_CACHE_TTL_SECONDS * 1000;
    const gate = options.auth
      ? createAuthGate({
          authorizer: (await import('../functions/authorizer/handler.js')).handler,
          cacheTtlMs,
        })
      : undefined;
    const handlers = await (options.loadHandlers ?? loadHandlers)();
    const front = createFront({ handlers, timeoutMs: options.timeoutMs, gate });
    await new Promise<void>((resolveListen, reject) => {
      front.once('error', reject);
      front.listen(options.port, options.host, () => resolveListen());
    });
    const { port } = front.address() as AddressInfo;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    return {
      url: `http://${host}:${port}`,
      close: async () => {
        await new Promise<void>((done) => {
          front.close(() => done());
          front.closeAllConnections();
        });
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
