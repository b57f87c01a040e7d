/**
 * The registry pages' pure logic: search filters, stage and alias grouping, promotion policies (form
 * checks, targets) and audit entries as people read them. No DOM: unit-tested in test/unit/ui.
 */

/** MLflow's stages, in MLflow's spelling and order (the server's registry/rules.ts STAGES). */
export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];

/** Limits the server applies (registry/rules.ts, promotion/rules.ts), checked early to answer at once. */
export const LIMITS = { alias: 255, condition: 4000 } as const;

import { searchLiteral } from '../lib/format.js';

/** The model-versions filter naming exactly one model (the server then reads that model only). */
export function versionsOfModelFilter(name: string): string {
  return `name = ${searchLiteral(name)}`;
}

/** The model-versions filter for versions registered from any of these logged models (their sources). */
export function versionsFromLoggedModelsFilter(modelIds: readonly string[]): string | undefined {
  if (modelIds.length === 0) return undefined;
  return `source IN (${modelIds.map((id) => searchLiteral(`models:/${id}`)).join(', ')})`;
}

/** A version's stage; MLflow leaves `current_stage` out for `None` in some answers. */
export function stageOf(version: { current_stage?: string }): Stage {
  const raw = version.current_stage ?? 'None';
  return STAGES.find((stage) => stage.toLowerCase() === raw.toLowerCase()) ?? 'None';
}

/** The newest version per stage, in MLflow's stage order (what `latest_versions` shows). */
export function latestPerStage<V extends { version: string; current_stage?: string }>(
  versions: readonly V[],
): { stage: Stage; version: V }[] {
  const latest = new Map<Stage, V>();
  for (const version of versions) {
    const stage = stageOf(version);
    const current = latest.get(stage);
    if (!current || Number(version.version) > Number(current.version)) latest.set(stage, version);
  }
  return STAGES.flatMap((stage) => {
    const version = latest.get(stage);
    return version ? [{ stage, version }] : [];
  });
}

/** A model's aliases grouped by the version they point at, each list sorted by name. */
export function aliasesByVersion(
  aliases: readonly { alias: string; version: string }[] | undefined,
): Map<string, string[]> {
  const byVersion = new Map<string, string[]>();
  for (const { alias, version } of aliases ?? []) {
    const list = byVersion.get(version) ?? [];
    list.push(alias);
    byVersion.set(version, list);
  }
  for (const list of byVersion.values()) list.sort();
  return byVersion;
}

/** Aliases sorted by name (code point order), for a stable list. */
export function sortedAliases<A extends { alias: string }>(aliases: readonly A[] | undefined): A[] {
  return [...(aliases ?? [])].sort((a, b) => (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0));
}

/** Why an alias cannot be set (the server's validateAlias), or undefined when it can. */
export function aliasProblem(alias: string): string | undefined {
  if (alias === '') return 'Give an alias name.';
  if (!/^[\p{L}\p{N}\p{Mn}\p{Mc}\p{Pc}-]+$/u.test(alias)) {
    return 'Aliases may only contain letters, digits, underscores and dashes.';
  }
  if ([...alias].length > LIMITS.alias) return `Aliases are at most ${LIMITS.alias} characters.`;
  if (alias.toLowerCase() === 'latest' || /^v\d+$/i.test(alias)) {
    return `'${alias}' is reserved: 'latest' and 'v<number>' refer to versions.`;
  }
  return undefined;
}

// ---- Promotion policies ----

export type TargetKind = 'alias' | 'stage';
export interface PolicyTarget {
  kind: TargetKind;
  name: string;
}

/** A policy as `/registered-models/policies/get` answers it. */
export interface PolicyJson {
  name: string;
  alias?: string;
  stage?: string;
  condition: string;
  last_updated_timestamp?: number | string;
}

/** One audit entry as `/registered-models/promotions/list` answers it. */
export interface PromotionJson {
  id: string;
  name: string;
  version: string;
  run_id?: string;
  alias?: string;
  stage?: string;
  principal?: string;
  timestamp: number | string;
  outcome: 'ALLOWED' | 'REFUSED';
  condition?: string;
  failing_clauses?: string[];
  files?: {
    count?: number;
    total_bytes?: number;
    manifest_sha256?: string;
    changed_after_registration?: string[];
  };
}

export function targetOf(entry: { alias?: string; stage?: string }): PolicyTarget {
  return entry.alias !== undefined && entry.alias !== ''
    ? { kind: 'alias', name: entry.alias }
    : { kind: 'stage', name: entry.stage ?? '' };
}

/** `@champion` for an alias, `Production` for a stage: how MLflow's UI writes them. */
export function targetLabel(target: PolicyTarget): string {
  return target.kind === 'alias' ? `@${target.name}` : target.name;
}

/** The request fields naming a target (exactly one of `alias` and `stage`). */
export function targetFields(target: PolicyTarget): { alias: string } | { stage: string } {
  return target.kind === 'alias' ? { alias: target.name } : { stage: target.name };
}

export interface PolicyForm {
  kind: TargetKind;
  target: string;
  condition: string;
}

