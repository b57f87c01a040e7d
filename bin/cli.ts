/**
 * `cairn <command>`. Commands:
 *   server   run the tracking server locally on embedded stand-ins for DynamoDB and S3
 *   token    create, list and revoke API tokens, locally or in a deployed stack
 *   policy   set, read and delete registered models' promotion policies; read their promotion audit trail;
 *            migrate policies stored under model names by earlier builds
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { statusOf } from '../shared/api/http.js';
import { InvalidTokenRequestError, issueToken, validateIssueRequest } from '../shared/auth/issue.js';
import { AUTHORIZER_CACHE_TTL_SECONDS, isScope, SCOPES } from '../shared/auth/scopes.js';
import { isValidTokenName, TOKEN_NAME_RULE } from '../shared/auth/token.js';
import {
  type OpenTokenStore,
  openLocalTokenStore,
  openStackTokenStore,
  TokenStoreUnavailableError,
} from '../shared/auth/token-stores.js';
import type { PromotionPolicy } from '../shared/domain/promotion/model.js';
import { PROMOTION_LIMITS, parseTarget, validateCondition } from '../shared/domain/promotion/rules.js';
import { PromotionPolicyService } from '../shared/domain/promotion/service.js';
import { validateModelName } from '../shared/domain/registry/rules.js';
import { MlflowError } from '../shared/errors.js';
import { DataDirLockedError } from '../shared/local/data-dir-lock.js';
import { startLocalServer } from '../shared/local/server.js';
import { type MigrationReport, migrateLegacyPromotions } from '../shared/store/promotion/migrate.js';
import { DynamoPromotionRepository } from '../shared/store/promotion/repository.js';
import { DynamoRegistryRepository } from '../shared/store/registry/repository.js';
import {
  TokenAlreadyExistsError,
  TokenNotFoundError,
  type TokenSummary,
} from '../shared/store/tokens/repository.js';

const USAGE = `Usage:
  cairn server [--host HOST] [--port PORT] [--data-dir DIR] [--auth]
  cairn token create --name NAME --scope read|write|admin [--expires DAYS] [TARGET]
  cairn token list [TARGET]
  cairn token revoke NAME [TARGET]
  cairn policy set --model NAME (--alias ALIAS | --stage STAGE) --condition FILTER [TARGET]
  cairn policy get --model NAME [TARGET]
  cairn policy delete --model NAME (--alias ALIAS | --stage STAGE) [TARGET]
  cairn policy audit --model NAME [--max-results N] [TARGET]
  cairn policy migrate [--dry-run] [TARGET]

server:
  --host      address to listen on (env CAIRN_HOST, default 127.0.0.1); anything but loopback needs --auth
  --port      port to listen on, 0 for any free port (env CAIRN_PORT, default 5000)
  --data-dir  where data is kept across restarts (env CAIRN_DATA_DIR, default ./cairn-data)
  --auth      require an API token on every request but /health, as the deployed API does

token:
  --name      ${TOKEN_NAME_RULE}
  --scope     read (read only), write (read and log), admin (everything)
  --expires   days until the token stops working (default: never)
  TARGET      --data-dir DIR (as for server; works whether or not a server is running on it),
              or --stack STACK [--region REGION] for a deployed stack (AWS credentials from the usual
              chain: environment, profile, SSO, instance role)

policy:
  --model      the registered model's name
  --alias      the alias the policy guards, or
  --stage      the stage it guards: None, Staging, Production or Archived
  --condition  a runs search filter the version's source run must meet to get that alias or stage,
               e.g. "metrics.accuracy >= 0.9 AND tags.data_version = 'v3'"
  --max-results  audit entries to show, newest first (default ${PROMOTION_LIMITS.defaultMaxResults})
  --dry-run    migrate: report what would move, change nothing
  TARGET       as for token

policy migrate moves the policies and audit entries that Cairn builds before the id-keyed layout stored
under a model's name to the model's id. Until it has run, those models' promotions are refused.`;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

async function server(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string', default: process.env.CAIRN_HOST || '127.0.0.1' },
      port: { type: 'string', default: process.env.CAIRN_PORT || '5000' },
      'data-dir': { type: 'string', default: process.env.CAIRN_DATA_DIR || './cairn-data' },
      auth: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`cairn: --port must be a whole number from 0 to 65535, not '${values.port}'`);
    return 2;
  }
  if (!values.auth && !LOOPBACK.test(values.host)) {
    console.error(
      `cairn: refusing to listen on ${values.host} without authentication: anyone who could reach it could read and write all data. Start with --auth (and create tokens with 'cairn token create'), or listen on 127.0.0.1.`,
    );
    return 2;
  }
  let running: Awaited<ReturnType<typeof startLocalServer>>;
  try {
    running = await startLocalServer({
      host: values.host,
      port,
      dataDir: values['data-dir'],
      auth: values.auth,
    });
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      console.error(`cairn: ${error.message}`);
      return 1;
    }
    throw error;
  }
  if (values.auth) {
    console.log(
      `Authentication: on. Clients need MLFLOW_TRACKING_TOKEN (or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD) from 'cairn token create'.`,
    );
  }
  console.log(`Tracking URI: ${running.url}`);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      console.log(`cairn: ${signal} received, shutting down`);
      running.close().then(resolve, (error: unknown) => {
        console.error(`cairn: error while shutting down: ${String(error)}`);
        resolve();
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

const TARGET_OPTIONS = {
  'data-dir': { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

/**
 * `existing`: the command reads or removes what is there, so a local data directory that holds no data
 * is a mistyped path, not an empty store (opening it would create it). Creating commands may start one.
 */
