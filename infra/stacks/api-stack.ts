/**
 * The HTTP API and its functions. Routes come from the route table; every route not in it reaches the
 * `$default` route, whose function answers 404 ENDPOINT_NOT_FOUND as MLflow-shaped JSON (HTTP APIs
 * cannot customise their own 404 body).
 *
 * Authentication happens at the gateway: the token authorizer runs before every route except those in
 * GATEWAY_OPEN_ROUTES, so a request without a valid token never invokes a function (401 without an
 * Authorization header, 403 with a bad one). `$default` is authorized too: an anonymous caller learns
 * nothing about which paths exist and cannot make the API invoke a function at all. Which scope a route
 * needs is the functions' business (the route table's `permission`), not the gateway's.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { Construct } from 'constructs';
import { type FunctionName, ROUTES } from '../../shared/api/routes.js';
import { type IndexName, keys, TABLE_KEYS } from '../../shared/store/keys.js';
import { CairnFunction, type FunctionArea } from '../constructs/cairn-function.js';
import { Observability } from '../constructs/observability.js';
import { Webhooks } from '../constructs/webhooks.js';
import { type AlarmSet, DEFAULT_SETTINGS } from '../settings.js';

/**
 * Routes API Gateway serves without a token: the health probe (load balancers and uptime checks carry no
 * credentials) and the web UI's page and hashed assets (a browser loads them before the person pastes a
 * token). None reads data. Each must be `public` in the route table.
 */
export const GATEWAY_OPEN_ROUTES: ReadonlySet<string> = new Set(
  // From the route table, as the local server's gate decides it: the two cannot disagree.
  ROUTES.filter((route) => route.permission === 'public').map((route) => route.routeKey),
);

/** Why each open route is open, by operation: the reason its cdk-nag acknowledgement records. */
export const OPEN_ROUTE_REASONS: Readonly<Record<string, string>> = {
  health:
    'The health probe is deliberately open (uptime checks carry no token); it answers a constant and ' +
    'reads no data.',
  uiIndex:
    "The web UI's page is open so that a browser can load it before the person pastes a token; it is the " +
    'same static HTML for everyone and reads no data (every API route it then calls is authorized).',
  uiAsset:
    "The web UI's content-hashed script and stylesheet are open for the same reason as its page: static " +
    'files built at deploy time, the same for everyone, reading no data.',
};

/** Token items' partition key (pk `TOKENS`, sk `TOKEN#<name>`): what the authorizer may read. */
export const TOKENS_PARTITION = keys.tokensPartition;

export interface ApiStackProps extends StackProps {
  table: ITable;
  artifactBucket: IBucket;
  /** Root of server-assigned artifact locations. */
  artifactRoot?: string;
  /** Key prefix for every artifact in the bucket ('' or ending in '/'), e.g. to share a bucket. */
  artifactKeyPrefix?: string;
  stageName?: string;
  throttleRateLimit?: number;
  throttleBurstLimit?: number;
  authorizerCacheSeconds?: number;
  presignExpiresSeconds?: number;
  logRetentionDays?: RetentionDays;
  alarmEmail?: string;
  /** Add the CloudWatch dashboard (`cairn:dashboard`); off by default, so an idle stack costs nothing for it. */
  dashboard?: boolean;
  /** Which alarms (`cairn:alarms`): the essential ones by default, within CloudWatch's free alarm metrics. */
  alarms?: AlarmSet;
  /** Days a trace is kept (the traces function's CAIRN_TRACE_RETENTION_DAYS; the data stack expires the rest). */
  traceRetentionDays?: number;
  /** Reserved concurrency per function (defaults in settings.ts). */
  reservedConcurrency?: Partial<Record<Exclude<FunctionArea, 'purge' | 'webhooks'>, number>>;
  /** Days after a delete that the daily purge removes it for good; 0: no purge function, no schedule. */
  purgeDeletedAfterDays?: number;
  /** Let webhooks deliver to non-public addresses (`cairn:webhookAllowPrivateTargets`); off by default. */
  webhookAllowPrivateTargets?: boolean;
  /** Keep what the data outlives the stack by (`cairn:retainData`): here, the key webhook secrets are sealed with. */
  retainData?: boolean;
}

/** When the daily purge runs (UTC): an hour when a team's training jobs are the fewest, most days. */
export const PURGE_SCHEDULE = { hour: '3', minute: '17' } as const;

/** The purge function's timeout: Lambda's longest; it stops starting new work 2 minutes before it. */
export const PURGE_TIMEOUT = Duration.minutes(15);

