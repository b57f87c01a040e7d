/**
 * Turns an API Gateway HTTP API (payload v2) event into the fields of an MLflow request message, the way
 * MLflow's server reads them: GET fields from the query string (repeated fields repeated), every other
 * method from a JSON body that must be declared `application/json`.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { CallerPermissions } from '../auth/permissions.js';
import type { Scope } from '../auth/scopes.js';
import { InvalidParameterValueError } from '../errors.js';
import { jsonNestingDepth, MAX_JSON_DEPTH } from './json-depth.js';

export type QueryFields = Record<string, string | string[]>;

export interface ApiRequest {
  method: string;
  path: string;
  routeKey: string;
  headers: Record<string, string | undefined>;
  pathParameters: Record<string, string | undefined>;
  /** The request message's fields: parsed query for GET, parsed JSON body otherwise. */
  fields: Record<string, unknown>;
  /** Size of the decoded request body in bytes (log-batch has a limit of its own). */
  bodyBytes: number;
  /** The body's bytes, for routes whose body is not a JSON message (artifact uploads). */
  rawBody?: Uint8Array;
  /** The raw, still percent-encoded remainder of a greedy `{path+}` route. */
  greedyPath?: string;
  /** Who is calling, when API Gateway's authorizer vouched for a principal. */
  principal?: string;
  /** The principal's scope, beside it; absent with it (a public route, or the local server without auth). */
  scope?: Scope;
  /** What the caller may do per resource (issue 16); absent when nobody is authenticated (local, no auth). */
  caller?: CallerPermissions;
}

const JSON_CONTENT_TYPE_ERROR = "Bad Request. Content-Type must be one of ['application/json'].";

/** Query string → fields; a key given once is a string, a key given several times a list. */
export function parseQueryString(rawQueryString: string): QueryFields {
  // No prototype: a parameter named `constructor` or `__proto__` is just a parameter.
  const fields: QueryFields = Object.create(null);
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    const previous = fields[key];
    if (previous === undefined) fields[key] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else fields[key] = [previous, value];
  }
  return fields;
}

function decodeBody(event: APIGatewayProxyEventV2): string {
  if (event.body === undefined || event.body === null) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'application/json';
}

/** The text itself, unless it nests deeper than any message may (checked before parsing, see json-depth.ts). */
function refuseDeep(text: string): string {
  if (jsonNestingDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new InvalidParameterValueError(
      `The request body nests JSON objects and arrays more than ${MAX_JSON_DEPTH} levels deep; no message does.`,
    );
  }
  return text;
}

/**
 * Parses a JSON request body. An empty body is `{}` (MLflow's rule); a body that is a JSON string holding
 * JSON is decoded twice, as MLflow does for old clients; anything but an object is refused.
 */
export function parseJsonBody(body: string, contentType: string | undefined): Record<string, unknown> {
  const hasBody = body.trim().length > 0;
  if (contentType !== undefined && !isJsonContentType(contentType)) {
    throw new InvalidParameterValueError(JSON_CONTENT_TYPE_ERROR);
  }
  if (!hasBody) return {};
  if (contentType === undefined) throw new InvalidParameterValueError(JSON_CONTENT_TYPE_ERROR);
  let parsed: unknown;
  try {
    parsed = JSON.parse(refuseDeep(body));
    if (typeof parsed === 'string') parsed = JSON.parse(refuseDeep(parsed));
  } catch (error) {
    if (error instanceof InvalidParameterValueError) throw error;
    throw new InvalidParameterValueError('Malformed JSON in the request body.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidParameterValueError('The request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

export function toApiRequest(
  event: APIGatewayProxyEventV2,
  options: { rawBody?: boolean; greedyPath?: string } = {},
): ApiRequest {
  const method = event.requestContext.http.method.toUpperCase();
  const headers = event.headers ?? {};
  let fields: Record<string, unknown>;
  let bodyBytes = 0;
  let rawBody: Uint8Array | undefined;
  if (options.rawBody) {
    // Raw bytes (artifact uploads): the message fields, if any, come from the query string.
    rawBody =
      event.body === undefined || event.body === null
        ? new Uint8Array(0)
        : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
    bodyBytes = rawBody.length;
    fields = parseQueryString(event.rawQueryString ?? '');
  } else if (method === 'GET' || method === 'HEAD') {
    fields = parseQueryString(event.rawQueryString ?? '');
  } else {
    const body = decodeBody(event);
    bodyBytes = Buffer.byteLength(body);
    fields = parseJsonBody(body, headers['content-type']);
  }
  return {
    method,
    path: event.rawPath,
    routeKey: event.routeKey,
    headers,
    pathParameters: event.pathParameters ?? {},
    fields,
    bodyBytes,
    ...(rawBody ? { rawBody } : {}),
    ...(options.greedyPath === undefined ? {} : { greedyPath: options.greedyPath }),
  };
}
