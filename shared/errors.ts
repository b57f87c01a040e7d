/**
 * The one error hierarchy. Every failure a client can see is an `MlflowError`: it carries MLflow's
 * `error_code`; the HTTP status for that code and the one serializer (`toErrorResponse`) live at the
 * edge, in shared/api/http.ts, so that domain and store code stay free of HTTP. Anything that is not an `MlflowError` is an
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

export class MlflowError extends Error {
  readonly errorCode: ErrorCode;

  constructor(errorCode: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MlflowError';
    this.errorCode = errorCode;
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

/** The request ran out of time: API Gateway's integration timeout, or the function's own deadline. */
export class DeadlineExceededError extends MlflowError {
  constructor(limitMs?: number) {
    super(
      'DEADLINE_EXCEEDED',
      limitMs === undefined
        ? "The request did not complete before the function's deadline."
        : `The request did not complete within ${limitMs / 1000} s.`,
    );
    this.name = 'DeadlineExceededError';
  }
}
