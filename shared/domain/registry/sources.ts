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
 * What a source names: a run's or logged model's files in this deployment (`owned`, checked further against
 * the run and logged model), or a location the server never reads (`foreign`): another server, another
 * store, a registered model's URI, a path under the artifact root outside any run's or model's files.
 * MLflow stores such versions; Cairn does too, marked unverified (`why`), so no promotion policy can pass
 * them on a run they do not come from.
 */
export type SourceKind =
  | {
      kind: 'owned';
      owner: SourceOwner;
      /** The experiment an artifact-root path names before its owner (`<exp>/<run>/artifacts/...`). */
      pathExperiment?: string;
    }
  | { kind: 'foreign'; why: string };

/** Python's `urllib.parse.unquote_plus` until stable, as MLflow applies it: malformed escapes stay as they are. */
function unquotePlusUntilStable(source: string): string {
  let current = source;
  for (let round = 0; round < 20; round += 1) {
    const next = current.replaceAll('+', ' ').replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        // invalid UTF-8: Python substitutes U+FFFD per byte, which never forms '..' or NUL
        return '\uFFFD';
      }
    });
    if (next === current) return current;
    current = next;
  }
  return current;
}

/** The path part of a URI as Python's `urlparse` splits it (scheme, then `//netloc`, then path up to `?`/`#`). */
function uriPath(uri: string): string {
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.exec(uri);
  let rest = scheme ? uri.slice(scheme[0].length) : uri;
  if (rest.startsWith('//')) {
    const end = rest.slice(2).search(/[/?#]/);
    rest = end === -1 ? '' : rest.slice(2 + end);
  }
  const query = rest.search(/[?#]/);
  return query === -1 ? rest : rest.slice(0, query);
}

/**
 * MLflow's guard against relative references in a non-local source (`..` anywhere after decoding, NUL, a
 * path that is not absolute or not normalised), with MLflow's message: the same sources are refused for the
 * same reason, whichever server a client talks to.
 */
export function refuseRelativeReferences(source: string): void {
  const decoded = unquotePlusUntilStable(source);
  const path = uriPath(decoded).replace(/\/+/g, '/').replace(/\/+$/, '');
  const segments = path.split('/');
  const normalised =
    path.startsWith('/') && !segments.slice(1).some((segment) => segment === '.' || segment === '..');
  if (path.includes('\0') || decoded.split('/').includes('..') || !normalised) {
    throw new InvalidParameterValueError(
      `Invalid model version source: '${source}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.`,
    );
  }
}

/**
 * Classifies a model version's source, refusing what MLflow refuses and what the server could be made to
 * read: local paths (`file:`, bare paths: MLflow allows them only inside the run's local artifact
 * directory, and Cairn keeps no artifacts on the server's disk), relative references, control characters.
 * `runs:/<run_id>/<path>`, `models:/m-<32 hex>` and paths in a run's or logged model's artifacts under this
 * deployment's artifact root are `owned`; any other location is `foreign`: stored, never dereferenced.
 */
export function validateSource(source: string, artifactRoot: string): SourceKind {
  const refuse = (why: string): never => {
    throw new InvalidParameterValueError(
      `Invalid model version source '${source}': ${why}. Sources must be runs:/<run_id>/<path>, models:/<model_id>, a location under ${artifactRoot} or a remote location.`,
    );
  };
  if (source.length > REGISTRY_LIMITS.source) refuse('too long');
  if (/[\s\0]/.test(source)) refuse('it contains whitespace or control characters');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(source)?.[1]?.toLowerCase();
  // One letter is a Windows drive (`C:/models`): a local path too.
  if (scheme === undefined || scheme === 'file' || scheme.length === 1) {
    throw new InvalidParameterValueError(
      `Invalid model version source: '${source}'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id. This server keeps no artifacts on its own disk: register runs:/<run_id>/<path> or models:/<model_id> instead.`,
    );
  }
  refuseRelativeReferences(source);
  if (source.startsWith('runs:/')) {
    const rest = source.slice('runs:/'.length);
    const slash = rest.indexOf('/');
    const runId = slash === -1 ? rest : rest.slice(0, slash);
    if (!isRunId(runId)) return { kind: 'foreign', why: `names '${runId}', which is not a run id` };
    canonicalSourcePath(slash === -1 ? '' : rest.slice(slash + 1));
    return { kind: 'owned', owner: { kind: 'run', runId } };
  }
  if (source.startsWith('models:/')) {
    const id = source.slice('models:/'.length);
    if (!isLoggedModelId(id)) return { kind: 'foreign', why: 'names a model URI, not a logged model id' };
    return { kind: 'owned', owner: { kind: 'model', modelId: id } };
  }
  const root = rootOf(artifactRoot);
  if (source.startsWith(root) && !source.slice(root.length).startsWith('/')) {
    // A path the artifact API reads differently, or outside any run's or model's files, holds nothing
    // a client can have uploaded there: stored as MLflow stores it, and never read.
    try {
      const { owner } = parseArtifactPath(canonicalSourcePath(source.slice(root.length)), 'source');
      return {
        kind: 'owned',
        pathExperiment: owner.experimentId,
        owner:
          owner.kind === 'run'
            ? { kind: 'run', runId: owner.runId }
            : { kind: 'model', modelId: owner.modelId },
      };
    } catch (error) {
      if (!(error instanceof InvalidParameterValueError)) throw error;
      return {
        kind: 'foreign',
        why: "lies under the artifact root outside any run's or logged model's artifacts",
      };
    }
  }
  // (`mlflow-artifacts://host/...` names another server)
  return { kind: 'foreign', why: 'is a location outside this deployment' };
}

/**
 * An artifact-root path names its experiment and its owner side by side, and the artifacts function keys
 * files by both: a path pairing a run (or logged model) with an experiment it does not belong to holds no
 * file of that owner. Such a source is foreign (stored, never sealed, unverified for promotion), so that a
 * readable experiment's id cannot carry a run hidden elsewhere into a version, its seal and its run_id.
 */
export async function confirmPathOwner(kind: SourceKind, lookup: VersionSourceLookup): Promise<SourceKind> {
  if (kind.kind !== 'owned' || kind.pathExperiment === undefined) return kind;
  const owner =
    kind.owner.kind === 'run'
      ? await lookup.get(kind.owner.runId)
      : await lookup.getLoggedModel(kind.owner.modelId);
  if (owner === undefined || owner.experimentId === kind.pathExperiment) return kind;
  const named = kind.owner.kind === 'run' ? `run ${kind.owner.runId}` : `logged model ${kind.owner.modelId}`;
  return {
    kind: 'foreign',
    why: `lies under experiment ${kind.pathExperiment}, to which ${named} does not belong`,
  };
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

async function requireLoggedModel(lookup: VersionSourceLookup, modelId: string, namedBy: string) {
  const logged = await lookup.getLoggedModel(modelId);
  if (!logged || logged.lifecycleStage === 'deleted') {
    throw new ResourceDoesNotExistError(`Logged model '${modelId}' named by ${namedBy} not found`);
  }
  return logged;
}

/** What the registry records of a new version's source (see resolveVersionSource). */
export interface ResolvedSource {
  runId?: string;
  storageLocation?: string;
  /** Why the run that produced the version's files cannot be verified; absent when it can. */
  unverified?: string;
}

/**
 * Checks what a new version's source, run_id and model_id name. A logged model the request names must
 * exist and not be deleted (its artifact location becomes a `models:/` version's storage location, and it
 * is tagged with the version), as in MLflow.
 *
 * Promotion policies judge a version by the run that produced its files: the `runs:/` run, the logged
 * model's source run, or the run an artifact-root path lies under. MLflow takes whatever `run_id` the
 * request names and stores sources it cannot check; so does Cairn, but such a version is `unverified` —
 * its source run does not exist, its source is foreign, or its ids contradict its source — and every
 * promotion policy refuses it (the guard), so a version cannot borrow a run that passes a policy its own
 * files' run fails. Only reads: a refused request changes nothing.
 */
export async function resolveVersionSource(
  input: CreateVersionInput,
  kind: SourceKind,
  lookup: VersionSourceLookup,
  artifactRoot: string,
): Promise<ResolvedSource> {
  const doubts: string[] = [];
  // An experiment may keep its artifacts in a client's own object store (artifact_location): the stock
  // client then writes a run's files there, where this deployment can neither seal nor read them, so the
  // run vouches for nothing a policy could judge.
  const outsideStore = (what: string, uri: string) => {
    if (!uri.startsWith(rootOf(artifactRoot))) {
      doubts.push(`${what} keeps its artifacts at ${uri}, outside this deployment's artifact store`);
    }
  };
  let runId: string | undefined;
  let storageLocation: string | undefined;
  const sourceRun = kind.kind === 'owned' && kind.owner.kind === 'run' ? kind.owner.runId : undefined;
  if (input.loggedModelId && (kind.kind === 'foreign' || sourceRun)) {
    const named = await requireLoggedModel(lookup, input.loggedModelId, "'model_id'");
    if (sourceRun && named.sourceRunId !== sourceRun)
      doubts.push(
        `model_id ${input.loggedModelId} was not logged from run ${sourceRun}, which the source names`,
      );
  }
  if (kind.kind === 'foreign') {
    doubts.push(`its source ${kind.why}`);
  } else if (kind.owner.kind === 'model') {
    const { modelId } = kind.owner;
    const model = await requireLoggedModel(lookup, modelId, `source '${input.source}'`);
    if (input.source.startsWith('models:/')) storageLocation = model.artifactUri;
    if (input.loggedModelId && input.loggedModelId !== modelId)
      doubts.push(`model_id ${input.loggedModelId} is not ${modelId}, the logged model its source names`);
    runId = model.sourceRunId;
    outsideStore(`its logged model ${modelId}`, model.artifactUri);
    if (model.unverified) doubts.push(`its logged model ${modelId} ${model.unverified}`);
    else if (runId && !(await lookup.get(runId)))
      doubts.push(`its logged model's source run ${runId} does not exist`);
  } else {
    runId = kind.owner.runId;
    const run = await lookup.get(runId);
    if (!run) doubts.push(`its source run ${runId} does not exist`);
    else outsideStore(`its source run ${runId}`, run.artifactUri);
  }
  if (input.runId && input.runId !== runId) {
    doubts.push(
      runId
        ? `run_id ${input.runId} is not run ${runId}, which its source comes from`
        : `its source was not logged from a run, yet run_id ${input.runId} was given`,
    );
  }
  // As MLflow: the version reports the run the request names, whether or not it is the one that counts.
  const reported = input.runId || runId;
  return {
    ...(reported ? { runId: reported } : {}),
    ...(storageLocation ? { storageLocation } : {}),
    ...(doubts.length > 0 ? { unverified: doubts.join('; ') } : {}),
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
      if (!isRunId(runId)) return undefined;
      const run = await lookup.get(runId);
      const relative = canonicalSourcePath(rest.join('/'));
      return run && { owner: { kind: 'run', experimentId: run.experimentId, runId }, relative };
    }
    if (source.startsWith('models:/')) {
      const modelId = source.slice('models:/'.length);
      if (!isLoggedModelId(modelId)) return undefined;
      const model = await lookup.getLoggedModel(modelId);
      return model && { owner: { kind: 'model', experimentId: model.experimentId, modelId }, relative: '' };
    }
    const root = rootOf(artifactRoot);
    if (!source.startsWith(root)) return undefined;
    const canonical = canonicalSourcePath(source.slice(root.length));
    const parsed = parseArtifactPath(canonical, 'source');
    // Only where the owner's files really are (confirmPathOwner): never a seal on another experiment's run.
    const { owner } = parsed;
    const real =
      owner.kind === 'run' ? await lookup.get(owner.runId) : await lookup.getLoggedModel(owner.modelId);
    return real?.experimentId === owner.experimentId ? parsed : undefined;
  } catch (error) {
    if (error instanceof InvalidParameterValueError) return undefined;
    throw error;
  }
}
