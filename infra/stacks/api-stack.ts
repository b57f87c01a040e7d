/**
 * The HTTP API and its functions. Routes come from the route table; every route not in it reaches the
 * `$default` route, whose function answers 404 ENDPOINT_NOT_FOUND as MLflow-shaped JSON (HTTP APIs
 * cannot customise their own 404 body).
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, HttpRoute, HttpRouteKey } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { type FunctionName, ROUTES } from '../../shared/api/routes.js';
import { CairnFunction } from '../constructs/cairn-function.js';

export interface ApiStackProps extends StackProps {
  table: ITable;
  artifactBucket: IBucket;
  /** Root of server-assigned artifact locations. */
  artifactRoot?: string;
  /** Key prefix for every artifact in the bucket ('' or ending in '/'), e.g. to share a bucket. */
  artifactKeyPrefix?: string;
}

export class ApiStack extends Stack {
  readonly api: HttpApi;
  readonly functions: Record<FunctionName, CairnFunction>;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);

    const tracking = new CairnFunction(this, 'Tracking', {
      area: 'tracking',
      environment: { CAIRN_ARTIFACT_ROOT: props.artifactRoot ?? 'mlflow-artifacts:/' },
    }).bindTable(props.table, 'readWrite');
    // Artifacts reads runs (to authorize paths) and is the only function that touches the bucket.
    const artifacts = new CairnFunction(this, 'Artifacts', { area: 'artifacts' })
      .bindTable(props.table, 'read')
      .bindBucket(props.artifactBucket, props.artifactKeyPrefix ?? '');
    this.functions = { tracking, artifacts };

    const integrations = {
      tracking: new HttpLambdaIntegration('TrackingIntegration', tracking.fn),
      artifacts: new HttpLambdaIntegration('ArtifactsIntegration', artifacts.fn),
    } satisfies Record<FunctionName, HttpLambdaIntegration>;

    this.api = new HttpApi(this, 'Api', {
      description: 'Cairn: MLflow-compatible tracking API',
      defaultIntegration: integrations.tracking,
    });

    for (const route of ROUTES) {
      new HttpRoute(this, `Route ${route.routeKey}`, {
        httpApi: this.api,
        routeKey: HttpRouteKey.with(route.fullPath, HttpMethod[route.method]),
        integration: integrations[route.fn],
      });
    }

    new CfnOutput(this, 'TrackingUri', {
      value: this.api.apiEndpoint,
      description: 'Set MLFLOW_TRACKING_URI to this',
    });
  }
}
