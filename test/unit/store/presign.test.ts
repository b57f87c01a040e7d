/**
 * The URLs the artifact store signs, checked on the URL itself (no network): the local stand-in accepts
 * any signature, so only these checks catch a URL signed for the wrong key, method or headers.
 */
import { UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../../shared/store/artifacts/artifact-store.js';
import { createS3Client } from '../../../shared/store/s3-clients.js';

process.env.AWS_ACCESS_KEY_ID ??= 'AKIDEXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY ??= 'secret';

const s3 = createS3Client({ region: 'eu-west-1' });
const store = new S3ArtifactStore(s3, 'cairn-bucket', 300);
const key = 'team/7/0123456789abcdef0123456789abcdef/artifacts/model/weights.bin';

function parse(url: string) {
  const parsed = new URL(url);
  return { parsed, params: parsed.searchParams, path: decodeURIComponent(parsed.pathname) };
}

function expectNoChecksums(params: URLSearchParams) {
  for (const name of params.keys()) {
    expect(name.toLowerCase()).not.toContain('checksum');
    expect(name.toLowerCase()).not.toBe('x-amz-sdk-checksum-algorithm');
  }
}

describe('presigned URLs', () => {
  it('GET: one key, short expiry, only the host signed, an attachment name, no checksum parameters', async () => {
    const { parsed, params, path } = parse(await store.presignGet(key, 'weights.bin'));
    expect(parsed.hostname).toBe('cairn-bucket.s3.eu-west-1.amazonaws.com');
    expect(path).toBe(`/${key}`);
    expect(params.get('X-Amz-Expires')).toBe('300');
    expect(params.get('X-Amz-SignedHeaders')).toBe('host');
    expect(params.get('x-id')).toBe('GetObject');
    expect(params.get('response-content-disposition')).toBe("attachment; filename*=UTF-8''weights.bin");
    expectNoChecksums(params);
  });

  it('PUT: Content-Length is bound into the signature when known', async () => {
    const free = parse(await store.presignPut(key, 900));
    expect(free.params.get('X-Amz-Expires')).toBe('900');
    expect(free.params.get('x-id')).toBe('PutObject');
    expect(free.path).toBe(`/${key}`);
    expectNoChecksums(free.params);
    const sized = parse(await store.presignPut(key, 60, 1234));
    expect(sized.params.get('X-Amz-SignedHeaders')?.split(';')).toContain('content-length');
    expectNoChecksums(sized.params);
  });

  it('UploadPart: one key, one upload, one part number each', async () => {
    const [url] = await store.presignParts(key, 'upload-1', [7]);
    const { params, path } = parse(url as string);
    expect(path).toBe(`/${key}`);
    expect(params.get('uploadId')).toBe('upload-1');
    expect(params.get('partNumber')).toBe('7');
    expect(params.get('x-id')).toBe('UploadPart');
    // Every part is signed when the upload starts: part URLs live an hour, not the default 300 s.
    expect(params.get('X-Amz-Expires')).toBe('3600');
    expectNoChecksums(params);
  });

  it('UploadPart: the very URLs getSignedUrl makes, on AWS and on a path-style local endpoint', async () => {
    const signingDate = new Date('2026-12-06T10:00:00Z');
    const local = createS3Client({ region: 'us-east-1', s3Endpoint: 'http://127.0.0.1:4569' });
    for (const client of [s3, local]) {
      const parts = [1, 2, 9_999, 10_000];
      const urls = await new S3ArtifactStore(client, 'cairn-bucket', 300).presignParts(
        key,
        'upload-1',
        parts,
        signingDate,
      );
      const expected = await Promise.all(
        parts.map((PartNumber) =>
          getSignedUrl(
            client,
            new UploadPartCommand({ Bucket: 'cairn-bucket', Key: key, UploadId: 'upload-1', PartNumber }),
            { expiresIn: 3600, signingDate },
          ),
        ),
      );
      expect(urls).toEqual(expected);
    }
    local.destroy();
  });

  it('signs with the function’s own credentials and never embeds a secret', async () => {
    const url = await store.presignGet(key, 'weights.bin');
    expect(url).not.toContain(process.env.AWS_SECRET_ACCESS_KEY as string);
    expect(new URL(url).searchParams.get('X-Amz-Credential')).toMatch(
      /^[^/]+\/\d{8}\/eu-west-1\/s3\/aws4_request$/,
    );
  });
});
