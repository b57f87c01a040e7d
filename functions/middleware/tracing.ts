/**
 * X-Ray capture of the SDK clients with the Powertools Tracer: one subsegment per DynamoDB or S3 call
 * under the segment Lambda opens for the invocation. Inert wherever Lambda is not (the Tracer turns
 * itself off without AWS_EXECUTION_ENV, so the local server and the tests need no X-Ray daemon), and off
 * with POWERTOOLS_TRACE_ENABLED=false.
 *
 * In the Lambda bundles the Tracer runs over infra/lambda/xray-lite.ts instead of the X-Ray SDK (an
 * esbuild alias): the SDK and its dependencies cost ~85 KB minified, the stand-in ~5 KB, and the
 * artifacts function could not afford the former under the 400 KB budget (docs/benchmarks.md).
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { FunctionName } from '../../shared/api/routes.js';
import type { ClientCapture } from '../../shared/store/clients.js';

export function createClientTracer(fn: FunctionName, env: NodeJS.ProcessEnv = process.env): ClientCapture {
  const tracer = new Tracer({
    serviceName: env.POWERTOOLS_SERVICE_NAME || `cairn-${fn}`,
    // The SDK clients are captured one by one below; patching Node's http module as well would trace
    // every SDK call twice.
    captureHTTPsRequests: false,
  });
  return (client) => tracer.captureAWSv3Client(client);
}
