/**
 * Stands in for `aws-xray-sdk-core` in the Lambda bundles (an esbuild alias in
 * infra/constructs/bundling.ts), under the Powertools Tracer, which stays the API the functions use.
 *
 * Why: the SDK and what it pulls in (cls-hooked, shimmer, emitter-listener, atomic-batcher, its 10 KB
 * call whitelist, the centralized sampling poller, the SDK v2 and http patchers) cost ~84 KB of a
 * 400 KB budget; the artifacts function, the only one that calls S3, could not afford it and was not
 * traced. On Lambda the SDK does little: Lambda opens the invocation's segment itself and hands its
 * ids over in `_X_AMZN_TRACE_ID`; sampling is Lambda's decision (`Sampled=`); and each subsegment is
 * sent to the daemon on its own as soon as it closes. That is all this module does, in ~3 KB.
 *
 * What it implements is exactly what the Tracer (2.x, lib/esm/Tracer.js and provider/ProviderService.js)
 * reaches: getSegment/setSegment, Segment (the Lambda facade) and Subsegment, captureAWSv3Client,
 * captureAsyncFunc/captureFunc (the Tracer's decorators and middy middleware), setContextMissingStrategy,
 * setDaemonAddress and setLogger. Patching Node's http module (the Tracer's captureHTTPsRequests, which
 * Cairn turns off because it would trace every SDK call twice) and the SDK v2 patchers are not here and
 * fail loudly if called. The local server and the tests do not bundle, so they keep the real SDK, which
 * the Tracer keeps inert off Lambda anyway.
 *
 * Documents follow the X-Ray segment document format for independently sent subsegments (`type`,
 * `trace_id`, `parent_id`), sent over UDP to `AWS_XRAY_DAEMON_ADDRESS` (default 127.0.0.1:2000), each
 * datagram the daemon's JSON header line followed by one document.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

type LogFunction = (...args: unknown[]) => void;
type Logger = Partial<Record<'debug' | 'info' | 'warn' | 'error', LogFunction>>;
type ContextMissingStrategy = 'LOG_ERROR' | 'IGNORE_ERROR' | 'RUNTIME_ERROR' | ((message: string) => void);

/** Like the real SDK: errors go to the console until setLogger says otherwise. */
let logger: Logger = { error: (...args) => console.error(...args) };
let daemonAddress = '127.0.0.1:2000';
let contextMissingStrategy: ContextMissingStrategy | undefined;

const DAEMON_HEADER = '{"format": "json", "version": 1}\n';
const UNBUNDLED = ' is not bundled (infra/lambda/xray-lite.ts)';

const seconds = () => Date.now() / 1000;
const newId = () => randomBytes(8).toString('hex');

/**
 * The segment Lambda itself records for the invocation; functions only add subsegments under it. Its
 * ids come from `_X_AMZN_TRACE_ID`; it is never sent (Lambda sends its own).
 */
export class Segment {
  id: string;
  trace_id: string;
  /** Lambda did not sample this invocation: subsegments are made (callers use them) but not sent. */
  notTraced = false;
  /** The header had only a Root (Lambda's PassThrough mode): record nothing, propagate nothing. */
  noOp = false;
  readonly facade = true;

  constructor(
    readonly name: string,
    traceId = '',
    parentId = '00000000',
  ) {
    this.trace_id = traceId;
    this.id = parentId;
  }

  addNewSubsegment(name: string): Subsegment {
    return adopt(new Subsegment(name), this, this);
  }

  addNewSubsegmentWithoutSampling(name: string): Subsegment {
    const child = this.addNewSubsegment(name);
    child.notTraced = true;
    return child;
  }

  /** Lambda closes its own segment. */
  isClosed(): boolean {
    return true;
  }

  close(): void {}
}

/** What X-Ray shows under the function: one per SDK call, or per method the Tracer captures. */
export class Subsegment {
  id = newId();
  start_time = seconds();
  end_time?: number;
  in_progress?: boolean = true;
  /** Set by the parent that adds it; a Subsegment made on its own (the Tracer's dummy) goes nowhere. */
  parent?: Segment | Subsegment;
  segment?: Segment;
  notTraced = false;
  namespace?: 'aws' | 'remote';
  aws?: Record<string, unknown>;
  http?: { request?: Record<string, unknown>; response?: { status?: number; content_length?: number } };
  annotations?: Record<string, string | number | boolean>;
  metadata?: Record<string, Record<string, unknown>>;
  error?: boolean;
  fault?: boolean;
  throttle?: boolean;
  cause?: { working_directory: string; exceptions: CapturedException[] };

  constructor(readonly name: string) {}

  addNewSubsegment(name: string): Subsegment {
    return adopt(new Subsegment(name), this, this.segment);
  }

