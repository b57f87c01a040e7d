/**
 * What a search may show one caller (issue 16). Searches leave out the experiments and registered models
 * the caller may not read *before* they page, so that a page is never short while more exist and a page
 * token only ever names an item the caller was shown (MLflow's auth plugin filters after paging and then
 * refetches; Cairn's searches run on items already in memory, so filtering first costs nothing more).
 *
 * Searches scoped by experiment ids (runs, logged models, traces) are refused instead, naming the first
 * experiment the caller may not read: every result belongs to a named experiment, so a refusal is what
 * MLflow's per-experiment read checks give (validate_can_search_datasets, get-history-bulk), and an empty
 * 200 would read as "no runs" where the truth is "not yours to see".
 *
 * Pure logic on CallerPermissions: no read of its own (the grants were read once for the request).
 */
import { parseExperimentId } from '../domain/ids.js';
import { PermissionDeniedError } from '../errors.js';
import type { CallerPermissions, ResourceKind } from './permissions.js';

/**
 * The resources of `kind` a search must leave out for `caller`, or undefined when it need not filter at
 * all: auth off (no caller), an admin, or a caller holding no grant below READ on that kind (every scope's
 * default reads, so only NO_PERMISSIONS grants hide anything) — the common case costs nothing.
 */
export function hiddenFrom(
  caller: CallerPermissions | undefined,
  kind: ResourceKind,
): ReadonlySet<string> | undefined {
  if (caller === undefined || caller.decideWithoutResource(kind, 'READ') === 'allow') return undefined;
  const hidden = caller.hidden(kind);
  return hidden.size === 0 ? undefined : hidden;
}

/**
 * Refuses (403 PERMISSION_DENIED naming it) the first experiment in `rawIds` the caller may not read. Ids
 * are compared in their canonical form (`007` is experiment `7`), so no spelling slips past a grant; an id
 * that does not parse is left for the search itself to refuse with its own 400.
 */
export function requireReadableExperiments(
  caller: CallerPermissions | undefined,
  rawIds: Iterable<string>,
): void {
  if (caller === undefined || caller.decideWithoutResource('experiment', 'READ') === 'allow') return;
  for (const raw of rawIds) {
    let experimentId: string;
    try {
      experimentId = parseExperimentId('experiment_ids', raw);
    } catch {
      continue;
    }
    if (caller.levelOn('experiment', experimentId) === 'NO_PERMISSIONS') {
      throw new PermissionDeniedError(
        `Token '${caller.principal}' may not read experiment '${experimentId}' (it holds NO_PERMISSIONS there), so it cannot search it.`,
      );
    }
  }
}

/**
 * Every experiment id a search request names, whatever the field: `experiment_ids` (one string or
 * several) and MLflow 3's trace `locations[].mlflow_experiment.experiment_id`. Malformed shapes are
 * skipped here; the search's own validation refuses them.
 */
export function experimentIdsNamed(fields: Record<string, unknown>): string[] {
  const ids: string[] = [];
  const listed = fields.experiment_ids;
  if (typeof listed === 'string') ids.push(listed);
  else if (Array.isArray(listed)) for (const id of listed) if (typeof id === 'string') ids.push(id);
  if (Array.isArray(fields.locations)) {
    for (const location of fields.locations) {
      const experiment = (location as { mlflow_experiment?: { experiment_id?: unknown } } | null)
        ?.mlflow_experiment?.experiment_id;
      if (typeof experiment === 'string') ids.push(experiment);
    }
  }
  return ids;
}
