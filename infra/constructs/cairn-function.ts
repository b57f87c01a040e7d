/**
 * Every Cairn function's defaults in one place: Node 22 on arm64, ESM, minified, the AWS SDK bundled
 * (not taken from the runtime, so the code runs against the SDK version the lockfile pins and tests), an
 * explicit log group with retention, and grants bound to the environment variables that name them.
 */
import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { FunctionName } from '../../shared/api/routes.js';
import { ESM_REQUIRE_BANNER, LAMBDA_ALIASES, REPO_ROOT } from './bundling.js';

export interface CairnFunctionProps {
  /** The area; its handler is `functions/<area>/handler.ts`. */
  area: FunctionName;
  environment?: Record<string, string>;
  logRetention?: RetentionDays;
}

export class CairnFunction extends Construct {
  readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: CairnFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, 'functions', props.area, 'handler.ts'),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 1024,
      // Below API Gateway's 30 s integration limit, so the function's own timeout is what the client sees.
      timeout: Duration.seconds(29),
      tracing: Tracing.ACTIVE,
      logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // Bundle everything, the SDK included: the lockfile's versions are the ones the tests ran.
        externalModules: [],
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        esbuildArgs: Object.fromEntries(
          Object.entries(LAMBDA_ALIASES).map(([module, replacement]) => [`--alias:${module}`, replacement]),
        ),
        forceDockerBundling: false,
      },
    });
  }

  /**
   * Grants object read, write and delete under the artifact key prefix and sets CAIRN_ARTIFACT_BUCKET
   * and CAIRN_ARTIFACT_KEY_PREFIX together. Presigned URLs act with these same permissions.
   */
  bindBucket(bucket: IBucket, keyPrefix = ''): this {
    bucket.grantReadWrite(this.fn, `${keyPrefix}*`);
    bucket.grantDelete(this.fn, `${keyPrefix}*`);
    this.fn.addEnvironment('CAIRN_ARTIFACT_BUCKET', bucket.bucketName);
    this.fn.addEnvironment('CAIRN_ARTIFACT_KEY_PREFIX', keyPrefix);
    return this;
  }

  /** Grants table access and sets CAIRN_TABLE_NAME together, so the two cannot drift apart. */
  bindTable(table: ITable, access: 'read' | 'readWrite'): this {
    if (access === 'read') table.grantReadData(this.fn);
    else table.grantReadWriteData(this.fn);
    this.fn.addEnvironment('CAIRN_TABLE_NAME', table.tableName);
    return this;
  }
}