  addNewSubsegmentWithoutSampling(name: string): Subsegment {
    const child = this.addNewSubsegment(name);
    child.notTraced = true;
    return child;
  }

  addAttribute(name: string, data: unknown): void {
    (this as unknown as Record<string, unknown>)[name] = data;
  }

  addAnnotation(key: string, value: string | number | boolean): void {
    this.annotations = { ...this.annotations, [key]: value };
  }

  addMetadata(key: string, value: unknown, namespace = 'default'): void {
    this.metadata ??= {};
    this.metadata[namespace] = { ...this.metadata[namespace], [key]: value };
  }

  addErrorFlag(): void {
    this.error = true;
  }

  addFaultFlag(): void {
    this.fault = true;
  }

  addThrottleFlag(): void {
    this.throttle = true;
  }

  /** An exception thrown through the captured code: a fault, with its cause (as the real SDK does). */
  addError(error: unknown, remote = false): void {
    this.addFaultFlag();
    this.recordCause(error, remote);
  }

  recordCause(error: unknown, remote: boolean): void {
    const failure = (
      typeof error === 'object' && error !== null ? error : { message: String(error) }
    ) as Error;
    this.cause ??= { working_directory: process.cwd(), exceptions: [] };
    this.cause.exceptions.unshift({
      id: newId(),
      message: failure.message,
      type: failure.name,
      remote,
      stack: stackOf(failure.stack),
    });
  }

  isClosed(): boolean {
    return this.end_time !== undefined;
  }

  close(error?: unknown, remote?: boolean): void {
    if (this.isClosed()) return;
    this.end_time = seconds();
    delete this.in_progress;
    if (error) this.addError(error, remote);
    this.flush();
  }

  /** Sends the closed subsegment on its own; children already went when they closed. */
  flush(): void {
    if (!this.segment || this.segment.noOp || this.notTraced) return;
    send(this.format());
  }

  format(): string {
    return JSON.stringify({
      ...this.toJSON(),
      type: 'subsegment',
      trace_id: this.segment?.trace_id,
      parent_id: this.parent?.id,
    });
  }

  /** The links to parent and segment are ids in the document, not nested objects. */
  toJSON(): Record<string, unknown> {
    const { parent: _parent, segment: _segment, notTraced: _notTraced, ...fields } = this;
    return fields;
  }
}

interface CapturedException {
  id: string;
  message: string;
  type: string;
  remote: boolean;
  stack: { path: string; line: number; label: string }[];
}

function adopt(child: Subsegment, parent: Segment | Subsegment, segment: Segment | undefined): Subsegment {
  child.parent = parent;
  child.segment = segment;
  child.notTraced = parent.notTraced;
  return child;
}

/** `    at label (path:line:column)` lines, as X-Ray's stack entries; the first ten are enough to place it. */
function stackOf(stack: string | undefined): CapturedException['stack'] {
  const frames: CapturedException['stack'] = [];
  for (const line of (stack ?? '').split('\n').slice(1, 11)) {
    const match = /^\s*at (?:(.*?) \()?(.*?):(\d+)(?::\d+)?\)?$/.exec(line);
    if (match) frames.push({ label: match[1] || 'anonymous', path: match[2] ?? '', line: Number(match[3]) });
  }
  return frames;
}

/**
 * One UDP socket per address family for the whole process, unref'd so it never keeps the event loop
 * alive. A socket per document ran out of file descriptors: a multipart create presigns thousands of
 * part URLs at once, each recorded as a subsegment, and Lambda allows 1,024 open files (an unhandled
 * EMFILE then killed the process). UDP holds no connection, so the socket survives Lambda's freezes. A
 * socket that errors is dropped and the next send opens a new one; tracing never fails a request.
 */
const sockets = new Map<'udp4' | 'udp6', Socket>();

function socketFor(family: 'udp4' | 'udp6'): Socket {
  let socket = sockets.get(family);
  if (!socket) {
    const created = createSocket(family);
    created.unref();
    created.on('error', (error) => {
      logger.error?.('X-Ray: the daemon socket failed', error);
      sockets.delete(family);
      created.close();
    });
    sockets.set(family, created);
    socket = created;
  }
  return socket;
}

function send(document: string): void {
  // `host:port`, or `udp:host:port tcp:host:port` in either order; only the UDP address is used.
  const spec = process.env.AWS_XRAY_DAEMON_ADDRESS || daemonAddress;
  const udp = spec.split(' ').find((part) => !part.startsWith('tcp:')) ?? spec;
  const address = udp.replace(/^udp:/, '');
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  try {
    socketFor(host.includes(':') ? 'udp6' : 'udp4').send(
      DAEMON_HEADER + document,
      Number(address.slice(colon + 1)),
      host,
      (error) => {
        if (error) logger.error?.('X-Ray: failed to send a subsegment to the daemon', error);
      },
    );
  } catch (error) {
    logger.error?.('X-Ray: failed to send a subsegment to the daemon', error);
  }
}

