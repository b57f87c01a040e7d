/** Assertions on the synthesized templates (bundling runs esbuild locally; no Docker, no AWS). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, NagPack, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/bin/app.js';
import { ALARM_THRESHOLDS } from '../../infra/constructs/observability.js';
import { CONTEXT_KEYS, DEFAULT_SETTINGS } from '../../infra/settings.js';
import { GATEWAY_OPEN_ROUTES } from '../../infra/stacks/api-stack.js';
import { ROUTES } from '../../shared/api/routes.js';
import { ARTIFACT_LIMITS, longestPresignSeconds } from '../../shared/domain/artifacts/service.js';
import { TABLE_KEYS, TIME_TO_LIVE_ATTRIBUTE } from '../../shared/store/keys.js';
import { withoutBundlingProgress } from '../helpers/output.js';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const GSIS = TABLE_KEYS.indexes.map((index) => index.name);

let data: Template;
let api: Template;
let assemblyDir: string;
/** Unacknowledged cdk-nag findings, as `RuleId[finding] at construct path`. */
let nagFindings: string[];
/** Every acknowledgement in the app: the construct it is on, its rule id and reason. */
let acknowledgements: { path: string; id: string; reason: string }[];
/** Acknowledgements cdk-nag consulted and honoured: the finding's resource path and rule id. */
const honoured: { path: string; id: string }[] = [];

beforeAll(() => {
  const app = new App();
  const built = withoutBundlingProgress(() => buildApp(app));
  data = Template.fromStack(built.data);
  api = Template.fromStack(built.api);
  assemblyDir = app.outdir;

  // Record which acknowledgements suppress a real finding, so that a stale one (the finding was fixed or
  // renamed) fails the test instead of silently widening what is acknowledged.
  const pack = NagPack.prototype as unknown as { isAcknowledged(node: IConstruct, id: string): boolean };
  const isAcknowledged = pack.isAcknowledged;
  pack.isAcknowledged = function (this: NagPack, node: IConstruct, id: string) {
    const result = isAcknowledged.call(this, node, id);
    if (result) honoured.push({ path: node.node.path, id });
    return result;
  };
  try {
    // After synthesis, as `cdk synth` runs them: cross-stack references are imports by then.
    nagFindings = [new AwsSolutionsChecks(app), new ServerlessChecks(app)].flatMap((nag) =>
      nag
        .validateScope(app)
        .violations.flatMap((violation) =>
          violation.violatingResources.map(
            (resource) => `${violation.ruleName} at ${resource.constructPath}`,
          ),
        ),
    );
  } finally {
    pack.isAcknowledged = isAcknowledged;
  }
  acknowledgements = app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
});

/** Builds the app with context values, without bundling (the templates are what these tests read). */
function withContext(context: Record<string, unknown>) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const built = buildApp(app);
  return { data: Template.fromStack(built.data), api: Template.fromStack(built.api) };
}

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

function resources(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type)) as [string, Resource][];
}

function only(template: Template, type: string, idPrefix: string): [string, Resource] {
  const found = resources(template, type).filter(([id]) => id.startsWith(idPrefix));
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0] as [string, Resource];
}

/**
 * A CloudFormation value as readable text: the data stack's exports by what they export (`Table.Arn`,
 * `ArtifactBucket.Arn`), other references as `<LogicalId.Attribute>`.
 */
