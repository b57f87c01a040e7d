/**
 * `cairn server`: the whole deployment in one Node process. It locks the data directory, starts the
 * stand-ins, creates the table and bucket on first start, points the handlers' configuration at them and
 * only then loads the handlers (they read their configuration once, at load, as on Lambda).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { FunctionName } from '../shared/api/routes.js';
import { AUTHORIZER_CACHE_TTL_SECONDS } from '../shared/auth/scopes.js';
import { createAuthGate } from './auth-gate.js';
import { publishEndpoint } from './data-dir-endpoint.js';
import { lockDataDir } from './data-dir-lock.js';
import { createFront, type LambdaHandler } from './front.js';
import { allowedHostnames } from './host-check.js';
import { createPresignedRoute, PRESIGNED_PREFIX } from './presigned.js';
import {
  ensureTable,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type RunningStandIn,
  standInSocketDir,
  startDynalite,
  startS3rver,
} from './stand-ins.js';

export const LOCAL_TABLE_NAME = 'cairn';
export const LOCAL_BUCKET_NAME = 'cairn-artifacts';

/**
 * The local server's grant cache TTL. One process, one user, and `cairn permission` writes straight to
 * its data: a grant should take effect within a breath, not after AWS's 30 s (which keeps a fleet of
 * containers off DynamoDB). Reading the grants once a second costs nothing locally.
 */
export const LOCAL_PERMISSION_CACHE_TTL_MS = 1000;

/**
 * The secret this process signs presigned URLs with. The stand-ins check no SigV4 signature, so their
 * well-known key (LOCAL_CREDENTIALS) would do for them, but it is public: with it anyone could sign
 * a URL the front accepts. With a secret only this process holds, the front's check (presigned.ts)
 * accepts exactly the URLs this server handed out. One per process, as the handlers read their
 * credentials once; URLs from before a restart stop working, as after a key rotation on S3.
 */
const PRESIGN_SECRET = randomBytes(32).toString('base64url');

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
   * Gateway's TTL), and each function's grant cache for `permissionCacheTtlMs` (default
   * LOCAL_PERMISSION_CACHE_TTL_MS; tests shorten both). Without it the functions skip authorization (CAIRN_AUTH=off).
   */
  auth?: boolean | { cacheTtlMs?: number; permissionCacheTtlMs?: number };
  /** Host names answered besides loopback and `host` (`--allowed-hosts`): the DNS rebinding guard. */
  allowedHosts?: string[];
}

export interface LocalServer {
  url: string;
  close(): Promise<void>;
}

async function loadHandlers(): Promise<Record<FunctionName, LambdaHandler>> {
  const tracking = await import('../functions/tracking/handler.js');
  const artifacts = await import('../functions/artifacts/handler.js');
  const registry = await import('../functions/registry/handler.js');
  const traces = await import('../functions/traces/handler.js');
  // The deployed ui function reads the bundle built beside it; here the same handler gets a bundle built
  // in memory now (esbuild, about 100 ms), so `npm start` always serves the UI as its sources are.
  const { createUiHandler } = await import('../functions/ui/serve.js');
  const { FAST_BROTLI_QUALITY } = await import('../functions/ui/bundle.js');
  const { buildUi } = await import('../ui/build.js');
  const ui = createUiHandler(await buildUi({ minify: true, brotliQuality: FAST_BROTLI_QUALITY }));
  return {
    registry: registry.handler as unknown as LambdaHandler,
    tracking: tracking.handler as unknown as LambdaHandler,
    artifacts: artifacts.handler as unknown as LambdaHandler,
    traces: traces.handler as unknown as LambdaHandler,
    ui: ui as unknown as LambdaHandler,
  };
}

