/**
 * Which experiments or registered models a request touches (issue 16), from the route's `access.from`
 * (shared/api/route-kit.ts ResourceLocator). Two steps, so that the common case costs nothing:
 * - `namedIds` reads what the request itself names (fields, path parameters, a header): no I/O.
 * - `resolveResources` turns run, logged model and trace ids and experiment names into experiment ids
 *   through the function's lookups; only the check's `resolve` case gets here (a grant makes the answer
 *   depend on which experiment), and a run's or logged model's experiment never changes, so those
 *   answers are kept per container (`cachedLookups`); a trace's are not (see there).
 *
 * Every place an operation may read an id from is read here, and each id found is checked: a request that
 * names run A in `run_id` and run B in `run_uuid` is checked on both, never on one and served on the other.
 *
 * A missing or malformed id is left to the operation, which refuses it with its own 400 (the same
 * validators decide what is well formed). A well-formed run, logged model or trace id, or an experiment
 * name, that names nothing is answered here with the operation's own 404 (fail closed: the operation never
 * runs on an id the check could not place). In a list (bulk reads), such an id is left out: the operation
 * answers for the ones that exist, all checked. Existence is not hidden, as MLflow's plugin does not hide
 * it (its run check reads the run first and answers 404); an experiment or model named directly is decided
 * on its id alone, so a NO_PERMISSIONS grant answers 403 whether or not the resource still exists.
 */

import { missingValue } from '../../shared/api/fields.js';
import type { ApiRequest } from '../../shared/api/request.js';
import type { ResourceLocator } from '../../shared/api/route-kit.js';
import { mapWithLimit } from '../../shared/concurrency.js';
import { canonicalArtifactPath } from '../../shared/domain/artifacts/paths.js';
import { isLoggedModelId, isRunId, parseExperimentId } from '../../shared/domain/ids.js';
import { validateTraceId } from '../../shared/domain/traces/model.js';
import { InvalidParameterValueError, ResourceDoesNotExistError } from '../../shared/errors.js';

/** Experiment ids of the runs, logged models or traces asked for; ids that name nothing are left out. */
export type OwnerLookup = (ids: readonly string[]) => Promise<ReadonlyMap<string, string>>;

/** What a function can look up; each function gives the ones its routes' locators need. */
export interface ResourceLookups {
  runExperiments?: OwnerLookup;
  loggedModelExperiments?: OwnerLookup;
  traceExperiments?: OwnerLookup;
  /** An experiment's id by its name (names change on rename: never cached). */
  experimentIdByName?: (name: string) => Promise<string | undefined>;
}

/** The lookup each locator needs, if any (direct locators name the resource itself). */
export const LOOKUP_FOR: Record<ResourceLocator, keyof ResourceLookups | undefined> = {
  experiment_id: undefined,
  experiment_ids: undefined,
  experiment_name: 'experimentIdByName',
  run_id: 'runExperiments',
  run_ids: 'runExperiments',
  model_id: 'loggedModelExperiments',
  trace_id: 'traceExperiments',
  trace_ids: 'traceExperiments',
  trace_location: undefined,
  otlp_experiment: undefined,
  artifact_path: undefined,
  name: undefined,
};

/** What the request names: the resources themselves (`direct`) or ids to look up first. */
export interface NamedIds {
  direct: boolean;
  ids: string[];
  /** How an id is named in messages: `run 'abc'`, `named 'abc'` (an experiment's name). */
  noun: string;
}

const NOUN: Record<ResourceLocator, string> = {
  experiment_id: 'experiment',
  experiment_ids: 'experiment',
  experiment_name: 'named',
  run_id: 'run',
  run_ids: 'run',
  model_id: 'logged model',
  trace_id: 'trace',
  trace_ids: 'trace',
  trace_location: 'experiment',
  otlp_experiment: 'experiment',
  artifact_path: 'experiment',
  name: 'registered model',
};

/**
 * The non-empty strings of a field: a JSON string or list of strings, or a repeated query parameter. A
 * JSON integer counts as its decimal string (`"experiment_id": 1` is experiment '1' to the operations
 * that accept it): dropping it would leave the route unchecked.
 */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (typeof value === 'number') return Number.isSafeInteger(value) ? [String(value)] : [];
  if (Array.isArray(value)) return value.flatMap((item) => (typeof item === 'string' ? strings(item) : []));
  return [];
}

function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * The experiment id that leads an artifact path (`<experiment_id>/<run_id>/artifacts/...`), canonicalized
 * as the artifact service canonicalizes it; a path it would refuse is refused here with the same 400.
 */
function artifactExperiment(request: ApiRequest): string[] {
  // A `{path+}` route's path is in the URL (its `path` field, on multipart routes, is a file name);
  // the listing's is its `path` field.
  const raws = request.greedyPath === undefined ? strings(request.fields.path) : [request.greedyPath];
  return raws.flatMap((raw) => {
    const canonical = canonicalArtifactPath(raw.replace(/\/+$/, ''), 'path');
    const first = canonical.split('/')[0] ?? '';
    return first === '' ? [] : [first];
  });
}

