/**
 * Every deployment setting is a CDK context value (`cdk deploy -c cairn:key=value`, or `context` in
 * cdk.json) with a default that is safe for a team's production account. Values arrive as strings from
 * the command line and as JSON values from cdk.json; both are accepted. A bad value stops the synth with
 * a message naming the key, the value and what is allowed: a typo must not deploy a silently different
 * stack. docs/deploy.md documents each key; the infra tests check that it names all of them.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AUTHORIZER_CACHE_TTL_SECONDS } from '../shared/auth/scopes.js';
import { DEFAULT_TRACE_RETENTION_DAYS } from '../shared/config.js';

export interface DeploymentSettings {
  /** API Gateway stage; `$default` serves the API at the root of its URL. */
  stageName: string;
  /** Browser origins allowed to PUT/GET artifacts through presigned URLs. */
  corsOrigins: string[];
  /** Key prefix for every artifact in the bucket: '' or ending in '/'. */
  artifactKeyPrefix: string;
  /** Default route throttling: steady requests per second and burst. */
  throttleRateLimit: number;
  throttleBurstLimit: number;
  /** How long API Gateway caches an authorizer decision per Authorization header (0 turns caching off). */
  authorizerCacheSeconds: number;
  /** Lifetime of presigned artifact URLs (the functions' CAIRN_PRESIGN_EXPIRES_SECONDS). */
  presignExpiresSeconds: number;
  /** Retention of function logs, API access logs and bucket access logs. */
  logRetentionDays: RetentionDays;
  /** Where alarm notifications are emailed; the alarm topic exists either way. */
  alarmEmail?: string;
  /** Keep the table and bucket (and deletion protection on) when the stacks are deleted. */
  retainData: boolean;
  /** The CloudWatch dashboard: opt-in, since it costs $3 a month past the account's first three. */
  dashboard: boolean;
  /**
   * Which alarms: `essential` (the API's 5xx rate and each function's crashes: what a user notices, within
   * CloudWatch's 10 free alarm metrics) or `all` (also function and DynamoDB throttles, which reach users
   * as 5xx answers anyway once the SDK's retries give up, so the 5xx alarm already covers them).
   */
  alarms: AlarmSet;
  /** How long an overwritten or deleted artifact stays recoverable as a noncurrent version. */
  noncurrentVersionDays: number;
  /**
   * Reserved concurrency of each function: its ceiling, and a share no other function can take. One
   * route flooded (or a stream of bad tokens at the authorizer) then throttles alone instead of draining
   * the account's Lambda concurrency, which every other function in the Region shares.
   */
  trackingConcurrency: number;
  artifactsConcurrency: number;
  registryConcurrency: number;
  authorizerConcurrency: number;
  /** The web UI's function: a page view is the page and, once per deploy, its two hashed assets. */
  uiConcurrency: number;
  /** The traces function: one OTLP export and one trace-info write per traced call. */
  tracesConcurrency: number;
  /** Days a trace is kept: DynamoDB TTL on its item and the bucket's lifecycle rule on its spans. */
  traceRetentionDays: number;
  /** The table's on-demand ceiling (request units per second; reads and writes): a cost ceiling. */
  tableMaxReadRequestUnits: number;
  tableMaxWriteRequestUnits: number;
  /**
   * Days after its delete that a run or experiment is purged for good by the daily purge function
   * (shared/store/purge); 0 (or `off`) deploys no purge function and no schedule.
   */
  purgeDeletedAfterDays: number;
  /**
   * Let registry webhooks deliver to loopback, link-local, private and other non-public addresses. Off:
   * the delivery function runs with the AWS account's credentials next to the instance metadata
   * endpoint, and a webhook URL is anyone's with registry access to choose (MLflow's CVE-2026-2393).
   */
  webhookAllowPrivateTargets: boolean;
}

