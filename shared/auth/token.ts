/**
 * Token format: `cairn_<name>_<secret>`. Names cannot contain `_`, so the name is everything between the
 * prefix and the next `_`, and the authorizer finds the one item to read without any index. The secret is
 * 32 random bytes in base64url (43 characters, which may themselves contain `_` and `-`). Only the
 * SHA-256 of the secret is stored: a fast hash is enough for 256 random bits, which no dictionary holds.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'cairn_';
export const TOKEN_NAME_PATTERN = /^[a-z0-9][a-z0-9.-]{0,63}$/;
export const TOKEN_NAME_RULE =
  '1 to 64 characters: lowercase letters, digits, "." and "-", starting with a letter or digit';
const SECRET_BYTES = 32;
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface TokenCredentials {
  name: string;
  secret: string;
}

export function isValidTokenName(name: string): boolean {
  return TOKEN_NAME_PATTERN.test(name);
}

export function isWellFormedSecret(secret: string): boolean {
  return SECRET_PATTERN.test(secret);
}

export function generateSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

export function formatToken({ name, secret }: TokenCredentials): string {
  return `${TOKEN_PREFIX}${name}_${secret}`;
}

/** The name and secret in a token, or undefined when it is not one (never throws: input is hostile). */
export function parseToken(token: string): TokenCredentials | undefined {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const rest = token.slice(TOKEN_PREFIX.length);
  const separator = rest.indexOf('_');
  if (separator === -1) return undefined;
  const name = rest.slice(0, separator);
  const secret = rest.slice(separator + 1);
  if (!isValidTokenName(name) || !isWellFormedSecret(secret)) return undefined;
  return { name, secret };
}

/** SHA-256 of the secret, hex: what the token item holds. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether `secret` hashes to `storedHash`, comparing the digests in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const actual = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  // A stored hash of another length is corrupt; still compare something so timing says nothing.
  if (expected.length !== actual.length) {
    timingSafeEqual(actual, actual);
    return false;
  }
  return timingSafeEqual(actual, expected);
}
