import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatToken,
  generateSecret,
  hashSecret,
  isValidTokenName,
  parseToken,
  secretMatches,
} from '../../../shared/auth/token.js';

const nameChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-');
const validName = fc
  .tuple(
    fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'),
    fc.string({ unit: nameChar, maxLength: 63 }),
  )
  .map(([first, rest]) => first + rest);
const secret = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((bytes) => Buffer.from(bytes).toString('base64url'));

describe('token names', () => {
  it.each(['ci', 'a', 'team-7.nightly', '0', 'x'.repeat(64)])('accepts %s', (name) => {
    expect(isValidTokenName(name)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['the separator', 'ci_bot'],
    ['upper case', 'CI'],
    ['a leading dash', '-ci'],
    ['a leading dot', '.ci'],
    ['a colon (Basic auth)', 'a:b'],
    ['a space', 'a b'],
    ['65 characters', 'x'.repeat(65)],
    ['non-ASCII', 'ü'],
  ])('refuses %s', (_, name) => {
    expect(isValidTokenName(name)).toBe(false);
  });
});

describe('token format', () => {
  it('generates 43-character base64url secrets from 32 random bytes', () => {
    const secrets = new Set(Array.from({ length: 50 }, generateSecret));
    expect(secrets.size).toBe(50);
    for (const s of secrets) expect(s).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('recovers name and secret from any token it formats, whatever "_" the secret holds (property)', () => {
    fc.assert(
      fc.property(validName, secret, (name, s) => {
        const token = formatToken({ name, secret: s });
        expect(token.startsWith(`cairn_${name}_`)).toBe(true);
        expect(parseToken(token)).toEqual({ name, secret: s });
      }),
    );
  });

  it('reads anything else as no token, never throwing (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const parsed = parseToken(text);
        if (parsed) expect(formatToken(parsed)).toBe(text);
      }),
    );
  });

  it.each([
    ['no prefix', `ci_${'a'.repeat(43)}`],
    ['another prefix', `Cairn_ci_${'a'.repeat(43)}`],
    ['no separator', `cairn_ci${'a'.repeat(43)}`],
    ['an empty name', `cairn__${'a'.repeat(43)}`],
    ['a short secret', `cairn_ci_${'a'.repeat(42)}`],
    ['a long secret', `cairn_ci_${'a'.repeat(44)}`],
    ['a secret outside base64url', `cairn_ci_${'a'.repeat(42)}=`],
    ['an invalid name', `cairn_CI_${'a'.repeat(43)}`],
  ])('refuses a token with %s', (_, token) => {
    expect(parseToken(token)).toBeUndefined();
  });
});

describe('secret hashes', () => {
  it('are the hex SHA-256 of the secret', () => {
    expect(hashSecret('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
  });

  it('match only the secret they were made from', () => {
    fc.assert(
      fc.property(secret, secret, (a, b) => {
        expect(secretMatches(a, hashSecret(a))).toBe(true);
        expect(secretMatches(b, hashSecret(a))).toBe(a === b);
      }),
      { numRuns: 50 },
    );
  });

  it('never match a stored hash of the wrong shape', () => {
    expect(secretMatches('abc', '')).toBe(false);
    expect(secretMatches('abc', hashSecret('abc').slice(0, 62))).toBe(false);
    expect(secretMatches('abc', 'zz')).toBe(false);
  });
});
