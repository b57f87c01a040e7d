/** Global setup of the fidelity lane: one DynamoDB Local for the whole run; each test file makes its own table. */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from './dynamodb-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbLocalEndpoint: string;
  }
}

// The globalSetup runs in vitest's main process, outside the projects' env.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dynamo = await startDynamoDbLocal();
  project.provide('dynamodbLocalEndpoint', dynamo.endpoint);
  return async () => dynamo.stop();
}
