/**
 * The shared shape of every function: a middy handler that maps API Gateway's route key to one
 * operation, and turns whatever the operation throws into MLflow's error JSON in one place.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import {
  EndpointNotFoundError,
  type HttpResult,
  JSON_HEADERS,
  MlflowError,
  toErrorResponse,
} from '../../shared/api/errors.js';
import { type ApiRequest, toApiRequest } from '../../shared/api/request.js';
import {
  DEFAULT_ROUTE_KEY,
  type FunctionName,
  greedyRemainder,
  routeByKey,
  routesForFunction,
} from '../../shared/api/routes.js';
import { authorize } from './authorize.js';

export type Operation = (request: ApiRequest) => Promise<HttpResult>;
export type Operations = Record<string, Operation>;

export function jsonResponse(body: unknown, statusCode = 200): HttpResult {
  return { statusCode, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

export function textResponse(body: string, statusCode = 200): HttpResult {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body };
}

/** Logs what the client must not see. Internal failures keep their stack; MLflow errors only their code. */
function logFailure(event: APIGatewayProxyEventV2, error: unknown): void {
  const base = { route: event.routeKey, requestId: event.requestContext?.requestId };
  if (error instanceof MlflowError) {
    if (error.statusCode >= 500) {
      console.error(
        JSON.stringify({ level: 'ERROR', ...base, errorCode: error.errorCode, message: error.message }),
      );
    }
    return;
  }
  const detail =
    error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : { error };
  console.error(JSON.stringify({ level: 'ERROR', ...base, message: 'unhandled error', ...detail }));
}

/**
 * Builds a function's handler. Fails at module load when a route assigned to `fn` has no operation, so a
 * route table entry can never be deployed without its implementation.
 */
export function createHttpHandler(fn: FunctionName, operations: Operations) {
  const missing = routesForFunction(fn).filter((route) => !(route.operation in operations));
  if (missing.length > 0) {
    throw new Error(
      `Function ${fn} lacks operations for routes: ${missing.map((r) => r.routeKey).join(', ')}`,
    );
  }

  async function dispatch(event: APIGatewayProxyEventV2): Promise<HttpResult> {
    const route = routeByKey(event.routeKey);
    if (!route || route.fn !== fn || event.routeKey === DEFAULT_ROUTE_KEY) {
      throw new EndpointNotFoundError(event.requestContext.http.method, event.rawPath);
    }
    authorize(route, event);
    const operation = operations[route.operation] as Operation;
    // API Gateway fills the greedy parameter itself (rawPath also carries a stage or custom-domain
    // prefix where one is used); the path as sent is the fallback. Either form is canonicalized later.
    const greedyName = /\{([A-Za-z_]+)\+\}$/.exec(route.fullPath)?.[1];
    const greedyPath =
      (greedyName ? event.pathParameters?.[greedyName] : undefined) ?? greedyRemainder(route, event.rawPath);
    return operation(
      toApiRequest(event, {
        ...(route.rawBody ? { rawBody: true } : {}),
        ...(greedyPath === undefined ? {} : { greedyPath }),
      }),
    );
  }

  return middy<APIGatewayProxyEventV2, HttpResult, Error, Context>()
    .use({
      onError: async function mlflowErrorResponse(request) {
        logFailure(request.event, request.error);
        request.response = toErrorResponse(request.error);
      },
    })
    .handler(dispatch);
}
