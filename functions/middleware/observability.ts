/**
 * Logs and metrics for every function, with Powertools: one structured JSON line per request and
 * CloudWatch metrics as embedded metric format (EMF) lines on stdout. X-Ray capture of the SDK clients is
 * in ./tracing.ts, kept apart so that a function that does not trace does not bundle the X-Ray SDK.
 *
 * What a request line holds is an allowlist: request id, route key, principal name, status, duration and
 * error code. Headers, query strings, bodies and responses are never logged: they carry tokens, the
 * Authorization header, presigned URLs and their signatures.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { HttpResult } from '../../shared/api/http.js';
import type { FunctionName } from '../../shared/api/routes.js';
import { MlflowError } from '../../shared/errors.js';

/** Metric names and namespace the dashboard reads; they are a contract, not a detail. */
export const METRICS = {
  namespace: 'Cairn',
  requests: 'Requests',
  errors: 'Errors',
  metricPointsIngested: 'MetricPointsIngested',
  urlsPresigned: 'UrlsPresigned',
} as const;

/** What operations report beyond the request itself. */
export interface Telemetry {
  metricPointsIngested(count: number): void;
  urlsPresigned(count: number): void;
}

export const NO_TELEMETRY: Telemetry = {
  metricPointsIngested: () => undefined,
  urlsPresigned: () => undefined,
};

type Middleware = MiddlewareObj<APIGatewayProxyEventV2, HttpResult, Error, Context>;

export interface Observability extends Telemetry {
  readonly logger: Logger;
  /** Whether EMF lines are written (on Lambda, or when POWERTOOLS_METRICS_DISABLED=false). */
  readonly metricsEnabled: boolean;
  /** Logs and counts each request; register it before the middleware that turns errors into responses. */
  readonly middleware: Middleware;
}

function onLambda(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.AWS_LAMBDA_FUNCTION_NAME);
}

/**
 * INFO on Lambda, where the per-request line is the point. Elsewhere (`npm start`, tests) WARN: the stock
 * client makes dozens of requests per run and answers like RESOURCE_DOES_NOT_EXIST are part of its normal
 * flow, so only 5xx lines (logged at ERROR) reach a local console. CAIRN_LOG_LEVEL or
 * POWERTOOLS_LOG_LEVEL choose otherwise.
 */
export function logLevelFor(env: NodeJS.ProcessEnv): LogLevel {
  return (env.CAIRN_LOG_LEVEL || env.POWERTOOLS_LOG_LEVEL || (onLambda(env) ? 'INFO' : 'WARN')) as LogLevel;
}

/**
 * EMF lines only become metrics where CloudWatch Logs reads stdout; anywhere else they would print three
 * JSON lines per request. POWERTOOLS_METRICS_DISABLED, when set, decides either way.
 */
export function metricsEnabledFor(env: NodeJS.ProcessEnv): boolean {
  const setting = env.POWERTOOLS_METRICS_DISABLED?.toLowerCase();
  if (setting === 'true' || setting === '1') return false;
  if (setting === 'false' || setting === '0') return true;
  return onLambda(env);
}

/** The principal the authorizer resolved (its name only), when there is one. */
function principalOf(event: APIGatewayProxyEventV2): string | undefined {
  const context = event.requestContext as { authorizer?: { lambda?: { principal?: unknown } } };
  const principal = context.authorizer?.lambda?.principal;
  return typeof principal === 'string' ? principal : undefined;
}

export interface ObservabilityOptions {
  env?: NodeJS.ProcessEnv;
  /** Replaces the Logger's own defaults (tests pass a level to see every line). */
  logLevel?: LogLevel;
}

export function createObservability(fn: FunctionName, options: ObservabilityOptions = {}): Observability {
  const env = options.env ?? process.env;
  const serviceName = env.POWERTOOLS_SERVICE_NAME || `cairn-${fn}`;
  const logger = new Logger({ serviceName, logLevel: options.logLevel ?? logLevelFor(env) });
  const metrics = new Metrics({
    serviceName,
    namespace: env.POWERTOOLS_METRICS_NAMESPACE || METRICS.namespace,
  });
  // Each metric carries exactly the dimensions the dashboard queries; Powertools' default `service`
  // dimension would make every series a different one from what the dashboard asks CloudWatch for.
  metrics.clearDefaultDimensions();
  const metricsEnabled = metricsEnabledFor(env);

  const single = (dimensions: Record<string, string>, name: string) => {
    const metric = metrics.singleMetric();
    metric.clearDefaultDimensions();
    metric.addDimensions(dimensions);
    metric.addMetric(name, MetricUnit.Count, 1);
  };

  const started = new WeakMap<object, number>();

  const finish = (
    request: { event: APIGatewayProxyEventV2; response?: HttpResult | null },
    failure?: unknown,
  ) => {
    const { event } = request;
    const route = event.routeKey;
    const status = request.response?.statusCode ?? 500;
    const errorCode =
      failure === undefined
        ? undefined
        : failure instanceof MlflowError
          ? failure.errorCode
          : 'INTERNAL_ERROR';
    const begun = started.get(request);
    const principal = principalOf(event);
    const line = {
      requestId: event.requestContext?.requestId,
      route,
      ...(principal === undefined ? {} : { principal }),
      status,
      durationMs: begun === undefined ? undefined : Math.round((performance.now() - begun) * 100) / 100,
      ...(errorCode === undefined ? {} : { errorCode }),
    };
    if (status >= 500) {
      // Internal failures keep their stack (the client only ever sees INTERNAL_ERROR); an MlflowError's
      // message is what the client was told, so the code is enough.
      const detail = failure instanceof MlflowError || failure === undefined ? {} : { error: failure };
      logger.error('request', { ...line, ...detail });
    } else {
      logger.info('request', line);
    }
    if (!metricsEnabled) return;
    single({ route }, METRICS.requests);
    if (errorCode !== undefined) single({ route, errorCode }, METRICS.errors);
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };

  return {
    logger,
    metricsEnabled,
    metricPointsIngested(count) {
      if (metricsEnabled && count > 0)
        metrics.addMetric(METRICS.metricPointsIngested, MetricUnit.Count, count);
    },
    urlsPresigned(count) {
      if (metricsEnabled && count > 0) metrics.addMetric(METRICS.urlsPresigned, MetricUnit.Count, count);
    },
    middleware: {
      before: async (request) => {
        started.set(request, performance.now());
      },
      after: async (request) => {
        finish(request);
      },
      onError: async (request) => {
        finish(request, request.error);
      },
    },
  };
}
