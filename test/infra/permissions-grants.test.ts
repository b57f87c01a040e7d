/**
 * The synthesized app can run the permission check (issue 16): every function that serves a route with
 * `access` (or a search with `filters`) may read grants, that is `dynamodb:Query` on the table for a
 * `PERM#<principal>` partition, through the role the function actually runs with, and no deny in that role
 * takes it away (the token partition's deny, for one, must not reach grant items). Locally there is no IAM,
 * so the matrix (test/integration/permissions-matrix.test.ts) cannot see a missing grant: this can.
 *
 * It also follows every guarded route from the table to API Gateway: each route key is a gateway route
 * whose integration invokes the function the table names, the function whose role is checked here and
 * whose bundle test/infra/permissions-bundles.test.ts runs the matrix on.
 */
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/bin/app.js';
import type { FunctionName, Route } from '../../shared/api/route-kit.js';
import { ROUTES } from '../../shared/api/routes.js';
import { permissionKey } from '../../shared/store/permissions/repository.js';

type Resource = { Type: string; Properties: Record<string, unknown> };

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

let built: ReturnType<typeof buildApp>;
let api: Template;
let tableArn: unknown;

beforeAll(() => {
  // The templates are what this reads: no bundling.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  built = buildApp(app);
  api = Template.fromStack(built.api);
  tableArn = importedTableArn();
});

const logicalId = (stack: Stack, construct: IConstruct) =>
  stack.getLogicalId(construct.node.defaultChild as CfnElement);

/** The table's ARN as the API stack's policies name it: an import of the data stack's export. */
function importedTableArn(): unknown {
  const data = Template.fromStack(built.data);
  const table = logicalId(built.data, built.data.table);
  const outputs = (
    data.toJSON() as { Outputs?: Record<string, { Value: unknown; Export?: { Name: string } }> }
  ).Outputs;
  const exported = Object.values(outputs ?? {}).find(
    (output) => JSON.stringify(output.Value) === JSON.stringify({ 'Fn::GetAtt': [table, 'Arn'] }),
  );
  if (!exported?.Export) throw new Error('the data stack exports no table ARN');
  return { 'Fn::ImportValue': exported.Export.Name };
}

const same = (left: unknown, right: unknown) => JSON.stringify(left) === JSON.stringify(right);

/** Every statement of the role `roleId`: its inline policies and the policies attached to it. */
function statementsOfRole(roleId: string): Statement[] {
  const role = api.toJSON().Resources[roleId] as Resource;
  const inline = (
    (role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]) ?? []
  ).flatMap((policy) => policy.PolicyDocument.Statement);
  const attached = Object.values(api.findResources('AWS::IAM::Policy') as Record<string, Resource>)
    .filter((policy) => (policy.Properties.Roles as unknown[]).some((ref) => same(ref, { Ref: roleId })))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  expect(api.findResources('AWS::IAM::ManagedPolicy')).toEqual({});
  return [...inline, ...attached];
}

/** Whether an IAM string condition matches `value` (`*` and `?` wildcards for StringLike). */
function stringMatches(operator: string, pattern: string, value: string): boolean {
  if (operator === 'StringEquals') return pattern === value;
  const regexp = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return regexp.test(value);
}

/**
 * Whether a statement's conditions hold for a request on the partitions `leadingKeys`. Only the conditions
 * the table grants use are understood; any other throws, so that a new kind of condition is looked at here
 * rather than assumed to hold or not.
 */
function conditionsHold(statement: Statement, leadingKeys: readonly string[]): boolean {
  return Object.entries(statement.Condition ?? {}).every(([qualified, keys]) => {
    const [quantifier, operator] = qualified.includes(':') ? qualified.split(':') : ['', qualified];
    if (!['ForAllValues', 'ForAnyValue'].includes(quantifier as string)) {
      throw new Error(`condition ${qualified} is not understood here`);
    }
    if (!['StringEquals', 'StringLike'].includes(operator as string)) {
      throw new Error(`condition ${qualified} is not understood here`);
    }
    return Object.entries(keys).every(([key, raw]) => {
      if (key !== 'dynamodb:LeadingKeys') throw new Error(`condition key ${key} is not understood here`);
      const patterns = [raw].flat() as string[];
      const matches = (value: string) =>
        patterns.some((pattern) => stringMatches(operator as string, pattern, value));
      return quantifier === 'ForAllValues' ? leadingKeys.every(matches) : leadingKeys.some(matches);
    });
  });
}

/** Whether `statements` let `action` on the table, for items under `leadingKeys` (an explicit deny wins). */
function tableActionAllowed(
  statements: readonly Statement[],
  action: string,
  leadingKeys: string[],
): boolean {
  const applies = (statement: Statement) => {
    const actions = [statement.Action].flat();
    const resources = [statement.Resource].flat();
    return (
      actions.some((granted) => granted === action || granted === 'dynamodb:*' || granted === '*') &&
      resources.some((resource) => resource === '*' || same(resource, tableArn)) &&
      conditionsHold(statement, leadingKeys)
    );
  };
  const relevant = statements.filter(applies);
  return (
    relevant.some((statement) => statement.Effect === 'Allow') &&
    !relevant.some((statement) => statement.Effect === 'Deny')
  );
}