function render(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(render);
  const node = value as Record<string, unknown>;
  if ('Fn::Join' in node) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(separator);
  }
  if ('Fn::ImportValue' in node) {
    const name = dataExports()[node['Fn::ImportValue'] as string];
    if (!name) throw new Error(`Unknown import ${String(node['Fn::ImportValue'])}`);
    return name;
  }
  if ('Fn::GetAtt' in node) return `<${(node['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Ref' in node) return `<${String(node.Ref)}>`;
  return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, render(item)]));
}

function dataExports(): Record<string, string> {
  const [table] = only(data, 'AWS::DynamoDB::GlobalTable', 'Table');
  const [bucket] = only(data, 'AWS::S3::Bucket', 'Artifacts');
  const friendly: Record<string, string> = { [table]: 'Table', [bucket]: 'ArtifactBucket' };
  const outputs = (
    data.toJSON() as { Outputs?: Record<string, { Value: unknown; Export?: { Name: string } }> }
  ).Outputs;
  return Object.fromEntries(
    Object.values(outputs ?? {})
      .filter((output) => output.Export)
      .map((output) => {
        const value = output.Value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
        const [id, attribute] = value.Ref ? [value.Ref, 'Name'] : (value['Fn::GetAtt'] as [string, string]);
        return [output.Export?.Name as string, `${friendly[id] ?? id}.${attribute}`];
      }),
  );
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** A function's policy statements with their resources rendered. */
function statementsOf(area: 'Tracking' | 'Artifacts' | 'Registry' | 'Traces' | 'Authorizer') {
  const [, policy] = only(api, 'AWS::IAM::Policy', `${area}Role`);
  const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
  return statements.map((statement) => ({
    Effect: statement.Effect,
    Action: [statement.Action].flat(),
    Resource: render(statement.Resource),
    ...(statement.Condition ? { Condition: statement.Condition } : {}),
  }));
}

function logGroupOf(area: string): string {
  const [, fn] = only(api, 'AWS::Lambda::Function', `${area}Function`);
  return `<${(fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref}.Arn>`;
}

/** The statements every function has: its own log group, and X-Ray (which has no resource-level ARNs). */
function baseStatements(area: string) {
  return [
    { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: logGroupOf(area) },
    { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
  ];
}

const TOKENS_DENIED = { 'ForAnyValue:StringEquals': { 'dynamodb:LeadingKeys': ['TOKENS'] } };

describe('data stack', () => {
  it('has one on-demand table with the keys and indexes of the keys module, PITR on, retained and protected', () => {
    data.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    data.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: TABLE_KEYS.indexes.map((index) =>
          Match.objectLike({
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' },
              { AttributeName: index.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          }),
        ),
        Replicas: [
          Match.objectLike({
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
            DeletionProtectionEnabled: true,
          }),
        ],
      }),
    });
  });

  it('has a private, encrypted, TLS-only, versioned artifact bucket that logs access and expires old versions', () => {
    const [logBucketId] = only(data, 'AWS::S3::Bucket', 'AccessLogs');
    data.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: { DestinationBucketName: { Ref: logBucketId }, LogFilePrefix: 'artifacts/' },
        LifecycleConfiguration: {
          Rules: [
            {
              Id: 'abort-incomplete-multipart',
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
              Status: 'Enabled',
            },
            {
              Id: 'expire-trace-spans',
              Prefix: 'traces/',
              ExpirationInDays: DEFAULT_SETTINGS.traceRetentionDays + 1,
              Status: 'Enabled',
            },
            {
              Id: 'expire-noncurrent-versions',
              NoncurrentVersionExpiration: { NoncurrentDays: DEFAULT_SETTINGS.noncurrentVersionDays },
              ExpiredObjectDeleteMarker: true,
              Status: 'Enabled',
            },
          ],
        },
      }),
    });
  });

  it('keeps access logs in a retained, private, TLS-only bucket that expires them', () => {
    const [logBucketId, logBucket] = only(data, 'AWS::S3::Bucket', 'AccessLogs');
    expect(logBucket.DeletionPolicy).toBe('Retain');
    expect(logBucket.Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: {
        Rules: [{ ExpirationInDays: DEFAULT_SETTINGS.logRetentionDays, Status: 'Enabled' }],
      },
    });
    // Every bucket refuses plain HTTP; the log bucket lets S3's logging service write, and only that.
    for (const [bucketId] of resources(data, 'AWS::S3::Bucket')) {
      data.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucketId },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
    data.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logBucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
          }),
        ]),
      },
    });
  });
});

describe('api stack: authentication', () => {
  it('runs the token authorizer before every route but the open ones, $default included', () => {
    const [authorizerId] = only(api, 'AWS::ApiGatewayV2::Authorizer', 'Api');
    const routes = resources(api, 'AWS::ApiGatewayV2::Route').map(([, route]) => route.Properties);
    expect(routes.map((route) => route.RouteKey).sort()).toEqual(
      [...ROUTES.map((route) => route.routeKey), '$default'].sort(),
    );
    for (const route of routes) {
      if (GATEWAY_OPEN_ROUTES.has(route.RouteKey as string)) {
        expect(route, String(route.RouteKey)).toMatchObject({ AuthorizationType: 'NONE' });
        expect(route.AuthorizerId).toBeUndefined();
      } else {
        expect(route, String(route.RouteKey)).toMatchObject({
          AuthorizationType: 'CUSTOM',
          AuthorizerId: { Ref: authorizerId },
        });
      }
    }
    // The health probe and the web UI's page and assets: nothing else, and each with its reason.
    expect([...GATEWAY_OPEN_ROUTES].sort()).toEqual(['GET /', 'GET /assets/{file}', 'GET /health']);
    const reasons = acknowledgements.filter((ack) => ack.id === 'AwsSolutions-APIG4');
    expect(reasons).toHaveLength(GATEWAY_OPEN_ROUTES.size);
    expect(reasons.filter((ack) => /web UI/.test(ack.reason))).toHaveLength(2);
    // The UI's own API route is not among them: whoami needs a token like the rest of the API.
    expect(GATEWAY_OPEN_ROUTES.has('GET /api/2.0/cairn/auth/whoami')).toBe(false);
  });

  it('opens at the gateway only routes the route table calls public', () => {
    for (const key of GATEWAY_OPEN_ROUTES) {
      expect(ROUTES.find((route) => route.routeKey === key)?.permission, key).toBe('public');
    }
  });

  it('uses a simple-response authorizer on the Authorization header, cached five minutes', () => {
    const [, fnResource] = only(api, 'AWS::Lambda::Function', 'AuthorizerFunction');
    expect(fnResource.Properties.Environment).toMatchObject({
      Variables: { CAIRN_TABLE_NAME: expect.anything(), POWERTOOLS_SERVICE_NAME: 'cairn-authorizer' },
    });
    const [fnId] = only(api, 'AWS::Lambda::Function', 'AuthorizerFunction');
    const [, authorizer] = only(api, 'AWS::ApiGatewayV2::Authorizer', 'Api');
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 300,
    });
    expect(render(authorizer.Properties.AuthorizerUri)).toContain(`<${fnId}.Arn>/invocations`);
  });

  it('takes the authorizer cache lifetime from context, and 0 turns caching off', () => {
    for (const seconds of [0, 60]) {
      withContext({ 'cairn:authorizerCacheSeconds': String(seconds) }).api.hasResourceProperties(
        'AWS::ApiGatewayV2::Authorizer',
        { AuthorizerResultTtlInSeconds: seconds },
      );
    }
  });
});

describe('api stack: least privilege', () => {
  it('gives the tracking function exactly its table commands and index queries, never token items', () => {
    const commands = [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
      'dynamodb:BatchGetItem',
      'dynamodb:BatchWriteItem',
    ];
    expect(statementsOf('Tracking')).toEqual([
      ...baseStatements('Tracking'),
      { Effect: 'Allow', Action: commands, Resource: 'Table.Arn' },
      {
        Effect: 'Allow',
        Action: ['dynamodb:Query'],
        Resource: GSIS.map((index) => `Table.Arn/index/${index}`),
      },
      { Effect: 'Deny', Action: commands, Resource: 'Table.Arn', Condition: TOKENS_DENIED },
    ]);
  });

  it('gives the registry function exactly its single-item commands, run reads and index queries, never token items', () => {
    const commands = [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
    ];
    expect(statementsOf('Registry')).toEqual([
      ...baseStatements('Registry'),
      { Effect: 'Allow', Action: commands, Resource: 'Table.Arn' },
      {
        Effect: 'Allow',
        Action: ['dynamodb:Query'],
        Resource: GSIS.map((index) => `Table.Arn/index/${index}`),
      },
      { Effect: 'Deny', Action: commands, Resource: 'Table.Arn', Condition: TOKENS_DENIED },
      // The promotion audit lists a version's files: a listing under the prefix, never an object.
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: 'ArtifactBucket.Arn',
        Condition: { StringLike: { 's3:prefix': ['*'] } },
      },
      // Webhooks (test/infra/webhooks.test.ts): seal and open secrets, queue deliveries, publish events.
      {
        Effect: 'Allow',
        Action: ['kms:Encrypt', 'kms:Decrypt'],
        Resource: expect.stringMatching(/^<WebhooksSecretsKey[0-9A-F]{8}\.Arn>$/),
        Condition: expect.anything(),
      },
      {
        Effect: 'Allow',
        Action: ['sqs:SendMessage'],
        Resource: expect.stringMatching(/^<WebhooksDeliveries[0-9A-F]{8}\.Arn>$/),
      },
      {
        Effect: 'Allow',
        Action: ['events:PutEvents'],
        Resource: expect.stringMatching(/:event-bus\/default$/),
        Condition: { StringEquals: { 'events:source': ['cairn.registry'] } },
      },
    ]);
  });

  it('lets the artifacts function read runs and touch only objects under the artifact prefix', () => {
    const reads = ['dynamodb:BatchGetItem', 'dynamodb:Query'];
    expect(statementsOf('Artifacts')).toEqual([
      ...baseStatements('Artifacts'),
      { Effect: 'Allow', Action: reads, Resource: 'Table.Arn' },
      { Effect: 'Deny', Action: reads, Resource: 'Table.Arn', Condition: TOKENS_DENIED },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        Resource: 'ArtifactBucket.Arn/*',
      },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: 'ArtifactBucket.Arn',
        Condition: { StringLike: { 's3:prefix': ['*'] } },
      },
    ]);
  });

  it('scopes the bucket grants to the artifact key prefix from context', () => {
    const { api: prefixed } = withContext({ 'cairn:artifactKeyPrefix': '/team-a/' });
    const [, policy] = only(prefixed, 'AWS::IAM::Policy', 'ArtifactsRole');
    const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    const s3 = statements.filter((statement) => [statement.Action].flat().some((a) => a.startsWith('s3:')));
    expect(s3.map((statement) => JSON.stringify(statement.Resource))).toEqual([
      expect.stringContaining('"/team-a/*"'),
      expect.not.stringContaining('team-a'),
    ]);
    expect(s3[1]?.Condition).toEqual({ StringLike: { 's3:prefix': ['team-a/*'] } });
    prefixed.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CAIRN_ARTIFACT_KEY_PREFIX: 'team-a/' }) },
    });
  });

  it('lets the traces function write trace items and touch only span objects under traces/, never token items', () => {
    const commands = [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
      'dynamodb:BatchGetItem',
    ];
    expect(statementsOf('Traces')).toEqual([
      ...baseStatements('Traces'),
      { Effect: 'Allow', Action: commands, Resource: 'Table.Arn' },
      {
        Effect: 'Allow',
        Action: ['dynamodb:Query'],
        Resource: GSIS.map((index) => `Table.Arn/index/${index}`),
      },
      { Effect: 'Deny', Action: commands, Resource: 'Table.Arn', Condition: TOKENS_DENIED },
      // No multipart and no presigning: run artifacts stay out of its reach.
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        Resource: 'ArtifactBucket.Arn/traces/*',
      },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: 'ArtifactBucket.Arn',
        Condition: { StringLike: { 's3:prefix': ['traces/*'] } },
      },
    ]);
    api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CAIRN_TRACE_RETENTION_DAYS: String(DEFAULT_SETTINGS.traceRetentionDays),
        }),
      },
    });
  });

  it('expires traces after the retention from context: table TTL on items, a lifecycle rule on span objects', () => {
    data.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TimeToLiveSpecification: { AttributeName: TIME_TO_LIVE_ATTRIBUTE, Enabled: true },
    });
    const { data: custom, api: customApi } = withContext({
      'cairn:traceRetentionDays': '7',
      'cairn:artifactKeyPrefix': 'team-a/',
    });
    custom.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          { Id: 'expire-trace-spans', Prefix: 'team-a/traces/', ExpirationInDays: 8, Status: 'Enabled' },
        ]),
      },
    });
    customApi.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CAIRN_TRACE_RETENTION_DAYS: '7' }) },
    });
    expect(() => withContext({ 'cairn:traceRetentionDays': 0 })).toThrow(/cairn:traceRetentionDays/);
  });

  it('lets the authorizer get and update token items only', () => {
    expect(statementsOf('Authorizer')).toEqual([
      ...baseStatements('Authorizer'),
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: 'Table.Arn',
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['TOKENS'] } },
      },
    ]);
  });

  it('gives each function its own Lambda-only role, no managed policy and no wildcard action', () => {
    // The purge schedule's role is EventBridge Scheduler's (test/infra/purge.test.ts).
    const roles = resources(api, 'AWS::IAM::Role').filter(([id]) => !id.startsWith('PurgeScheduleRole'));
    expect(roles.map(([id]) => id.replace(/Role[0-9A-F]{8}$/, '')).sort()).toEqual([
      'Artifacts',
      'Authorizer',
      'Purge',
      'Registry',
      'Traces',
      'Tracking',
      'Ui',
      'WebhooksDelivery',
    ]);
    for (const [, role] of roles) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.Policies).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument).toEqual({
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ],
        Version: '2012-10-17',
      });
    }
    for (const stack of [api, data]) {
      const actions = resources(stack, 'AWS::IAM::Policy').flatMap(([, policy]) =>
        (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement.flatMap((s) =>
          [s.Action].flat(),
        ),
      );
      expect(actions.filter((action) => action.includes('*'))).toEqual([]);
    }
  });

  it('binds each function to its own table, log group and Powertools names', () => {
    for (const area of ['tracking', 'artifacts', 'registry', 'authorizer']) {
      const name = area.charAt(0).toUpperCase() + area.slice(1);
      const [, fn] = only(api, 'AWS::Lambda::Function', `${name}Function`);
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Timeout: 29,
        TracingConfig: { Mode: 'Active' },
        Environment: {
          Variables: {
            CAIRN_TABLE_NAME: expect.anything(),
            POWERTOOLS_SERVICE_NAME: `cairn-${area}`,
            POWERTOOLS_METRICS_NAMESPACE: 'Cairn',
          },
        },
      });
      expect(render(fn.Properties.Role)).toMatch(new RegExp(`^<${name}Role[0-9A-F]{8}\\.Arn>$`));
      expect(
        render(
          (fn.Properties.Environment as { Variables: { CAIRN_TABLE_NAME: unknown } }).Variables
            .CAIRN_TABLE_NAME,
        ),
      ).toBe('Table.Name');
    }
    const [, artifacts] = only(api, 'AWS::Lambda::Function', 'ArtifactsFunction');
    expect(artifacts.Properties.Environment).toMatchObject({
      Variables: { CAIRN_ARTIFACT_BUCKET: expect.anything(), CAIRN_PRESIGN_EXPIRES_SECONDS: '300' },
    });
    const [, tracking] = only(api, 'AWS::Lambda::Function', 'TrackingFunction');
    expect(JSON.stringify(tracking.Properties.Environment)).not.toContain('CAIRN_ARTIFACT_BUCKET');
  });
});

describe('api stack: traffic and logs', () => {
  it('serves the $default stage with default route throttling and JSON access logs', () => {
    const [, stage] = only(api, 'AWS::ApiGatewayV2::Stage', 'Stage');
    const [accessLogsId] = only(api, 'AWS::Logs::LogGroup', 'AccessLogs');
    expect(stage.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [accessLogsId, 'Arn'] } },
    });
    const format = (stage.Properties.AccessLogSettings as { Format: string }).Format;
    const fields = JSON.parse(format) as Record<string, string>;
    expect(fields).toMatchObject({
      requestId: '$context.requestId',
      route: '$context.routeKey',
      status: '$context.status',
      latencyMs: '$context.responseLatency',
      integrationError: '$context.integrationErrorMessage',
      principal: '$context.authorizer.principal',
    });
    // The token itself never reaches a log.
    expect(format.toLowerCase()).not.toContain('authorization');
    expect(format).not.toContain('$request.header');
  });

  it('keeps every log group for the configured retention, each function writing to its own', () => {
    const groups = resources(api, 'AWS::Logs::LogGroup');
    expect(groups).toHaveLength(9);
    for (const [, group] of groups)
      expect(group.Properties.RetentionInDays).toBe(DEFAULT_SETTINGS.logRetentionDays);
    const used = resources(api, 'AWS::Lambda::Function').map(([, fn]) => fn.Properties.LoggingConfig);
    expect(new Set(used.map((config) => JSON.stringify(config))).size).toBe(8);
  });

  it('takes stage, throttling, retention and presign expiry from context', () => {
    const { api: custom, data: customData } = withContext({
      'cairn:stageName': 'prod',
      'cairn:throttleRateLimit': 50,
      'cairn:throttleBurstLimit': '80',
      'cairn:logRetentionDays': '90',
      'cairn:presignExpiresSeconds': '900',
      'cairn:noncurrentVersionDays': 7,
    });
    custom.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'prod',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 80 },
    });
    for (const [, group] of resources(custom, 'AWS::Logs::LogGroup'))
      expect(group.Properties.RetentionInDays).toBe(90);
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CAIRN_PRESIGN_EXPIRES_SECONDS: '900' }) },
    });
    customData.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 90 })]) },
    });
    customData.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 7 } })]),
      },
    });
    const uri = custom.toJSON().Outputs.TrackingUri.Value;
    expect(render(uri)).toMatch(/^<Api[0-9A-F]{8}\.ApiEndpoint>\/prod$/);
    // The UI under the stage path, with the slash its relative asset links resolve against.
    expect(render(custom.toJSON().Outputs.UiUrl.Value)).toMatch(/^<Api[0-9A-F]{8}\.ApiEndpoint>\/prod\/$/);
  });

  it('outputs the tracking URI, the web UI URL and the table name the token CLI needs', () => {
    const outputs = api.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(render(outputs.TrackingUri?.Value)).toMatch(/^<Api[0-9A-F]{8}\.ApiEndpoint>$/);
    expect(render(outputs.UiUrl?.Value)).toMatch(/^<Api[0-9A-F]{8}\.ApiEndpoint>\/$/);
    expect(render(outputs.CairnTableName?.Value)).toBe('Table.Name');
    expect(outputs.AlarmTopicArn).toBeDefined();
  });

  it("tells the ui function the bucket's origin, which the page's CSP allows for artifact previews", () => {
    const [, ui] = only(api, 'AWS::Lambda::Function', 'Ui');
    const environment = ui.Properties.Environment as { Variables: Record<string, unknown> };
    const origin = render(environment.Variables.CAIRN_ARTIFACT_ORIGIN);
    expect(origin).toMatch(/^https:\/\/ArtifactBucket\.Name\.s3\.<AWS::Region>\.<AWS::URLSuffix>$/);
  });
});

describe('api stack: alarms and dashboard', () => {
  const metricOf = (alarm: Record<string, unknown>) =>
    `${alarm.Namespace}/${alarm.MetricName} ${JSON.stringify(render(alarm.Dimensions))}`;

  const alarmsOf = (stack: typeof api) =>
    resources(stack, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
  // A metric-math alarm is billed per metric it reads; the others watch one metric each.
  const billedMetrics = (all: Record<string, unknown>[]) =>
    all.reduce(
      (sum: number, alarm) =>
        sum +
        (Array.isArray(alarm.Metrics)
          ? (alarm.Metrics as { MetricStat?: unknown }[]).filter((m) => m.MetricStat).length
          : 1),
      0,
    );

  for (const set of ['essential', 'all'] as const) {
    it(`alarms (cairn:alarms=${set}) on the 5xx rate and every function crashing${set === 'all' ? ', throttled, and on DynamoDB throttling' : ''}`, () => {
      const stack = set === 'essential' ? api : withContext({ 'cairn:alarms': 'all' }).api;
      const [topicId] = only(stack, 'AWS::SNS::Topic', 'Observability');
      const all = alarmsOf(stack);
      for (const alarm of all) {
        expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
        expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
        expect(alarm.TreatMissingData).toBe('notBreaching');
      }
      const rate = all.filter((alarm) => alarm.Metrics);
      expect(rate).toHaveLength(1);
      expect(rate[0]).toMatchObject({
        Threshold: ALARM_THRESHOLDS.api5xxPercent,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
      });
      const metrics = JSON.stringify(rate[0]?.Metrics);
      expect(metrics).toContain('"MetricName":"5xx"');
      expect(metrics).toContain('"MetricName":"Count"');
      expect(metrics).toContain(
        `IF(requests >= ${ALARM_THRESHOLDS.api5xxMinimumRequests}, 100 * errors / requests, 0)`,
      );

      const simple = all
        .filter((alarm) => !alarm.Metrics)
        .map(metricOf)
        .sort();
      // The webhook delivery function's crashes end as dead letters, which have the alarm instead.
      const functionIds = resources(stack, 'AWS::Lambda::Function')
        .map(([id]) => id)
        .filter((id) => !id.startsWith('WebhooksDelivery'));
      const [deadLetters] = only(stack, 'AWS::SQS::Queue', 'WebhooksDeadLetters');
      const webhooks = [
        `AWS/SQS/ApproximateNumberOfMessagesVisible ${JSON.stringify([{ Name: 'QueueName', Value: `<${deadLetters}.QueueName>` }])}`,
      ];
      const dynamo =
        set === 'all'
          ? [undefined, ...GSIS].flatMap((index) =>
              ['Read', 'Write'].map(
                (kind) =>
                  // CloudFormation lists dimensions by name.
                  `AWS/DynamoDB/${kind}ThrottleEvents ${JSON.stringify([
                    ...(index ? [{ Name: 'GlobalSecondaryIndexName', Value: index }] : []),
                    { Name: 'TableName', Value: 'Table.Name' },
                  ])}`,
              ),
            )
          : [];
      const lambda = functionIds.flatMap((id) =>
        (set === 'all' ? ['Errors', 'Throttles'] : ['Errors']).map(
          (name) => `AWS/Lambda/${name} ${JSON.stringify([{ Name: 'FunctionName', Value: `<${id}>` }])}`,
        ),
      );
      expect(simple).toEqual([...dynamo, ...lambda, ...webhooks].sort());
    });
  }

  it("keeps the default alarms within CloudWatch's 10 free alarm metrics, so an idle stack pays nothing for them", () => {
    expect(billedMetrics(alarmsOf(api))).toBeLessThanOrEqual(10);
  });

  it('refuses an unknown alarm set', () => {
    expect(() => withContext({ 'cairn:alarms': 'some' })).toThrow(
      /cairn:alarms must be one of essential, all/,
    );
  });

  it('notifies an email address only when one is configured', () => {
    api.resourceCountIs('AWS::SNS::Subscription', 0);
    withContext({ 'cairn:alarmEmail': 'ops@example.com' }).api.hasResourceProperties(
      'AWS::SNS::Subscription',
      {
        Protocol: 'email',
        Endpoint: 'ops@example.com',
      },
    );
  });

  it('requires TLS to publish to the alarm topic', () => {
    api.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('has no dashboard by default: an idle stack pays nothing for one', () => {
    expect(resources(api, 'AWS::CloudWatch::Dashboard')).toEqual([]);
    expect(Object.keys(api.findOutputs('DashboardName'))).toEqual([]);
  });

  it('counts and prices its alarms in docs/deploy.md as the template has them, for both alarm sets', () => {
    const deploy = readFileSync(join(REPO_ROOT, 'docs', 'deploy.md'), 'utf8');
    for (const stack of [api, withContext({ 'cairn:alarms': 'all' }).api]) {
      const all = alarmsOf(stack);
      const metrics = billedMetrics(all);
      expect(deploy).toContain(`${all.length} alarms on ${metrics} metrics`);
      expect(deploy).toContain(`$${(metrics * 0.1).toFixed(2)}`);
    }
  });

  it('with cairn:dashboard=true has one dashboard with the API, functions, table and Cairn metrics', () => {
    const { api: withDashboard } = withContext({ 'cairn:dashboard': 'true' });
    expect(Object.keys(withDashboard.findOutputs('DashboardName'))).toHaveLength(1);
    const [, dashboard] = only(withDashboard, 'AWS::CloudWatch::Dashboard', 'Observability');
    const body = JSON.parse(render(dashboard.Properties.DashboardBody) as string) as {
      widgets: { properties: { metrics?: unknown[][] } }[];
    };
    // Each graphed line: `Namespace/MetricName` for a metric, the expression for a search.
    const lines = body.widgets.flatMap((widget) =>
      (widget.properties.metrics ?? []).map((line) => {
        const [first, second] = line as [unknown, unknown];
        return typeof first === 'string'
          ? `${first}/${String(second)}`
          : (first as { expression: string }).expression;
      }),
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        ...['Count', '4xx', '5xx', 'Latency', 'IntegrationLatency'].map((name) => `AWS/ApiGateway/${name}`),
        ...['Invocations', 'Errors', 'Duration', 'Throttles'].map((name) => `AWS/Lambda/${name}`),
        ...[
          'ConsumedReadCapacityUnits',
          'ConsumedWriteCapacityUnits',
          'ReadThrottleEvents',
          'WriteThrottleEvents',
        ].map((name) => `AWS/DynamoDB/${name}`),
        ...['Requests', 'Errors', 'MetricPointsIngested', 'UrlsPresigned'].map(
          (name) => `SEARCH('Namespace="Cairn" MetricName="${name}"', 'Sum', 300)`,
        ),
      ]),
    );
    // One line per function in each function graph.
    expect(lines.filter((line) => line === 'AWS/Lambda/Invocations')).toHaveLength(7);
    expect(
      body.widgets.some(
        (widget) => JSON.stringify(widget).includes('"type":"alarm"') || 'alarms' in widget.properties,
      ),
    ).toBe(true);
  });
});

describe('cdk-nag (AwsSolutions, Serverless)', () => {
  it('reports no finding that is not acknowledged in the code', () => {
    expect(nagFindings).toEqual([]);
  });

  it('acknowledges only findings that exist, each with its reason', () => {
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const acknowledgement of acknowledgements) {
      const used = honoured.some(
        (entry) => entry.id === acknowledgement.id && entry.path.startsWith(`${acknowledgement.path}/`),
      );
      expect(used, `${acknowledgement.id} on ${acknowledgement.path} suppresses nothing`).toBe(true);
      expect(acknowledgement.reason.length, acknowledgement.id).toBeGreaterThan(30);
    }
  });
});

describe('deployment settings', () => {
  it("lets the stack's own web UI read artifacts by default, and adds origins from context", () => {
    // Only GET/HEAD with a Range, from this region's execute-api origins (where the UI is served).
    const uiRule = Match.objectLike({
      AllowedOrigins: [
        {
          'Fn::Join': [
            '',
            ['https://*.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }],
          ],
        },
      ],
      AllowedMethods: ['GET', 'HEAD'],
      AllowedHeaders: ['range'],
    });
    data.hasResourceProperties('AWS::S3::Bucket', { CorsConfiguration: { CorsRules: [uiRule] } });
    const buckets = Object.values(data.findResources('AWS::S3::Bucket'));
    expect(buckets.filter((bucket) => JSON.stringify(bucket).includes('CorsConfiguration'))).toHaveLength(1);
    withContext({
      'cairn:corsOrigins': 'https://ml.example.com, https://ui.example.com',
    }).data.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [
          uiRule,
          Match.objectLike({
            AllowedOrigins: ['https://ml.example.com', 'https://ui.example.com'],
            AllowedMethods: ['GET', 'PUT', 'HEAD'],
            ExposedHeaders: ['ETag', 'Content-Range'],
          }),
        ],
      },
    });
  });

  it('deletes the table and buckets with the stack only when asked to, deliberately', () => {
    const { data: disposable } = withContext({ 'cairn:retainData': 'false' });
    disposable.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })] }),
    });
    for (const [, bucket] of resources(disposable, 'AWS::S3::Bucket'))
      expect(bucket.DeletionPolicy).toBe('Delete');
    // PITR and versioning stay on: they protect against mistakes, not against a deliberate teardown.
    disposable.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
    });
  });

  it.each([
    ['cairn:stageName', 'prod stage', /cairn:stageName must be '\$default' or 1-128 of/],
    ['cairn:corsOrigins', 'https://ml.example.com/path', /cairn:corsOrigins must be an origin/],
    ['cairn:corsOrigins', '*', /cairn:corsOrigins must be an origin/],
    ['cairn:artifactKeyPrefix', 'team/../other', /cairn:artifactKeyPrefix must be a key prefix/],
    [
      'cairn:throttleRateLimit',
      'fast',
      /cairn:throttleRateLimit must be a whole number from 1 to 10000, not "fast"/,
    ],
    ['cairn:throttleBurstLimit', '0', /cairn:throttleBurstLimit must be a whole number from 1 to 5000/],
    [
      'cairn:throttleBurstLimit',
      '100',
      /cairn:throttleBurstLimit must be at least cairn:throttleRateLimit \(500\)/,
    ],
    [
      'cairn:authorizerCacheSeconds',
      '7200',
      /cairn:authorizerCacheSeconds must be a whole number from 0 to 3600/,
    ],
    [
      'cairn:presignExpiresSeconds',
      '1.5',
      /cairn:presignExpiresSeconds must be a whole number from 1 to 3600/,
    ],
    [
      'cairn:logRetentionDays',
      '31',
      /cairn:logRetentionDays must be one of CloudWatch Logs' retention periods/,
    ],
    ['cairn:alarmEmail', 'ops', /cairn:alarmEmail must be one email address/],
    ['cairn:retainData', 'no', /cairn:retainData must be true or false, not "no"/],
    [
      'cairn:noncurrentVersionDays',
      '-1',
      /cairn:noncurrentVersionDays must be a whole number from 1 to 3650/,
    ],
  ])('refuses %s = %j with a message saying what is allowed', (key, value, message) => {
    expect(() => buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [], [key]: value } }))).toThrow(
      message,
    );
  });

  it('reserves concurrency for every function, the authorizer included, from context', () => {
    const functions = resources(api, 'AWS::Lambda::Function');
    const reserved = (template: Template, area: string) =>
      only(template, 'AWS::Lambda::Function', area)[1].Properties.ReservedConcurrentExecutions;
    // Each function of the stack, not a list kept here: a new function without a reservation fails.
    for (const [id, fn] of functions)
      expect(fn.Properties.ReservedConcurrentExecutions, id).toBeGreaterThan(0);
    expect(reserved(api, 'Tracking')).toBe(DEFAULT_SETTINGS.trackingConcurrency);
    expect(reserved(api, 'Artifacts')).toBe(DEFAULT_SETTINGS.artifactsConcurrency);
    expect(reserved(api, 'Registry')).toBe(DEFAULT_SETTINGS.registryConcurrency);
    expect(reserved(api, 'Authorizer')).toBe(DEFAULT_SETTINGS.authorizerConcurrency);
    expect(reserved(api, 'Traces')).toBe(DEFAULT_SETTINGS.tracesConcurrency);
    const { api: custom } = withContext({
      'cairn:trackingConcurrency': '7',
      'cairn:artifactsConcurrency': 8,
      'cairn:registryConcurrency': 9,
      'cairn:authorizerConcurrency': '10',
    });
    expect(['Tracking', 'Artifacts', 'Registry', 'Authorizer'].map((area) => reserved(custom, area))).toEqual(
      [7, 8, 9, 10],
    );
    expect(() => withContext({ 'cairn:authorizerConcurrency': 0 })).toThrow(/cairn:authorizerConcurrency/);
  });

  it('caps the table on-demand throughput from context (a cost ceiling)', () => {
    data.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      WriteOnDemandThroughputSettings: { MaxWriteRequestUnits: DEFAULT_SETTINGS.tableMaxWriteRequestUnits },
      Replicas: [
        Match.objectLike({
          ReadOnDemandThroughputSettings: { MaxReadRequestUnits: DEFAULT_SETTINGS.tableMaxReadRequestUnits },
        }),
      ],
    });
    const { data: custom } = withContext({
      'cairn:tableMaxReadRequestUnits': '300',
      'cairn:tableMaxWriteRequestUnits': 200,
    });
    custom.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      WriteOnDemandThroughputSettings: { MaxWriteRequestUnits: 200 },
      Replicas: [Match.objectLike({ ReadOnDemandThroughputSettings: { MaxReadRequestUnits: 300 } })],
    });
    expect(() => withContext({ 'cairn:tableMaxWriteRequestUnits': 40_001 })).toThrow(
      /cairn:tableMaxWriteRequestUnits/,
    );
  });

  it('refuses artifact requests signed longer ago than any presigned URL lives, or not SigV4-signed', () => {
    const [bucketId] = only(data, 'AWS::S3::Bucket', 'Artifacts');
    const statementsFor = (template: Template) => {
      const [, policy] = resources(template, 'AWS::S3::BucketPolicy').find(
        ([, p]) => (p.Properties.Bucket as { Ref?: string }).Ref === bucketId,
      ) as [string, Resource];
      return (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    };
    // The longest URL the code signs: part URLs and presigned-upload-url expirations, whatever the setting.
    const longestMs = (seconds: number) => longestPresignSeconds(seconds) * 1000;
    expect(longestMs(DEFAULT_SETTINGS.presignExpiresSeconds)).toBeGreaterThanOrEqual(
      ARTIFACT_LIMITS.partUrlSeconds * 1000,
    );
    const denyAge = (statements: Record<string, unknown>[]) =>
      statements.find((statement) => JSON.stringify(statement.Condition ?? {}).includes('s3:signatureAge'));
    expect(denyAge(statementsFor(data))).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:*',
      Condition: {
        NumericGreaterThan: { 's3:signatureAge': longestMs(DEFAULT_SETTINGS.presignExpiresSeconds) },
      },
    });
    expect(
      statementsFor(data).find((statement) =>
        JSON.stringify(statement.Condition ?? {}).includes('s3:authType'),
      ),
    ).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:*',
      Condition: { StringNotEquals: { 's3:authType': ['REST-HEADER', 'REST-QUERY-STRING'] } },
    });
    // Both deny statements cover the bucket and every object in it.
    for (const statement of statementsFor(data).filter((s) =>
      /signatureAge|authType/.test(JSON.stringify(s)),
    ))
      expect((statement.Resource as unknown[]).length).toBe(2);
  });

  it('documents every setting, with its default, in docs/deploy.md, which the README links to', () => {
    const deploy = readFileSync(join(REPO_ROOT, 'docs', 'deploy.md'), 'utf8');
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    for (const key of Object.values(CONTEXT_KEYS)) expect(deploy, key).toContain(`\`${key}\``);
    expect(readme).toContain('docs/deploy.md#settings');
    for (const value of [
      DEFAULT_SETTINGS.throttleRateLimit,
      DEFAULT_SETTINGS.throttleBurstLimit,
      DEFAULT_SETTINGS.authorizerCacheSeconds,
      DEFAULT_SETTINGS.presignExpiresSeconds,
      DEFAULT_SETTINGS.logRetentionDays,
      DEFAULT_SETTINGS.noncurrentVersionDays,
      DEFAULT_SETTINGS.trackingConcurrency,
      DEFAULT_SETTINGS.artifactsConcurrency,
      DEFAULT_SETTINGS.registryConcurrency,
      DEFAULT_SETTINGS.authorizerConcurrency,
      DEFAULT_SETTINGS.tracesConcurrency,
      DEFAULT_SETTINGS.traceRetentionDays,
      DEFAULT_SETTINGS.tableMaxReadRequestUnits,
      DEFAULT_SETTINGS.tableMaxWriteRequestUnits,
    ]) {
      expect(deploy).toContain(`\`${value}\``);
    }
  });
});