async function openTarget(
  values: { 'data-dir'?: string; stack?: string; region?: string },
  existing: boolean,
) {
  if (values.stack !== undefined && values['data-dir'] !== undefined) {
    throw new UsageError('give either --stack or --data-dir, not both');
  }
  if (values.region !== undefined && values.stack === undefined) {
    throw new UsageError('--region goes with --stack');
  }
  if (values.stack !== undefined) return openStackTokenStore(values.stack, values.region);
  const dataDir = resolve(values['data-dir'] ?? (process.env.CAIRN_DATA_DIR || './cairn-data'));
  // The directory itself, not its dynamodb/ part: a server on an external DynamoDB keeps none there.
  if (existing && !existsSync(dataDir)) {
    throw new TokenStoreUnavailableError(
      `No Cairn data in ${dataDir}: check --data-dir (or CAIRN_DATA_DIR); nothing was created there.`,
    );
  }
  return openLocalTokenStore(dataDir);
}

async function withTarget(
  values: { 'data-dir'?: string; stack?: string; region?: string },
  work: (store: OpenTokenStore) => Promise<number>,
  existing = true,
): Promise<number> {
  const store = await openTarget(values, existing);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

const formatTime = (epochMs: number | undefined, none: string) =>
  epochMs === undefined ? none : new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');

function tokenTable(tokens: TokenSummary[], now: number): string {
  const rows = [
    ['NAME', 'SCOPE', 'CREATED', 'LAST USED', 'EXPIRES'],
    ...tokens.map((t) => [
      t.name,
      t.scope,
      formatTime(t.created, '-'),
      formatTime(t.lastUsed, 'never'),
      t.expires !== undefined && t.expires <= now
        ? `${formatTime(t.expires, '')} (expired)`
        : formatTime(t.expires, 'never'),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function tokenCreate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_OPTIONS,
      name: { type: 'string' },
      scope: { type: 'string' },
      expires: { type: 'string' },
    },
    strict: true,
  });
  if (values.help) return usage(0);
  if (values.name === undefined || !isValidTokenName(values.name)) {
    throw new UsageError(
      values.name === undefined
        ? '--name is required'
        : `invalid --name '${values.name}': use ${TOKEN_NAME_RULE}`,
    );
  }
  if (!isScope(values.scope)) {
    throw new UsageError(
      `--scope must be one of ${SCOPES.join(', ')}${values.scope ? `, not '${values.scope}'` : ''}`,
    );
  }
  if (values.expires !== undefined && !/^\d+$/.test(values.expires)) {
    throw new UsageError(`--expires takes a whole number of days, not '${values.expires}'`);
  }
  const expiresInDays = values.expires === undefined ? undefined : Number(values.expires);
  const name = values.name;
  const scope = values.scope;
  // Refuse bad input before opening (and locking) anything.
  validateIssueRequest({ name, scope, ...(expiresInDays === undefined ? {} : { expiresInDays }) });
  return withTarget(
    values,
    async ({ tokens, where }) => {
      const issued = await issueToken(tokens, {
        name,
        scope,
        ...(expiresInDays === undefined ? {} : { expiresInDays }),
      });
      console.log(
        `Created token '${name}' with scope ${scope} in ${where}; it ${issued.record.expires === undefined ? 'never expires' : `expires ${formatTime(issued.record.expires, '')}`}.`,
      );
      console.log('This is the only time the secret is shown: Cairn stores only its SHA-256.\n');
      console.log('As a token:\n');
      console.log(`  export MLFLOW_TRACKING_TOKEN=${issued.token}\n`);
      console.log('or as username and password:\n');
      console.log(`  export MLFLOW_TRACKING_USERNAME=${name}`);
      console.log(`  export MLFLOW_TRACKING_PASSWORD=${issued.secret}`);
      return 0;
    },
    false,
  );
}

async function tokenList(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: TARGET_OPTIONS, strict: true });
  if (values.help) return usage(0);
  return withTarget(values, async ({ tokens, where }) => {
    const all = (await tokens.list()).sort((a, b) => a.name.localeCompare(b.name));
    console.log(all.length === 0 ? `No tokens in ${where}.` : tokenTable(all, Date.now()));
    return 0;
  });
}

