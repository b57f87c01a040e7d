/** The `cairn` command's usage text, printed by `--help` and after every usage error. */
import { TOKEN_NAME_RULE } from '../shared/auth/token.js';
import { PROMOTION_LIMITS } from '../shared/domain/promotion/rules.js';

export const USAGE = `Usage:
  cairn server [--host HOST] [--port PORT] [--data-dir DIR] [--auth] [--allowed-hosts NAMES]
  cairn token create --name NAME --scope read|write|admin [--expires DAYS] [TARGET]
  cairn token list [TARGET]
  cairn token revoke NAME [TARGET]
  cairn policy set --model NAME (--alias ALIAS | --stage STAGE) --condition FILTER [TARGET]
  cairn policy get --model NAME [TARGET]
  cairn policy delete --model NAME (--alias ALIAS | --stage STAGE) [TARGET]
  cairn policy audit --model NAME [--max-results N] [TARGET]
  cairn policy migrate [--dry-run] [TARGET]
  cairn permission grant --user NAME (--experiment ID | --model NAME) --permission LEVEL [TARGET]
  cairn permission revoke --user NAME (--experiment ID | --model NAME) [TARGET]
  cairn permission list [--user NAME | --experiment ID | --model NAME] [TARGET]
  cairn migrate [--dry-run] [--all] [TARGET]
  cairn gc [--older-than AGE] [--experiment-ids ID,...] [--dry-run] [--yes] [TARGET]
  cairn doctor (--url URL [--token TOKEN] | --stack STACK [--region REGION] [--token-name NAME])
  cairn env --stack STACK [--region REGION] [--token-name NAME] [--token-secret ID | --token-parameter NAME]
            [--format shell|dotenv|json]
  cairn import --from URL [--experiment NAME]... [--token T | --username U --password P] [--dry-run] [TARGET]

server:
  --host      address to listen on (env CAIRN_HOST, default 127.0.0.1); anything but loopback needs --auth
  --port      port to listen on, 0 for any free port (env CAIRN_PORT, default 5000)
  --data-dir  where data is kept across restarts (env CAIRN_DATA_DIR, default ./cairn-data)
  --auth      require an API token on every request but /health, as the deployed API does
  --allowed-hosts  comma-separated host names clients may use besides localhost, 127.0.0.1, [::1] and
              --host (env CAIRN_ALLOWED_HOSTS); any other Host header is refused (DNS rebinding guard)

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
under a model's name to the model's id. Until it has run, those models' promotions are refused.

permission:
  --user        a token's name (a token's name is its user name)
  --experiment  an experiment's id, or
  --model       a registered model's name
  --permission  NO_PERMISSIONS, READ, USE, EDIT or MANAGE: the token's level there, replacing its scope's
                default (read → READ, write → EDIT, admin → MANAGE; admin tokens always hold MANAGE)
  TARGET        as for token

grant adds or replaces the grant; revoke removes it; list shows every token's grants, or one token's, or
those on one resource. A running local server applies a change within 1 s, a stack within 30 s (their
permission caches). Each run also enters tokens created before Cairn kept a principal directory, so that
the API can grant to them.

migrate keys the runs of experiments created before Cairn kept runs in start-time, end-time and name order,
so that their searches read one page instead of every run (until then they answer the same, only slower).
Run it once after upgrading (\`--dry-run\` reports what it would key); it is safe to run again or to resume.
It also sets each experiment's run counters (the web UI's Runs column; they read 0 until then), and writes
the value entries that filters on params, tags and metrics and metric orders read (one small item per
param, tag and ended run's metric). --all re-checks experiments already migrated and recounts them: after
rolling back to an earlier build that wrote runs, to repair counters that drifted, or to put right entries
a write that died halfway left.

gc removes for good the runs deleted more than AGE ago (30d, 12h, 90m; default 30d) and the experiments
deleted more than AGE ago with all their runs, logged models and traces: their data and their artifacts.
A run or logged model a registered model version uses is kept and reported. Runs deleted by a Cairn
before deletes were timed are marked deleted as of the first gc, and go AGE later. --experiment-ids
limits it to those experiments; --dry-run prints what would go (counts, bytes) and changes nothing. On
a stack it needs --older-than, or --yes for the default; the stack also runs it daily on its own
(cairn:purgeDeletedAfterDays). Safe to interrupt and run again.

doctor runs what a training job does against a server, in order: health, a request without a token (must
be refused), experiment, run, log-batch, history, search, a small upload, a multipart upload, downloads
through the 307, a registered model with a version and an alias; then deletes what it made. One line per
check (✓/✗, milliseconds) and the likely fix under each ✗; exit code 1 if any failed.
  --url        a server's tracking URI; the token from --token, or MLFLOW_TRACKING_TOKEN (or
               MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)
  --stack      a deployed stack: the URL from its TrackingUri output; without a token given, a temporary
               write token is created in the stack and revoked at the end
  --token-name also check that this token (the one your jobs use) exists, is unexpired and may write

env prints the variables a training job needs to log to a deployed stack: MLFLOW_TRACKING_URI, the token
and the multipart settings that let models above 4 MB upload straight to S3 (instead of a 413).
  --token-name       the job's token: checked to exist in the stack, named in the output
  --token-secret     a Secrets Manager secret (name or ARN) holding the whole cairn_... token, or
  --token-parameter  an SSM SecureString parameter holding it: the output reads it at run time, never
                     printing the secret
  --format           shell (export lines, default), dotenv (KEY=value) or json ({environment, secrets})

import copies experiments, runs (ids, params, tags, full metric histories, dataset inputs, parent links),
their artifacts byte for byte, MLflow 3 logged models, and registered models with their versions, aliases
and stages from any MLflow tracking server (MLflow's own, a managed one, another Cairn) through its REST API.
  --from        the source server's URL
  --experiment  copy only this experiment (repeatable; its runs' registered models come along)
  --token       the source's bearer token (env MLFLOW_TRACKING_TOKEN), or
  --username, --password  its basic-auth user (env MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD)
  --dry-run     count what would be copied, change nothing
  TARGET        as for token
It is safe to run again: what is already there is left as it is, and an interrupted import continues.
Exit code 1 when anything was skipped (listed with the reason).`;