describe('the synthesized bundles', () => {
  /** The bundle of the function whose logical id starts with `area`, from the assembly's asset manifest. */
  function bundleOf(area: string): string {
    const manifest = JSON.parse(readFileSync(join(assemblyDir, 'CairnApi.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string } }>;
    };
    const [, fn] = only(api, 'AWS::Lambda::Function', `${area}Function`);
    const hash = (fn.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
    const source = manifest.files[hash]?.source.path;
    expect(source, area).toBeDefined();
    const path = join(assemblyDir, source as string, 'index.mjs');
    expect(existsSync(path), path).toBe(true);
    expect(statSync(path).size).toBeLessThan(1024 * 1024);
    return path;
  }

  it('load as Lambda loads them and answer through the route table', async () => {
    process.env.CAIRN_TABLE_NAME = 'synth-test';
    process.env.CAIRN_ARTIFACT_BUCKET = 'synth-test-bucket';
    const event = (method: string, path: string, routeKey: string) => ({
      version: '2.0',
      routeKey,
      rawPath: path,
      rawQueryString: '',
      headers: {},
      requestContext: { http: { method, path }, requestId: 'synth-test' },
      isBase64Encoded: false,
    });
    const healthStatuses: number[] = [];
    for (const area of ['Tracking', 'Artifacts', 'Registry']) {
      const { handler } = (await import(pathToFileURL(bundleOf(area)).href)) as {
        handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
      };
      const unknown = await handler(event('GET', '/nowhere', '$default'), {});
      expect(unknown.statusCode).toBe(404);
      expect(JSON.parse(unknown.body).error_code).toBe('ENDPOINT_NOT_FOUND');
      healthStatuses.push((await handler(event('GET', '/health', 'GET /health'), {})).statusCode);
    }
    // /health belongs to the tracking function; the others refuse routes not their own.
    expect(healthStatuses).toEqual([200, 404, 404]);
  });

  it('include an authorizer that refuses a request without credentials', async () => {
    const { handler } = (await import(pathToFileURL(bundleOf('Authorizer')).href)) as {
      handler: (event: unknown, context: unknown) => Promise<{ isAuthorized: boolean }>;
    };
    const denied = await handler(
      {
        version: '2.0',
        type: 'REQUEST',
        routeArn:
          'arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/api/2.0/mlflow/experiments/get',
        identitySource: [],
        routeKey: 'GET /api/2.0/mlflow/experiments/get',
        rawPath: '/api/2.0/mlflow/experiments/get',
        rawQueryString: '',
        headers: {},
        requestContext: {
          http: { method: 'GET', path: '/api/2.0/mlflow/experiments/get' },
          requestId: 'synth-test',
        },
      },
      {},
    );
    expect(denied.isAuthorized).toBe(false);
  });
});
