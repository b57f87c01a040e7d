/**
 * The one error hierarchy. Every failure a client can see is an `MlflowError`: it carries MLflow's
 * `error_code` and the HTTP status MLflow's server uses for that code (mlflow/exceptions.py), and it is
 * serialized in exactly one place (`toErrorResponse`). Anything that is not an `MlflowError` is an
 * internal failure: the client gets a generic 500 and the details go to the log only.
 */

/** The `ErrorCode` names Cairn emits (databricks.proto spelling). */
export type ErrorCode =
  | 'INVALID_PARAMETER_VALUE'
  | 'BAD_REQUEST'
  | 'RESOURCE_ALREADY_EXISTS'
  | 'RESOURCE_DOES_NOT_EXIST'
  | 'ENDPOINT_NOT_FOUND'
  | 'RESOURCE_LIMIT_EXCEEDED'
  | 'RESOURCE_CONFLICT'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'NOT_IMPLEMENTED'
  | 'TEMPORARILY_UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'INTERNAL_ERROR';

/**
 * MLflow's status per code. RESOURCE_ALREADY_EXISTS is 400, not 409: the stock client only re-reads an
 * experiment after a racing create when it sees that code, and it never retries a 400.
 * RESOURCE_LIMIT_EXCEEDED is Cairn's answer to an oversized body (413); MLflow has no mapping for it and
 * 413 is deliberately not in the client's retry list.
 */
const STATUS_BY_CODE: Record<ErrorCode, number> = {
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

export class MlflowError extends Error {
  readonly errorCode: ErrorCode;
  readonly statusCode: number;

  constructor(errorCode: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MlflowError';
    this.errorCode = errorCode;
    this.statusCode = STATUS_BY_CODE[errorCode];
  }
}

export class InvalidParameterValueError extends MlflowError {
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_PARAMETER_VALUE', message, options);
    this.name = 'InvalidParameterValueError';
  }
}

export class ResourceDoesNotExistError extends MlflowError {
  constructor(message: string) {
    super('RESOURCE_DOES_NOT_EXIST', message);
    this.name = 'ResourceDoesNotExistError';
  }
}

export class ResourceAlreadyExistsError extends MlflowError {
  constructor(message: string) {
    super('RESOURCE_ALREADY_EXISTS', message);
    this.name = 'ResourceAlreadyExistsError';
  }
}

export class EndpointNotFoundError extends MlflowError {
  constructor(method: string, path: string) {
    super('ENDPOINT_NOT_FOUND', `No API endpoint for ${method} ${path}`);
    this.name = 'EndpointNotFoundError';
  }
}

/** No caller identity reached the function (only possible when API Gateway's authorizer is bypassed). */
export class UnauthenticatedError extends MlflowError {
  constructor(message = 'This endpoint requires an API token (Authorization: Bearer, or Basic).') {
    super('UNAUTHENTICATED', message);
    this.name = 'UnauthenticatedError';
  }
}

/** The caller is known but its token's scope does not cover the route. */
export class PermissionDeniedError extends MlflowError {
  constructor(message: string) {
    super('PERMISSION_DENIED', message);
    this.name = 'PermissionDeniedError';
  }
}

export class PayloadTooLargeError extends MlflowError {
  constructor(receivedBytes: number, limitBytes: number) {
    super(
      'RESOURCE_LIMIT_EXCEEDED',
      `Request body of ${receivedBytes} bytes exceeds the limit of ${limitBytes} bytes (the AWS Lambda request payload limit).`,
    );
    this.name = 'PayloadTooLargeError';
  }
}

export class DeadlineExceededError extends MlflowError {
  constructor(limitMs: number) {
    super('DEADLINE_EXCEEDED', `The request did not complete within ${limitMs / 1000} s.`);
    this.name = 'DeadlineExceededError';
  }
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
      statusCode: error.statusCode,
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