/** The facade for the current `_X_AMZN_TRACE_ID`; a new one per header, so a late subsegment keeps its trace. */
let facade: { header: string; segment: Segment } | undefined;

function lambdaSegment(): Segment | undefined {
  const runtime = (
    globalThis as { awslambda?: { InvokeStore?: { getXRayTraceId?: () => string | undefined } } }
  ).awslambda;
  const header = runtime?.InvokeStore?.getXRayTraceId?.() ?? process.env._X_AMZN_TRACE_ID;
  if (!header) return undefined;
  if (facade?.header !== header) {
    const fields = new Map(header.split(';').map((part) => part.trim().split('=', 2) as [string, string]));
    const root = fields.get('Root');
    if (!root || !/^1-[0-9a-f]{8}-[0-9a-f]{24}$/.test(root)) return undefined;
    const segment = new Segment('facade', root, fields.get('Parent') ?? newId());
    segment.noOp = !fields.has('Parent') && !fields.has('Sampled');
    segment.notTraced = fields.get('Sampled') !== '1';
    facade = { header, segment };
  }
  return facade.segment;
}

/** The active subsegment (set by the Tracer's decorators and middleware), else the invocation's segment. */
const active = new AsyncLocalStorage<Segment | Subsegment>();

function contextMissing(message: string): void {
  const strategy = contextMissingStrategy ?? process.env.AWS_XRAY_CONTEXT_MISSING ?? 'LOG_ERROR';
  if (typeof strategy === 'function') strategy(message);
  else if (strategy === 'RUNTIME_ERROR') throw new Error(message);
  else if (strategy !== 'IGNORE_ERROR') logger.error?.(message);
}

export function getSegment(): Segment | Subsegment | undefined {
  const current = active.getStore();
  // A closed subsegment left active (a handler that threw before resetting it) must not adopt this
  // invocation's calls; the facade is re-read so each invocation gets its own trace id.
  if (current instanceof Subsegment && !current.isClosed()) return current;
  const segment = lambdaSegment();
  if (!segment) contextMissing('X-Ray: no _X_AMZN_TRACE_ID, so no segment to record under');
  return segment;
}

export function setSegment(segment: Segment | Subsegment): void {
  active.enterWith(segment);
}

export function captureAsyncFunc<T>(
  name: string,
  fcn: (subsegment?: Subsegment) => T,
  parent?: Segment | Subsegment,
): T {
  const under = parent ?? getSegment();
  if (!under) return fcn();
  const subsegment = under.addNewSubsegment(name);
  try {
    // The function closes the subsegment when its work ends (the Tracer does, in a finally).
    return active.run(subsegment, () => fcn(subsegment));
  } catch (error) {
    subsegment.close(error);
    throw error;
  }
}

export function captureFunc<T>(
  name: string,
  fcn: (subsegment?: Subsegment) => T,
  parent?: Segment | Subsegment,
): T {
  const under = parent ?? getSegment();
  if (!under) return fcn();
  const subsegment = under.addNewSubsegment(name);
  try {
    const result = active.run(subsegment, () => fcn(subsegment));
    subsegment.close();
    return result;
  } catch (error) {
    subsegment.close(error);
    throw error;
  }
}

/** Just the part of an SDK v3 client this module touches. */
interface SdkClient {
  config: { region?: string | (() => Promise<string>) };
  middlewareStack: {
    remove(name: string): boolean;
    // biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware types are generic over every client
    add(middleware: any, options: { step: 'build'; name: string }): void;
  };
}

interface SdkMetadata {
  httpStatusCode?: number;
  requestId?: string;
  extendedRequestId?: string;
  attempts?: number;
}

const MIDDLEWARE_NAME = 'XRaySDKInstrumentation';
const THROTTLED = /Throttl|TooManyRequests|SlowDown|RequestLimitExceeded|ProvisionedThroughputExceeded/;

/**
 * One subsegment per SDK call (all its retries), named after the service (`DynamoDB`, `S3`), in the
 * `aws` namespace, with the operation, region, request id, retries, table or bucket; and the trace
 * header on the request, so that the service joins the trace. At the build step, like the real SDK:
 * after serialization (there is a request to put the header on), around the retry loop.
 */
