/**
 * The daily purge on the synthesized template: a schedule invoking the purge function once a day, the
 * function's grants (table items but tokens, delete-only objects under the artifact prefix), and the
 * `cairn:purgeDeletedAfterDays` setting (days, and 0 / off for none). cdk-nag is stacks.test.ts's.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/bin/app.js';
import { PURGE_SCHEDULE } from '../../infra/stacks/api-stack.js';

function synth(context: Record<string, unknown> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  return Template.fromStack(buildApp(app).api);
}

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
type Flat = Omit<Statement, 'Action'> & { Action: string[] };

function resources(template: Template, type: string) {
  return Object.entries(template.findResources(type)) as [string, { Properties: Record<string, unknown> }][];
}

function purgeFunction(template: Template) {
  const found = resources(template, 'AWS::Lambda::Function').filter(([id]) => id.startsWith('PurgeFunction'));
  return found;
}

/** The purge role's statements, resources as text (`{"Fn::ImportValue":…}` shortened to its export). */
function purgeStatements(template: Template): Flat[] {
  const [[, policy] = []] = resources(template, 'AWS::IAM::Policy').filter(([id]) =>
    id.startsWith('PurgeRole'),
  );
  if (!policy) throw new Error('no purge role policy');
  const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
  return statements.map((statement) => ({
    ...statement,
    Action: [statement.Action].flat(),
    Resource: JSON.stringify(statement.Resource).replace(
      /"Fn::ImportValue":"CairnData:ExportsOutput([A-Za-z]+?)[0-9A-F]{8}"/g,
      '"$1"',
    ),
  }));
}

describe('daily purge', () => {
  const api = synth();

  it('runs the purge function once a day on an EventBridge Scheduler schedule, with its own role', () => {
    const [[functionId, fn] = []] = purgeFunction(api);
    expect(fn?.Properties).toMatchObject({
      Timeout: 900,
      ReservedConcurrentExecutions: 1,
      Environment: { Variables: expect.objectContaining({ CAIRN_PURGE_AFTER_DAYS: '30' }) },
    });
    api.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: `cron(${PURGE_SCHEDULE.minute} ${PURGE_SCHEDULE.hour} * * ? *)`,
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [functionId, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0 },
      },
    });
    const [[, role] = []] = resources(api, 'AWS::IAM::Role').filter(([id]) =>
      id.startsWith('PurgeScheduleRole'),
    );
    expect(JSON.stringify(role?.Properties.AssumeRolePolicyDocument)).toContain('scheduler.amazonaws.com');
    const [[, schedulePolicy] = []] = resources(api, 'AWS::IAM::Policy').filter(([id]) =>
      id.startsWith('PurgeScheduleRole'),
    );
    if (!schedulePolicy) throw new Error('no schedule role policy');
    const invoke = (schedulePolicy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    expect(invoke.map((statement) => statement.Action)).toEqual(['lambda:InvokeFunction']);
    expect(JSON.stringify(invoke[0]?.Resource)).toContain(functionId);
  });

  it('lets the purge read and delete table items but never token items, and only delete objects under the prefix', () => {
    const statements = purgeStatements(api);
    const table = [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
    ];
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Allow', Action: table }));
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: table,
        Condition: { 'ForAnyValue:StringEquals': { 'dynamodb:LeadingKeys': ['TOKENS'] } },
      }),
    );
    const s3 = statements.filter((statement) => statement.Action.some((action) => action.startsWith('s3:')));
    expect(s3.map((statement) => statement.Action)).toEqual([['s3:DeleteObject'], ['s3:ListBucket']]);
    expect(s3[0]?.Resource).toMatch(/\/\*"\]\]\}$/);
    expect(s3[1]?.Condition).toEqual({ StringLike: { 's3:prefix': ['*'] } });
    // Nothing that reads or writes bytes, nothing outside the table and bucket but its logs and X-Ray.
    const actions = statements.flatMap((statement) => statement.Action);
    expect(actions.filter((action) => /^s3:(Get|Put)/.test(action))).toEqual([]);
    expect(actions.filter((action) => action.includes('*'))).toEqual([]);
  });

  it('scopes the object grant to the artifact key prefix from context', () => {
    const prefixed = purgeStatements(synth({ 'cairn:artifactKeyPrefix': 'team-a/' }));
    const s3 = prefixed.filter((statement) => statement.Action.some((action) => action.startsWith('s3:')));
    expect(s3[0]?.Resource).toContain('/team-a/*');
    expect(s3[1]?.Condition).toEqual({ StringLike: { 's3:prefix': ['team-a/*'] } });
  });

  it('takes the threshold from cairn:purgeDeletedAfterDays, and 0 or off deploys no purge at all', () => {
    const week = synth({ 'cairn:purgeDeletedAfterDays': '7' });
    week.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CAIRN_PURGE_AFTER_DAYS: '7' }) },
    });
    for (const off of [0, '0', 'off']) {
      const none = synth({ 'cairn:purgeDeletedAfterDays': off });
      expect(purgeFunction(none)).toEqual([]);
      none.resourceCountIs('AWS::Scheduler::Schedule', 0);
    }
    for (const bad of ['-1', 'weekly', '3651', '1.5']) {
      expect(() => synth({ 'cairn:purgeDeletedAfterDays': bad })).toThrow(
        /cairn:purgeDeletedAfterDays must be/,
      );
    }
  });

  it('outputs where artifacts live, for cairn gc --stack', () => {
    const outputs = (api.toJSON() as { Outputs: Record<string, { Value: unknown }> }).Outputs;
    expect(JSON.stringify(outputs.CairnArtifactLocation?.Value)).toContain('s3://');
  });
});
