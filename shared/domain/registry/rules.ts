/**
 * The model registry's validation rules and limits, each stated once (README "Limits"). Promotion policies
 * name the same models, aliases and stages, so they use these rules too: a policy can be set only for a
 * target the registry could ever promote to.
 */

import { InvalidParameterValueError } from '../../errors.js';
import { canonicalNewName, validateKey, validateMaxLength } from '../rules.js';
import type { ModelVersion, Stage } from './model.js';

/** MLflow's stages in MLflow's spelling and order (latest versions are listed in it). */
export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const satisfies readonly Stage[];

export const REGISTRY_LIMITS = {
  modelName: 500,
  tagValue: 100_000,
  alias: 255,
  source: 2048,
  description: 100_000,
  modelsDefaultMaxResults: 100,
  modelsMaxResultsCap: 1000,
  versionsDefaultMaxResults: 10_000,
  versionsMaxResultsCap: 200_000,
} as const;

/** A registered model name: non-empty, no `/` or `:` (MLflow's model URIs split on them), ≤ 500 characters. */
export function validateModelName(field: string, name: string): void {
  if (name.trim() === '') {
    throw new InvalidParameterValueError(`Registered model name cannot be empty ('${field}').`);
  }
  if (name.includes('/') || name.includes(':')) {
    throw new InvalidParameterValueError(
      `Invalid model name: '${name}'. Names cannot contain '/' or ':' ('${field}').`,
    );
  }
  if (name === '.' || name === '..' || name.includes('\\')) {
    throw new InvalidParameterValueError(`Invalid model name: '${name}' ('${field}').`);
  }
  validateMaxLength(field, name, REGISTRY_LIMITS.modelName);
}

export function validateRegistryTag(keyField: string, key: string, valueField: string, value: string): void {
  validateKey(keyField, key);
  validateMaxLength(valueField, value, REGISTRY_LIMITS.tagValue);
}

/** Tags of a create request as a map (a repeated key keeps its last value, as MLflow's store does). */
export function registryTagMap(tags: readonly { key: string; value: string }[]): Record<string, string> {
  const map = new Map<string, string>();
  for (const [index, tag] of tags.entries()) {
    validateRegistryTag(`tags[${index}].key`, tag.key, `tags[${index}].value`, tag.value);
    map.set(tag.key, tag.value);
  }
  return Object.fromEntries(map);
}

export function validateDescription(description: string | undefined): void {
  if (description !== undefined) validateMaxLength('description', description, REGISTRY_LIMITS.description);
}

export function parseVersion(field: string, raw: string): number {
  if (!/^\s*\+?\d{1,15}\s*$/.test(raw)) {
    throw new InvalidParameterValueError(
      `Parameter '${field}' must be an integer, got '${raw}'. Model versions are whole numbers.`,
    );
  }
  return Number(raw.trim());
}

/** The stage `raw` names in any case and surrounding spaces (MLflow's canonical spelling), if any. */
export function stageNamed(raw: string): Stage | undefined {
  return STAGES.find((name) => name.toLowerCase() === raw.trim().toLowerCase());
}

export function parseStage(raw: string): Stage {
  const stage = stageNamed(raw);
  if (!stage) {
    throw new InvalidParameterValueError(
      `Invalid Model Version stage: ${raw}. Value must be one of ${STAGES.join(', ')}.`,
    );
  }
  return stage;
}

/** Only versions in these stages may archive the others on a transition (MLflow's active stages). */
export function validateArchiveExisting(stage: Stage, archiveExisting: boolean): void {
  if (archiveExisting && stage !== 'Staging' && stage !== 'Production') {
    throw new InvalidParameterValueError(
      `Model version transition cannot archive existing model versions because '${stage}' is not an Active stage. Valid stages are Staging, Production.`,
    );
  }
}

/** An alias: `[\w-]`, ≤ 255 characters; `latest` and `v<digits>` are reserved (they name versions). */
export function validateAlias(alias: string): void {
  // Unicode \w like Python's re (MLflow's `^[\w\-]*$`).
  if (!/^[\p{L}\p{N}\p{Mn}\p{Mc}\p{Pc}-]+$/u.test(alias)) {
    throw new InvalidParameterValueError(
      `Invalid alias name: '${alias}'. Aliases may only contain alphanumerics, underscores and dashes.`,
    );
  }
  validateMaxLength('alias', alias, REGISTRY_LIMITS.alias);
  // MLflow reserves these (mlflow/utils/validation.py): model URIs read them as version references.
  if (alias.toLowerCase() === 'latest' || /^v\d+$/i.test(alias)) {
    throw new InvalidParameterValueError(
      `'${alias}' is a reserved alias name ('latest' and 'v<number>' refer to versions) and cannot be set.`,
    );
  }
}

/** A registered model name being created or renamed to: its one form (canonicalNewName), then the rules. */
export function canonicalModelName(field: string, raw: string): string {
  const name = canonicalNewName(field, raw);
  validateModelName(field, name);
  return name;
}

/**
 * An alias being set, or named by a promotion policy: NFC (names' one rule, domain/rules.ts), then
 * MLflow's alias rules. Setting and guarding read the same form, so a policy on an alias cannot be
 * side-stepped by spelling the alias with other code points that look the same.
 */
export function canonicalAlias(raw: string): string {
  const alias = canonicalNewName('alias', raw);
  validateAlias(alias);
  return alias;
}

/** The newest version per stage (MLflow's latest_versions), optionally only for `stages`. */
export function latestPerStage(versions: readonly ModelVersion[], stages?: readonly Stage[]): ModelVersion[] {
  const latest = new Map<Stage, ModelVersion>();
  for (const version of versions) {
    const current = latest.get(version.currentStage);
    if (!current || version.version > current.version) latest.set(version.currentStage, version);
  }
  const wanted = stages && stages.length > 0 ? stages : STAGES;
  return wanted
    .map((stage) => latest.get(stage))
    .filter((version): version is ModelVersion => version !== undefined)
    .sort((left, right) => left.version - right.version);
}