export class ApiStack extends Stack {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly functions: Record<FunctionName, CairnFunction>;
  readonly authorizerFunction: CairnFunction;
  /** The daily purge, unless `purgeDeletedAfterDays` is 0. */
  readonly purgeFunction: CairnFunction | undefined;
  readonly observability: Observability;
  readonly webhooks: Webhooks;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const logRetention = props.logRetentionDays ?? DEFAULT_SETTINGS.logRetentionDays;
    const gsis = TABLE_KEYS.indexes.map((index) => index.name);
    // Only the authorizer (and operators, through the token CLI) touch token items: a flaw in an API
    // function must not let it read token hashes or mint a token.
    const noTokens = { denyPartitions: [TOKENS_PARTITION] };
    const concurrency = {
      tracking: DEFAULT_SETTINGS.trackingConcurrency,
      artifacts: DEFAULT_SETTINGS.artifactsConcurrency,
      registry: DEFAULT_SETTINGS.registryConcurrency,
      authorizer: DEFAULT_SETTINGS.authorizerConcurrency,
      ui: DEFAULT_SETTINGS.uiConcurrency,
      traces: DEFAULT_SETTINGS.tracesConcurrency,
      ...props.reservedConcurrency,
    } satisfies Record<Exclude<FunctionArea, 'purge' | 'webhooks'>, number>;

