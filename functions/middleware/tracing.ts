/**
 * X-Ray capture of the SDK clients with the Powertools Tracer: one subsegment per DynamoDB or S3 call
 * under the segment Lambda opens for the invocation. Inert wherever Lambda is not (the Tracer turns
 * itself off without AWS_EXECUTION_ENV, so the local server and the tests need no X-Ray daemon), and off
 * with POWERTOOLS_TRACE_ENABLED=false.
 *
 * The Lambda bundles carry the real X-Ray SDK under the Tracer; what it costs at cold start is in
 * docs/benchmarks.md (2026-12-06).
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { FunctionName } from '../../shared/api/routes.js';
import type { ClientCapture } from '../../shared/store/clients.js';

export function createClientTracer(
  fn: FunctionName | 'webhooks',
  env: NodeJS.ProcessEnv = process.env,
): ClientCapture {
  const tracer = new Tracer({
    serviceName: env.POWERTOOLS_SERVICE_NAME || `cairn-${fn}`,
    // The SDK clients are captured one by one below; patching Node's http module as well would trace
    // every SDK call twice.
    captureHTTPsRequests: false,
  });
  return (client) => tracer.captureAWSv3Client(client);
}
