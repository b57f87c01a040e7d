/**
 * `cairn policy set|get|delete|audit|migrate`: registered models' promotion policies and their audit
 * trail, in a local data directory or a deployed stack.
 */
import { parseArgs } from 'node:util';
import type { PromotionPolicy } from '../../shared/domain/promotion/model.js';
import { parseTarget, validateCondition } from '../../shared/domain/promotion/rules.js';
import { PromotionPolicyService } from '../../shared/domain/promotion/service.js';
import { validateModelName } from '../../shared/domain/registry/rules.js';
import { type MigrationReport, migrateLegacyPromotions } from '../../shared/store/promotion/migrate.js';
import { DynamoPromotionRepository } from '../../shared/store/promotion/repository.js';
import { DynamoRegistryRepository } from '../../shared/store/registry/repository.js';
import {
  formatTime,
  reportRuleFailure,
  TARGET_OPTIONS,
  targetDocumentClient,
  withTarget,
} from '../target.js';
import type { OpenTokenStore } from '../token-stores.js';
import { UsageError, usage } from '../usage.js';

const POLICY_OPTIONS = {
  ...TARGET_OPTIONS,
  model: { type: 'string' },
  alias: { type: 'string' },
  stage: { type: 'string' },
} as const;

function requireModel(model: string | undefined): string {
  if (model === undefined) throw new UsageError('--model is required');
  validateModelName('name', model);
  return model;
}

function policyService(store: OpenTokenStore): PromotionPolicyService {
  const doc = targetDocumentClient(store);
  // Policies belong to the model's id: the registry resolves the name the user gives.
  return new PromotionPolicyService(
    new DynamoPromotionRepository(doc, store.tableName),
    new DynamoRegistryRepository(doc, store.tableName),
  );
}

const describePolicyTarget = ({ target }: Pick<PromotionPolicy, 'target'>) =>
  `${target.kind} '${target.name}'`;

function printMigration(report: MigrationReport, where: string): void {
  const verb = report.dryRun ? 'Would migrate' : 'Migrated';
  const total = report.policies + report.auditEntries + report.orphaned + report.conflicts.length;
  if (total === 0) {
    console.log(
      `Nothing to migrate in ${where}: no promotion policies or audit entries are keyed by a model name.`,
    );
    return;
  }
  console.log(
    `${verb} ${report.policies} policies and ${report.auditEntries} audit entries to their models' ids in ${where}.`,
  );
  if (report.orphaned > 0) {
    console.log(
      `${report.dryRun ? 'Would delete' : 'Deleted'} ${report.orphaned} orphaned items of models that no longer exist: ${report.orphanedNames.map((n) => `'${n}'`).join(', ')}.`,
    );
  }
  for (const c of report.conflicts) {
    console.log(
      `Conflict: model '${c.modelName}' already has a policy for ${c.target} under its id, kept: ${c.keptCondition}; the name-keyed one ${report.dryRun ? 'would be' : 'was'} dropped: ${c.legacyCondition}`,
    );
  }
  if (report.dryRun) console.log('Dry run: nothing was changed.');
}

async function policyMigrate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...TARGET_OPTIONS, 'dry-run': { type: 'boolean', default: false } },
    strict: true,
  });
  if (values.help) return usage(0);
  // With --stack this runs with the operator's own AWS credentials (the usual chain), like every policy
  // command: it needs cloudformation:DescribeStacks, and dynamodb:Scan, GetItem, Query, PutItem and DeleteItem
  // on the table; no function role is involved, so the stack needs no IAM change.
  return withTarget(values, async (store) => {
    const doc = targetDocumentClient(store);
    const report = await migrateLegacyPromotions(
      doc,
      store.tableName,
      new DynamoRegistryRepository(doc, store.tableName),
      { dryRun: values['dry-run'] },
    );
    printMigration(report, store.where);
    return 0;
  });
}

async function policyCommand(action: string | undefined, args: string[]): Promise<number> {
  if (action === 'migrate') return policyMigrate(args);
  const { values } = parseArgs({
    args,
    options: { ...POLICY_OPTIONS, condition: { type: 'string' }, 'max-results': { type: 'string' } },
    strict: true,
  });
  if (values.help) return usage(0);
  const model = requireModel(values.model);
  // Everything is validated before the data is opened (and locked).
  switch (action) {
    case 'set': {
      const target = parseTarget(values.alias, values.stage);
      if (values.condition === undefined) throw new UsageError('--condition is required');
      const condition = values.condition;
      validateCondition(condition);
      return withTarget(
        values,
        async (store) => {
          await policyService(store).set(model, target, condition);
          console.log(
            `Set the promotion policy of model '${model}' for ${describePolicyTarget({ target })} in ${store.where}: ${condition}`,
          );
          return 0;
        },
        // Like token create, it may be the first thing written to a new data directory.
        false,
      );
    }
    case 'get':
      return withTarget(values, async (store) => {
        const { policies, legacyPoliciesPending } = await policyService(store).listWithLegacy(model);
        if (legacyPoliciesPending) {
          console.log(
            `Model '${model}' has promotion policies stored under its name by an earlier Cairn version, pending migration: run 'cairn policy migrate'. Its promotions are refused until then.`,
          );
        } else if (policies.length === 0) {
          console.log(`Model '${model}' has no promotion policies in ${store.where}.`);
        }
        for (const policy of policies) {
          console.log(`${policy.target.kind} ${policy.target.name}: ${policy.condition}`);
        }
        return 0;
      });
    case 'delete': {
      const target = parseTarget(values.alias, values.stage);
      return withTarget(values, async (store) => {
        await policyService(store).delete(model, target);
        console.log(
          `Deleted the promotion policy of model '${model}' for ${describePolicyTarget({ target })} in ${store.where} (if it had one).`,
        );
        return 0;
      });
    }
    default: {
      const raw = values['max-results'];
      if (raw !== undefined && !/^\d+$/.test(raw)) {
        throw new UsageError(`--max-results takes a whole number, not '${raw}'`);
      }
      return withTarget(values, async (store) => {
        const { decisions } = await policyService(store).decisions(
          model,
          raw === undefined ? undefined : Number(raw),
        );
        if (decisions.length === 0)
          console.log(`Model '${model}' has no recorded promotions in ${store.where}.`);
        for (const d of decisions) {
          console.log(
            `${formatTime(d.timestamp, '-')}  ${d.outcome}  version ${d.version} -> ${d.target.kind} ${d.target.name}  run ${d.runId ?? '-'}  by ${d.principal ?? '-'}`,
          );
          for (const clause of d.failingClauses) console.log(`    failing: ${clause}`);
        }
        return 0;
      });
    }
  }
}

export async function policy(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'help' || action === '--help' || action === '-h') return usage(0);
  if (
    action !== 'set' &&
    action !== 'get' &&
    action !== 'delete' &&
    action !== 'audit' &&
    action !== 'migrate'
  ) {
    console.error(
      `cairn: policy needs set, get, delete, audit or migrate${action ? `, not '${action}'` : ''}\n`,
    );
    return usage(2, 'policy');
  }
  try {
    return await policyCommand(action, rest);
  } catch (error) {
    return reportRuleFailure(error, 'policy');
  }
}
