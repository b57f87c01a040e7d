/**
 * Registry webhooks on the synthesized template (infra/constructs/webhooks.ts): the delivery queue and
 * its dead-letter queue, the delivery function's event source, the KMS key, who may do what with them
 * (least privilege, no wildcard resource), the `cairn:webhookAllowPrivateTargets` setting, cdk-nag, and
 * the API stack's size against CloudFormation's 500-resource limit.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/bin/app.js';
import {
  DELIVERY_CONCURRENCY,
  DELIVERY_TIMEOUT,
  DELIVERY_VISIBILITY_TIMEOUT,
  MAX_RECEIVE_COUNT,
} from '../../infra/constructs/webhooks.js';
import { ENCRYPTION_CONTEXT_KEY, EVENT_SOURCE } from '../../shared/store/webhooks/aws.js';
import { type Bundle, buildBundle, LAMBDA_INIT_ENV, writeBundle } from '../bench/bundles.js';

/** The app without bundling (the template is what these tests read), and the app itself for cdk-nag. */
function synth(context: Record<string, unknown> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const built = buildApp(app);
  return { app, api: Template.fromStack(built.api) };
}

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

function resources(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type)) as [string, Resource][];
}

function only(template: Template, type: string, idPrefix: string): [string, Resource] {
  const found = resources(template, type).filter(([id]) => id.startsWith(idPrefix));
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0] as [string, Resource];
}

/** Every policy statement of the stack, with the logical id of the policy it is in. */
function statements(template: Template): (Statement & { policy: string; actions: string[] })[] {
  return resources(template, 'AWS::IAM::Policy').flatMap(([id, policy]) =>
    (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement.map((statement) => ({
      ...statement,
      policy: id,
      actions: [statement.Action].flat(),
    })),
  );
}

const { app, api } = synth();
const [queueId, queue] = only(api, 'AWS::SQS::Queue', 'WebhooksDeliveries');
const [deadLettersId, deadLetters] = only(api, 'AWS::SQS::Queue', 'WebhooksDeadLetters');
const [keyId, key] = only(api, 'AWS::KMS::Key', 'WebhooksSecretsKey');
const [deliveryFunctionId, deliveryFunction] = only(api, 'AWS::Lambda::Function', 'WebhooksDeliveryFunction');
const [registryFunctionId, registryFunction] = only(api, 'AWS::Lambda::Function', 'RegistryFunction');
const keyArn = { 'Fn::GetAtt': [keyId, 'Arn'] };
const queueArn = { 'Fn::GetAtt': [queueId, 'Arn'] };

describe('the delivery queue', () => {
  it('is encrypted, TLS only, and dead-letters a delivery after its last receive', () => {
    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: DELIVERY_VISIBILITY_TIMEOUT.toSeconds(),
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLettersId, 'Arn'] }, maxReceiveCount: 5 },
    });
    expect(MAX_RECEIVE_COUNT).toBe(5);
    // SQS's longest retention on the dead letters: two weeks to notice the alarm and redrive them.
    expect(deadLetters.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    for (const id of [queueId, deadLettersId]) {
      api.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('hides a message in flight for at least six times the delivery function’s timeout', () => {
    const timeout = deliveryFunction.Properties.Timeout as number;
    expect(timeout).toBe(DELIVERY_TIMEOUT.toSeconds());
    expect(queue.Properties.VisibilityTimeout as number).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('invokes the delivery function with batches of ten, reporting failed items, at most five at once', () => {
    api.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    api.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: queueArn,
      FunctionName: { Ref: deliveryFunctionId },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: DELIVERY_CONCURRENCY },
    });
    // At least the event source's ceiling, as AWS advises (fewer would throttle polled batches).
    expect(deliveryFunction.Properties.ReservedConcurrentExecutions).toBeGreaterThanOrEqual(
      DELIVERY_CONCURRENCY,
    );
  });

  it('raises an alarm on the first dead-lettered delivery, to the alarm topic', () => {
    const [topicId] = only(api, 'AWS::SNS::Topic', 'ObservabilityAlarmTopic');
    api.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLettersId, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topicId }],
      OKActions: [{ Ref: topicId }],
    });
  });
});

describe('the secrets key', () => {
  it('rotates, and is kept with the data unless the deployment is throwaway', () => {
    expect(key.Properties).toMatchObject({ EnableKeyRotation: true });
    expect(key.DeletionPolicy).toBe('Retain');
    const [, throwaway] = only(
      synth({ 'cairn:retainData': 'false' }).api,
      'AWS::KMS::Key',
      'WebhooksSecretsKey',
    );
    expect(throwaway.DeletionPolicy).toBe('Delete');
    expect(throwaway.Properties.PendingWindowInDays).toBe(7);
  });
});

