/**
 * The presigned route's verifier against URLs the SDK's presigner makes, as the artifacts function makes
 * them: every URL it signs verifies to exactly its key, and no change to its method, path or query does.
 */
import { GetObjectCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyOfPath, PRESIGNED_PREFIX, S3Refusal, verifyPresigned } from '../../../local/presigned.js';

const BUCKET = 'cairn-artifacts';
const HOST = '127.0.0.1:5000';
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const options = { bucket: BUCKET, region: 'us-east-1', credentials };
const s3 = new S3Client({
  region: 'us-east-1',
  credentials,
  endpoint: `http://${HOST}${PRESIGNED_PREFIX}`,
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
});

/** Keys as the artifacts domain makes them: non-empty segments, never `.` or `..`, no control chars. */
const segment = fc
  .string({
    unit: fc.oneof(fc.constantFrom(..."aZ9 -_.~!'()*%+=&?#é日/"), fc.string({ minLength: 1, maxLength: 1 })),
    minLength: 1,
    maxLength: 12,
  })
  .map((text) =>
    [...text]
      .map((c) => (c === '/' || c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? 'x' : c))
      .join(''),
  )
  .filter((text) => text !== '.' && text !== '..');
const key = fc.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => segments.join('/'));

function split(url: string) {
  const parsed = new URL(url);
  return { rawPath: parsed.pathname, rawQuery: parsed.search.slice(1) };
}

async function verify(method: string, url: string, headers: Record<string, string> = {}) {
  return verifyPresigned({ method, ...split(url), headers: { host: HOST, ...headers } }, options);
}

async function refusedCode(run: Promise<unknown>): Promise<string | undefined> {
  try {
    await run;
    return undefined;
  } catch (error) {
    if (error instanceof S3Refusal) return error.code;
    throw error;
  }
}

describe('verifyPresigned', () => {
  it('verifies every GET, PUT and part URL the SDK signs to exactly its key', async () => {
    await fc.assert(
      fc.asyncProperty(key, async (k) => {
        const get = await getSignedUrl(
          s3,
          new GetObjectCommand({ Bucket: BUCKET, Key: k, ResponseContentDisposition: 'attachment' }),
          { expiresIn: 300 },
        );
        expect(await verify('GET', get)).toEqual({
          key: k,
          overrides: { 'content-disposition': 'attachment' },
        });
        const put = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: k }), {
          expiresIn: 300,
        });
        expect((await verify('PUT', put)).key).toBe(k);
        const part = await getSignedUrl(
          s3,
          new UploadPartCommand({ Bucket: BUCKET, Key: k, UploadId: 'abc', PartNumber: 7 }),
          { expiresIn: 300 },
        );
        expect(await verify('PUT', part)).toEqual({
          key: k,
          overrides: {},
          part: { partNumber: '7', uploadId: 'abc' },
        });
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a URL after any one change to its path or query', async () => {
    const put = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: BUCKET, Key: '1/run/artifacts/a.txt' }),
      {
        expiresIn: 300,
      },
    );
    const { rawPath, rawQuery } = split(put);
    const target = `${rawPath}?${rawQuery}`;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: target.length - 1 }),
        fc.constantFrom(...'a0Z/.%&=-_'),
        async (at, replacement) => {
          fc.pre(target[at] !== replacement);
          const bent = `${target.slice(0, at)}${replacement}${target.slice(at + 1)}`;
          const queryStart = bent.indexOf('?');
          const code = await refusedCode(
            verifyPresigned(
              {
                method: 'PUT',
                rawPath: queryStart === -1 ? bent : bent.slice(0, queryStart),
                rawQuery: queryStart === -1 ? '' : bent.slice(queryStart + 1),
                headers: { host: HOST },
              },
              options,
            ),
          );
          expect(code, bent).toBeDefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses another method, Host, clock, or a missing signed header', async () => {
    const sized = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: BUCKET, Key: 'k', ContentLength: 3 }),
      { expiresIn: 60 },
    );
    expect((await verify('PUT', sized, { 'content-length': '3' })).key).toBe('k');
    expect(await refusedCode(verify('PUT', sized))).toBe('AccessDenied');
    expect(await refusedCode(verify('PUT', sized, { 'content-length': '4' }))).toBe('SignatureDoesNotMatch');
    expect(await refusedCode(verify('GET', sized, { 'content-length': '3' }))).toBe('SignatureDoesNotMatch');
    expect(await refusedCode(verify('PUT', sized, { 'content-length': '3', host: 'localhost:5000' }))).toBe(
      'SignatureDoesNotMatch',
    );
    const later = { ...options, now: () => Date.now() + 61_000 };
    expect(
      await refusedCode(
        verifyPresigned(
          { method: 'PUT', ...split(sized), headers: { host: HOST, 'content-length': '3' } },
          later,
        ),
      ),
    ).toBe('AccessDenied');
    const earlier = { ...options, now: () => Date.now() - 3600_000 };
    expect(
      await refusedCode(
        verifyPresigned(
          { method: 'PUT', ...split(sized), headers: { host: HOST, 'content-length': '3' } },
          earlier,
        ),
      ),
    ).toBe('AccessDenied');
  });
});

describe('keyOfPath', () => {
  it('decodes the key once and refuses dot segments, empty segments and control characters', () => {
    const base = `${PRESIGNED_PREFIX}/${BUCKET}/`;
    expect(keyOfPath(`${base}a/b%20c/%2525`, BUCKET)).toBe('a/b c/%25');
    for (const bad of ['a/../b', 'a/%2E%2E/b', 'a//b', '', 'a/%00', 'a%5Cb', '%E0%A4%A', './a']) {
      expect(() => keyOfPath(`${base}${bad}`, BUCKET), bad).toThrow(S3Refusal);
    }
    expect(() => keyOfPath(`${PRESIGNED_PREFIX}/other/a`, BUCKET)).toThrow(S3Refusal);
  });
});