export const DEFAULT_SETTINGS: DeploymentSettings = {
  stageName: '$default',
  corsOrigins: [],
  artifactKeyPrefix: '',
  // Far under the account's 10,000 req/s and the 1,000 concurrent Lambdas a Region starts with, far above
  // what a team's training jobs send (a 1,000-metric log-batch is one request). A runaway client gets 429,
  // which the stock client retries with backoff, instead of draining the account's shared quotas.
  throttleRateLimit: 500,
  throttleBurstLimit: 1000,
  // A revoked token keeps working for at most this long; 5 minutes spares the token lookup on nearly
  // every request of a busy job while keeping revocation prompt.
  authorizerCacheSeconds: AUTHORIZER_CACHE_TTL_SECONDS,
  presignExpiresSeconds: 300,
  logRetentionDays: RetentionDays.ONE_MONTH,
  alarmEmail: undefined,
  retainData: true,
  dashboard: false,
  alarms: 'essential',
  noncurrentVersionDays: 30,
  // 225 of a Region's default 1,000 (AWS keeps 100 unreserved). At ~100 ms per request these serve the
  // API's default 500 req/s throttle several times over; tracking takes most traffic (every log call),
  // the authorizer runs about once per token per cache period, and only floods of bad tokens need more.
  trackingConcurrency: 100,
  artifactsConcurrency: 50,
  registryConcurrency: 25,
  authorizerConcurrency: 50,
  // Browsers cache the hashed assets for a year and revalidate the page (a few hundred bytes): a team's
  // page views are a trickle next to its training jobs' API calls.
  uiConcurrency: 10,
  tracesConcurrency: 50,
  traceRetentionDays: DEFAULT_TRACE_RETENTION_DAYS,
  // DynamoDB's own default ceiling is 40,000 units per second per table. 500 req/s of log-batch writes
  // a few units each; a search over a 10,000-run experiment reads a few thousand. Past the ceiling
  // requests are throttled (the SDK retries, then 5xx) instead of billed.
  tableMaxReadRequestUnits: 12_000,
  tableMaxWriteRequestUnits: 4_000,
  // MLflow's own `mlflow gc` has no default; 30 days matches the bucket's noncurrent-version window, so a
  // mistaken delete has a month to be restored before anything is gone for good.
  purgeDeletedAfterDays: 30,
  webhookAllowPrivateTargets: false,
};

/** The context keys, as written on the command line. */
export const CONTEXT_KEYS = {
  stageName: 'cairn:stageName',
  corsOrigins: 'cairn:corsOrigins',
  artifactKeyPrefix: 'cairn:artifactKeyPrefix',
  throttleRateLimit: 'cairn:throttleRateLimit',
  throttleBurstLimit: 'cairn:throttleBurstLimit',
  authorizerCacheSeconds: 'cairn:authorizerCacheSeconds',
  presignExpiresSeconds: 'cairn:presignExpiresSeconds',
  logRetentionDays: 'cairn:logRetentionDays',
  alarmEmail: 'cairn:alarmEmail',
  retainData: 'cairn:retainData',
  dashboard: 'cairn:dashboard',
  alarms: 'cairn:alarms',
  noncurrentVersionDays: 'cairn:noncurrentVersionDays',
  trackingConcurrency: 'cairn:trackingConcurrency',
  artifactsConcurrency: 'cairn:artifactsConcurrency',
  registryConcurrency: 'cairn:registryConcurrency',
  authorizerConcurrency: 'cairn:authorizerConcurrency',
  uiConcurrency: 'cairn:uiConcurrency',
  tracesConcurrency: 'cairn:tracesConcurrency',
  traceRetentionDays: 'cairn:traceRetentionDays',
  tableMaxReadRequestUnits: 'cairn:tableMaxReadRequestUnits',
  tableMaxWriteRequestUnits: 'cairn:tableMaxWriteRequestUnits',
  purgeDeletedAfterDays: 'cairn:purgeDeletedAfterDays',
  webhookAllowPrivateTargets: 'cairn:webhookAllowPrivateTargets',
} as const satisfies Record<keyof DeploymentSettings, `cairn:${string}`>;

export class DeploymentSettingError extends Error {
  constructor(key: string, value: unknown, expected: string) {
    super(`Context value ${key} must be ${expected}, not ${JSON.stringify(value)}`);
    this.name = 'DeploymentSettingError';
  }
}

