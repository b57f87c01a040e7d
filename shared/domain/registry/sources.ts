/**
 * A model version's source: which locations a version may point at (security.md: CVE-2023-1177 and its
 * bypasses), and which run or logged model produced it. Promotion policies judge a version by that run,
 * so the source decides it, not whatever `run_id` a request brings.
 */

import { InvalidParameterValueError, ResourceDoesNotExistError } from '../../errors.js';
import { canonicalArtifactPath, parseArtifactPath } from '../artifacts/paths.js';
import { isLoggedModelId, isRunId } from '../ids.js';
import type { CreateVersionInput, SourceLocation, VersionSourceLookup } from './model.js';
import { REGISTRY_LIMITS } from './rules.js';

/** The root with exactly one trailing slash, so that `<root>/x` and `<root>x` both read as under it. */
function rootOf(artifactRoot: string): string {
  return artifactRoot.endsWith('/') ? artifactRoot : `${artifactRoot}/`;
}

/**
 * A path inside a source, read exactly as the artifacts function reads artifact paths — the one
 * canonicaliser, so a source cannot name a path the artifact endpoints would read differently (overlong
 * UTF-8 such as `%c0%af`, nested encodings, `..` after decoding, `;`, drive letters). A trailing '/' names
 * the same directory. Refusals are 400s naming 'source'.
 */
function canonicalSourcePath(path: string): string {
  return canonicalArtifactPath(path.replace(/\/+$/, ''), 'source');
}

/**
 * `lookup` with each run and logged model read once: creating a version resolves its source (checks) and
 * then locates it (the seal) from the same items, and need not read them twice.
 */
export function readingOnce(lookup: VersionSourceLookup): VersionSourceLookup {
  const runs = new Map<string, ReturnType<VersionSourceLookup['get']>>();
  const models = new Map<string, ReturnType<VersionSourceLookup['getLoggedModel']>>();
  const once = <T>(cache: Map<string, T>, id: string, read: () => T): T => {
    const known = cache.get(id);
    if (known !== undefined) return known;
    const reading = read();
    cache.set(id, reading);
    return reading;
  };
  return {
    get: (runId) => once(runs, runId, () => lookup.get(runId)),
    getLoggedModel: (modelId) => once(models, modelId, () => lookup.getLoggedModel(modelId)),
  };
}

/**
 * A model version's source must name something this deployment owns: `runs:/<run_id>[/<path>]`,
 * `models:/m-<32 hex>`, or a location under this deployment's artifact root. Everything else — `file:`,
 * bare paths, `http(s):`, other buckets or schemes, traversal — is refused, with no exception for tags
 * such as `mlflow.prompt.is_prompt`.
 */
export function validateSource(source: string, artifactRoot: string): void {
  const refuse = (why: string): never => {
    throw new InvalidParameterValueError(
      `Invalid model version source '${source}': ${why}. Sources must be runs:/<run_id>/<path>, models:/<model_id> or a location under ${artifactRoot}.`,
    );
  };
  if (source.length > REGISTRY_LIMITS.source) refuse('too long');
  if (/[\s\0]/.test(source)) refuse('it contains whitespace or control characters');
  if (source.startsWith('runs:/')) {
    const rest = source.slice('runs:/'.length);
    const slash = rest.indexOf('/');
    const runId = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? '' : rest.slice(slash + 1);
    if (!isRunId(runId)) refuse('the run id is not valid');
    canonicalSourcePath(path);
    return;
  }
  if (source.startsWith('models:/')) {
    const id = source.slice('models:/'.length);
    if (!isLoggedModelId(id)) refuse("a models:/ source must name a logged model id ('m-' + 32 hex)");
    return;
  }
  const root = rootOf(artifactRoot);
  if (source.startsWith(root)) {
    const path = source.slice(root.length);
    // `mlflow-artifacts://host/...` would name another server.
    if (path === '' || path.startsWith('/')) refuse('it names no path under the artifact root');
    canonicalSourcePath(path);
    return;
  }
  refuse('this scheme or location is not allowed');
}

/** The request's own id fields, checked before anything is read. */
export function validateVersionIds(input: Pick<CreateVersionInput, 'runId' | 'loggedModelId'>): void {
  if (input.runId !== undefined && input.runId !== '' && !isRunId(input.runId)) {
    throw new InvalidParameterValueError(`Invalid value '${input.runId}' for parameter 'run_id'.`);
  }
  if (
    input.loggedModelId !== undefined &&
    input.loggedModelId !== '' &&
    !isLoggedModelId(input.loggedModelId)
  ) {
    throw new InvalidParameterValueError(`Invalid value '${input.loggedModelId}' for parameter 'model_id'.`);
  }
}

type SourceOwner = { kind: 'run'; runId: string } | { kind: 'model'; modelId: string };

/**
 * The run or logged model a (validated) source lies under: `runs:/<run>/...`, `models:/m-<id>`, or a path
 * under this deployment's artifact root in MLflow's layout (`<exp>/<run>/artifacts/...`,
 * `<exp>/models/<id>/artifacts/...`), read as the artifacts function reads paths (canonicalArtifactPath,
 * trailing slashes dropped). Any other path under the root holds nothing a client can have uploaded,
 * and is refused.
 */
