import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { basicAuthorization, credentialsFromAuthorization } from '../../../shared/auth/credentials.js';
import { formatToken } from '../../../shared/auth/token.js';

const SECRET = 'Zm9vYmFyYmF6cXV4cXV1eF9zZWNyZXQtdmFsdWUxMjM'; // 43 base64url characters
const TOKEN = formatToken({ name: 'ci', secret: SECRET });

describe('Authorization header', () => {
  it('reads a bearer token (MLFLOW_TRACKING_TOKEN), whatever the scheme case', () => {
    expect(credentialsFromAuthorization(`Bearer ${TOKEN}`)).toEqual({ name: 'ci', secret: SECRET });
    expect(credentialsFromAuthorization(`bearer ${TOKEN}`)).toEqual({ name: 'ci', secret: SECRET });
    expect(credentialsFromAuthorization(`  BEARER   ${TOKEN}  `)).toEqual({ name: 'ci', secret: SECRET });
  });

  it('reads Basic with the name and the bare secret (MLFLOW_TRACKING_USERNAME/PASSWORD)', () => {
    expect(credentialsFromAuthorization(basicAuthorization('ci', SECRET))).toEqual({
      name: 'ci',
      secret: SECRET,
    });
  });

  it('reads Basic with the whole token as password, when it names the same token', () => {
    expect(credentialsFromAuthorization(basicAuthorization('ci', TOKEN))).toEqual({
      name: 'ci',
      secret: SECRET,
    });
    expect(credentialsFromAuthorization(basicAuthorization('other', TOKEN))).toBeUndefined();
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['a scheme alone', 'Bearer'],
    ['a bare token', TOKEN],
    ['another scheme', `Token ${TOKEN}`],
    ['a malformed bearer token', 'Bearer junk'],
    ['two parameters', `Bearer ${TOKEN} extra`],
    ['Basic that is not base64', 'Basic !!!!'],
    ['Basic without a colon', `Basic ${Buffer.from('ci').toString('base64')}`],
    ['Basic with an invalid name', basicAuthorization('CI', SECRET)],
    ['Basic with an empty password', basicAuthorization('ci', '')],
    ['Basic with a short secret', basicAuthorization('ci', SECRET.slice(1))],
    ['Basic with bad padding', `Basic ${basicAuthorization('ci', SECRET).slice(6, -1)}`],
    ['an overlong header', `Bearer ${'a'.repeat(2000)}`],
  ])('reads %s as no credentials', (_, header) => {
    expect(credentialsFromAuthorization(header)).toBeUndefined();
  });

  it('never throws, and what it reads came from the header (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.string({ maxLength: 120 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
          fc.string({ maxLength: 120 }).map((s) => `Bearer cairn_${s}`),
        ),
        (header) => {
          const read = credentialsFromAuthorization(header);
          if (read) {
            const decoded = header.startsWith('Basic ')
              ? Buffer.from(header.slice(6), 'base64').toString('utf8')
              : header;
            expect(decoded).toContain(read.name);
            expect(decoded).toContain(read.secret);
          }
        },
      ),
    );
  });
});
