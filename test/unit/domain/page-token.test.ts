/**
 * Page tokens (shared/domain/search/page-token.ts): a token decodes to the position it was issued with, for
 * the query it was issued for; an edited one is refused with a 400 naming why, never read as another
 * position; tokens issued before the digest (v1) are still read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePageToken,
  encodePageToken,
  type SortValue,
} from '../../../shared/domain/search/page-token.js';
import { InvalidParameterValueError } from '../../../shared/errors.js';

const value = fc.oneof(
  fc.string(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constant(null),
);
const position = fc.array(value, { minLength: 1, maxLength: 6 });
const body = (token: string) => JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
const reencode = (edited: unknown) => Buffer.from(JSON.stringify(edited)).toString('base64url');
/** The position as JSON carries it (-0 becomes 0). */
const asJson = (after: SortValue[]) => JSON.parse(JSON.stringify(after)) as SortValue[];

describe('page tokens', () => {
  it('decode to the position they were issued with, for their query only (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), position, (fingerprint, after) => {
        const token = encodePageToken(fingerprint, after);
        expect(decodePageToken(token, fingerprint)).toEqual(asJson(after));
        expect(() => decodePageToken(token, `${fingerprint}x`)).toThrow(/different filter/);
      }),
    );
  });

  it('refuse a token whose position or query was edited (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), position, position, (fingerprint, after, other) => {
        fc.pre(JSON.stringify(after) !== JSON.stringify(other));
        const issued = body(encodePageToken(fingerprint, after));
        const moved = reencode({ ...issued, after: other });
        expect(() => decodePageToken(moved, fingerprint)).toThrow(InvalidParameterValueError);
        expect(() => decodePageToken(moved, fingerprint)).toThrow(/changed after this server issued it/);
        const elsewhere = reencode({ ...issued, q: `${fingerprint}x` });
        expect(() => decodePageToken(elsewhere, `${fingerprint}x`)).toThrow(/changed/);
      }),
    );
  });

  it('refuse truncated and foreign tokens as not issued here', () => {
    const token = encodePageToken('fp', ['a', 1]);
    for (const bad of [token.slice(0, -3), 'not-a-token', reencode({ v: 3, q: 'fp', after: [] })]) {
      expect(() => decodePageToken(bad, 'fp')).toThrow(/Invalid page token/);
    }
  });

  it('still read a token issued before the digest (v1), so paging across an upgrade goes on', () => {
    const old = reencode({ v: 1, q: 'fp', after: ['a', 2] });
    expect(decodePageToken(old, 'fp')).toEqual(['a', 2]);
  });
});