export function sourceOwner(source: string, artifactRoot: string): SourceOwner {
  if (source.startsWith('runs:/')) return { kind: 'run', runId: source.slice(6).split('/')[0] as string };
  if (source.startsWith('models:/')) return { kind: 'model', modelId: source.slice(8) };
  const root = rootOf(artifactRoot);
  try {
    const canonical = canonicalSourcePath(source.slice(root.length));
    const { owner } = parseArtifactPath(canonical, 'source');
    return owner.kind === 'run'
      ? { kind: 'run', runId: owner.runId }
      : { kind: 'model', modelId: owner.modelId };
  } catch {
    throw new InvalidParameterValueError(
      `Invalid value for 'source' ('${source}'): a location under ${root} must lie in a run's or a logged model's artifacts ('<experiment_id>/<run_id>/artifacts/...' or '<experiment_id>/models/<model_id>/artifacts/...').`,
    );
  }
}

async function requireLoggedModel(lookup: VersionSourceLookup, modelId: string, namedBy: string) {
  const logged = await lookup.getLoggedModel(modelId);
  if (!logged || logged.lifecycleStage === 'deleted') {
    throw new ResourceDoesNotExistError(`Logged model '${modelId}' named by ${namedBy} not found`);
  }
  return logged;
}

/**
 * Checks what a new version's source, run_id and model_id name, as MLflow's create_model_version does:
 * runs must exist; a logged model must exist and not be deleted, and its artifact location becomes the
 * version's storage location.
 *
 * The version's run is the run that produced its files — the `runs:/` run, the logged model's source
 * run, or the run (or logged model) an artifact-root path lies under — because promotion policies judge
 * a version by it. MLflow takes any `run_id` the request names; here a `run_id` (or a `model_id` whose
 * source run) that contradicts the source is refused, so a version cannot borrow a run that passes a
 * policy its own files' run fails. Only reads: a refused source changes nothing.
 */
export async function resolveVersionSource(
  input: CreateVersionInput,
  artifactRoot: string,
  lookup: VersionSourceLookup,
): Promise<{ runId?: string; storageLocation?: string }> {
  const owner = sourceOwner(input.source, artifactRoot);
  const refuse = (field: string, why: string): never => {
    throw new InvalidParameterValueError(
      `Invalid value for '${field}': ${why}. A version's run is the run that produced its source, and its logged model the one its source names.`,
    );
  };
  if (owner.kind === 'model' && input.loggedModelId && input.loggedModelId !== owner.modelId)
    refuse(
      'model_id',
      `'${input.loggedModelId}' is not ${owner.modelId}, the logged model source '${input.source}' names`,
    );
  const runIds = new Set(
    [input.runId, owner.kind === 'run' ? owner.runId : undefined].filter((id): id is string => !!id),
  );
  const [sourceModel, paramModel] = await Promise.all([
    owner.kind === 'model'
      ? requireLoggedModel(lookup, owner.modelId, `source '${input.source}'`)
      : undefined,
    owner.kind === 'run' && input.loggedModelId
      ? requireLoggedModel(lookup, input.loggedModelId, "'model_id'")
      : undefined,
    ...[...runIds].map(async (runId) => {
      if (!(await lookup.get(runId))) throw new ResourceDoesNotExistError(`Run with id=${runId} not found`);
    }),
  ]);
  if (owner.kind === 'run' && paramModel && paramModel.sourceRunId !== owner.runId)
    refuse(
      'model_id',
      `logged model '${input.loggedModelId}' was not logged from run ${owner.runId}, which source '${input.source}' names`,
    );
  // A logged model's run is its source run or none: never one the request (or another model) brings.
  const runId = owner.kind === 'run' ? owner.runId : sourceModel?.sourceRunId;
  if (input.runId && input.runId !== runId) {
    refuse(
      'run_id',
      runId
        ? `source '${input.source}' comes from run ${runId}`
        : `source '${input.source}' was not logged from a run`,
    );
  }
  return {
    ...(runId ? { runId } : {}),
    // MLflow's storage location for `models:/m-<id>`; a path under a model's artifacts is its own location.
    ...(sourceModel && input.source.startsWith('models:/')
      ? { storageLocation: sourceModel.artifactUri }
      : {}),
  };
}

/**
 * Where a (validated) source's files are, read as the artifacts function reads paths, so that the seal
 * written for a version covers exactly the paths its files are written under. Undefined when the owner is
 * gone or the path is not one the artifact API can address (nothing can be written there either).
 */
export async function locateSource(
  source: string,
  artifactRoot: string,
  lookup: VersionSourceLookup,
): Promise<SourceLocation | undefined> {
  try {
    if (source.startsWith('runs:/')) {
      const [runId = '', ...rest] = source.slice('runs:/'.length).split('/');
      const run = await lookup.get(runId);
      const relative = canonicalSourcePath(rest.join('/'));
      return run && { owner: { kind: 'run', experimentId: run.experimentId, runId }, relative };
    }
    if (source.startsWith('models:/')) {
      const modelId = source.slice('models:/'.length);
      const model = await lookup.getLoggedModel(modelId);
      return model && { owner: { kind: 'model', experimentId: model.experimentId, modelId }, relative: '' };
    }
    const root = rootOf(artifactRoot);
    if (!source.startsWith(root)) return undefined;
    const canonical = canonicalSourcePath(source.slice(root.length));
    return parseArtifactPath(canonical, 'source');
  } catch (error) {
    if (error instanceof InvalidParameterValueError) return undefined;
    throw error;
  }
}
