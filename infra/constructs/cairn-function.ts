/**
 * Every Cairn function's defaults in one place: Node 22 on arm64, ESM, minified, the AWS SDK bundled
 * (not taken from the runtime, so the code runs against the SDK version the lockfile pins and tests),
 * bundled by infra/constructs/bundling.ts (the same settings the bench and the bundle tests build), an
 * explicit log group with retention, X-Ray tracing, Powertools' service name and metrics namespace, and
 * its own role with least privilege: no AWS managed policy, no wildcard action, each grant bound to the
 * environment variable that names its resource. The cdk-nag acknowledgements every function shares are
 * made here, each with its reason.
 */
import { dirname } from 'node:path';
import { AssetHashType, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import { Construct } from 'constructs';
import type { FunctionName } from '../../shared/api/routes.js';
import { type IndexName, TRACES_KEY_PREFIX } from '../../shared/store/keys.js';
import { bundleFunction, entryOf } from './bundling.js';

/**
 * The API's functions, plus the authorizer API Gateway runs before them, the scheduled purge and the
 * webhook delivery function the delivery queue invokes.
 */
export type FunctionArea = FunctionName | 'authorizer' | 'purge' | 'webhooks';

/** The DynamoDB item actions a function may be granted (no transactions: design decision 5). */
export type TableAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:Query'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:BatchWriteItem';

export interface TableAccess {
  /** Actions on the table's own items: exactly the commands the function's code sends. */
  actions: readonly TableAction[];
  /** Indexes the function queries (each granted `dynamodb:Query` on its own ARN, nothing else). */
  queryIndexes?: readonly IndexName[];
  /** Allow only items whose partition key is one of these (`dynamodb:LeadingKeys`). */
  onlyPartitions?: readonly string[];
  /** Deny the granted actions on items whose partition key is one of these, whatever else allows them. */
  denyPartitions?: readonly string[];
}

export interface CairnFunctionProps {
  /** The area; its handler is `functions/<area>/handler.ts`. */
  area: FunctionArea;
  environment?: Record<string, string>;
  logRetention?: RetentionDays;
  /** The function's reserved concurrency (settings.ts says why every function has one). */
  reservedConcurrency: number;
  /**
   * Who invokes it: API Gateway, synchronously (the default; timeout under its 30 s), or EventBridge
   * Scheduler, asynchronously (the purge: its own timeout, its failures retried by the schedule), or an
   * SQS event source mapping (webhook deliveries: retried and dead-lettered by the queue).
   */
  invokedBy?: { kind: 'api' } | { kind: 'schedule' | 'queue'; timeout: Duration };
}

export class CairnFunction extends Construct {
  readonly fn: LambdaFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly area: FunctionArea;

  constructor(scope: Construct, id: string, props: CairnFunctionProps) {
    super(scope, id);
    this.area = props.area;
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The function's own role instead of the default one, which carries the AWSLambdaBasicExecutionRole
    // managed policy (logs:CreateLogGroup and PutLogEvents on every log group in the account).
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Cairn ${props.area} function`,
    });
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // The log group's ARN (`...:log-group:<name>:*`) covers its streams and nothing else.
        resources: [this.logGroup.logGroupArn],
      }),
    );
    const runtime = Runtime.NODEJS_22_X;
    this.fn = new LambdaFunction(this, 'Function', {
      // Bundled here rather than by NodejsFunction, which writes one file and so cannot split the code
      // the SDK loads only on demand into chunks (bundling.ts says why that matters at cold start).
      // The asset is named by the bundle's bytes, as NodejsFunction names it. Its source is the
      // function's folder: CDK caches a bundled asset by its source and options, in which the bundling
      // callback does not show, so a source shared by all functions would give each the first's bundle.
      code: Code.fromAsset(dirname(entryOf(props.area)), {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // Never pulled: local bundling below either succeeds or throws, so Docker is not used.
          image: runtime.bundlingImage,
          local: {
            tryBundle: (outputDir) => {
              bundleFunction(props.area, outputDir);
              return true;
            },
          },
        },
      }),
      // The `handler` export of index.mjs (LAMBDA_ENTRY_FILE).
      handler: 'index.handler',
      runtime,
      architecture: Architecture.ARM_64,
      memorySize: 1024,
      // Below API Gateway's 30 s integration limit, so the function's own timeout is what the client sees.
      timeout:
        props.invokedBy && props.invokedBy.kind !== 'api' ? props.invokedBy.timeout : Duration.seconds(29),
      reservedConcurrentExecutions: props.reservedConcurrency,
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      role: this.role,
      // No NODE_OPTIONS=--enable-source-maps: Node would read and parse every loaded chunk's map at cold
      // start, 14–26 ms a function, as much as the X-Ray SDK (docs/benchmarks.md, 2026-12-06). The maps
      // ship beside the bundle, so a logged stack maps offline (docs/architecture.md).
      environment: {
        POWERTOOLS_SERVICE_NAME: `cairn-${props.area}`,
        POWERTOOLS_METRICS_NAMESPACE: 'Cairn',
        ...props.environment,
      },
    });
    this.acknowledgeSharedFindings(props.invokedBy?.kind ?? 'api');
  }

  /** The cdk-nag findings every Cairn function has by design, each acknowledged with its reason. */
  private acknowledgeSharedFindings(invokedBy: 'api' | 'schedule' | 'queue'): void {
    Validations.of(this.fn).acknowledge(
      {
        id: 'AwsSolutions-L1',
        reason:
          'Node 22 is the runtime the bundles are built for (esbuild target node22) and tested on; moving to a ' +
          'newer runtime is its own change, measured for cold start and SDK compatibility.',
      },
      { id: 'Serverless-LambdaLatestVersion', reason: 'As AwsSolutions-L1: Node 22 is the tested runtime.' },
      {
        id: 'Serverless-LambdaDLQ',
        reason: {
          api:
            'API Gateway invokes the function synchronously and the caller receives every failure as the ' +
            'response; there is no asynchronous event to dead-letter.',
          schedule:
            'The daily schedule carries no data: a failed invocation loses nothing (the next day redoes ' +
            'whatever is left, by design), and its Errors alarm reports it; a dead-letter queue would hold ' +
            'only empty events.',
          queue:
            'An SQS event source mapping invokes the function synchronously; a Lambda DLQ applies only to ' +
            "asynchronous invocations. The source queue's own redrive policy dead-letters a message that " +
            'keeps failing (infra/constructs/webhooks.ts).',
        }[invokedBy],
      },
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) has no resource-level permissions; AWS ' +
        'requires Resource "*" for these two actions, and they are the only ones granted on it.',
    });
  }

  /**
   * Grants exactly what the artifact store calls, under the artifact key prefix only, and sets
   * CAIRN_ARTIFACT_BUCKET and CAIRN_ARTIFACT_KEY_PREFIX together. Presigned URLs act with these same
   * permissions, so they too can reach nothing outside the prefix.
   */
  bindBucket(bucket: IBucket, keyPrefix = ''): this {
    const objects = bucket.arnForObjects(`${keyPrefix}*`);
    this.role.addToPolicy(
      new PolicyStatement({
        actions: [
          // GetObject, HeadObject and presigned GETs.
          's3:GetObject',
          // PutObject, CreateMultipartUpload, UploadPart (presigned), CompleteMultipartUpload.
          's3:PutObject',
          // DeleteObject and DeleteObjects (checked per key).
          's3:DeleteObject',
          's3:AbortMultipartUpload',
        ],
        resources: [objects],
      }),
    );
    // S3 also answers a missing key with 404 rather than 403 only to callers allowed to list (HeadObject in
    // the store relies on that); it evaluates s3:prefix as the requested key there, which is under the
    // prefix. (Documented S3 behaviour for ListBucket; the prefix-condition detail is to confirm on AWS.)
    this.bindBucketListing(bucket, keyPrefix);
    this.acknowledgeWildcard(
      objects,
      'Object keys are derived per run at request time (<prefix><experiment>/<run>/artifacts/...), so the ' +
        'artifact key prefix is the narrowest scope IAM can state; the function checks every key against its ' +
        'run before it signs or calls anything.',
    );
    return this;
  }

  /**
   * Grants what the span store calls (shared/store/traces/span-store.ts: put, get, list and delete of span
   * payloads) under `<key prefix>traces/` only, and sets CAIRN_ARTIFACT_BUCKET and CAIRN_ARTIFACT_KEY_PREFIX.
   * No multipart, no presigning: the traces function never hands out URLs and cannot reach run artifacts.
   */
  bindTraceObjects(bucket: IBucket, keyPrefix = ''): this {
    const tracesPrefix = `${keyPrefix}${TRACES_KEY_PREFIX}`;
    const objects = bucket.arnForObjects(`${tracesPrefix}*`);
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: [objects],
      }),
    );
    this.allowListing(bucket, tracesPrefix);
    this.acknowledgeWildcard(
      objects,
      'Span payloads are keyed by trace and experiment at request time ' +
        '(<prefix>traces/<trace_id>/<experiment_id>/<digest>.json), so the traces prefix is the narrowest ' +
        'scope IAM can state; trace ids are validated (tr- and 32 hex) and the experiment found first.',
    );
    this.fn.addEnvironment('CAIRN_ARTIFACT_BUCKET', bucket.bucketName);
    this.fn.addEnvironment('CAIRN_ARTIFACT_KEY_PREFIX', keyPrefix);
    return this;
  }

  /**
   * Grants only the listing of the artifact prefix (ListObjectsV2: keys, sizes, ETags; no bytes) and sets
   * CAIRN_ARTIFACT_BUCKET and CAIRN_ARTIFACT_KEY_PREFIX: the registry lists a version's files into the
   * promotion audit.
   */
  bindBucketListing(bucket: IBucket, keyPrefix = ''): this {
    this.allowListing(bucket, keyPrefix);
    this.fn.addEnvironment('CAIRN_ARTIFACT_BUCKET', bucket.bucketName);
    this.fn.addEnvironment('CAIRN_ARTIFACT_KEY_PREFIX', keyPrefix);
    return this;
  }

  /** ListObjectsV2 under `prefix`: listing is a bucket-level action, so the prefix is a condition. */
  private allowListing(bucket: IBucket, prefix: string): void {
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
  }

  /**
   * Grants what the purge calls on the bucket (shared/store/purge/purge.ts: ListObjectsV2 and DeleteObjects
   * of the objects of runs, logged models and traces it purges) under the artifact key prefix only, and
   * sets CAIRN_ARTIFACT_BUCKET and CAIRN_ARTIFACT_KEY_PREFIX. No read, no write: it never sees a byte.
   */
  bindBucketPurge(bucket: IBucket, keyPrefix = ''): this {
    const objects = bucket.arnForObjects(`${keyPrefix}*`);
    this.role.addToPolicy(new PolicyStatement({ actions: ['s3:DeleteObject'], resources: [objects] }));
    this.bindBucketListing(bucket, keyPrefix);
    this.acknowledgeWildcard(
      objects,
      'The purge deletes the objects of runs, logged models and traces it finds in the table ' +
        '(<prefix><experiment>/<run>/..., <prefix><experiment>/models/<id>/..., <prefix>traces/<trace>/...), ' +
        'keyed by ids known only at run time, so the artifact key prefix is the narrowest scope IAM can ' +
        'state; it may delete, never read or write.',
    );
    return this;
  }

  /** Grants exactly `access` on the table and sets CAIRN_TABLE_NAME, so the two cannot drift apart. */
  bindTable(table: ITable, access: TableAccess): this {
    const leadingKeys = (partitions: readonly string[]) => ({ 'dynamodb:LeadingKeys': [...partitions] });
    this.role.addToPolicy(
      new PolicyStatement({
        actions: [...access.actions],
        resources: [table.tableArn],
        ...(access.onlyPartitions
          ? { conditions: { 'ForAllValues:StringEquals': leadingKeys(access.onlyPartitions) } }
          : {}),
      }),
    );
    if (access.queryIndexes && access.queryIndexes.length > 0) {
      this.role.addToPolicy(
        new PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: access.queryIndexes.map((index) => `${table.tableArn}/index/${index}`),
        }),
      );
    }
    if (access.denyPartitions && access.denyPartitions.length > 0) {
      this.role.addToPolicy(
        new PolicyStatement({
          effect: Effect.DENY,
          actions: [...access.actions],
          resources: [table.tableArn],
          conditions: { 'ForAnyValue:StringEquals': leadingKeys(access.denyPartitions) },
        }),
      );
    }
    this.fn.addEnvironment('CAIRN_TABLE_NAME', table.tableName);
    return this;
  }

  /**
   * Acknowledges cdk-nag's wildcard-resource finding for exactly one resource of this function's policy.
   * cdk-nag names such a finding by the resource as the template finally renders it, and a resource from
   * the data stack only becomes its `Fn::ImportValue` form once synthesis has wired the stacks together;
   * so the acknowledgement is recorded from a validation hook, which runs after that and before cdk-nag.
   */
  acknowledgeWildcard(resource: string, reason: string): void {
    this.role.node.addValidation({
      validate: () => {
        const rendered = flattenCfnReference(Stack.of(this).resolve(resource));
        Validations.of(this.role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${rendered}]`, reason });
        return [];
      },
    });
  }
}
