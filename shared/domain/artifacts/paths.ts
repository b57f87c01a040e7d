/**
 * Artifact paths, made safe once (security.md 4a, "Canonicalize artifact paths once, then check"). MLflow's
 * path-traversal CVEs came from checking one spelling of a path and using another: `..` hidden behind
 * percent-encoding, double encoding (CVE-2024-1560), backslashes (CVE-2023-2780), `#`/`;`/`?` smuggling
 * (CVE-2024-1483/1593/1594/2928/3848) and absolute paths (CVE-2023-1176/3765). Here a client-supplied path
 * is decoded until it stops changing, the decoded form is checked, and only that form is used afterwards:
 * it is parsed into its owner (a run or a logged model) and a path relative to the owner's artifact root,
 * and the S3 key is built from those parts alone. `isUnder` is the last check that a key never escapes.
 *
 * Pure: no AWS, no I/O. Every refusal is a 400 INVALID_PARAMETER_VALUE naming the field.
 */

import { InvalidParameterValueError } from '../../errors.js';
import { isCanonicalExperimentId, isLoggedModelId, isRunId } from '../ids.js';

export const ARTIFACT_PATH_LIMITS = {
  /** Decoding rounds allowed before the path must be stable (`%2541` takes two). */
  decodeRounds: 5,
  /** UTF-8 bytes of the whole decoded path; S3 keys allow 1,024 and the key also holds the owner's root. */
  pathBytes: 1024,
  /** UTF-8 bytes of one segment (the common file-name limit). */
  segmentBytes: 255,
} as const;

export type ArtifactOwner =
  | { kind: 'run'; experimentId: string; runId: string }
  | { kind: 'model'; experimentId: string; modelId: string };

export interface ParsedArtifactPath {
  owner: ArtifactOwner;
  /** The path below the owner's `artifacts` directory; '' for that directory itself. */
  relative: string;
}

const MODELS_SEGMENT = 'models';
const ARTIFACTS_SEGMENT = 'artifacts';

const CONTROL = /\p{Cc}/u; // U+0000–U+001F, U+007F–U+009F
const LONE_SURROGATE = /\p{Cs}/u; // with the u flag only unpaired surrogates match
const WINDOWS_DRIVE = /^[A-Za-z]:/;
const QUOTE_LIMIT = 200;

function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/** The value for an error message: control characters and lone surrogates escaped, long values cut. */
function quote(value: string): string {
  const cut = value.length > QUOTE_LIMIT ? `${value.slice(0, QUOTE_LIMIT)}…` : value;
  const escaped = cut.replace(
    /[\p{Cc}\p{Cs}]/gu,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `'${escaped}'`;
}

function refusal(raw: string, decoded: string | undefined, field: string, reason: string) {
  const shown = decoded !== undefined && decoded !== raw ? ` (decoded ${quote(decoded)})` : '';
  return new InvalidParameterValueError(
    `Invalid path ${quote(raw)}${shown} for parameter '${field}': ${reason}`,
  );
}

/**
 * Percent-decodes until stable; refuses malformed encodings and paths still changing after the cap, with a
 * 400 naming `field`. The one decoding of client-supplied paths: artifact paths here, and the paths inside
 * model version sources (registry/sources.ts), so both read a path the same way.
 */
export function decodeUntilStable(raw: string, field: string): string {
  let current = raw;
  let rounds = 0;
  for (;;) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(current);
    } catch {
      throw refusal(raw, current, field, 'malformed percent-encoding');
    }
    if (decoded === current) return current;
    rounds += 1;
    if (rounds > ARTIFACT_PATH_LIMITS.decodeRounds) {
      throw refusal(
        raw,
        undefined,
        field,
        `percent-encoding nested more than ${ARTIFACT_PATH_LIMITS.decodeRounds} levels deep is not allowed`,
      );
    }
    current = decoded;
  }
}

/** Why a decoded path is unsafe, or undefined when it is canonical. Never decodes. */
function unsafeReason(path: string): string | undefined {
  if (path === '') return undefined;
  if (LONE_SURROGATE.test(path)) return 'it is not valid Unicode (unpaired surrogate)';
  if (CONTROL.test(path)) return 'control characters (including NUL and newlines) are not allowed';
  if (path.startsWith('/')) return 'absolute paths are not allowed';
  // `d:notes.txt` is relative to drive D's working directory on Windows: a client saving it there would
  // write outside the folder it downloads into.
  if (WINDOWS_DRIVE.test(path))
    return "absolute paths are not allowed, nor paths starting with a drive letter ('d:')";
  if (path.includes('\\')) return 'backslashes are not allowed';
  if (path.includes('#')) return "'#' is not allowed";
  if (path.includes('?')) return "'?' is not allowed";
  if (path.includes(';')) return "';' is not allowed";
  // A decoded-until-stable path never holds '%'; paths reaching this check undecoded must not either.
  if (path.includes('%')) return "'%' is not allowed";
  const bytes = utf8Bytes(path);
  if (bytes > ARTIFACT_PATH_LIMITS.pathBytes) {
    return `it is ${bytes} bytes long (UTF-8) and the limit is ${ARTIFACT_PATH_LIMITS.pathBytes}`;
  }
  if (path.endsWith('/')) return "a trailing '/' is not allowed";
  for (const segment of path.split('/')) {
    if (segment === '') return "empty segments ('//') are not allowed";
    if (segment === '..') return "'..' segments are not allowed";
    if (segment === '.') return "'.' segments are not allowed";
    const segmentBytes = utf8Bytes(segment);
    if (segmentBytes > ARTIFACT_PATH_LIMITS.segmentBytes) {
      return `a segment is ${segmentBytes} bytes long (UTF-8) and the limit is ${ARTIFACT_PATH_LIMITS.segmentBytes}`;
    }
  }
  return undefined;
}