/** CloudWatch Logs accepts only these retention periods; "never expire" is deliberately not offered. */
const RETENTION_DAYS = Object.values(RetentionDays).filter(
  (days): days is RetentionDays => typeof days === 'number' && days !== RetentionDays.INFINITE,
);

type Lookup = (key: string) => unknown;

/** Reads and validates every `cairn:*` context value; `lookup` is `node.tryGetContext`. */
export function readSettings(lookup: Lookup): DeploymentSettings {
  const get = (field: keyof DeploymentSettings) => {
    const value = lookup(CONTEXT_KEYS[field]);
    return value === undefined || value === null || value === '' ? undefined : value;
  };
  const int = (field: keyof DeploymentSettings, min: number, max: number): number => {
    const raw = get(field);
    if (raw === undefined) return DEFAULT_SETTINGS[field] as number;
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : Number.NaN;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new DeploymentSettingError(CONTEXT_KEYS[field], raw, `a whole number from ${min} to ${max}`);
    }
    return value;
  };

  const settings: DeploymentSettings = {
    stageName: stageName(get('stageName')),
    corsOrigins: corsOrigins(get('corsOrigins')),
    artifactKeyPrefix: artifactKeyPrefix(get('artifactKeyPrefix')),
    throttleRateLimit: int('throttleRateLimit', 1, 10_000),
    throttleBurstLimit: int('throttleBurstLimit', 1, 5_000),
    authorizerCacheSeconds: int('authorizerCacheSeconds', 0, 3_600),
    // The functions accept the same range (shared/config.ts): a URL signed by the function's role session
    // dies with the session anyway, so hours would only be a promise S3 does not keep.
    presignExpiresSeconds: int('presignExpiresSeconds', 1, 3_600),
    logRetentionDays: retention(get('logRetentionDays')),
    alarmEmail: alarmEmail(get('alarmEmail')),
    retainData: bool('retainData', get('retainData')),
    dashboard: bool('dashboard', get('dashboard')),
    alarms: alarmSet(get('alarms')),
    noncurrentVersionDays: int('noncurrentVersionDays', 1, 3_650),
    // 0 would stop the function altogether (Lambda's "throttle"); the account's quota is the real top.
    trackingConcurrency: int('trackingConcurrency', 1, 10_000),
    artifactsConcurrency: int('artifactsConcurrency', 1, 10_000),
    registryConcurrency: int('registryConcurrency', 1, 10_000),
    authorizerConcurrency: int('authorizerConcurrency', 1, 10_000),
    uiConcurrency: int('uiConcurrency', 1, 10_000),
    tracesConcurrency: int('tracesConcurrency', 1, 10_000),
    // The functions accept the same range (shared/config.ts CAIRN_TRACE_RETENTION_DAYS).
    traceRetentionDays: int('traceRetentionDays', 1, 3_650),
    tableMaxReadRequestUnits: int('tableMaxReadRequestUnits', 1, 40_000),
    tableMaxWriteRequestUnits: int('tableMaxWriteRequestUnits', 1, 40_000),
    purgeDeletedAfterDays: purgeDays(get('purgeDeletedAfterDays')),
    webhookAllowPrivateTargets: bool('webhookAllowPrivateTargets', get('webhookAllowPrivateTargets')),
  };
  if (settings.throttleBurstLimit < settings.throttleRateLimit) {
    throw new DeploymentSettingError(
      CONTEXT_KEYS.throttleBurstLimit,
      settings.throttleBurstLimit,
      `at least ${CONTEXT_KEYS.throttleRateLimit} (${settings.throttleRateLimit}): a burst below the steady rate throttles steady traffic`,
    );
  }
  return settings;
}

function stageName(raw: unknown): string {
  if (raw === undefined) return DEFAULT_SETTINGS.stageName;
  if (typeof raw === 'string' && (raw === '$default' || /^[A-Za-z0-9_-]{1,128}$/.test(raw))) return raw;
  throw new DeploymentSettingError(CONTEXT_KEYS.stageName, raw, "'$default' or 1-128 of [A-Za-z0-9_-]");
}

