/**
 * Reading request-message fields by hand, with MLflow's messages. The schemas in schema.ts use these
 * messages too; the artifacts function reads its few fields with these helpers alone, which keeps the
 * schema library out of its bundle: less code to load at a cold start (design.md's init-time budget).
 */
import { InvalidParameterValueError } from '../errors.js';

export const API_DOCS_HINT = 'See the API docs for more information about request parameters.';
const INT64_TEXT = /^-?\d{1,16}$/;

export function describeType(value: unknown): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'str';
  return 'dict';
}

export function invalidValue(path: string, supplied: unknown): InvalidParameterValueError {
  return new InvalidParameterValueError(
    `Invalid value ${JSON.stringify(supplied)} for parameter '${path}' supplied:  Hint: Value was of type '${describeType(supplied)}'. ${API_DOCS_HINT}`,
  );
}

export function missingValue(path: string): InvalidParameterValueError {
  return new InvalidParameterValueError(`Missing value for required parameter '${path}'. ${API_DOCS_HINT}`);
}

export function readInt64(path: string, value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && INT64_TEXT.test(value) && Number.isSafeInteger(Number(value)))
    return Number(value);
  throw invalidValue(path, value);
}

/** A string field; `required` refuses absent, null and empty values (proto3 cannot tell them apart). */
export function readString(fields: Record<string, unknown>, name: string, required: true): string;
export function readString(
  fields: Record<string, unknown>,
  name: string,
  required?: false,
): string | undefined;
export function readString(
  fields: Record<string, unknown>,
  name: string,
  required = false,
): string | undefined {
  const value = fields[name];
  if (value === undefined || value === null || value === '') {
    if (required) throw missingValue(name);
    return value === '' ? '' : undefined;
  }
  if (typeof value !== 'string') throw invalidValue(name, value);
  return value;
}

/** An optional int64 field: a JSON integer or a decimal string. */
export function readOptionalInt(fields: Record<string, unknown>, name: string): number | undefined {
  const value = fields[name];
  return value === undefined || value === null ? undefined : readInt64(name, value);
}