/**
 * An experiment id as the services read it (`parseExperimentId`: '+07 ' is experiment 7), so that a grant
 * on '7' is found for it; anything else as given (the operation refuses it or finds nothing).
 */
function canonicalExperimentId(raw: string): string {
  try {
    return parseExperimentId('experiment_id', raw);
  } catch {
    return raw.trim();
  }
}

function isTraceId(id: string): boolean {
  try {
    validateTraceId('trace_id', id);
    return true;
  } catch {
    return false;
  }
}

/** Which ids can name an owner at all: the operations refuse the others with a 400 before reading. */
const WELL_FORMED: Partial<Record<ResourceLocator, (id: string) => boolean>> = {
  run_id: isRunId,
  run_ids: isRunId,
  model_id: isLoggedModelId,
  trace_id: isTraceId,
  trace_ids: isTraceId,
};

/** The operations' own 404s, for a single well-formed id that names nothing. */
const NOT_FOUND: Partial<Record<ResourceLocator, (id: string) => string>> = {
  run_id: (id) => `Run with id=${id} not found`,
  model_id: (id) => `Logged model with ID '${id}' not found.`,
  trace_id: (id) => `Trace with ID ${id} is not found.`,
  experiment_name: (name) => `Could not find experiment with name '${name}'`,
};

const EXPERIMENT_ID_LOCATORS: ReadonlySet<ResourceLocator> = new Set([
  'experiment_id',
  'experiment_ids',
  'trace_location',
  'otlp_experiment',
]);

function rawIds(locator: ResourceLocator, request: ApiRequest): string[] {
  const ids = namedStrings(locator, request);
  return EXPERIMENT_ID_LOCATORS.has(locator) ? ids.map(canonicalExperimentId) : ids;
}

function namedStrings(locator: ResourceLocator, request: ApiRequest): string[] {
  const { fields, pathParameters: params } = request;
  switch (locator) {
    case 'experiment_id':
      return [...strings(params.experiment_id), ...strings(fields.experiment_id)];
    case 'experiment_ids':
      return strings(fields.experiment_ids);
    case 'experiment_name':
      return strings(fields.experiment_name);
    case 'run_id':
      return [...strings(fields.run_id), ...strings(fields.run_uuid)];
    case 'run_ids':
      return [...strings(fields.run_ids), ...strings(fields.run_id)];
    case 'model_id':
      return [...strings(params.model_id), ...strings(fields.model_id)];
    case 'trace_id':
      return [...strings(params.trace_id), ...strings(fields.trace_id), ...strings(fields.request_id)];
    case 'trace_ids':
      return strings(fields.trace_ids);
    case 'trace_location':
      return strings(
        field(fields, 'trace', 'trace_info', 'trace_location', 'mlflow_experiment', 'experiment_id'),
      );
    case 'otlp_experiment':
      // The trace service trims the header the same way before using it.
      return strings(request.headers['x-mlflow-experiment-id']?.trim());
    case 'artifact_path':
      return artifactExperiment(request);
    case 'name':
      // The registry finds a model by the name as given, else by its NFC form (findByName): both are
      // checked, so a grant on 'café' holds for any spelling that reaches it.
      return strings(fields.name).flatMap((name) => [name, name.normalize('NFC')]);
  }
}

/**
 * The single-resource locators whose operations require the field of the locator's name, as their own 400
 * names it. Left out: lists
 * (a search may name none), and locators whose routes carry the id in their path or read it under other
 * names (artifact paths, traces, OTLP's header), where the operation's own refusal is the one to give.
 */
const REQUIRED_FIELD: ReadonlySet<ResourceLocator> = new Set([
  'experiment_id',
  'experiment_name',
  'run_id',
  'model_id',
  'name',
]);

/**
 * Throws the operation's own 400 (`Missing value for required parameter 'experiment_id'`) when the request
 * names no resource where `locator` needs one: the check answers what the operation would, rather than a
 * 403 about "every experiment" that an admin, whom the operation answers, never sees. Only what is absent
 * (or empty) counts; a value of the wrong type is the operation's to refuse.
 */
export function requireNamed(locator: ResourceLocator, request: ApiRequest): void {
  if (!REQUIRED_FIELD.has(locator)) return;
  const required: string = locator;
  const { fields, pathParameters: params } = request;
  const given = (value: unknown) => value !== undefined && value !== null && value !== '';
  const candidates =
    locator === 'run_id'
      ? [fields.run_id, fields.run_uuid]
      : [(params as Record<string, unknown>)[required], fields[required]];
  if (!candidates.some(given)) throw missingValue(required);
}

/**
 * Ids one request may ask the check to look up. Every operation that takes a list refuses far fewer
 * (bulk history: 100 runs); this only stops a request from making the check read thousands of items
 * before its operation gets to refuse it.
 */
export const MAX_LOOKUP_IDS = 1000;