/** A mistake in the command line: the message, then the usage text, exit code 2. */
export class UsageError extends Error {}

const COMMANDS = ['server', 'token', 'policy', 'permission', 'migrate', 'gc', 'doctor', 'env', 'import'];

/**
 * One command's part of USAGE: its synopsis lines and the paragraphs about it (a paragraph that starts
 * with no command's name continues the one before), and TARGET's meaning when it refers to token's. A
 * mistake in one command's arguments then shows a screenful about that command, not all of them.
 */
export function commandUsage(command: string): string {
  if (!COMMANDS.includes(command)) return USAGE;
  const [synopsis = '', ...paragraphs] = USAGE.split('\n\n');
  const lines: string[] = [];
  let mine = false;
  for (const line of synopsis.split('\n').slice(1)) {
    if (line.startsWith('  cairn ')) mine = line.startsWith(`  cairn ${command} `);
    if (mine) lines.push(line);
  }
  const own: string[] = [];
  let owner = '';
  for (const paragraph of paragraphs) {
    const first = /^([a-z]+)[: ]/.exec(paragraph)?.[1];
    if (first && COMMANDS.includes(first)) owner = first;
    if (owner === command) own.push(paragraph);
  }
  const text = own.join('\n\n');
  const target = /^ {2}TARGET {6}--data-dir[\s\S]*?instance role\)$/m.exec(USAGE)?.[0];
  const takesTarget = lines.some((line) => line.includes('[TARGET]'));
  const targetNote = command !== 'token' && takesTarget && target ? `\n\n${target}` : '';
  return `Usage:\n${lines.join('\n')}\n\n${text}${targetNote}\n\n(cairn --help describes every command.)`;
}

/**
 * Prints the usage text (to stderr unless asked for) and returns `code` as the exit code: `command`'s
 * part when given, else all of it.
 */
export function usage(code: number, command?: string): number {
  (code === 0 ? console.log : console.error)(command ? commandUsage(command) : USAGE);
  return code;
}
