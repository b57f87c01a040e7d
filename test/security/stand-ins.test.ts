/**
 * Issue 11, item 2: the local stand-ins were open doors. dynalite and s3rver listened on loopback ports,
 * checked no signature and answered any Origin, so any local process or web page could mint a token or
 * write any file; a presigned GET could be bent into a PUT of another key. Now the only TCP port is the
 * front's, the stand-ins sit on sockets in the 0700 data directory, and every presigned URL is checked by
 * the front with the SDK's signer before its bytes reach s3rver. All of it over real HTTP.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_BUCKET_NAME } from '../../local/server.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/stand-ins.js';
import { Api, rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;
let runId: string;
let root: string;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  const experiment = await api.post<{ experiment_id: string }>('experiments/create', { name: 'fence' });
  const run = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
    experiment_id: experiment.body.experiment_id,
  });
  runId = run.body.run.info.run_id;
  root = `${experiment.body.experiment_id}/${runId}/artifacts`;
  await putArtifact('kept.txt', 'original bytes', 'text/plain');
  await putArtifact('other.txt', 'other bytes', 'text/plain');
  await putArtifact('page.html', '<script>alert(document.domain)</script>', 'text/html');
});
afterAll(async () => {
  await server?.close();
});

async function putArtifact(path: string, body: string, contentType: string) {
  const response = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`, {
    method: 'PUT',
    headers: { 'content-type': contentType },
    body,
  });
  expect(response.status).toBe(200);
}

async function presignedGet(path: string): Promise<string> {
  const response = await api.request<{ url: string }>(
    'GET',
    `/api/2.0/mlflow-artifacts/presigned/${root}/${path}`,
  );
  expect(response.status, response.text).toBe(200);
  return response.body.url;
}

async function presignedPut(path: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await api.post<{ presigned_url: string }>('artifacts/presigned-upload-url', {
    run_id: runId,
    path,
    ...extra,
  });
  expect(response.status, response.text).toBe(200);
  return response.body.presigned_url;
}

/**
 * A client that signs URLs for the front's presigned route with `secret`: the server's own (this process
 * holds it, as the handlers do) or another.
 */
function signerFor(secret: string): S3Client {
  return new S3Client({
    region: LOCAL_REGION,
    credentials: { accessKeyId: LOCAL_CREDENTIALS.accessKeyId, secretAccessKey: secret },
    endpoint: `${server.url}/_cairn/s3`,
    forcePathStyle: true,
  });
}

async function contentOf(path: string): Promise<string> {
  const response = await fetch(await presignedGet(path));
  expect(response.status).toBe(200);
  return response.text();
}

/** The S3-style error code of a refusal. */
async function refusal(response: Response): Promise<string> {
  const text = await response.text();
  return /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? text;
}

/** Ports this process listens on over TCP: its socket inodes matched against /proc/net/tcp{,6}. */
function listeningTcpPorts(): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // closed between listing and reading
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; inode is the tenth field.
      if (fields[3] === '0A' && fields[9] && inodes.has(fields[9])) {
        ports.add(Number.parseInt(fields[1]?.split(':')[1] ?? '', 16));
      }
    }
  }
  return [...ports].sort();
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? [path, ...walk(path)] : [path];
  });
}