/**
 * The one canonical form of a client-supplied artifact path: percent-decoded until stable (at most
 * 5 rounds), then refused if it is absolute, holds `..`, `.` or empty segments, a trailing `/`,
 * backslashes, control characters, `#`, `?` or `;`, or is too long. '' (the root) is allowed. The result is
 * a fixed point: decoding or canonicalizing it again changes nothing.
 */
export function canonicalArtifactPath(raw: string, field: string): string {
  const decoded = decodeUntilStable(raw, field);
  const reason = unsafeReason(decoded);
  if (reason !== undefined) throw refusal(raw, decoded, field, reason);
  return decoded;
}

/**
 * Splits a canonical path in MLflow's proxied layout, `<experiment_id>/<run_id>/artifacts[/<relative>]` or
 * `<experiment_id>/models/<model_id>/artifacts[/<relative>]`, into its owner and relative path. `field`
 * names the request parameter in the error (default 'path').
 */
export function parseArtifactPath(canonical: string, field = 'path'): ParsedArtifactPath {
  const outside = () =>
    refusal(
      canonical,
      undefined,
      field,
      "it must lie under a run's or logged model's artifact root " +
        "('<experiment_id>/<run_id>/artifacts/...' or '<experiment_id>/models/<model_id>/artifacts/...')",
    );
  // Defense in depth: the caller should have canonicalized already; this check never decodes.
  const reason = unsafeReason(canonical);
  if (reason !== undefined) throw refusal(canonical, undefined, field, reason);

  const segments = canonical.split('/');
  const [experimentId, second, third, fourth] = segments;
  if (experimentId === undefined || !isCanonicalExperimentId(experimentId)) throw outside();
  let parsed: ParsedArtifactPath;
  if (second === MODELS_SEGMENT) {
    if (third === undefined || !isLoggedModelId(third) || fourth !== ARTIFACTS_SEGMENT) throw outside();
    parsed = {
      owner: { kind: 'model', experimentId, modelId: third },
      relative: segments.slice(4).join('/'),
    };
  } else {
    if (second === undefined || !isRunId(second) || third !== ARTIFACTS_SEGMENT) throw outside();
    parsed = { owner: { kind: 'run', experimentId, runId: second }, relative: segments.slice(3).join('/') };
  }
  // The relative path is a path of its own (the name a client lists, downloads and saves), so it is held
  // to the same rules as the whole: `<exp>/<run>/artifacts/d:notes.txt` is refused here, with a 400,
  // rather than by artifactKey's assertion, with a 500.
  const relativeReason = unsafeReason(parsed.relative);
  if (relativeReason !== undefined) throw refusal(canonical, parsed.relative, field, relativeReason);
  return parsed;
}

/** Programming errors (not client input): surface as 500s, never as a key outside the owner's root. */
function assertPrefix(prefix: string): void {
  if (prefix !== '' && !prefix.endsWith('/')) {
    throw new Error(`Artifact key prefix must be '' or end with '/': ${JSON.stringify(prefix)}`);
  }
}

function assertOwner(owner: ArtifactOwner): void {
  const valid =
    isCanonicalExperimentId(owner.experimentId) &&
    (owner.kind === 'run'
      ? isRunId(owner.runId) && owner.runId !== MODELS_SEGMENT
      : isLoggedModelId(owner.modelId));
  if (!valid) throw new Error(`Invalid artifact owner: ${JSON.stringify(owner)}`);
}

/** The key prefix under which all of an owner's artifacts live; it ends with `artifacts/`. */
export function ownerRoot(prefix: string, owner: ArtifactOwner): string {
  assertPrefix(prefix);
  assertOwner(owner);
  const ownerPath =
    owner.kind === 'run'
      ? `${owner.experimentId}/${owner.runId}`
      : `${owner.experimentId}/${MODELS_SEGMENT}/${owner.modelId}`;
  return `${prefix}${ownerPath}/${ARTIFACTS_SEGMENT}/`;
}

/**
 * The S3 key of `relative` (a canonical path, as returned in `parseArtifactPath(...).relative`) under the
 * owner's root. For '' the key is the root itself (ends with `artifacts/`), usable as a listing prefix.
 */
export function artifactKey(prefix: string, owner: ArtifactOwner, relative: string): string {
  if (unsafeReason(relative) !== undefined) {
    throw new Error(`Artifact path was not canonicalized: ${quote(relative)}`);
  }
  const root = ownerRoot(prefix, owner);
  const key = `${root}${relative}`;
  if (!isUnder(key, root)) throw new Error(`Artifact key escapes its root: ${key}`);
  return key;
}

/**
 * True iff `key` starts with `root`. Pass a root that ends with '/' (as `ownerRoot`'s do); otherwise a
 * sibling sharing the root's first characters would count as under it.
 */
export function isUnder(key: string, root: string): boolean {
  return key.startsWith(root);
}

/** Whether canonical relative path `path` is `sealed` itself or lies under it ('' is the whole root). */
function within(path: string, sealed: string): boolean {
  return sealed === '' || path === sealed || path.startsWith(`${sealed}/`);
}

/**
 * The sealed path a write of `relative` would change, if any. A file written at or under a sealed path
 * changes it; a delete also changes every sealed path under the directory it removes.
 */
export function sealedPathTouched(
  relative: string,
  sealedPaths: readonly string[],
  operation: 'write' | 'delete',
): string | undefined {
  return sealedPaths.find(
    (sealed) => within(relative, sealed) || (operation === 'delete' && within(sealed, relative)),
  );
}