    // The commands in shared/store/experiments-repo.ts, runs-repo.ts and history-pages.ts.
    const tracking = new CairnFunction(this, 'Tracking', {
      area: 'tracking',
      logRetention,
      reservedConcurrency: concurrency.tracking,
      environment: { CAIRN_ARTIFACT_ROOT: props.artifactRoot ?? 'mlflow-artifacts:/' },
    }).bindTable(props.table, {
      actions: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
      ],
      queryIndexes: gsis,
      ...noTokens,
    });
    // Artifacts reads one run or logged model at a time (shared/store/run-reader.ts: a BatchGetItem of a
    // RUN# or LMODEL# item to authorize a read, one Query of that item and its seal items for a write;
    // registry/version-reader.ts: BatchGetItems of a model's name claim, model and version items),
    // and is the only function that reads or writes the bucket's objects.
    const artifacts = new CairnFunction(this, 'Artifacts', {
      area: 'artifacts',
      logRetention,
      reservedConcurrency: concurrency.artifacts,
      environment: {
        // model-versions/get-artifact reads a version's source under the root the registry checked it by.
        CAIRN_ARTIFACT_ROOT: props.artifactRoot ?? 'mlflow-artifacts:/',
        CAIRN_PRESIGN_EXPIRES_SECONDS: String(
          props.presignExpiresSeconds ?? DEFAULT_SETTINGS.presignExpiresSeconds,
        ),
      },
    })
      .bindTable(props.table, { actions: ['dynamodb:BatchGetItem', 'dynamodb:Query'], ...noTokens })
      .bindBucket(props.artifactBucket, props.artifactKeyPrefix ?? '');
    // The commands in shared/store/registry-repo.ts (single-item reads and conditional writes, the model
    // listing on gsi1 and the version listing on gsi2 for searches), promotion-repo.ts (policies, audit
    // trail) and the promotion guard's run read (runs-repo.ts reads RUN and LATEST in one BatchGetItem).
    const registry = new CairnFunction(this, 'Registry', {
      area: 'registry',
      logRetention,
      reservedConcurrency: concurrency.registry,
      environment: { CAIRN_ARTIFACT_ROOT: props.artifactRoot ?? 'mlflow-artifacts:/' },
    })
      .bindTable(props.table, {
        actions: [
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
        ],
        queryIndexes: gsis,
        ...noTokens,
      })
      // Seal items are PutItems above; the promotion audit lists a version's files (no object access).
      .bindBucketListing(props.artifactBucket, props.artifactKeyPrefix ?? '');
    // The web UI: its bundle is built into the function's asset (bundling.ts), so it needs no grant at
    // all, neither the table nor the bucket; whoami reads only the authorizer's context.
    // The page's CSP names the bucket's origin, where presigned artifact URLs point (the SDK signs
    // virtual-hosted URLs on the regional endpoint): the artifact viewer shows images and text from it.
    const ui = new CairnFunction(this, 'Ui', {
      area: 'ui',
      logRetention,
      reservedConcurrency: concurrency.ui,
      environment: {
        CAIRN_ARTIFACT_ORIGIN: `https://${props.artifactBucket.bucketName}.s3.${this.region}.${this.urlSuffix}`,
      },
    });
    // Traces: trace items (single-item writes, the time index on gsi1 for search and deletes by age), the
    // experiment and run reads that check a trace's experiment and a linked run, and span payloads under the
    // bucket's traces/ prefix (no run artifacts, no presigning). PutItem: the Default experiment's first
    // creation (ExperimentService.ready), as in the tracking function.
    const traces = new CairnFunction(this, 'Traces', {
      area: 'traces',
      logRetention,
      reservedConcurrency: concurrency.traces,
      environment: {
        CAIRN_ARTIFACT_ROOT: props.artifactRoot ?? 'mlflow-artifacts:/',
        CAIRN_TRACE_RETENTION_DAYS: String(props.traceRetentionDays ?? DEFAULT_SETTINGS.traceRetentionDays),
      },
    })
      .bindTable(props.table, {
        actions: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
          'dynamodb:BatchGetItem',
        ],
        queryIndexes: gsis,
        ...noTokens,
      })
      .bindTraceObjects(props.artifactBucket, props.artifactKeyPrefix ?? '');
    this.functions = { tracking, artifacts, registry, ui, traces };

    // The authorizer looks a token up and records its last use: token items only.
    this.authorizerFunction = new CairnFunction(this, 'Authorizer', {
      area: 'authorizer',
      logRetention,
      reservedConcurrency: concurrency.authorizer,
    }).bindTable(props.table, {
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      onlyPartitions: [TOKENS_PARTITION],
    });
    const authorizer = new HttpLambdaAuthorizer('TokenAuthorizer', this.authorizerFunction.fn, {
      identitySource: ['$request.header.Authorization'],
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      resultsCacheTtl: Duration.seconds(
        props.authorizerCacheSeconds ?? DEFAULT_SETTINGS.authorizerCacheSeconds,
      ),
    });

    // One invoke permission per function for this API (`<api>/*/*`) instead of one per route: with ~200
    // routes the per-route permissions were 200 of the stack's 460 resources, against CloudFormation's
    // 500 a stack. A function still receives only its own routes (each route names its integration), and
    // answers only operations of the route table.
    const apiScoped = { scopePermissionToRoute: false };
    const integrations = {
      tracking: new HttpLambdaIntegration('TrackingIntegration', tracking.fn, apiScoped),
      artifacts: new HttpLambdaIntegration('ArtifactsIntegration', artifacts.fn, apiScoped),
      registry: new HttpLambdaIntegration('RegistryIntegration', registry.fn, apiScoped),
      ui: new HttpLambdaIntegration('UiIntegration', ui.fn, apiScoped),
      traces: new HttpLambdaIntegration('TracesIntegration', traces.fn, apiScoped),
    } satisfies Record<FunctionName, HttpLambdaIntegration>;

    this.api = new HttpApi(this, 'Api', {
      description: 'Cairn: MLflow-compatible tracking API',
      defaultIntegration: integrations.tracking,
      defaultAuthorizer: authorizer,
      createDefaultStage: false,
    });

    for (const route of ROUTES) {
      const open = GATEWAY_OPEN_ROUTES.has(route.routeKey);
      const httpRoute = new HttpRoute(this, `Route ${route.routeKey}`, {
        httpApi: this.api,
        routeKey: HttpRouteKey.with(route.fullPath, HttpMethod[route.method]),
        integration: integrations[route.fn],
        authorizer: open ? new HttpNoneAuthorizer() : authorizer,
      });
      if (open) {
        const reason = OPEN_ROUTE_REASONS[route.operation];
        // A new public route must say why before it can deploy open.
        if (!reason) throw new Error(`Open route ${route.routeKey} has no reason in OPEN_ROUTE_REASONS`);
        Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason });
      }
    }

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: props.stageName ?? DEFAULT_SETTINGS.stageName,
      autoDeploy: true,
      // Every route's default; API Gateway answers 429 beyond it, which the stock client retries.
      throttle: {
        rateLimit: props.throttleRateLimit ?? DEFAULT_SETTINGS.throttleRateLimit,
        burstLimit: props.throttleBurstLimit ?? DEFAULT_SETTINGS.throttleBurstLimit,
      },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
    });

    this.purgeFunction = this.addPurge(props, logRetention, gsis, noTokens);

    this.observability = new Observability(this, 'Observability', {
      api: this.api,
      functions: [
        tracking,
        artifacts,
        registry,
        ui,
        traces,
        this.authorizerFunction,
        ...(this.purgeFunction ? [this.purgeFunction] : []),
      ],
      table: props.table,
      indexNames: gsis,
      alarmEmail: props.alarmEmail,
      dashboard: props.dashboard ?? false,
      alarms: props.alarms ?? 'essential',
    });

    this.webhooks = new Webhooks(this, 'Webhooks', {
      registry,
      table: props.table,
      webhookPartition: keys.webhooksPartition,
      alarmTopic: this.observability.topic,
      allowPrivateTargets: props.webhookAllowPrivateTargets ?? DEFAULT_SETTINGS.webhookAllowPrivateTargets,
      retainData: props.retainData ?? DEFAULT_SETTINGS.retainData,
      logRetention,
    });

    const stageUrl =
      this.stage.stageName === '$default'
        ? this.api.apiEndpoint
        : `${this.api.apiEndpoint}/${this.stage.stageName}`;
    new CfnOutput(this, 'TrackingUri', {
      // The stage URL without its trailing slash: the client appends `/api/2.0/...` itself.
      value: stageUrl,
      description: 'Set MLFLOW_TRACKING_URI to this',
    });
    new CfnOutput(this, 'UiUrl', {
      // With the trailing slash: the page links its assets relatively, under the stage path if any.
      value: `${stageUrl}/`,
      description: 'Open this in a browser for the web UI and paste a token (docs/deploy.md)',
    });
    new CfnOutput(this, 'CairnTableName', {
      value: props.table.tableName,
      description: 'The table `cairn token create --stack CairnApi` writes tokens to',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.observability.topic.topicArn,
      description: 'Every alarm notifies this topic; subscribe email, chat or a pager to it',
    });
    if (this.observability.dashboard) {
      new CfnOutput(this, 'DashboardName', { value: this.observability.dashboard.dashboardName });
    }
    new CfnOutput(this, 'WebhookDeadLetterQueueArn', {
      value: this.webhooks.deadLetterQueue.queueArn,
      description: 'Webhook deliveries given up on; docs/deploy.md says how to redrive them',
    });
    new CfnOutput(this, 'CairnArtifactLocation', {
      value: `s3://${props.artifactBucket.bucketName}/${props.artifactKeyPrefix ?? ''}`,
      description: 'Where artifacts live (bucket and key prefix): what `cairn gc --stack CairnApi` purges',
    });
  }

  /**
   * The daily purge (functions/purge): EventBridge Scheduler invokes it once a day. It reads and deletes
   * table items (queries of run, model and trace partitions and of the experiment, run, model, trace and
   * version listings on both indexes; deleted-time stamps and counter decrements are updates) and deletes
   * objects under the artifact prefix. One at a time (reserved concurrency 1): two would do the same work.
   */
  private addPurge(
    props: ApiStackProps,
    logRetention: RetentionDays,
    gsis: IndexName[],
    noTokens: { denyPartitions: string[] },
  ): CairnFunction | undefined {
    const days = props.purgeDeletedAfterDays ?? DEFAULT_SETTINGS.purgeDeletedAfterDays;
    if (days === 0) return undefined;
    const purge = new CairnFunction(this, 'Purge', {
      area: 'purge',
      logRetention,
      reservedConcurrency: 1,
      invokedBy: { kind: 'schedule', timeout: PURGE_TIMEOUT },
      environment: { CAIRN_PURGE_AFTER_DAYS: String(days) },
    })
      .bindTable(props.table, {
        actions: [
          'dynamodb:GetItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:BatchWriteItem',
        ],
        queryIndexes: gsis,
        ...noTokens,
      })
      .bindBucketPurge(props.artifactBucket, props.artifactKeyPrefix ?? '');
    // The schedule's own role, allowed to invoke this one function and nothing else.
    const scheduleRole = new Role(this, 'PurgeScheduleRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com'),
      description: 'Cairn: EventBridge Scheduler invoking the daily purge',
    });
    new Schedule(this, 'PurgeSchedule', {
      description: `Cairn: purge runs and experiments deleted more than ${days} days ago`,
      schedule: ScheduleExpression.cron({ ...PURGE_SCHEDULE }),
      // A failed day is redone by the next one (the purge resumes by design): no retries piling up.
      target: new LambdaInvoke(purge.fn, { role: scheduleRole, retryAttempts: 0 }),
    });
    // Lambda's grantInvoke adds `<function ARN>:*` (its versions and aliases) beside the function's ARN;
    // the finding is named by the ARN as rendered, known only once synthesis resolves it.
    const versions = `${purge.fn.functionArn}:*`;
    scheduleRole.node.addValidation({
      validate: () => {
        const rendered = flattenCfnReference(Stack.of(this).resolve(versions));
        Validations.of(scheduleRole).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${rendered}]`,
          reason:
            "The wildcard is the purge function's own versions and aliases (Lambda's grantInvoke grants the " +
            'function ARN and `<ARN>:*` together); no other function can be invoked with this role.',
        });
        return [];
      },
    });
    return purge;
  }
}

/**
 * One JSON object per request. What identifies it, who made it (the authorizer's principal, never the
 * Authorization header, which access logs cannot and must not contain), what it hit, how it ended and
 * why, if the authorizer or the integration failed.
 */
export const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    time: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    principal: '$context.authorizer.principal',
    scope: '$context.authorizer.scope',
    method: '$context.httpMethod',
    route: '$context.routeKey',
    path: '$context.path',
    status: '$context.status',
    responseLength: '$context.responseLength',
    latencyMs: '$context.responseLatency',
    integrationLatencyMs: '$context.integrationLatency',
    integrationStatus: '$context.integrationStatus',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
    error: '$context.error.message',
  }),
);
