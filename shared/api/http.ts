/**
 * The HTTP edge of the error hierarchy (shared/errors.ts): MLflow's status per error code and the one
 * serializer every failure goes through. Used by the functions' middy stack and the local front.
 */
import { type ErrorCode, MlflowError } from '../errors.js';

/**
 * MLflow's status per code. RESOURCE_ALREADY_EXISTS is 400, not 409: the stock client only re-reads an
 * experiment after a racing create when it sees that code, and it never retries a 400.
 * RESOURCE_LIMIT_EXCEEDED is Cairn's answer to an oversized body (413); MLflow has no mapping for it and
 * 413 is deliberately not in the client's retry list.
 */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  RESOURCE_LIMIT_EXCEEDED: 413,
  RESOURCE_CONFLICT: 409,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  INTERNAL_ERROR: 500,
};

/** MLflow's HTTP status for an error (mlflow/exceptions.py). */
export function statusOf(error: MlflowError): number {
  return STATUS_BY_CODE[error.errorCode];
}

/** A Lambda proxy result in API Gateway's payload v2 shape. */
export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded?: boolean;
}

export const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** Serializes any thrown value. Only `MlflowError` messages reach the client. */
export function toErrorResponse(error: unknown): HttpResult {
  if (error instanceof MlflowError) {
    return {
      statusCode: statusOf(error),
      headers: { ...JSON_HEADERS },
      body: JSON.stringify({ error_code: error.errorCode, message: error.message }),
    };
  }
  return {
    statusCode: 500,
    headers: { ...JSON_HEADERS },
    body: JSON.stringify({ error_code: 'INTERNAL_ERROR', message: 'Internal server error.' }),
  };
}