describe('no stand-in is reachable but through the front', () => {
  it('listens on one TCP port, the front', () => {
    expect(listeningTcpPorts()).toEqual([Number(new URL(server.url).port)]);
  });

  it('keeps dynalite and s3rver on sockets inside the data directory, which only its owner can enter', () => {
    expect(statSync(server.dataDir).mode & 0o777).toBe(0o700);
    for (const name of ['dynamodb.sock', 's3.sock']) {
      expect(statSync(join(server.dataDir, name)).isSocket(), name).toBe(true);
    }
  });

  it('creates every file and directory of the data directory for its owner only', async () => {
    await putArtifact('later/written.bin', 'x'.repeat(1000), 'application/octet-stream');
    const entries = walk(server.dataDir);
    expect(entries.some((path) => path.includes(`${join('s3', LOCAL_BUCKET_NAME)}`))).toBe(true);
    expect(entries.some((path) => path.startsWith(join(server.dataDir, 'dynamodb')))).toBe(true);
    const open = entries.filter((path) => (statSync(path).mode & 0o077) !== 0);
    expect(open).toEqual([]);
  });

  it('answers a DynamoDB request sent to the front as an unknown route, not as dynalite', async () => {
    const response = await rawRequest(server.url, 'POST', '/', {
      body: '{}',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
      },
    });
    expect(response.status).toBe(404);
    expect(response.text).not.toContain('TableNames');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers an unsigned S3 request to the presigned prefix with 403, writing nothing', async () => {
    const path = `/_cairn/s3/${LOCAL_BUCKET_NAME}/${root}/kept.txt`;
    const put = await fetch(`${server.url}${path}`, { method: 'PUT', body: 'overwritten' });
    expect(put.status).toBe(403);
    const list = await fetch(`${server.url}/_cairn/s3/${LOCAL_BUCKET_NAME}?list-type=2`);
    expect(list.status).toBe(403);
    expect(await contentOf('kept.txt')).toBe('original bytes');
  });
});