/** The ids `locator` finds in the request, each once; no I/O. */
export function namedIds(locator: ResourceLocator, request: ApiRequest): NamedIds {
  return {
    direct: LOOKUP_FOR[locator] === undefined,
    ids: [...new Set(rawIds(locator, request))],
    noun: NOUN[locator],
  };
}

/** One resource a request touches, and how the request named it (for the refusal's message). */
export interface Resolved {
  resource: string;
  /** `that of run 'abc'`, `named 'abc'`: how the request reached the resource; absent when by its id. */
  via?: string;
}

/** The experiments or registered models the request touches (one lookup call per request at most). */
export async function resolveResources(
  locator: ResourceLocator,
  request: ApiRequest,
  lookups: ResourceLookups,
): Promise<Resolved[]> {
  const named = namedIds(locator, request);
  const lookup = LOOKUP_FOR[locator];
  if (lookup === undefined || named.ids.length === 0) return named.ids.map((resource) => ({ resource }));
  if (named.ids.length > MAX_LOOKUP_IDS) {
    throw new InvalidParameterValueError(
      `Invalid value for parameter '${locator}': ${named.ids.length} ids given, at most ${MAX_LOOKUP_IDS} per request.`,
    );
  }
  const notFound = NOT_FOUND[locator];
  const placed = (id: string, resource: string | undefined, via: string): Resolved[] => {
    if (resource !== undefined) return [{ resource, via }];
    if (notFound) throw new ResourceDoesNotExistError(notFound(id));
    return [];
  };
  if (lookup === 'experimentIdByName') {
    const find = requireLookup(lookups, lookup);
    const found = await Promise.all(named.ids.map(async (name) => ({ name, id: await find(name) })));
    return found.flatMap(({ name, id }) => placed(name, id, `${named.noun} '${name}'`));
  }
  const wellFormed = named.ids.filter(WELL_FORMED[locator] ?? (() => true));
  if (wellFormed.length === 0) return [];
  const owners = await requireLookup(lookups, lookup)(wellFormed);
  return wellFormed.flatMap((id) => placed(id, owners.get(id), `that of ${named.noun} '${id}'`));
}

function requireLookup<K extends keyof ResourceLookups>(
  lookups: ResourceLookups,
  name: K,
): NonNullable<ResourceLookups[K]> {
  const lookup = lookups[name];
  // createHttpHandler refuses at load a function whose routes need a lookup it was not given.
  if (!lookup) throw new Error(`No ${name} lookup in this function`);
  return lookup as NonNullable<ResourceLookups[K]>;
}

/**
 * A lookup that answers ids it has answered before from memory: a run's or logged model's experiment is
 * set when it is created and never changes, so an answer stays true (the server makes these ids and never
 * reuses one; not so trace ids, see cachedLookups). Ids that named nothing are not kept (one may be created next). Bounded; oldest first out.
 */
export function cachedOwnerLookup(lookup: OwnerLookup, capacity = 10_000): OwnerLookup {
  const known = new Map<string, string>();
  return async (ids) => {
    const answer = new Map<string, string>();
    const missing: string[] = [];
    for (const id of ids) {
      const experiment = known.get(id);
      if (experiment === undefined) missing.push(id);
      else answer.set(id, experiment);
    }
    if (missing.length === 0) return answer;
    for (const [id, experiment] of await lookup(missing)) {
      answer.set(id, experiment);
      known.delete(id);
      known.set(id, experiment);
      if (known.size > capacity) {
        const oldest = known.keys().next().value;
        if (oldest !== undefined) known.delete(oldest);
      }
    }
    return answer;
  };
}

/**
 * `lookups` with the run and logged model owner lookups cached per container: the server makes those ids
 * and never reuses one. Not experiment names (renames move them) and not trace ids: clients choose a
 * trace's id and traces expire, so an id may come back in another experiment, and a cached answer would
 * check it against the old one for the container's life.
 */
export function cachedLookups(lookups: ResourceLookups, capacity?: number): ResourceLookups {
  const cached: ResourceLookups = { ...lookups };
  for (const name of ['runExperiments', 'loggedModelExperiments'] as const) {
    const lookup = lookups[name];
    if (lookup) cached[name] = cachedOwnerLookup(lookup, capacity);
  }
  return cached;
}

/** Reads side by side per request at most: a bulk read names up to a few hundred runs. */
const LOOKUP_CONCURRENCY = 16;

/**
 * An owner lookup from a single-id read (runs, logged models: the store has no batch read of those).
 * It is asked only for well-formed ids: a malformed or oversized one never reaches the table as a key.
 */
export function ownerLookupOf(
  read: (id: string) => Promise<{ experimentId: string } | undefined>,
): OwnerLookup {
  return async (ids) => {
    const found = await mapWithLimit(
      ids,
      LOOKUP_CONCURRENCY,
      async (id) => [id, (await read(id))?.experimentId] as const,
    );
    return new Map(found.filter((entry): entry is readonly [string, string] => entry[1] !== undefined));
  };
}