export function captureAWSv3Client<Client extends SdkClient>(client: Client): Client {
  client.middlewareStack.remove(MIDDLEWARE_NAME);
  client.middlewareStack.add(
    (
      next: (args: unknown) => Promise<{ output?: { $metadata?: SdkMetadata }; response?: unknown }>,
      context: { clientName?: string; commandName?: string },
    ) =>
      async (args: { input?: Record<string, unknown>; request?: { headers?: Record<string, string> } }) => {
        const service = (context.clientName ?? '').replace(/Client$/, '');
        const operation = (context.commandName ?? '').replace(/Command$/, '');
        const parent = getSegment();
        if (!parent) return next(args);
        const subsegment = parent.addNewSubsegment(service);
        subsegment.namespace = 'aws';
        const root = subsegment.segment;
        if (root && !root.noOp && args.request?.headers)
          args.request.headers['X-Amzn-Trace-Id'] =
            `Root=${root.trace_id};Parent=${subsegment.id};Sampled=${subsegment.notTraced ? 0 : 1}`;
        let result: Awaited<ReturnType<typeof next>> | undefined;
        let failure:
          | ({ name?: string; $metadata?: SdkMetadata; $retryable?: { throttling?: boolean } } & Error)
          | undefined;
        try {
          result = await next(args);
          return result;
        } catch (error) {
          failure = error as typeof failure;
          throw error;
        } finally {
          const region = client.config.region;
          const input = args.input ?? {};
          const metadata = result?.output?.$metadata ?? failure?.$metadata ?? {};
          const status = metadata.httpStatusCode;
          subsegment.aws = {
            operation,
            region: typeof region === 'function' ? await region().catch(() => undefined) : region,
            request_id: metadata.requestId,
            // $metadata counts attempts; X-Ray wants the retries after the first.
            retries: Math.max(0, (metadata.attempts ?? 1) - 1),
            ...(service === 'S3' && metadata.extendedRequestId ? { id_2: metadata.extendedRequestId } : {}),
            ...(typeof input.TableName === 'string' ? { table_name: input.TableName } : {}),
            ...(input.RequestItems ? { table_names: Object.keys(input.RequestItems) } : {}),
            ...(typeof input.Bucket === 'string' ? { bucket_name: input.Bucket } : {}),
            ...(typeof input.Key === 'string' ? { key: input.Key } : {}),
          };
          const headers = (result?.response as { headers?: Record<string, string> } | undefined)?.headers;
          const length = Number(headers?.['content-length']);
          if (status !== undefined)
            subsegment.http = {
              response: { status, ...(Number.isFinite(length) ? { content_length: length } : {}) },
            };
          // X-Ray's meaning of the flags: error for a 4xx (the caller's request), throttle for a 429 or
          // a throttling error, fault for a 5xx or a call that got no answer. The real SDK also sets
          // fault on every thrown error; a 404 from HeadObject is not S3's fault.
          if (failure) {
            if (status === 429 || failure.$retryable?.throttling || THROTTLED.test(failure.name ?? ''))
              subsegment.addThrottleFlag();
            subsegment.recordCause(failure, status !== undefined);
          }
          if (status !== undefined && status >= 400 && status < 500) subsegment.addErrorFlag();
          else if (failure || (status !== undefined && status >= 500)) subsegment.addFaultFlag();
          subsegment.close();
        }
      },
    { step: 'build', name: MIDDLEWARE_NAME },
  );
  return client;
}

export function setContextMissingStrategy(strategy: ContextMissingStrategy): void {
  contextMissingStrategy = strategy;
}

/** The AWS_XRAY_DAEMON_ADDRESS environment variable, which Lambda sets, takes precedence. */
export function setDaemonAddress(address: string): void {
  daemonAddress = address;
}

export function setLogger(replacement: Logger): void {
  logger = replacement;
}

const unbundled = (name: string) => (): never => {
  throw new Error(`${name}${UNBUNDLED}`);
};

/** Patching Node's http and https: would trace each SDK call twice (see functions/middleware/tracing.ts). */
export const captureHTTPsGlobal = unbundled('X-Ray capture of the http module');
/** AWS SDK v2 and cls-hooked namespaces: Cairn uses SDK v3 and AsyncLocalStorage. */
export const captureAWS = unbundled('X-Ray capture of the AWS SDK v2');
export const captureAWSClient = captureAWS;
export const getNamespace = unbundled('The cls-hooked namespace');

/** The Tracer imports the SDK's CommonJS default export and destructures it. */
export default {
  captureAWS,
  captureAWSClient,
  captureAWSv3Client,
  captureAsyncFunc,
  captureFunc,
  captureHTTPsGlobal,
  getNamespace,
  getSegment,
  setSegment,
  Segment,
  Subsegment,
  setContextMissingStrategy,
  setDaemonAddress,
  setLogger,
};