/** A list, or a comma-separated string (`-c cairn:corsOrigins=https://a.example,https://b.example`). */
function corsOrigins(raw: unknown): string[] {
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
  if (!list) throw new DeploymentSettingError(CONTEXT_KEYS.corsOrigins, raw, 'a list of origins');
  return list
    .map((item) => String(item).trim())
    .filter((item) => item !== '')
    .map((origin) => {
      // An origin is scheme://host[:port] exactly: no path, no wildcard (any web page could then read
      // artifacts through a user's presigned URLs).
      let parsed: URL | undefined;
      try {
        parsed = new URL(origin);
      } catch {
        parsed = undefined;
      }
      if (!parsed || !['https:', 'http:'].includes(parsed.protocol) || parsed.origin !== origin) {
        throw new DeploymentSettingError(
          CONTEXT_KEYS.corsOrigins,
          origin,
          'an origin such as https://ml.example.com (scheme and host, no path, no wildcard)',
        );
      }
      return origin;
    });
}

/** `''` or a prefix ending in '/'; leading and trailing slashes are optional on input. */
function artifactKeyPrefix(raw: unknown): string {
  if (raw === undefined) return '';
  const trimmed = typeof raw === 'string' ? raw.replace(/^\/+|\/+$/g, '') : undefined;
  if (trimmed === '') return '';
  const validSegment = (segment: string) => /^[A-Za-z0-9._-]+$/.test(segment) && !/^\.\.?$/.test(segment);
  if (trimmed === undefined || !trimmed.split('/').every(validSegment)) {
    throw new DeploymentSettingError(
      CONTEXT_KEYS.artifactKeyPrefix,
      raw,
      "a key prefix of '/'-separated segments of [A-Za-z0-9._-] (no '.' or '..' segments)",
    );
  }
  return `${trimmed}/`;
}

function retention(raw: unknown): RetentionDays {
  if (raw === undefined) return DEFAULT_SETTINGS.logRetentionDays;
  const days = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : Number.NaN;
  const match = RETENTION_DAYS.find((allowed) => allowed === days);
  if (match === undefined) {
    throw new DeploymentSettingError(
      CONTEXT_KEYS.logRetentionDays,
      raw,
      `one of CloudWatch Logs' retention periods in days (${RETENTION_DAYS.join(', ')})`,
    );
  }
  return match;
}

function alarmEmail(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'string' && /^[^@\s,]+@[^@\s,]+\.[^@\s,]+$/.test(raw.trim())) return raw.trim();
  throw new DeploymentSettingError(CONTEXT_KEYS.alarmEmail, raw, 'one email address');
}

export const ALARM_SETS = ['essential', 'all'] as const;
export type AlarmSet = (typeof ALARM_SETS)[number];

function alarmSet(raw: unknown): AlarmSet {
  if (raw === undefined) return DEFAULT_SETTINGS.alarms;
  const match = ALARM_SETS.find((set) => set === raw);
  if (match) return match;
  throw new DeploymentSettingError(CONTEXT_KEYS.alarms, raw, `one of ${ALARM_SETS.join(', ')}`);
}

function bool(field: 'retainData' | 'dashboard' | 'webhookAllowPrivateTargets', raw: unknown): boolean {
  if (raw === undefined) return DEFAULT_SETTINGS[field];
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new DeploymentSettingError(CONTEXT_KEYS[field], raw, 'true or false');
}

/** Days from 1 to 3650, or 0 / `off` for no scheduled purge (`cairn gc` still works by hand). */
function purgeDays(raw: unknown): number {
  if (raw === undefined) return DEFAULT_SETTINGS.purgeDeletedAfterDays;
  if (raw === 'off' || raw === false) return 0;
  const days = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(days) || days < 0 || days > 3_650) {
    throw new DeploymentSettingError(
      CONTEXT_KEYS.purgeDeletedAfterDays,
      raw,
      "a whole number of days from 0 to 3650, or 'off' (0 and 'off' turn the daily purge off)",
    );
  }
  return days;
}
