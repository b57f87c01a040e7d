/**
 * Artifact paths as the UI handles them: the run's artifact root (from its `artifact_uri`), the relative
 * path a person browses, and the presigned-download path the server answers. Pure: no DOM, unit-tested.
 */

/**
 * The root-relative location of a run's artifacts, `<exp>/<run>/artifacts`, which is what
 * `/api/2.0/mlflow-artifacts/...` paths start with. MLflow prints `mlflow-artifacts:/1/<run>/artifacts`, and
 * may add an authority (`mlflow-artifacts://host:5000/1/...`), which the proxied path never includes.
 */
export function artifactRoot(artifactUri: string | undefined, experimentId: string, runId: string): string {
  const fallback = `${experimentId}/${runId}/artifacts`;
  if (!artifactUri) return fallback;
  const match = /^mlflow-artifacts:(\/\/[^/]*)?\/*(.*)$/.exec(artifactUri);
  if (!match) return fallback;
  const rest = trimSlashes(match[2] ?? '');
  return rest === '' ? fallback : rest;
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

/** Joins path parts with single slashes, dropping empty parts and stray slashes at the joins. */
export function joinPath(...parts: readonly (string | undefined)[]): string {
  return parts
    .map((part) => trimSlashes(part ?? ''))
    .filter((part) => part !== '')
    .join('/');
}

/** The last segment: the name shown in the tree. */
export function baseName(path: string): string {
  const trimmed = trimSlashes(path);
  const slash = trimmed.lastIndexOf('/');
  return slash < 0 ? trimmed : trimmed.slice(slash + 1);
}

/** The directory holding `path` ('' for a top-level entry). */
export function parentPath(path: string): string {
  const trimmed = trimSlashes(path);
  const slash = trimmed.lastIndexOf('/');
  return slash < 0 ? '' : trimmed.slice(0, slash);
}

/** Every directory above `path`, outermost first: the ones the tree opens to show a linked file. */
export function ancestors(path: string): string[] {
  const segments = trimSlashes(path).split('/').filter(Boolean);
  const result: string[] = [];
  for (let i = 1; i < segments.length; i += 1) result.push(segments.slice(0, i).join('/'));
  return result;
}

/** Breadcrumbs for a path: each segment with the path up to and including it. */
export function breadcrumbs(path: string): { name: string; path: string }[] {
  const segments = trimSlashes(path).split('/').filter(Boolean);
  return segments.map((name, i) => ({ name, path: segments.slice(0, i + 1).join('/') }));
}

/**
 * The URL path of the presigned-download endpoint for `relative` under `root`. Each segment is
 * percent-encoded so a name holding spaces or non-ASCII travels as itself.
 */
export function presignedPath(root: string, relative: string): string {
  const encoded = joinPath(root, relative).split('/').map(encodeURIComponent).join('/');
  return `/api/2.0/mlflow-artifacts/presigned/${encoded}`;
}