describe('who may do what', () => {
  const all = statements(api);
  const using = (prefix: string) =>
    all.filter((statement) => statement.actions.some((action) => action.startsWith(prefix)));
  const policyOf = (role: string) => (statement: { policy: string }) => statement.policy.startsWith(role);
  const withContext = {
    Null: { [`kms:EncryptionContext:${ENCRYPTION_CONTEXT_KEY}`]: 'false' },
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': [ENCRYPTION_CONTEXT_KEY] },
  };

  it('names a resource in every KMS, SQS and EventBridge grant: no wildcard', () => {
    for (const statement of [...using('kms:'), ...using('sqs:'), ...using('events:')]) {
      expect(JSON.stringify(statement.Resource), statement.policy).not.toContain('*');
      expect(statement.actions.filter((action) => action.includes('*'))).toEqual([]);
    }
  });

  it('lets the registry seal and open, the delivery function only open, each only with a webhook context', () => {
    const kms = using('kms:').map(({ policy, actions, Resource, Condition, Effect }) => ({
      role: policy.replace(/Role(DefaultPolicy)?[0-9A-F]{8}.*$/, ''),
      Effect,
      actions,
      Resource,
      Condition,
    }));
    expect(kms).toEqual([
      {
        role: 'Registry',
        Effect: 'Allow',
        actions: ['kms:Encrypt', 'kms:Decrypt'],
        Resource: keyArn,
        Condition: withContext,
      },
      {
        role: 'WebhooksDelivery',
        Effect: 'Allow',
        actions: ['kms:Decrypt'],
        Resource: keyArn,
        Condition: withContext,
      },
    ]);
    // The key policy itself: the account's root (IAM decides, as for every key), and no other principal.
    const keyStatements = (key.Properties.KeyPolicy as { Statement: Statement[] }).Statement;
    expect(keyStatements).toHaveLength(1);
    expect(JSON.stringify(keyStatements[0])).toContain(':root');
  });

  it('lets only the registry queue deliveries and put events, on the default bus as cairn.registry', () => {
    const send = using('sqs:SendMessage');
    expect(send).toHaveLength(1);
    expect(send[0]).toMatchObject({ Effect: 'Allow', actions: ['sqs:SendMessage'], Resource: queueArn });
    expect(policyOf('RegistryRole')(send[0] as { policy: string })).toBe(true);
    const events = using('events:');
    expect(events).toHaveLength(1);
    expect(policyOf('RegistryRole')(events[0] as { policy: string })).toBe(true);
    expect(events[0]).toMatchObject({
      Effect: 'Allow',
      actions: ['events:PutEvents'],
      Condition: { StringEquals: { 'events:source': [EVENT_SOURCE] } },
    });
    expect(JSON.stringify(events[0]?.Resource)).toContain(':event-bus/default');
  });

  it('lets the delivery function consume its queue, read webhook items and nothing else of the table', () => {
    const delivery = all.filter(policyOf('WebhooksDeliveryRole'));
    const dynamo = delivery.filter((statement) =>
      statement.actions.some((action) => action.startsWith('dynamodb:')),
    );
    expect(dynamo.map(({ Effect, actions, Condition }) => ({ Effect, actions, Condition }))).toEqual([
      {
        Effect: 'Allow',
        actions: ['dynamodb:GetItem'],
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['WEBHOOKS'] } },
      },
    ]);
    const sqs = delivery.filter((statement) => statement.actions.some((action) => action.startsWith('sqs:')));
    expect(sqs).toHaveLength(1);
    expect(sqs[0]?.Resource).toEqual(queueArn);
    expect(sqs[0]?.actions.sort()).toEqual([
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ]);
    // Nothing else: its logs, X-Ray, the table read, the queue and the key.
    expect(
      delivery
        .flatMap((statement) => statement.actions)
        .filter((action) => !/^(logs|xray|dynamodb|sqs|kms):/.test(action)),
    ).toEqual([]);
  });
});

