/**
 * What an operator watches: alarms on what a user would notice (5xx answers, crashed functions; with
 * `cairn:alarms=all` also throttled functions and DynamoDB requests), all sent to one SNS topic, and, with `cairn:dashboard=true`,
 * one dashboard with the API, the functions, the table and Cairn's own EMF metrics (namespace `Cairn`).
 *
 * Idle cost decides the defaults: a dashboard is $3 a month past an account's first three whether anyone
 * looks or not, so it is opt-in (the metrics are there either way, in the CloudWatch console). Alarms
 * are $0.10 per metric they watch, each, a month (the first 10 of an account free): by default one per
 * signal a user would notice, within those 10 (throttles reach users as 5xx once the SDK's retries give
 * up, so the 5xx rate covers them); docs/deploy.md counts and prices them.
 *
 * The topic always exists, with an email subscription only when `cairn:alarmEmail` is set: an idle topic
 * costs nothing, alarms always have somewhere to go, and an operator can subscribe a pager or chat
 * integration to the `AlarmTopicArn` output without changing the stack.
 */
import { Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  SearchExpression,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { AlarmSet } from '../settings.js';
import type { CairnFunction } from './cairn-function.js';

/** Alarm thresholds; docs/deploy.md lists them. */
export const ALARM_THRESHOLDS = {
  /** Percentage of requests answered 5xx in 5 minutes, in 2 of 3 periods. */
  api5xxPercent: 5,
  /** Below this many requests in 5 minutes the 5xx rate is noise (one failure of two requests is 50 %). */
  api5xxMinimumRequests: 20,
  /** Unhandled function errors (crashes, timeouts) in 5 minutes; handled errors are answers, not errors. */
  functionErrors: 1,
  functionThrottles: 1,
  /** Throttled DynamoDB requests in 5 minutes, per table or index and per read/write. */
  dynamoThrottleEvents: 1,
} as const;

const PERIOD = Duration.minutes(5);

export interface ObservabilityProps {
  api: HttpApi;
  functions: readonly CairnFunction[];
  table: ITable;
  indexNames: readonly string[];
  alarmEmail?: string;
  /** Build the dashboard (`cairn:dashboard`). */
  dashboard?: boolean;
  /** `essential`: the 5xx rate and crashes; `all` adds throttles (`cairn:alarms`). */
  alarms: AlarmSet;
}

export class Observability extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard?: Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);

    this.topic = new Topic(this, 'AlarmTopic', { displayName: 'Cairn alarms', enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    // API: the share of requests answered 5xx, over enough requests to mean something.
    const requests = props.api.metric('Count', { statistic: 'Sum', period: PERIOD });
    const serverErrors = props.api.metricServerError({ period: PERIOD });
    this.alarm('Api5xxRate', {
      metric: new MathExpression({
        expression: `IF(requests >= ${ALARM_THRESHOLDS.api5xxMinimumRequests}, 100 * errors / requests, 0)`,
        usingMetrics: { requests, errors: serverErrors },
        period: PERIOD,
        label: '5xx %',
      }),
      threshold: ALARM_THRESHOLDS.api5xxPercent,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      alarmDescription: `More than ${ALARM_THRESHOLDS.api5xxPercent}% of API requests answered 5xx (the client retries these for minutes).`,
    });

    for (const fn of props.functions) {
      const name = capitalize(fn.area);
      this.alarm(`${name}Errors`, {
        metric: fn.fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        threshold: ALARM_THRESHOLDS.functionErrors,
        evaluationPeriods: 1,
        alarmDescription: `The ${fn.area} function crashed or timed out; its log group has the details.`,
      });
      if (props.alarms !== 'all') continue;
      this.alarm(`${name}Throttles`, {
        metric: fn.fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
        threshold: ALARM_THRESHOLDS.functionThrottles,
        evaluationPeriods: 1,
        alarmDescription: `The ${fn.area} function was throttled: the Region's Lambda concurrency is exhausted.`,
      });
    }

    const throttleTargets = [
      { label: 'Table', dimensions: { TableName: props.table.tableName } },
      ...props.indexNames.map((index) => ({
        label: capitalize(index),
        dimensions: { TableName: props.table.tableName, GlobalSecondaryIndexName: index },
      })),
    ];
    for (const target of props.alarms === 'all' ? throttleTargets : []) {
      for (const kind of ['Read', 'Write'] as const) {
        this.alarm(`Dynamo${target.label}${kind}Throttles`, {
          metric: dynamoMetric(`${kind}ThrottleEvents`, target.dimensions),
          threshold: ALARM_THRESHOLDS.dynamoThrottleEvents,
          evaluationPeriods: 1,
          alarmDescription: `DynamoDB throttled ${kind.toLowerCase()}s on ${target.label === 'Table' ? 'the table' : `index ${target.label.toLowerCase()}`} (a hot partition, e.g. one run written very fast).`,
        });
      }
    }

    if (!props.dashboard) return;
    const dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard = dashboard;
    const byFunction = (metric: (fn: CairnFunction) => IMetric) => props.functions.map(metric);
    const tableDims = { TableName: props.table.tableName };
    const emf = (metricName: string, label: string) =>
      new SearchExpression({
        // Any dimension set: Powertools adds `service` to whatever dimensions each metric is emitted with.
        expression: `SEARCH('Namespace="Cairn" MetricName="${metricName}"', 'Sum', 300)`,
        label,
      });
    dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }),
    );
    dashboard.addWidgets(
      graph('API requests', [requests.with({ label: 'requests' })]),
      graph('API 4xx / 5xx', [
        props.api.metricClientError({ period: PERIOD, label: '4xx' }),
        serverErrors.with({ label: '5xx' }),
      ]),
      graph(
        'API latency (ms)',
        ['p50', 'p90', 'p99'].map((statistic) =>
          props.api.metricLatency({ period: PERIOD, statistic, label: statistic }),
        ),
      ),
      graph('Integration latency p99 (ms)', [
        props.api.metricIntegrationLatency({ period: PERIOD, statistic: 'p99', label: 'p99' }),
      ]),
    );
    dashboard.addWidgets(
      graph(
        'Invocations',
        byFunction((fn) => fn.fn.metricInvocations({ period: PERIOD, label: fn.area })),
      ),
      graph(
        'Function errors',
        byFunction((fn) => fn.fn.metricErrors({ period: PERIOD, statistic: 'Sum', label: fn.area })),
      ),
      graph(
        'Duration p99 (ms)',
        byFunction((fn) => fn.fn.metricDuration({ period: PERIOD, statistic: 'p99', label: fn.area })),
      ),
      graph(
        'Function throttles',
        byFunction((fn) => fn.fn.metricThrottles({ period: PERIOD, statistic: 'Sum', label: fn.area })),
      ),
    );
    dashboard.addWidgets(
      graph('DynamoDB consumed capacity', [
        dynamoMetric('ConsumedReadCapacityUnits', tableDims).with({ label: 'read units' }),
        dynamoMetric('ConsumedWriteCapacityUnits', tableDims).with({ label: 'write units' }),
      ]),
      graph(
        'DynamoDB throttle events',
        throttleTargets.flatMap((target) =>
          (['Read', 'Write'] as const).map((kind) =>
            dynamoMetric(`${kind}ThrottleEvents`, target.dimensions).with({
              label: `${target.label.toLowerCase()} ${kind.toLowerCase()}`,
            }),
          ),
        ),
      ),
      graph('Requests by route (Cairn)', [emf('Requests', '')]),
      graph('Errors by code (Cairn)', [emf('Errors', '')]),
    );
    dashboard.addWidgets(
      graph('Metric points ingested (Cairn)', [emf('MetricPointsIngested', '')]),
      graph('URLs presigned (Cairn)', [emf('UrlsPresigned', '')]),
    );
  }

  private alarm(id: string, props: ConstructorParameters<typeof Alarm>[2]): Alarm {
    const alarm = new Alarm(this, id, {
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No traffic is not a failure: an idle stack's alarms stay OK.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      ...props,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    // Recoveries too, so whoever was paged learns that it is over.
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }
}

function dynamoMetric(metricName: string, dimensionsMap: Record<string, string>): Metric {
  return new Metric({
    namespace: 'AWS/DynamoDB',
    metricName,
    dimensionsMap,
    statistic: 'Sum',
    period: PERIOD,
  });
}

function graph(title: string, left: IMetric[]): GraphWidget {
  return new GraphWidget({ title, left, width: 6, height: 6 });
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
