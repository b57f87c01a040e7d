/**
 * MLflow's input limits (contract 3.3, mlflow/utils/validation.py), with MLflow's messages. Every
 * check throws 400 INVALID_PARAMETER_VALUE naming the field, before anything is written.
 */

import { InvalidParameterValueError } from '../errors.js';
import { decodeUntilStable } from './artifacts/paths.js';

export const LIMITS = {
  experimentName: 500,
  tagKey: 250,
  experimentTagValue: 5000,
  artifactLocation: 2048,
  maxResultsCap: 50_000,
  defaultMaxResults: 1000,
  /**
   * Experiments one runs or logged-models search may name. Each costs the store 8 queries (4 shards ×
   * 2 indexes for runs); 1,000 ids took 8–17 s and stalled the local server. The stock client sends the
   * ids it is given (the UI's compare view a handful); 100 is the size of MLflow's other bulk calls.
   */
  searchExperimentIds: 100,
  /** Experiments read at once by one search: at most 4 × 8 = 32 DynamoDB calls in flight per request. */
  searchExperimentsInFlight: 4,
} as const;

// Unicode \w like Python's re; space, dot, dash, slash and colon allowed.
const KEY_CHARSET = /^[\p{L}\p{N}\p{Mn}\p{Mc}\p{Pc}/.\- :]*$/u;

/** Python's posixpath.normpath, enough to tell whether a key would resolve to another name. */
function normpath(path: string): string {
  if (path === '') return '.';
  const initialSlashes = path.startsWith('//') && !path.startsWith('///') ? 2 : path.startsWith('/') ? 1 : 0;
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..' || (initialSlashes === 0 && parts.length === 0) || parts.at(-1) === '..')
      parts.push(part);
    else if (parts.length > 0) parts.pop();
  }
  const joined = '/'.repeat(initialSlashes) + parts.join('/');
  return joined === '' ? '.' : joined;
}

export function validateMaxLength(field: string, value: string, limit: number): void {
  if (value.length > limit) {
    throw new InvalidParameterValueError(`'${field}' exceeds the maximum length of ${limit} characters`);
  }
}

/** Metric, param and tag keys: MLflow's charset, ≤ 250 chars, and a normalized path. */
export function validateKey(field: string, key: string): void {
  if (!KEY_CHARSET.test(key)) {
    throw new InvalidParameterValueError(
      `Invalid value ${JSON.stringify(key)} for parameter '${field}' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).`,
    );
  }
  const normalized = normpath(key);
  if (normalized !== key || key === '.' || key.startsWith('..') || key.startsWith('/')) {
    throw new InvalidParameterValueError(
      `Invalid value ${JSON.stringify(key)} for parameter '${field}' supplied: Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '${normalized}'`,
    );
  }
  validateMaxLength(field, key, LIMITS.tagKey);
}

/**
 * Characters that let two names look the same, or a name look like another (MLflow's CVE-2024-3099
 * class): control characters (C0, C1, DEL), format characters (\p{Cf}: bidi controls U+202A–202E,
 * U+2066–2069, U+200E/200F, U+061C; zero-width U+200B–200D, U+2060, U+FEFF; soft hyphen; tags), line and
 * paragraph separators, space characters other than U+0020 (U+00A0 looks like a space), unpaired
 * surrogates (not text at all), and what renders as nothing though it is a letter or a mark: Unicode's
 * default-ignorable characters (the Hangul fillers, the combining grapheme joiner, variation selectors)
 * the blank braille pattern U+2800, and private-use characters (no agreed glyph). The emoji presentation
 * selectors U+FE0E/U+FE0F stay allowed right after an emoji, which on most keyboards carries one.
 */
const UNSAFE_NAME_CHARACTER =
  /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}\u2800]|(?! )\p{Zs}|(?![\ufe0e\ufe0f])\p{Default_Ignorable_Code_Point}|(?<!\p{Extended_Pictographic})[\ufe0e\ufe0f]/u;
const EDGE_WHITESPACE = /^\s|\s$/u;

