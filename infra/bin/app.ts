/** The CDK app: the stateful data stack and the API stack that uses it. */
import { App } from 'aws-cdk-lib';
import { ApiStack } from '../stacks/api-stack.js';
import { DataStack } from '../stacks/data-stack.js';

/** A context value given as a list or as a comma-separated string (`cdk deploy -c cairn:corsOrigins=a,b`). */
function listContext(app: App, key: string): string[] {
  const value: unknown = app.node.tryGetContext(key);
  if (Array.isArray(value)) return value.map(String);
  return typeof value === 'string' && value !== '' ? value.split(',').map((item) => item.trim()) : [];
}

/** `''` or a prefix ending in '/', from context `cairn:artifactKeyPrefix`. */
function keyPrefixContext(app: App): string {
  const value = String(app.node.tryGetContext('cairn:artifactKeyPrefix') ?? '').replace(/^\/+|\/+$/g, '');
  return value === '' ? '' : `${value}/`;
}

export function buildApp(app: App = new App()) {
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const data = new DataStack(app, 'CairnData', {
    env,
    description: 'Cairn: table and artifact bucket',
    corsOrigins: listContext(app, 'cairn:corsOrigins'),
  });
  const api = new ApiStack(app, 'CairnApi', {
    env,
    table: data.table,
    artifactBucket: data.artifactBucket,
    artifactKeyPrefix: keyPrefixContext(app),
    description: 'Cairn: HTTP API and functions',
  });
  return { app, data, api };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildApp().app.synth();
}