/** The functions whose routes decide by the caller's grants: a route with `access` or a filtered search. */
function functionsReadingGrants(): FunctionName[] {
  return [
    ...new Set(ROUTES.filter((route) => route.access || route.filters).map((route) => route.fn)),
  ].sort();
}

/** The Lambda function, its role, and the role's statements, for one of the API's functions. */
function deployed(fn: FunctionName) {
  const cairnFunction = built.api.functions[fn];
  const functionId = logicalId(built.api, cairnFunction.fn);
  const roleId = logicalId(built.api, cairnFunction.role);
  const lambda = api.toJSON().Resources[functionId] as Resource;
  return { functionId, roleId, lambda, statements: statementsOfRole(roleId) };
}

/** A grant partition as the grant store writes it (its key module, not a copy of the prefix). */
const GRANT_PARTITIONS = [permissionKey('matrix-user', 'experiment', '1').pk];

describe('the synthesized app reads grants where the route table asks for a check', () => {
  it('has guarded routes in more than one function (what the next test covers)', () => {
    expect(functionsReadingGrants().length).toBeGreaterThan(1);
    expect(GRANT_PARTITIONS[0]).toMatch(/^PERM#/);
  });

  it.each(functionsReadingGrants().map((fn) => [fn] as const))(
    'lets the %s function Query grant partitions, through the role it runs with',
    (fn) => {
      const { roleId, lambda, statements } = deployed(fn);
      expect(lambda.Properties.Role).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
      expect(tableActionAllowed(statements, 'dynamodb:Query', GRANT_PARTITIONS)).toBe(true);
    },
  );

  it('would see a missing grant or a deny over grant items (the evaluation itself)', () => {
    const allow: Statement = { Effect: 'Allow', Action: ['dynamodb:Query'], Resource: tableArn };
    const tokensOnly: Statement = {
      ...allow,
      Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['TOKENS'] } },
    };
    const denyGrants: Statement = {
      Effect: 'Deny',
      Action: 'dynamodb:*',
      Resource: tableArn,
      Condition: { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': ['PERM#*'] } },
    };
    const denyTokens: Statement = {
      ...denyGrants,
      Condition: { 'ForAnyValue:StringEquals': { 'dynamodb:LeadingKeys': ['TOKENS'] } },
    };
    expect(tableActionAllowed([allow], 'dynamodb:Query', GRANT_PARTITIONS)).toBe(true);
    expect(tableActionAllowed([allow, denyTokens], 'dynamodb:Query', GRANT_PARTITIONS)).toBe(true);
    expect(tableActionAllowed([], 'dynamodb:Query', GRANT_PARTITIONS)).toBe(false);
    expect(tableActionAllowed([tokensOnly], 'dynamodb:Query', GRANT_PARTITIONS)).toBe(false);
    expect(tableActionAllowed([allow, denyGrants], 'dynamodb:Query', GRANT_PARTITIONS)).toBe(false);
    expect(
      tableActionAllowed([{ ...allow, Action: 'dynamodb:GetItem' }], 'dynamodb:Query', GRANT_PARTITIONS),
    ).toBe(false);
  });
});

describe('guarded routes reach API Gateway from the route table', () => {
  /** The function each gateway route invokes, by route key. */
  function gatewayRoutes(): Map<string, string> {
    const integrations = api.findResources('AWS::ApiGatewayV2::Integration') as Record<string, Resource>;
    const functionOf = new Map(
      Object.entries(integrations).map(([id, integration]) => {
        const uri = integration.Properties.IntegrationUri as { 'Fn::GetAtt': [string, string] };
        return [id, uri['Fn::GetAtt'][0]];
      }),
    );
    const routes = api.findResources('AWS::ApiGatewayV2::Route') as Record<string, Resource>;
    return new Map(
      Object.values(routes).map((route) => {
        const target = route.Properties.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
        const integration = target['Fn::Join'][1][1].Ref;
        return [
          String(route.Properties.RouteKey),
          functionOf.get(integration) ?? `no integration ${integration}`,
        ];
      }),
    );
  }

  it('publishes each guarded route once, to the function the table names', () => {
    const published = gatewayRoutes();
    const guarded = ROUTES.filter((route: Route) => route.access);
    expect(guarded.length).toBeGreaterThan(0);
    const wrong = guarded.flatMap((route) => {
      const target = published.get(route.routeKey);
      const expected = deployed(route.fn).functionId;
      return target === expected ? [] : [`${route.routeKey}: ${target ?? 'not published'}, not ${expected}`];
    });
    expect(wrong).toEqual([]);
  });
});