/** The data directory's webhook sealing key (32 bytes, base64), made on first use. */
function webhookSealingKey(dataDir: string): string {
  const file = join(dataDir, 'webhook-sealing.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = randomBytes(32).toString('base64');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const dataDir = resolve(options.dataDir);
  const tableName = options.tableName ?? LOCAL_TABLE_NAME;
  // The lock also makes the directory 0700 and this process's umask private (data-dir-lock.ts).
  const releaseLock = lockDataDir(dataDir);
  const standIns: RunningStandIn[] = [];
  let unpublish: (() => void) | undefined;
  let removeSockets: (() => void) | undefined;
  const closeAll = async () => {
    unpublish?.();
    for (const standIn of standIns.reverse()) await standIn.close().catch(() => undefined);
    removeSockets?.();
    releaseLock();
  };
  try {
    // The stand-ins check no signature, so they listen where only this user's processes reach them.
    const sockets = standInSocketDir(dataDir);
    removeSockets = sockets.remove;
    const dynamo = options.dynamodbEndpoint
      ? { endpoint: options.dynamodbEndpoint }
      : await startDynalite(dataDir, join(sockets.dir, 'dynamodb.sock'));
    if ('close' in dynamo) standIns.push(dynamo);
    const s3 = await startS3rver(dataDir, LOCAL_BUCKET_NAME, join(sockets.dir, 's3.sock'));
    standIns.push(s3);
    await ensureTable(dynamo, tableName);
    const dynamoSocket = 'socketPath' in dynamo ? dynamo.socketPath : undefined;
    // `cairn token` reaches the data through this while the lock keeps it from opening dynalite itself.
    unpublish = publishEndpoint(dataDir, {
      pid: process.pid,
      dynamodbEndpoint: dynamo.endpoint,
      ...(dynamoSocket ? { dynamodbSocket: dynamoSocket } : {}),
      tableName,
      s3Socket: s3.socketPath,
    });

    const permissionCacheTtlMs =
      (typeof options.auth === 'object' ? options.auth.permissionCacheTtlMs : undefined) ??
      LOCAL_PERMISSION_CACHE_TTL_MS;
    for (const name of [
      'CAIRN_DYNAMODB_ENDPOINT',
      'CAIRN_DYNAMODB_SOCKET',
      'CAIRN_S3_ENDPOINT',
      'CAIRN_PERMISSION_CACHE_TTL_MS',
    ]) {
      delete process.env[name];
    }
    Object.assign(process.env, {
      CAIRN_TABLE_NAME: tableName,
      ...(dynamoSocket
        ? { CAIRN_DYNAMODB_SOCKET: dynamoSocket }
        : { CAIRN_DYNAMODB_ENDPOINT: dynamo.endpoint }),
      CAIRN_S3_SOCKET: s3.socketPath,
      // Presigned URLs point at this server's own front, which checks them (presigned.ts).
      CAIRN_S3_PRESIGN_PATH: PRESIGNED_PREFIX,
      CAIRN_ARTIFACT_BUCKET: LOCAL_BUCKET_NAME,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: PRESIGN_SECRET,
      CAIRN_AUTH: options.auth ? 'on' : 'off',
      CAIRN_PERMISSION_CACHE_TTL_MS: String(permissionCacheTtlMs),
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    // Registry webhooks: secrets are sealed under a key kept with the data (they must open after a
    // restart), and a local receiver (http://127.0.0.1:...) is a fine target on one's own machine. Both
    // target settings stay the user's to override; on AWS private targets are refused unless allowed.
    process.env.CAIRN_WEBHOOK_SEALING_KEY = webhookSealingKey(dataDir);
    process.env.CAIRN_WEBHOOK_ALLOW_PRIVATE_TARGETS ??= 'true';
    process.env.CAIRN_WEBHOOK_ALLOWED_SCHEMES ??= 'https,http';
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
    const front = createFront({
      handlers,
      timeoutMs: options.timeoutMs,
      gate,
      allowedHosts: allowedHostnames(options.host, options.allowedHosts),
      presigned: createPresignedRoute({
        bucket: LOCAL_BUCKET_NAME,
        region: LOCAL_REGION,
        credentials: { accessKeyId: LOCAL_CREDENTIALS.accessKeyId, secretAccessKey: PRESIGN_SECRET },
        s3Socket: s3.socketPath,
      }),
    });
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