describe('presigned URLs do exactly what was signed', () => {
  it('serves a valid presigned GET through the front, as an attachment that is never sniffed', async () => {
    const url = await presignedGet('kept.txt');
    expect(new URL(url).origin).toBe(server.url);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('original bytes');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename\*=UTF-8''kept\.txt$/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves stored HTML as a download, not as a page of this origin', async () => {
    const response = await fetch(await presignedGet('page.html'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(/^attachment/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('stores a valid presigned PUT', async () => {
    const response = await fetch(await presignedPut('put/new.txt'), { method: 'PUT', body: 'new bytes' });
    expect(response.status, await response.text()).toBe(200);
    expect(await contentOf('put/new.txt')).toBe('new bytes');
  });

  it('refuses a presigned GET used as a PUT, DELETE or HEAD', async () => {
    const url = await presignedGet('kept.txt');
    const put = await fetch(url, { method: 'PUT', body: 'bent into a write' });
    expect(put.status).toBe(403);
    expect(await refusal(put)).toBe('SignatureDoesNotMatch');
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(403);
    expect(await contentOf('kept.txt')).toBe('original bytes');
  });

  it('refuses a presigned PUT used as a GET', async () => {
    const response = await fetch(await presignedPut('kept.txt'));
    expect(response.status).toBe(403);
    expect(await refusal(response)).toBe('SignatureDoesNotMatch');
  });

  it('refuses a URL moved to another key, bucket or Host', async () => {
    const url = new URL(await presignedGet('kept.txt'));
    const otherKey = new URL(url);
    otherKey.pathname = url.pathname.replace(/kept\.txt$/, 'other.txt');
    const otherBucket = new URL(url);
    otherBucket.pathname = url.pathname.replace(`/${LOCAL_BUCKET_NAME}/`, '/another-bucket/');
    for (const bent of [otherKey, otherBucket]) {
      const response = await fetch(bent);
      expect(response.status, bent.pathname).toBe(403);
    }
    const otherHost = await rawRequest(server.url, 'GET', `${url.pathname}${url.search}`, {
      headers: { host: `localhost:${url.port}` },
    });
    expect(otherHost.status).toBe(403);
    expect(otherHost.text).toContain('SignatureDoesNotMatch');
  });

  it('refuses ../ and %2F path games on a signed PUT, and writes nothing outside the bucket', async () => {
    const url = new URL(await presignedPut('games/target.txt'));
    const prefix = url.pathname.slice(0, url.pathname.indexOf('/games/'));
    const bent = [
      `${prefix}/games/..%2F..%2F..%2Fescaped.txt`,
      `${prefix}/games/../../../escaped.txt`,
      `/_cairn/s3/${LOCAL_BUCKET_NAME}/..%2F..%2F..%2Fescaped.txt`,
      `${prefix}/games%2Ftarget.txt`,
      `${prefix}/games/target.txt%00`,
    ];
    for (const path of bent) {
      // To the URL's own origin: before the fence that was s3rver's port, which wrote outside its folder.
      const response = await rawRequest(url.origin, 'PUT', `${path}${url.search}`, { body: 'escaped' });
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.status, path).toBeLessThan(500);
    }
    // Three levels up from the bucket's folder (data/s3/<bucket>) is the data directory's parent.
    expect(walk(server.dataDir).filter((path) => path.includes('escaped'))).toEqual([]);
    expect(existsSync(join(server.dataDir, '..', 'escaped.txt'))).toBe(false);
  });

  it('refuses a tampered signature and an added, unsigned response override', async () => {
    const url = new URL(await presignedGet('kept.txt'));
    const tampered = new URL(url);
    const signature = url.searchParams.get('X-Amz-Signature') ?? '';
    tampered.searchParams.set(
      'X-Amz-Signature',
      `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`,
    );
    const tamperedResponse = await fetch(tampered);
    expect(tamperedResponse.status).toBe(403);
    expect(await refusal(tamperedResponse)).toBe('SignatureDoesNotMatch');

    const override = new URL(url);
    override.searchParams.set('response-content-type', 'text/html');
    const overridden = await fetch(override);
    expect(overridden.status).toBe(403);
    const disposition = new URL(url);
    disposition.searchParams.set('response-content-disposition', 'inline');
    expect((await fetch(disposition)).status).toBe(403);
  });

  it('refuses an expired URL with S3 words', async () => {
    // Signed as the server signs (with the secret it holds in this process), an hour ago, for a minute.
    const signer = signerFor(process.env.AWS_SECRET_ACCESS_KEY as string);
    const signed = async (signingDate: Date) =>
      getSignedUrl(signer, new GetObjectCommand({ Bucket: LOCAL_BUCKET_NAME, Key: `${root}/kept.txt` }), {
        expiresIn: 60,
        signingDate,
      });
    const expired = await fetch(await signed(new Date(Date.now() - 3600_000)));
    expect(expired.status).toBe(403);
    const text = await expired.text();
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).toContain('Request has expired');
    // The same signature made now is accepted: the refusal above is the expiry alone.
    expect((await fetch(await signed(new Date()))).status).toBe(200);
    signer.destroy();
  });

  it("refuses a URL signed with the stand-ins' public key, which anyone could sign with", async () => {
    expect(process.env.AWS_SECRET_ACCESS_KEY).not.toBe(LOCAL_CREDENTIALS.secretAccessKey);
    const signer = signerFor(LOCAL_CREDENTIALS.secretAccessKey);
    const url = await getSignedUrl(
      signer,
      new PutObjectCommand({ Bucket: LOCAL_BUCKET_NAME, Key: `${root}/kept.txt` }),
      { expiresIn: 60 },
    );
    const response = await fetch(url, { method: 'PUT', body: 'forged' });
    expect(response.status).toBe(403);
    expect(await contentOf('kept.txt')).toBe('original bytes');
    signer.destroy();
  });

  it('refuses a signed response override that is no valid header value, and keeps serving', async () => {
    // Only this process can sign one (the secret it holds); a control character once crashed the server.
    const signer = signerFor(process.env.AWS_SECRET_ACCESS_KEY as string);
    const url = await getSignedUrl(
      signer,
      new GetObjectCommand({
        Bucket: LOCAL_BUCKET_NAME,
        Key: `${root}/kept.txt`,
        ResponseContentType: 'text/html\u0001',
      }),
      { expiresIn: 60 },
    );
    const response = await fetch(url);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('<Code>InvalidArgument</Code>');
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    signer.destroy();
  });

  it('refuses a PUT whose signed Content-Length differs from the body sent', async () => {
    const url = await presignedPut('sized.bin', { content_length: 3 });
    const response = await fetch(url, { method: 'PUT', body: new Uint8Array([1, 2, 3, 4]) });
    expect(response.status).toBe(403);
    expect((await fetch(url, { method: 'PUT', body: new Uint8Array([1, 2, 3]) })).status).toBe(200);
  });
});
