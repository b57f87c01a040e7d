import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHttpHandler, jsonResponse } from '../../../functions/middleware/http-handler.js';
import {
  createObservability,
  logLevelFor,
  metricsEnabledFor,
} from '../../../functions/middleware/observability.js';
import { routesForFunction } from '../../../shared/api/routes.js';
import { TRACKING_ROUTE_SPECS } from '../../../shared/api/routes-tracking.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('defaults outside and on Lambda', () => {
  it('logs at WARN and writes no EMF off Lambda unless told otherwise', () => {
    expect(logLevelFor({})).toBe('WARN');
    expect(logLevelFor({ AWS_LAMBDA_FUNCTION_NAME: 'f' })).toBe('INFO');
    expect(logLevelFor({ CAIRN_LOG_LEVEL: 'DEBUG', AWS_LAMBDA_FUNCTION_NAME: 'f' })).toBe('DEBUG');
    expect(logLevelFor({ POWERTOOLS_LOG_LEVEL: 'ERROR' })).toBe('ERROR');
    expect(metricsEnabledFor({})).toBe(false);
    expect(metricsEnabledFor({ AWS_LAMBDA_FUNCTION_NAME: 'f' })).toBe(true);
    expect(metricsEnabledFor({ AWS_LAMBDA_FUNCTION_NAME: 'f', POWERTOOLS_METRICS_DISABLED: 'true' })).toBe(
      false,
    );
    expect(metricsEnabledFor({ POWERTOOLS_METRICS_DISABLED: 'false' })).toBe(true);
  });
});

describe('the request line', () => {
  it("names the authorizer's principal and nothing else from the authorizer or the request", async () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const operations = Object.fromEntries(
      routesForFunction('tracking').map((route) => [route.operation, async () => jsonResponse({})]),
    );
    const handler = createHttpHandler(
      'tracking',
      TRACKING_ROUTE_SPECS,
      operations,
      createObservability('tracking', { env: {}, logLevel: 'INFO' }),
    );
    const event = {
      version: '2.0',
      routeKey: 'GET /health',
      rawPath: '/health',
      rawQueryString: 'token=query-secret',
      headers: { authorization: 'Bearer header-secret' },
      requestContext: {
        http: { method: 'GET', path: '/health' },
        requestId: 'req-1',
        authorizer: { lambda: { principal: 'alice', scope: 'edit', token: 'context-secret' } },
      },
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    expect((await handler(event, {} as Context)).statusCode).toBe(200);
    const line = JSON.parse(written.join('').trim()) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'request',
      service: 'cairn-tracking',
      requestId: 'req-1',
      route: 'GET /health',
      principal: 'alice',
      status: 200,
    });
    expect(written.join('')).not.toMatch(/secret|Bearer|edit/);
  });
});
