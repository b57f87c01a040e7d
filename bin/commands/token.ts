/** `cairn token create|list|revoke`: API tokens in a local data directory or a deployed stack. */
import { parseArgs } from 'node:util';
import { InvalidTokenRequestError, issueToken, validateIssueRequest } from '../../shared/auth/issue.js';
import { AUTHORIZER_CACHE_TTL_SECONDS, isScope, SCOPES } from '../../shared/auth/scopes.js';
import { isValidTokenName, TOKEN_NAME_RULE } from '../../shared/auth/token.js';
import {
  TokenAlreadyExistsError,
  TokenNotFoundError,
  type TokenSummary,
} from '../../shared/store/tokens/repository.js';
import { formatTime, reportFailure, TARGET_OPTIONS, withTarget } from '../target.js';
import { UsageError, usage } from '../usage.js';

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

export async function token(args: string[]): Promise<number> {
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
        return usage(2, 'token');
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof InvalidTokenRequestError) {
      console.error(`cairn: ${error.message}\n`);
      return usage(2, 'token');
    }
    if (error instanceof TokenAlreadyExistsError || error instanceof TokenNotFoundError) {
      console.error(`cairn: ${error.message}`);
      return 1;
    }
    return reportFailure(error);
  }
}
