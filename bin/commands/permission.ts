/**
 * `cairn permission grant|revoke|list`: per-resource permissions (issue 16) in a local data directory or a
 * deployed stack, with the API's rules (shared/domain/permissions/service.ts): the same level names, the
 * principal must be a token, the experiment or registered model must exist. The operator holds the table
 * itself, so no MANAGE is asked of them.
 */
import { parseArgs } from 'node:util';
import {
  defaultLevel,
  describeResource,
  type Grant,
  type ResourceKind,
} from '../../shared/auth/permissions.js';
import { parseExperimentId } from '../../shared/domain/ids.js';
import { registeredModelResource } from '../../shared/domain/permissions/resources.js';
import {
  type GrantRef,
  PermissionService,
  parsePermission,
  SCOPE_DEFAULTS,
} from '../../shared/domain/permissions/service.js';
import { DynamoExperimentRepository } from '../../shared/store/experiments/repository.js';
import { putPrincipal } from '../../shared/store/permissions/principals.js';
import { DynamoPermissionRepository } from '../../shared/store/permissions/repository.js';
import { DynamoRegistryRepository } from '../../shared/store/registry/repository.js';
import { reportRuleFailure, TARGET_OPTIONS, targetDocumentClient, withTarget } from '../target.js';
import type { OpenTokenStore } from '../token-stores.js';
import { UsageError, usage } from '../usage.js';

const PERMISSION_OPTIONS = {
  ...TARGET_OPTIONS,
  user: { type: 'string' },
  experiment: { type: 'string' },
  model: { type: 'string' },
  permission: { type: 'string' },
} as const;

interface Values {
  user?: string;
  experiment?: string;
  model?: string;
  permission?: string;
}

/** The one resource `--experiment ID` or `--model NAME` names (exactly one of them). */
function resourceOf(values: Values): { kind: ResourceKind; resource: string } {
  if (values.experiment !== undefined && values.model !== undefined) {
    throw new UsageError('give either --experiment or --model, not both');
  }
  if (values.experiment !== undefined) {
    return { kind: 'experiment', resource: parseExperimentId('--experiment', values.experiment) };
  }
  if (values.model !== undefined) {
    if (values.model === '') throw new UsageError('--model needs a registered model name');
    return { kind: 'registered_model', resource: values.model };
  }
  throw new UsageError('--experiment ID or --model NAME is required');
}

function requireUser(values: Values): string {
  if (values.user === undefined || values.user === '') throw new UsageError('--user NAME is required');
  return values.user;
}

function permissionService(store: OpenTokenStore): PermissionService {
  const doc = targetDocumentClient(store);
  const experiments = new DynamoExperimentRepository(doc, store.tableName);
  return new PermissionService({
    grants: new DynamoPermissionRepository(doc, store.tableName),
    // The token store itself, not the principal directory: the operator may read it, and it is the truth.
    principalScope: async (name) => (await store.tokens.get(name))?.scope,
    resources: {
      experiment: async (id) => (await experiments.get(id))?.experimentId,
      registered_model: registeredModelResource(new DynamoRegistryRepository(doc, store.tableName)),
    },
    // Another process: a running server sees the change when its cache entry expires.
    changed: () => undefined,
  });
}

/**
 * Enters every token in the principal directory (the API functions' view of which principals exist):
 * tokens created before the directory existed get their entry here. Idempotent; a handful of writes.
 */
async function syncPrincipals(store: OpenTokenStore): Promise<void> {
  for (const token of await store.tokens.list()) {
    await putPrincipal(store.client, store.tableName, { name: token.name, scope: token.scope });
  }
}

/** When the change reaches the servers: the TTL of their grant caches (1 s locally, 30 s on AWS). */
function cacheNote(store: Pick<OpenTokenStore, 'grantCacheTtlMs'>): string {
  if (store.grantCacheTtlMs === undefined) return 'A server started on this data applies it at once.';
  const ttl =
    store.grantCacheTtlMs % 1000 === 0 ? `${store.grantCacheTtlMs / 1000} s` : `${store.grantCacheTtlMs} ms`;
  return `The running server applies it within ${ttl} (its permission cache).`;
}
const DEFAULTS_NOTE = `Every other token holds its scope's default: ${Object.entries(SCOPE_DEFAULTS)
  .map(([scope, level]) => `${scope} → ${level}`)
  .join(', ')}; admin tokens hold MANAGE whatever a grant says.`;

