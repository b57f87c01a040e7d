/** The CDK app: the stateful data stack and the API stack that uses it, configured by `cairn:*` context. */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { readSettings } from '../settings.js';
import { ApiStack } from '../stacks/api-stack.js';
import { DataStack } from '../stacks/data-stack.js';

/**
 * Feature flags the stacks rely on, set here rather than only in cdk.json so that every `App` (the tests'
 * included) builds the same template. S3 server access logs are then delivered under a bucket policy for
 * the logging service instead of the legacy log-delivery ACL, which an ACL-less bucket cannot have.
 */
const FEATURE_FLAGS = { '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true };

export function buildApp(app: App = new App()) {
  for (const [flag, value] of Object.entries(FEATURE_FLAGS)) {
    if (app.node.tryGetContext(flag) === undefined) app.node.setContext(flag, value);
  }
  const settings = readSettings((key) => app.node.tryGetContext(key));
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const data = new DataStack(app, 'CairnData', {
    env,
    description: 'Cairn: table and artifact bucket',
    corsOrigins: settings.corsOrigins,
    retainData: settings.retainData,
    noncurrentVersionDays: settings.noncurrentVersionDays,
    accessLogDays: settings.logRetentionDays,
    maxReadRequestUnits: settings.tableMaxReadRequestUnits,
    maxWriteRequestUnits: settings.tableMaxWriteRequestUnits,
    presignExpiresSeconds: settings.presignExpiresSeconds,
    traceRetentionDays: settings.traceRetentionDays,
    artifactKeyPrefix: settings.artifactKeyPrefix,
  });
  const api = new ApiStack(app, 'CairnApi', {
    env,
    description: 'Cairn: HTTP API and functions',
    table: data.table,
    artifactBucket: data.artifactBucket,
    artifactKeyPrefix: settings.artifactKeyPrefix,
    stageName: settings.stageName,
    throttleRateLimit: settings.throttleRateLimit,
    throttleBurstLimit: settings.throttleBurstLimit,
    authorizerCacheSeconds: settings.authorizerCacheSeconds,
    presignExpiresSeconds: settings.presignExpiresSeconds,
    logRetentionDays: settings.logRetentionDays,
    alarmEmail: settings.alarmEmail,
    dashboard: settings.dashboard,
    alarms: settings.alarms,
    traceRetentionDays: settings.traceRetentionDays,
    purgeDeletedAfterDays: settings.purgeDeletedAfterDays,
    webhookAllowPrivateTargets: settings.webhookAllowPrivateTargets,
    retainData: settings.retainData,
    reservedConcurrency: {
      tracking: settings.trackingConcurrency,
      artifacts: settings.artifactsConcurrency,
      registry: settings.registryConcurrency,
      authorizer: settings.authorizerConcurrency,
      ui: settings.uiConcurrency,
      traces: settings.tracesConcurrency,
    },
  });
  return { app, data, api, settings };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { app } = buildApp();
  // `cdk synth` and `cdk deploy` stop on any cdk-nag finding not acknowledged in the code with its reason.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  app.synth();
}
