/**
 * Opaque keyset page tokens. A token carries the sort values of the last row served and a fingerprint
 * of the query it belongs to; the next page starts strictly after that row in the query's order. Unlike
 * MLflow's offset tokens, rows created or deleted between two pages never shift the page boundary, so
 * paging never skips or repeats a row that stays in the result.
 *
 * A token carries a digest of its query's fingerprint and its position, so that an edited or truncated token
 * is refused (400) rather than read as another position. The digest is not keyed: a client that recomputes
 * it can only place itself elsewhere in its own query's result, which it may read anyway by paging
 * (permissions are applied before paging). Tokens from before the digest (`v: 1`) are still read, so that
 * a client paging across an upgrade is not cut off.
 */
import { createHash } from 'node:crypto';
import { InvalidParameterValueError } from '../../errors.js';

export type SortValue = string | number | null;

interface TokenBody {
  v: 1 | 2;
  q: string;
  after: SortValue[];
  /** v2: checkDigest(q, after). */
  c?: string;
}

function checkDigest(fingerprint: string, after: SortValue[]): string {
  return createHash('sha256')
    .update(`${fingerprint}\n${JSON.stringify(after)}`)
    .digest('base64url')
    .slice(0, 12);
}

/** A short digest of everything that defines a query's result order and membership. */
export function queryFingerprint(query: unknown): string {
  return createHash('sha256').update(JSON.stringify(query)).digest('base64url').slice(0, 16);
}

export function encodePageToken(fingerprint: string, after: SortValue[]): string {
  const body: TokenBody = { v: 2, q: fingerprint, after, c: checkDigest(fingerprint, after) };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/**
 * The fingerprint a token says it was issued for, or undefined when it is not a token at all. Only for
 * choosing among a search's orders (SearchPlan.earlier): the token is still decoded and checked after.
 */
export function pageTokenFingerprint(token: string): string | undefined {
  try {
    const body: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    const fingerprint = typeof body === 'object' && body !== null ? (body as TokenBody).q : undefined;
    return typeof fingerprint === 'string' ? fingerprint : undefined;
  } catch {
    return undefined;
  }
}

/** Decodes a token issued for the query with `fingerprint`; anything else is a 400. */
export function decodePageToken(token: string, fingerprint: string): SortValue[] {
  const fail = (why: string): never => {
    throw new InvalidParameterValueError(`Invalid page token: ${why}.`);
  };
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return fail('it is not a token this server issued');
  }
  if (
    typeof body !== 'object' ||
    body === null ||
    ((body as TokenBody).v !== 1 && (body as TokenBody).v !== 2) ||
    typeof (body as TokenBody).q !== 'string' ||
    !Array.isArray((body as TokenBody).after) ||
    !(body as TokenBody).after.every((value) => value === null || ['string', 'number'].includes(typeof value))
  ) {
    return fail('it is not a token this server issued');
  }
  const { v, q, after, c } = body as TokenBody;
  if (v === 2 && c !== checkDigest(q, after)) {
    return fail('it was changed after this server issued it');
  }
  if (q !== fingerprint) {
    return fail('it belongs to a search with a different filter, order, view type or experiments');
  }
  return after;
}
