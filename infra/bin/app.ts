/** The CDK app: the stateful data stack and the API stack that uses it. */
import { App } from 'aws-cdk-lib';
import { ApiStack } from '../stacks/api-stack.js';
import { DataStack } from '../stacks/data-stack.js';

export function buildApp(app: App = new App()) {
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const data = new DataStack(app, 'CairnData', { env, description: 'Cairn: table and artifact bucket' });
  const api = new ApiStack(app, 'CairnApi', {
    env,
    table: data.table,
    artifactBucket: data.artifactBucket,
    description: 'Cairn: HTTP API and functions',
  });
  return { app, data, api };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildApp().app.synth();
}
