/**
 * The stateful half: one DynamoDB table, the artifact bucket and the bucket's access-log bucket. By
 * default all three are retained when the stack is deleted and the table is deletion-protected: a
 * mistaken `cdk destroy` must not lose a team's experiments. `retainData: false` (context
 * `cairn:retainData=false`) is the deliberate way out, for throwaway stacks.
 */
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  HttpMethods,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { longestPresignSeconds } from '../../shared/domain/artifacts/service.js';
import { TABLE_KEYS, TIME_TO_LIVE_ATTRIBUTE, TRACES_KEY_PREFIX } from '../../shared/store/keys.js';
import { DEFAULT_SETTINGS } from '../settings.js';

export interface DataStackProps extends StackProps {
  /**
   * Browser origins allowed to PUT and GET artifacts through presigned URLs (a web UI on a custom domain,
   * or uploading straight to S3). The stack's own web UI needs none: its execute-api origin may GET.
   */
  corsOrigins?: string[];
  /** Retain the table and buckets on stack deletion, with deletion protection (default true). */
  retainData?: boolean;
  /** Days an overwritten or deleted artifact stays recoverable (default 30). */
  noncurrentVersionDays?: number;
  /** Days bucket access logs are kept (default 30). */
  accessLogDays?: number;
  /** The table's on-demand ceilings, request units per second (defaults in settings.ts). */
  maxReadRequestUnits?: number;
  maxWriteRequestUnits?: number;
  /** The functions' presigned-URL lifetime: the bucket refuses signatures older than any URL lives. */
  presignExpiresSeconds?: number;
  /** Days a trace is kept: the table's TTL ends its item, a lifecycle rule its span payloads (default 30). */
  traceRetentionDays?: number;
  /** The artifact key prefix ('' or ending in '/'), under which span payloads live in `traces/`. */
  artifactKeyPrefix?: string;
}

export class DataStack extends Stack {
  readonly table: TableV2;
  readonly artifactBucket: Bucket;
  readonly accessLogBucket: Bucket;

  constructor(scope: Construct, id: string, props: DataStackProps = {}) {
    super(scope, id, props);
    const retain = props.retainData ?? DEFAULT_SETTINGS.retainData;
    // Without retention a non-empty bucket still stops the stack's deletion (CloudFormation deletes only
    // empty buckets); there is deliberately no auto-delete function that would empty it.
    const removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      // A cost ceiling: past it DynamoDB throttles rather than bills (settings.ts says why these values).
      billing: Billing.onDemand({
        maxReadRequestUnits: props.maxReadRequestUnits ?? DEFAULT_SETTINGS.tableMaxReadRequestUnits,
        maxWriteRequestUnits: props.maxWriteRequestUnits ?? DEFAULT_SETTINGS.tableMaxWriteRequestUnits,
      }),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Trace items carry it (shared/store/keys.ts); nothing else expires.
      timeToLiveAttribute: TIME_TO_LIVE_ATTRIBUTE,
      deletionProtection: retain,
      removalPolicy,
      globalSecondaryIndexes: TABLE_KEYS.indexes.map((index) => ({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
      })),
    });

    // Presigned GETs and PUTs go straight to S3, so the API's access log shows who was handed a URL but
    // not who used it: S3 server access logs record every request made with one.
    this.accessLogBucket = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // S3 server access logging can deliver only to SSE-S3 buckets.
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(props.accessLogDays ?? DEFAULT_SETTINGS.logRetentionDays),
        },
      ],
    });

    this.artifactBucket = new Bucket(this, 'Artifacts', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'artifacts/',
      // A presigned PUT to an existing key replaces the object, and artifact deletes are API calls a
      // token holder can make: versions keep what was overwritten or deleted recoverable for a while.
      versioned: true,
      lifecycleRules: [
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(7) },
        // Span payloads expire with their trace items' TTL (a day later, so a trace is never found without
        // its spans); noncurrent copies then go with the rule below.
        {
          id: 'expire-trace-spans',
          prefix: `${props.artifactKeyPrefix ?? ''}${TRACES_KEY_PREFIX}`,
          expiration: Duration.days((props.traceRetentionDays ?? DEFAULT_SETTINGS.traceRetentionDays) + 1),
        },
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(
            props.noncurrentVersionDays ?? DEFAULT_SETTINGS.noncurrentVersionDays,
          ),
          // Once its noncurrent versions have expired, a delete marker only costs LIST time.
          expiredObjectDeleteMarker: true,
        },
      ],
      cors: [
        // The web UI (served by the HTTP API, so from an execute-api origin of this region) reads the first
        // megabyte of a text artifact through its presigned GET URL. The pattern admits any API of the
        // region, which is no wider than the URL itself: S3 answers only requests it can authorize, and a
        // presigned URL already lets whoever holds it read the object; CORS only lets that page see it.
        {
          allowedOrigins: [`https://*.execute-api.${this.region}.${this.urlSuffix}`],
          allowedMethods: [HttpMethods.GET, HttpMethods.HEAD],
          allowedHeaders: ['range'],
          exposedHeaders: ['Content-Range', 'Content-Length'],
          maxAge: 3000,
        },
        ...(props.corsOrigins && props.corsOrigins.length > 0
          ? [
              {
                allowedOrigins: props.corsOrigins,
                allowedMethods: [HttpMethods.GET, HttpMethods.PUT, HttpMethods.HEAD],
                allowedHeaders: ['*'],
                // Browser multipart uploads need each part's ETag to complete the upload.
                exposedHeaders: ['ETag', 'Content-Range'],
                maxAge: 3000,
              },
            ]
          : []),
      ],
    });

    // Presigned URLs are the only requests signed away from the functions. S3 already refuses an expired
    // URL; refusing any signature older than the longest URL lifetime also bounds a leaked URL whose
    // X-Amz-Expires was stretched by whoever signed it (a role with more rights than the functions'), and
    // only header- or query-signed REST requests are allowed: no browser POST-policy uploads, which the
    // API never issues and whose policy documents it would not check.
    const maxAgeMs =
      longestPresignSeconds(props.presignExpiresSeconds ?? DEFAULT_SETTINGS.presignExpiresSeconds) * 1000;
    const everything = [this.artifactBucket.bucketArn, this.artifactBucket.arnForObjects('*')];
    this.artifactBucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'DenyStaleSignatures',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:*'],
        resources: everything,
        conditions: { NumericGreaterThan: { 's3:signatureAge': maxAgeMs } },
      }),
    );
    this.artifactBucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'DenyOtherAuthTypes',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:*'],
        resources: everything,
        conditions: { StringNotEquals: { 's3:authType': [...ALLOWED_AUTH_TYPES] } },
      }),
    );
  }
}

/** SigV4 in the Authorization header (the functions' own calls) or in the query string (presigned URLs). */
export const ALLOWED_AUTH_TYPES = ['REST-HEADER', 'REST-QUERY-STRING'] as const;