async function tokenRevoke(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: TARGET_OPTIONS,
    strict: true,
    allowPositionals: true,
  });
  if (values.help) return usage(0);
  if (positionals.length !== 1) throw new UsageError('name exactly one token to revoke');
  const name = positionals[0] as string;
  if (!isValidTokenName(name)) throw new UsageError(`invalid token name '${name}': use ${TOKEN_NAME_RULE}`);
  return withTarget(values, async ({ tokens, where }) => {
    await tokens.revoke(name);
    console.log(
      `Revoked token '${name}' in ${where}. Requests already authorized with it keep working for up to ${AUTHORIZER_CACHE_TTL_SECONDS / 60} minutes locally, and on AWS for the stack's cairn:authorizerCacheSeconds (default ${AUTHORIZER_CACHE_TTL_SECONDS / 60} minutes): the authorizer's cache.`,
    );
    return 0;
  });
}

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

const documentClient = (store: OpenTokenStore) =>
  DynamoDBDocumentClient.from(store.client, { marshallOptions: { removeUndefinedValues: true } });

function policyService(store: OpenTokenStore): PromotionPolicyService {
  const doc = documentClient(store);
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
    const doc = documentClient(store);
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

async function policy(args: string[]): Promise<number> {
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
    return usage(2);
  }
  try {
    return await policyCommand(action, rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`cairn: ${error.message}\n`);
      return usage(2);
    }
    if (error instanceof MlflowError && statusOf(error) === 400) {
      console.error(`cairn: ${error.message}`);
      return 2;
    }
    if (error instanceof MlflowError && statusOf(error) === 404) {
      console.error(`cairn: ${error.message}`);
      return 1;
    }
    if (error instanceof TokenStoreUnavailableError) {
      console.error(`cairn: ${error.message}`);
      return 1;
    }
    if (error instanceof Error && error.name !== 'TypeError') {
      console.error(`cairn: ${error.name}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

function usage(code: number): number {
  (code === 0 ? console.log : console.error)(USAGE);
  return code;
}

async function token(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  try {
    switch (action) {
      case 'create':
        return await tokenCreate(rest);
      case 'list':
        return await tokenList(rest);
      case 'revoke':
        return await tokenRevoke(rest);
      case 'help':
      case '--help':
      case '-h':
        return usage(0);
      default:
        console.error(`cairn: token needs create, list or revoke${action ? `, not '${action}'` : ''}\n`);
        return usage(2);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof InvalidTokenRequestError) {
      console.error(`cairn: ${error.message}\n`);
      return usage(2);
    }
    if (
      error instanceof TokenAlreadyExistsError ||
      error instanceof TokenNotFoundError ||
      error instanceof TokenStoreUnavailableError
    ) {
      console.error(`cairn: ${error.message}`);
      return 1;
    }
    // AWS answers (no credentials, access denied, throttling) are the user's to act on, not a crash.
    if (error instanceof Error && error.name !== 'TypeError') {
      console.error(`cairn: ${error.name}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'server':
        return await server(rest);
      case 'token':
        return await token(rest);
      case 'policy':
        return await policy(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        console.error(`cairn: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      console.error(`cairn: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}