export type PolicyFormResult =
  | { ok: true; target: PolicyTarget; condition: string }
  | { ok: false; errors: { target?: string; condition?: string } };

/**
 * Checks a policy form before it is sent: the target must be one the registry could promote to (a valid
 * alias, a known stage in any case), the condition present and within the limit. The condition's grammar
 * is the server's to judge: its 400 names the position, and the form shows that message.
 */
export function validatePolicyForm(form: PolicyForm): PolicyFormResult {
  const errors: { target?: string; condition?: string } = {};
  let target: PolicyTarget | undefined;
  const name = form.target.trim();
  if (form.kind === 'stage') {
    const stage = STAGES.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
    if (stage) target = { kind: 'stage', name: stage };
    else errors.target = `Choose a stage: ${STAGES.join(', ')}.`;
  } else {
    const problem = aliasProblem(name.normalize('NFC'));
    if (problem) errors.target = problem;
    else target = { kind: 'alias', name: name.normalize('NFC') };
  }
  const condition = form.condition.trim();
  if (condition === '') errors.condition = 'Give a condition, such as metrics.accuracy >= 0.9.';
  else if (condition.length > LIMITS.condition) {
    errors.condition = `Conditions are at most ${LIMITS.condition} characters.`;
  }
  if (target && errors.condition === undefined) return { ok: true, target, condition };
  return { ok: false, errors };
}

/** Policies ordered as the server keeps them: aliases first, then stages in MLflow's order. */
export function sortPolicies<P extends PolicyJson>(policies: readonly P[]): P[] {
  const rank = (policy: P) => {
    const target = targetOf(policy);
    return target.kind === 'alias' ? -1 : STAGES.indexOf(target.name as Stage);
  };
  return [...policies].sort((a, b) => {
    const byKind = rank(a) - rank(b);
    if (byKind !== 0) return byKind;
    const left = targetOf(a).name;
    const right = targetOf(b).name;
    return left < right ? -1 : left > right ? 1 : 0;
  });
}

// ---- Audit trail ----

export interface AuditRow {
  id: string;
  timestamp: number;
  who: string;
  version: string;
  runId?: string;
  target: string;
  allowed: boolean;
  reason: string;
}

/** One audit entry as the table shows it: the reason is the failing clauses, or why it was allowed. */
export function auditRow(entry: PromotionJson): AuditRow {
  const allowed = entry.outcome === 'ALLOWED';
  const failing = entry.failing_clauses ?? [];
  const reason = allowed
    ? entry.condition
      ? `Meets ${entry.condition}`
      : 'No policy guards this target'
    : failing.length > 0
      ? failing.join('; ')
      : 'Refused';
  return {
    id: entry.id,
    timestamp: Number(entry.timestamp),
    // Without --auth the local server knows no principal.
    who: entry.principal ?? '',
    version: String(entry.version),
    ...(entry.run_id ? { runId: entry.run_id } : {}),
    target: targetLabel(targetOf(entry)),
    allowed,
    reason,
  };
}

/** Appends a further page, dropping entries already shown (a retried "load more" repeats none). */
export function appendEntries<E extends { id: string }>(shown: readonly E[], page: readonly E[]): E[] {
  const seen = new Set(shown.map((entry) => entry.id));
  return [...shown, ...page.filter((entry) => !seen.has(entry.id))];
}

/** The model id a version's or logged model's `models:/<id>` source names, if it names one. */
export function loggedModelIdOf(version: { model_id?: string; source?: string }): string | undefined {
  if (version.model_id) return version.model_id;
  const match = /^models:\/(m-[^/]+)$/.exec(version.source ?? '');
  return match?.[1];
}

/** Registrations per logged model, from the versions whose source is `models:/<id>`. */
export function registrationsByModelId(
  versions: readonly { name: string; version: string; model_id?: string; source?: string }[],
): Map<string, { name: string; version: string }[]> {
  const byModel = new Map<string, { name: string; version: string }[]>();
  for (const version of versions) {
    const id = loggedModelIdOf(version);
    if (!id) continue;
    const list = byModel.get(id) ?? [];
    if (!list.some((r) => r.name === version.name && r.version === version.version)) {
      list.push({ name: version.name, version: version.version });
    }
    byModel.set(id, list);
  }
  return byModel;
}

/**
 * Adds the registrations logged models list themselves (`info.registrations`) to those found by their
 * versions' sources, once each: a version registered from a path inside the model still shows.
 */
export function withListedRegistrations(
  byModel: Map<string, { name: string; version: string }[]>,
  models: readonly { info: { model_id: string; registrations?: { name: string; version: string }[] } }[],
): Map<string, { name: string; version: string }[]> {
  for (const model of models) {
    for (const registration of model.info.registrations ?? []) {
      const list = byModel.get(model.info.model_id) ?? [];
      if (!list.some((r) => r.name === registration.name && r.version === registration.version)) {
        list.push(registration);
      }
      byModel.set(model.info.model_id, list);
    }
  }
  return byModel;
}