function grantLine(grant: Grant): string {
  return `  ${describeResource(grant.kind, grant.resource)}: ${grant.permission}`;
}

async function permissionList(values: Values, store: OpenTokenStore): Promise<number> {
  const service = permissionService(store);
  const given = [values.user, values.experiment, values.model].filter((v) => v !== undefined);
  if (given.length > 1) throw new UsageError('list takes at most one of --user, --experiment, --model');
  if (values.user !== undefined) {
    const grants = await service.grantsOf(values.user);
    const token = await store.tokens.get(values.user);
    const scope = token ? `${token.scope} token; default ${defaultLevel(token.scope)}` : 'no such token now';
    console.log(`'${values.user}' (${scope}) in ${store.where}:`);
    if (grants.length === 0) console.log('  no grants');
    for (const grant of grants) console.log(grantLine(grant));
    return 0;
  }
  if (values.experiment !== undefined || values.model !== undefined) {
    const { kind, resource } = resourceOf(values);
    const grants = await service.grantsOn(undefined, kind, resource);
    console.log(`Permissions on ${describeResource(kind, resource)} in ${store.where}:`);
    if (grants.length === 0) console.log('  no grants');
    for (const grant of grants) console.log(`  ${grant.principal}: ${grant.permission}`);
    console.log(DEFAULTS_NOTE);
    return 0;
  }
  const tokens = (await store.tokens.list()).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (tokens.length === 0) console.log(`No tokens in ${store.where}.`);
  else console.log(`Permissions in ${store.where}:`);
  for (const token of tokens) {
    console.log(`${token.name} (${token.scope}; default ${defaultLevel(token.scope)})`);
    for (const grant of await service.grantsOf(token.name)) console.log(grantLine(grant));
  }
  return 0;
}

async function permissionCommand(action: 'grant' | 'revoke' | 'list', args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: PERMISSION_OPTIONS, strict: true });
  if (values.help) return usage(0);
  // Everything the command line alone can refuse is refused before the data is opened (and locked).
  if (action === 'list') {
    if (values.permission !== undefined) throw new UsageError('list takes no --permission');
    if (values.experiment !== undefined || values.model !== undefined) resourceOf(values);
    return withTarget(values, async (store) => {
      await syncPrincipals(store);
      return permissionList(values, store);
    });
  }
  const ref: GrantRef = { ...resourceOf(values), principal: requireUser(values) };
  if (action === 'grant') {
    if (values.permission === undefined) throw new UsageError('--permission LEVEL is required');
    const level = parsePermission(values.permission);
    return withTarget(values, async (store) => {
      await syncPrincipals(store);
      const grant = await permissionService(store).put(undefined, ref, level);
      console.log(
        `Granted ${grant.permission} on ${describeResource(grant.kind, grant.resource)} to '${grant.principal}' in ${store.where}. ${cacheNote(store)}`,
      );
      return 0;
    });
  }
  if (values.permission !== undefined) throw new UsageError('revoke takes no --permission');
  return withTarget(values, async (store) => {
    await syncPrincipals(store);
    await permissionService(store).delete(undefined, ref);
    console.log(
      `Revoked the permission of '${ref.principal}' on ${describeResource(ref.kind, ref.resource)} in ${store.where}; its scope's default applies there again. ${cacheNote(store)}`,
    );
    return 0;
  });
}

export async function permission(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'help' || action === '--help' || action === '-h') return usage(0);
  if (action !== 'grant' && action !== 'revoke' && action !== 'list') {
    console.error(`cairn: permission needs grant, revoke or list${action ? `, not '${action}'` : ''}\n`);
    return usage(2, 'permission');
  }
  try {
    return await permissionCommand(action, rest);
  } catch (error) {
    return reportRuleFailure(error, 'permission');
  }
}