describe('the functions’ environment', () => {
  const variables = (fn: Resource) =>
    (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

  it('tells the registry where to queue, seal and publish, and the delivery function what to open with', () => {
    expect(variables(registryFunction)).toMatchObject({
      CAIRN_WEBHOOK_QUEUE_URL: { Ref: queueId },
      CAIRN_WEBHOOK_KMS_KEY_ID: keyArn,
      CAIRN_EVENT_BUS_NAME: 'default',
      CAIRN_WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false',
    });
    expect(variables(deliveryFunction)).toMatchObject({
      CAIRN_TABLE_NAME: expect.anything(),
      CAIRN_WEBHOOK_KMS_KEY_ID: keyArn,
      CAIRN_WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false',
      POWERTOOLS_SERVICE_NAME: 'cairn-webhooks',
    });
    expect(variables(deliveryFunction).CAIRN_WEBHOOK_QUEUE_URL).toBeUndefined();
    expect(registryFunctionId).toMatch(/^RegistryFunction/);
  });

  it('allows private targets only when the deployment says so, for both functions', () => {
    const { api: allowed } = synth({ 'cairn:webhookAllowPrivateTargets': 'true' });
    for (const prefix of ['RegistryFunction', 'WebhooksDeliveryFunction']) {
      const [, fn] = only(allowed, 'AWS::Lambda::Function', prefix);
      expect(variables(fn).CAIRN_WEBHOOK_ALLOW_PRIVATE_TARGETS, prefix).toBe('true');
    }
    expect(() => synth({ 'cairn:webhookAllowPrivateTargets': 'yes' })).toThrow(
      /cairn:webhookAllowPrivateTargets must be true or false, not "yes"/,
    );
  });
});

describe('the stack as a whole', () => {
  it('reports no cdk-nag finding that is not acknowledged in the code', () => {
    const findings = [new AwsSolutionsChecks(app), new ServerlessChecks(app)].flatMap((nag) =>
      nag
        .validateScope(app)
        .violations.flatMap((violation) =>
          violation.violatingResources.map(
            (resource) => `${violation.ruleName} at ${resource.constructPath}`,
          ),
        ),
    );
    expect(findings).toEqual([]);
  });

  it('stays well under CloudFormation’s 500 resources a stack', () => {
    const count = Object.keys((api.toJSON() as { Resources: object }).Resources).length;
    // Room for the routes still to come: a route per endpoint is most of the stack (one invoke permission
    // per function, not per route, api-stack.ts).
    expect(count).toBeLessThan(400);
  });
});

describe('the bundles', () => {
  /** The SDK clients a bundle's cold start loads: those of the modules its entry imports statically. */
  function clientsAtInit(bundle: Bundle): string[] {
    const outputs = bundle.metafile.outputs;
    const entry = Object.keys(outputs).find((path) => path.endsWith('/index.mjs')) as string;
    const loaded = new Set<string>();
    for (let pending = [entry], path = pending.pop(); path !== undefined; path = pending.pop()) {
      if (loaded.has(path)) continue;
      loaded.add(path);
      for (const { path: imported, kind } of outputs[path]?.imports ?? [])
        if (kind === 'import-statement') pending.push(imported);
    }
    const clients = [...loaded].flatMap((path) =>
      Object.keys(outputs[path]?.inputs ?? {}).map(
        (input) => /@aws-sdk\/(client-[a-z0-9-]+)\//.exec(input)?.[1],
      ),
    );
    return [...new Set(clients.filter((client): client is string => client !== undefined))].sort();
  }

  it("keep the webhook clients out of the registry's cold start, and SQS and EventBridge out of the delivery's", async () => {
    const [registry, delivery] = await Promise.all([buildBundle('registry'), buildBundle('webhooks')]);
    // The registry loads them with its first event (shared/store/webhooks/from-env.ts); reads never do.
    expect(clientsAtInit(registry)).toEqual(['client-dynamodb']);
    expect(clientsAtInit(delivery)).toEqual(['client-dynamodb', 'client-kms']);
  });

  it('start the delivery function in a fresh Node with the environment Lambda gives it, quietly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-webhooks-bundle-'));
    try {
      const index = writeBundle(await buildBundle('webhooks'), dir);
      const probe = `const { handler } = await import(${JSON.stringify(pathToFileURL(index).href)}); if (typeof handler !== 'function') throw new Error('no handler'); const answer = await handler({ Records: [] }); if (JSON.stringify(answer) !== '{"batchItemFailures":[]}') throw new Error(JSON.stringify(answer));`;
      const child = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', probe], {
        env: {
          PATH: process.env.PATH,
          ...LAMBDA_INIT_ENV,
          LAMBDA_TASK_ROOT: dirname(index),
          CAIRN_WEBHOOK_KMS_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/init',
          CAIRN_WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false',
        },
      });
      expect(child.stderr).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
