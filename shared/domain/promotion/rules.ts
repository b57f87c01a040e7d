/**
 * Promotion policies' own rules: a policy's target and condition, and how a refusal reads. Model names,
 * aliases and stages follow the registry's rules (registry/rules.ts): a policy can guard only a target
 * the registry could promote to.
 */
import { createHash } from 'node:crypto';
import { InvalidParameterValueError } from '../../errors.js';
import { canonicalAlias, parseStage } from '../registry/rules.js';
import { validateMaxLength } from '../rules.js';
import type { Run } from '../runs/model.js';
import { type CompiledRunClause, compileRunFilter, compileRunFilterClauses } from '../runs/search.js';
import type { FileDigest, FileDigests, PromotionTarget } from './model.js';

export const PROMOTION_LIMITS = {
  condition: 4000,
  defaultMaxResults: 100,
  maxResultsCap: 1000,
} as const;

/**
 * How much of a version's source a promotion lists and records. An audit entry is one DynamoDB item
 * (400 KB): 1,000 files of ~200 bytes each fit with room to spare; the listing stops at 10,000 files (ten
 * S3 list calls), and the manifest digest, count and size then cover those (`truncated`).
 */
export const FILE_DIGEST_LIMITS = {
  recordedFiles: 1000,
  listedFiles: 10_000,
  /** Paths named in `changedAfterRegistration` (the count of such files is not the point: any is one). */
  changedNamed: 20,
  /**
   * Clock slack between the function that registered a version and S3's own timestamps (which listings
   * give to the second): a file stored just before registration must not read as changed after it.
   */
  registrationSkewMs: 2000,
} as const;

/**
 * The audit's record of a version's files: the first files by path, a digest over all listed, and which
 * of them changed after `registeredAt` (the version's creation).
 */
export function summarizeFiles(
  location: string,
  listed: readonly FileDigest[],
  truncated: boolean,
  registeredAt?: number,
): FileDigests {
  const files = [...listed].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest = createHash('sha256');
  for (const file of files) manifest.update(`${file.path} ${file.etag} ${file.size}\n`);
  const changed =
    registeredAt === undefined
      ? []
      : files.filter(
          (file) =>
            file.lastModified !== undefined &&
            file.lastModified > registeredAt + FILE_DIGEST_LIMITS.registrationSkewMs,
        );
  return {
    location,
    files: files.slice(0, FILE_DIGEST_LIMITS.recordedFiles),
    count: files.length,
    totalBytes: files.reduce((sum, file) => sum + file.size, 0),
    manifestSha256: manifest.digest('hex'),
    ...(truncated ? { truncated: true } : {}),
    ...(changed.length > 0
      ? { changedAfterRegistration: changed.slice(0, FILE_DIGEST_LIMITS.changedNamed).map((f) => f.path) }
      : {}),
  };
}

/**
 * A guarded promotion's clause on the files themselves: none may have changed since the version was
 * registered (its source is sealed then, so only an upload URL issued before can have written them).
 */
export function changedFilesClause(files: FileDigests | undefined): string[] {
  const changed = files?.changedAfterRegistration ?? [];
  return changed.length === 0
    ? []
    : [
        `the version's files changed after it was registered (${changed.map((path) => `'${path}'`).join(', ')}): register the files as a new version`,
      ];
}

/**
 * A policy's refusal of an unverified version (registry/sources.ts resolveVersionSource): its condition is
 * not even evaluated, since the run it would be evaluated on is not known to have produced the files.
 */
export function unverifiedSourceClause(unverified: string): string {
  return `the version's source run cannot be verified (${unverified}): register the model from its run (runs:/<run_id>/<path>) or its logged model (models:/<model_id>) to promote it under a policy`;
}

/** The target named by exactly one of `alias` and `stage`, validated and canonical. */
export function parseTarget(alias: string | undefined, stage: string | undefined): PromotionTarget {
  if ((alias === undefined || alias === '') === (stage === undefined || stage === '')) {
    throw new InvalidParameterValueError("Give exactly one of 'alias' and 'stage'.");
  }
  if (stage) return { kind: 'stage', name: parseStage(stage) };
  return { kind: 'alias', name: canonicalAlias(alias as string) };
}

/** Validates a policy condition; an invalid one is a 400 naming the field and the position. */
export function validateCondition(condition: string): void {
  checkedCondition(condition, compileRunFilter);
}

/** A policy condition's clauses, each reporting whether a run meets it and the run's value; 400 as above. */
export function compileCondition(condition: string): CompiledRunClause[] {
  return checkedCondition(condition, compileRunFilterClauses);
}

/**
 * Both compilers apply the same checks; the API's bundle validates with the whole-filter one, so that
 * the per-clause reporting (the guard's) stays out of it.
 */
function checkedCondition<T>(condition: string, compile: (filter: string) => T): T {
  if (condition.trim() === '') {
    throw new InvalidParameterValueError(
      "Missing value for 'condition': a run filter such as `metrics.accuracy >= 0.9`.",
    );
  }
  validateMaxLength('condition', condition, PROMOTION_LIMITS.condition);
  try {
    return compile(condition);
  } catch (error) {
    if (error instanceof InvalidParameterValueError) {
      throw new InvalidParameterValueError(`Invalid value for 'condition': ${error.message}`);
    }
    throw error;
  }
}

function formatActual(value: string | number): string {
  return typeof value === 'number' ? String(value) : `'${value.replaceAll("'", "''")}'`;
}

const MISSING_WHAT: Record<CompiledRunClause['entity'], string> = {
  metric: 'no such metric',
  param: 'no such param',
  tag: 'no such tag',
  dataset: 'no dataset inputs',
  attribute: 'no value for it',
};

/** The clauses of `clauses` that `run` fails, each with the run's actual value. */
export function failingClauses(clauses: readonly CompiledRunClause[], run: Run): string[] {
  return clauses
    .filter((clause) => !clause.matches(run))
    .map((clause) => {
      const actual = clause.actual(run);
      const has = actual === undefined ? MISSING_WHAT[clause.entity] : formatActual(actual);
      return `${clause.text} (run has ${has})`;
    });
}

/** The refusal of a promotion while the model's policies still wait under its name. */
export function legacyPoliciesMessage(modelName: string): string {
  return `Model '${modelName}' has promotion policies stored by an earlier Cairn version under its name; they must be migrated first with \`cairn policy migrate\` before its versions can be promoted.`;
}

export function describeTarget(target: PromotionTarget): string {
  return `${target.kind} '${target.name}'`;
}

/** The audit trail's reason for a refusal while legacy (name-keyed) policies await migration. */
export const LEGACY_PENDING_CLAUSE =
  'promotion policies stored under the model name by an earlier Cairn version await `cairn policy migrate`';
