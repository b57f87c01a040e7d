/** Assertions on the synthesized templates (bundling runs esbuild locally; no Docker, no AWS). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/bin/app.js';
import { ROUTES } from '../../shared/api/routes.js';
import { TABLE_KEYS } from '../../shared/store/keys.js';

let data: Template;
let api: Template;
let nagFindings: string[];
let assemblyDir: string;

/**
 * cdk-nag findings that are known and scheduled, each with its reason. Issue [4/5] (production
 * hardening: authorizer, access logs, alarms, bucket logging, versioning, least-privilege IAM without
 * managed policies) must empty this list; any finding not listed here fails the test.
 */
const DEFERRED_TO_HARDENING: Record<string, string> = {
  'AwsSolutions-IAM4': 'the Lambda basic execution managed policy; replaced by an inline log policy in [4/5]',
  'AwsSolutions-IAM5':
    'grantReadWriteData reaches the indexes as `index/*` and X-Ray needs `Resource::*`; scoped or acknowledged per index in [4/5]',
  'AwsSolutions-L1':
    'the project targets Node 22 on Lambda (design.md); moving to a newer runtime is a decision of its own',
  'Serverless-LambdaLatestVersion': 'as AwsSolutions-L1',
  'Serverless-APIGWAccessLogging': 'API access logs arrive with [4/5]',
  'AwsSolutions-APIG1': 'as Serverless-APIGWAccessLogging',
  'AwsSolutions-APIG4': 'the token authorizer arrives with [4/5]',
  'AwsSolutions-S1': 'server access logging for the artifact bucket arrives with [4/5]',
  'Serverless-APIGWDefaultThrottling': 'default route throttling arrives with [4/5]',
  'Serverless-LambdaDLQ':
    'API functions are invoked synchronously (nothing to dead-letter); acknowledged in code in [4/5]',
};

beforeAll(() => {
  const app = new App();
  const built = buildApp(app);
  data = Template.fromStack(built.data);
  api = Template.fromStack(built.api);
  assemblyDir = app.outdir;
  nagFindings = [new AwsSolutionsChecks(app), new ServerlessChecks(app)].flatMap((pack) =>
    pack.validateScope(app).violations.map((violation) => violation.ruleName.split('[')[0] as string),
  );
});

describe('data stack', () => {
  it('has one on-demand table with the keys and indexes of the keys module, PITR on, retained', () => {
    data.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    data.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
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

  it('has a private, encrypted, TLS-only artifact bucket that aborts stale multipart uploads', () => {
    data.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
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
        LifecycleConfiguration: {
          Rules: [
            Match.objectLike({
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
              Status: 'Enabled',
            }),
          ],
        },
      }),
    });
    data.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('api stack', () => {
  it('runs the functions on Node 22, arm64, with the table bound by environment', () => {
    api.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 29,
      Environment: { Variables: Match.objectLike({ CAIRN_TABLE_NAME: Match.anyValue() }) },
    });
  });

  it('publishes exactly the route table, plus $default', () => {
    const routes = Object.values(api.findResources('AWS::ApiGatewayV2::Route')).map(
      (resource) => (resource as { Properties: { RouteKey: string } }).Properties.RouteKey,
    );
    expect(routes.sort()).toEqual([...ROUTES.map((route) => route.routeKey), '$default'].sort());
    expect(routes).toContain('POST /api/2.0/mlflow/experiments/create');
    expect(routes).toContain('POST /ajax-api/2.0/mlflow/experiments/create');
  });

  it('gives only the artifacts function the bucket, and it reads the table without writing', () => {
    const policies = Object.entries(api.findResources('AWS::IAM::Policy')).map(([id, resource]) => ({
      id,
      json: JSON.stringify(resource),
    }));
    const tracking = policies.find((policy) => policy.id.startsWith('Tracking'));
    const artifacts = policies.find((policy) => policy.id.startsWith('Artifacts'));
    expect(tracking?.json).toContain('dynamodb:PutItem');
    expect(tracking?.json).not.toContain('s3:');
    expect(artifacts?.json).toContain('s3:PutObject');
    expect(artifacts?.json).toContain('dynamodb:GetItem');
    expect(artifacts?.json).not.toContain('dynamodb:PutItem');
    api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CAIRN_ARTIFACT_BUCKET: Match.anyValue() }) },
    });
  });
});

describe('cdk-nag (AwsSolutions, Serverless)', () => {
  it('reports nothing beyond the findings scheduled for hardening', () => {
    const unexpected = [...new Set(nagFindings)].filter((rule) => !(rule in DEFERRED_TO_HARDENING));
    expect(unexpected).toEqual([]);
  });

  it('still reports every scheduled finding (a fixed one must leave the list)', () => {
    expect(Object.keys(DEFERRED_TO_HARDENING).filter((rule) => !nagFindings.includes(rule))).toEqual([]);
  });
});

describe('deployment settings', () => {
  it('configures bucket CORS and the artifact key prefix from context', () => {
    const app = new App({
      context: {
        'cairn:corsOrigins': 'https://ml.example.com, https://ui.example.com',
        'cairn:artifactKeyPrefix': '/team-a/',
      },
    });
    const built = buildApp(app);
    Template.fromStack(built.data).hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [
          Match.objectLike({
            AllowedOrigins: ['https://ml.example.com', 'https://ui.example.com'],
            AllowedMethods: ['GET', 'PUT', 'HEAD'],
            ExposedHeaders: ['ETag'],
          }),
        ],
      },
    });
    Template.fromStack(built.api).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CAIRN_ARTIFACT_KEY_PREFIX: 'team-a/' }) },
    });
  });

  it('has no bucket CORS by default', () => {
    expect(JSON.stringify(data.findResources('AWS::S3::Bucket'))).not.toContain('CorsConfiguration');
  });
});

describe('the synthesized bundles', () => {
  it('load as Lambda loads them and answer through the route table', async () => {
    const manifest = JSON.parse(readFileSync(join(assemblyDir, 'CairnApi.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string; packaging?: string } }>;
    };
    const bundles = Object.values(manifest.files)
      .map((file) => join(assemblyDir, file.source.path, 'index.mjs'))
      .filter((path) => existsSync(path));
    expect(bundles).toHaveLength(2);
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
    for (const bundle of bundles) {
      expect(statSync(bundle).size).toBeLessThan(400 * 1024);
      const { handler } = (await import(pathToFileURL(bundle).href)) as {
        handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
      };
      const unknown = await handler(event('GET', '/nowhere', '$default'), {});
      expect(unknown.statusCode).toBe(404);
      expect(JSON.parse(unknown.body).error_code).toBe('ENDPOINT_NOT_FOUND');
      healthStatuses.push((await handler(event('GET', '/health', 'GET /health'), {})).statusCode);
    }
    // /health belongs to the tracking function; the artifacts function refuses routes not its own.
    expect(healthStatuses.sort()).toEqual([200, 404]);
  });
});