/**
 * The one form of a name that is being created or renamed to — an experiment's, a registered model's,
 * an alias's, a logged model's: Unicode NFC, so `café` typed as e + U+0301 and as é are one name; and
 * refused (400 naming the field) if it holds a character from UNSAFE_NAME_CHARACTER or begins or ends
 * with whitespace. MLflow keeps names as given; refusing edge whitespace, rather than trimming it, keeps
 * a name from silently becoming another.
 */
export function canonicalNewName(field: string, raw: string): string {
  const name = raw.normalize('NFC');
  const unsafe = UNSAFE_NAME_CHARACTER.exec(name)?.[0];
  if (unsafe !== undefined) {
    const code = (unsafe.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    throw new InvalidParameterValueError(
      `Invalid value for parameter '${field}': names may not contain control, format (bidi or zero-width), invisible or non-standard space characters; found U+${code}.`,
    );
  }
  if (EDGE_WHITESPACE.test(name)) {
    throw new InvalidParameterValueError(
      `Invalid value for parameter '${field}': names may not begin or end with whitespace.`,
    );
  }
  return name;
}

/**
 * Finds what a client names: by the spelling given — which finds a name stored before names were
 * normalised, so old data still reads — and then by its NFC form, the form every name is now created
 * in. A name given in NFC (nearly all) costs one read. A lookup never refuses a name: one that cannot
 * exist is simply not found.
 */
export async function findByName<T>(
  raw: string,
  find: (name: string) => Promise<T | undefined>,
): Promise<T | undefined> {
  const found = await find(raw);
  const name = raw.normalize('NFC');
  return found !== undefined || name === raw ? found : find(name);
}

/** An experiment name being created or renamed to: its one form (canonicalNewName), then the rules. */
export function canonicalExperimentName(field: string, raw: string): string {
  const name = canonicalNewName(field, raw);
  validateExperimentName(field, name);
  return name;
}

export function validateExperimentName(field: string, name: string): void {
  if (name.trim() === '') {
    throw new InvalidParameterValueError(`Invalid experiment name: '${name}'. '${field}' must not be empty.`);
  }
  validateMaxLength(field, name, LIMITS.experimentName);
}

export function validateExperimentTag(
  keyField: string,
  key: string,
  valueField: string,
  value: string,
): void {
  validateKey(keyField, key);
  validateMaxLength(valueField, value, LIMITS.experimentTagValue);
}

export function validateMaxResults(maxResults: number, cap: number): void {
  if (maxResults < 1) {
    throw new InvalidParameterValueError(
      `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be a positive integer`,
    );
  }
  if (maxResults > cap) {
    throw new InvalidParameterValueError(
      `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be at most ${cap}`,
    );
  }
}

/** The experiment ids of a runs or logged-models search: at most `LIMITS.searchExperimentIds`. */
export function validateSearchExperimentIds(ids: readonly string[]): void {
  if (ids.length > LIMITS.searchExperimentIds) {
    throw new InvalidParameterValueError(
      `Invalid value for parameter 'experiment_ids': ${ids.length} experiment ids given, and a search may name at most ${LIMITS.searchExperimentIds}. Split the search into several.`,
    );
  }
}

/** A client-supplied artifact location (only when the deployment allows it). */
export function validateArtifactLocation(location: string): void {
  if (location.startsWith('runs:')) {
    throw new InvalidParameterValueError(`Artifact location cannot be a runs:/ URI. Given: '${location}'`);
  }
  if (location.length > LIMITS.artifactLocation) {
    throw new InvalidParameterValueError(
      `Invalid artifact path length. The length of the artifact path cannot be greater than ${LIMITS.artifactLocation} characters.`,
    );
  }
  // The one percent-decoder of paths (artifacts/paths.ts): malformed or endlessly nested encodings are
  // refused there, so a '..' cannot hide behind them.
  if (/[#;]/.test(location) || /(^|\/)\.\.(\/|$)/.test(decodeUntilStable(location, 'artifact_location'))) {
    throw new InvalidParameterValueError(
      `'artifact_location' must not contain fragments, params or '..' segments. Given: '${location}'`,
    );
  }
}
