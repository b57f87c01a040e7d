/**
 * Registry webhooks on AWS (issue 18): the registry function queues one message per delivery on an SQS
 * queue and returns; the delivery function (functions/webhooks) drains the queue, signs and sends each
 * delivery, and reports the ones to try again. SQS redelivers those after the visibility timeout and,
 * after MAX_RECEIVE_COUNT receives, moves them to the dead-letter queue, whose first message raises an
 * alarm. Webhook secrets are sealed with a KMS key of this stack, rotated yearly, which only the registry
 * (seal, open for the test endpoint) and the delivery function (open) may use, and only with a webhook's
 * id as encryption context. Every registry event also goes to the account's default EventBridge bus,
 * which only the registry function may put events on, as `cairn.registry`.
 *
 * SSRF: a webhook URL is chosen by whoever may create webhooks, and the functions run with AWS
 * credentials next to the instance metadata endpoint, so deliveries to loopback, link-local, private and
 * other non-public addresses are refused (CAIRN_WEBHOOK_ALLOW_PRIVATE_TARGETS=false) unless the
 * deployment allows them with `cairn:webhookAllowPrivateTargets`.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENCRYPTION_CONTEXT_KEY, EVENT_SOURCE } from '../../shared/store/webhooks/aws.js';
import { CairnFunction } from './cairn-function.js';

/** The delivery function's timeout: a batch of ten sent side by side, each within its request timeout. */
export const DELIVERY_TIMEOUT = Duration.seconds(60);

/**
 * Six times the function's timeout, as AWS advises for an SQS event source: a batch still in flight when
 * its message would reappear would be delivered twice, and a throttled invocation's retries need room.
 */
export const DELIVERY_VISIBILITY_TIMEOUT = Duration.seconds(DELIVERY_TIMEOUT.toSeconds() * 6);

/**
 * Receives of a delivery before it is dead-lettered: with the visibility timeout between them, a
 * receiver gets about half an hour to come back before a delivery is given up on.
 */
export const MAX_RECEIVE_COUNT = 5;

/** Deliveries sent at once: the delivery function's reserved concurrency and the event source's ceiling. */
export const DELIVERY_CONCURRENCY = 5;

/** What the EventBridge rule of a subscriber matches. */
export const REGISTRY_EVENT_SOURCE = EVENT_SOURCE;

export interface WebhooksProps {
  /** The registry function: it queues deliveries, seals secrets and publishes events. */
  registry: CairnFunction;
  table: ITable;
  /** The partition of webhook items: all the delivery function may read from the table. */
  webhookPartition: string;
  /** Where the dead-letter alarm notifies (the stack's alarm topic). */
  alarmTopic: ITopic;
  allowPrivateTargets: boolean;
  /** Keep the key when the stack is deleted (sealed secrets in a retained table stay readable). */
  retainData: boolean;
  logRetention?: RetentionDays;
}

export class Webhooks extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly key: Key;
  readonly delivery: CairnFunction;
  readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: WebhooksProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.key = new Key(this, 'SecretsKey', {
      description: 'Cairn: seals registry webhook secrets',
      enableKeyRotation: true,
      // A retained table keeps sealed secrets, which only this key opens.
      removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // SQS's longest: time to notice the alarm, fix the receiver and redrive.
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Deliveries', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: DELIVERY_VISIBILITY_TIMEOUT,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });

    const allowPrivate = String(props.allowPrivateTargets);
    this.delivery = new CairnFunction(this, 'Delivery', {
      area: 'webhooks',
      logRetention: props.logRetention,
      reservedConcurrency: DELIVERY_CONCURRENCY,
      invokedBy: { kind: 'queue', timeout: DELIVERY_TIMEOUT },
      environment: {
        CAIRN_WEBHOOK_KMS_KEY_ID: this.key.keyArn,
        CAIRN_WEBHOOK_ALLOW_PRIVATE_TARGETS: allowPrivate,
      },
    }).bindTable(props.table, {
      // The webhook it delivers for, as it is now (URL, status, sealed secret), and nothing else.
      actions: ['dynamodb:GetItem'],
      onlyPartitions: [props.webhookPartition],
    });
    const source = new EventSourceMapping(this, 'DeliveriesSource', {
      target: this.delivery.fn,
      eventSourceArn: this.queue.queueArn,
      batchSize: 10,
      reportBatchItemFailures: true,
      maxConcurrency: DELIVERY_CONCURRENCY,
    });
    this.queue.grantConsumeMessages(this.delivery.role);
    Validations.of(source).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        'On-failure destinations exist for stream and Kafka sources only; for an SQS source, what keeps ' +
        "failing is dead-lettered by the queue's redrive policy (maxReceiveCount), with an alarm on it.",
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This is the dead-letter queue itself: nothing consumes it but an operator (inspect, then redrive to ' +
        'the delivery queue, docs/deploy.md), so a message cannot fail its way further.',
    });

    // Seal and open only with a webhook's id as encryption context (shared/store/webhooks/aws.ts).
    const withWebhookContext = {
      Null: { [`kms:EncryptionContext:${ENCRYPTION_CONTEXT_KEY}`]: 'false' },
      'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': [ENCRYPTION_CONTEXT_KEY] },
    };
    this.delivery.role.addToPolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: withWebhookContext,
      }),
    );
    const registry = props.registry;
    registry.role.addToPolicy(
      new PolicyStatement({
        actions: ['kms:Encrypt', 'kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: withWebhookContext,
      }),
    );
    registry.role.addToPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
    // The default bus, and only events that say they come from Cairn's registry.
    registry.role.addToPolicy(
      new PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
        conditions: { StringEquals: { 'events:source': [EVENT_SOURCE] } },
      }),
    );
    registry.fn.addEnvironment('CAIRN_WEBHOOK_QUEUE_URL', this.queue.queueUrl);
    registry.fn.addEnvironment('CAIRN_WEBHOOK_KMS_KEY_ID', this.key.keyArn);
    registry.fn.addEnvironment('CAIRN_EVENT_BUS_NAME', 'default');
    registry.fn.addEnvironment('CAIRN_WEBHOOK_ALLOW_PRIVATE_TARGETS', allowPrivate);

    // A delivery given up on: the receiver was down for every retry, or the delivery function kept
    // crashing (its crashes land here too, so it needs no Errors alarm of its own).
    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'A registry webhook delivery was dead-lettered after every retry failed; docs/deploy.md says how to ' +
        'inspect and redrive it.',
    });
    const action = new SnsAction(props.alarmTopic);
    this.deadLetterAlarm.addAlarmAction(action);
    this.deadLetterAlarm.addOkAction(action);
  }
}
