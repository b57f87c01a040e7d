/**
 * Every identifier's form, once: what a valid id looks like and how a new one is made. Run ids follow
 * MLflow's accepted form (the stock client and importers may bring ids Cairn did not allocate); the ids
 * Cairn allocates are the narrower forms MLflow's own server makes.
 */
import { randomUUID } from 'node:crypto';
import { InvalidParameterValueError } from '../errors.js';

/** MLflow's run id form (mlflow/utils/validation.py `_RUN_ID_REGEX`), ASCII only; Cairn's are 32 hex. */
const RUN_ID = /^[a-zA-Z0-9][\w-]{0,255}$/;
/** MLflow's logged model ids: `m-` + uuid4().hex. */
const LOGGED_MODEL_ID = /^m-[0-9a-f]{32}$/;
/** A registered model's internal id (the name is a claim on it, so renames move no version). */
const REGISTERED_MODEL_ID = /^[0-9a-f]{32}$/;
/** A canonical decimal experiment id (no sign, no leading zeros), as Cairn allocates them. */
const CANONICAL_EXPERIMENT_ID = /^(?:0|[1-9][0-9]{0,18})$/;

/** The `Default` experiment, which always exists. */
export const DEFAULT_EXPERIMENT_ID = '0';

const hex32 = (): string => randomUUID().replaceAll('-', '');

export const newRunId = hex32;
export const newRegisteredModelId = hex32;
export const newLoggedModelId = (): string => `m-${hex32()}`;

export const isRunId = (value: string): boolean => RUN_ID.test(value);
export const isLoggedModelId = (value: string): boolean => LOGGED_MODEL_ID.test(value);
export const isRegisteredModelId = (value: string): boolean => REGISTERED_MODEL_ID.test(value);
export const isCanonicalExperimentId = (value: string): boolean => CANONICAL_EXPERIMENT_ID.test(value);

/** Refuses a malformed run id with MLflow's message (the echo is cut so a huge id cannot bloat the answer). */
export function validateRunId(runId: string): void {
  if (!isRunId(runId)) throw new InvalidParameterValueError(`Invalid run ID: '${runId.slice(0, 300)}'`);
}

/** Experiment ids are decimal integers (MLflow parses them with int()); returns the canonical form. */
export function parseExperimentId(field: string, raw: string): string {
  const match = /^\s*\+?(\d{1,19})\s*$/.exec(raw);
  if (!match) {
    if (/^\s*-\d+\s*$/.test(raw)) return raw.trim(); // a valid integer that can never exist: 404, not 400
    throw new InvalidParameterValueError(
      `Invalid experiment ID '${raw}'. Experiment ID must be a valid integer (field '${field}').`,
    );
  }
  return BigInt(match[1] as string).toString();
}
