/**
 * Stands in for `@smithy/core/checksum`, `@aws-sdk/checksums/sha` and `@aws-sdk/checksums/crc` in the
 * Lambda bundles (esbuild aliases in infra/constructs/bundling.ts). Each SDK hash class is a wrapper
 * around node:crypto or node:zlib that falls back to a JavaScript implementation when Node lacks the
 * algorithm; Lambda's Node 22 has SHA-256, SHA-1, MD5 and CRC32 natively, so the fallbacks (SHA-256,
 * SHA-1, MD5, CRC32, ~8 KB) never run there. They are what makes room for X-Ray tracing in the
 * artifacts function (docs/benchmarks.md). CRC32C and CRC64NVME are S3 checksum algorithms a request
 * gets only when it asks for them (ChecksumAlgorithm / ChecksumMode), which no Cairn call does: they fail
 * loudly here. The local server and the tests do not bundle, so they keep the SDK's own classes.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { crc32 } from 'node:zlib';

type Data = string | ArrayBuffer | ArrayBufferView;

const bytes = (data: Data): string | Uint8Array =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

/** The SDK's Checksum interface (update, digest, reset) over node:crypto; an HMAC when given a secret. */
const nativeHash = (algorithm: string, digestLength: number) =>
  class {
    readonly digestLength = digestLength;
    private hash: Hash | Hmac;

    constructor(private readonly secret?: Data) {
      this.hash = this.create();
    }

    private create(): Hash | Hmac {
      return this.secret === undefined ? createHash(algorithm) : createHmac(algorithm, bytes(this.secret));
    }

    update(data: Data): void {
      this.hash.update(bytes(data));
    }

    async digest(): Promise<Uint8Array> {
      // A Hash can be copied and updated further (the SDK digests running checksums); an Hmac cannot.
      const out = 'copy' in this.hash ? this.hash.copy().digest() : this.hash.digest();
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }

    reset(): void {
      this.hash = this.create();
    }
  };

export const Sha256 = nativeHash('sha256', 32);
export const Sha1 = nativeHash('sha1', 20);
export const Md5 = nativeHash('md5', 16);

export class Crc32 {
  readonly digestLength = 4;
  private value = 0;

  update(data: Data): void {
    this.value = crc32(bytes(data), this.value);
  }

  async digest(): Promise<Uint8Array> {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, this.value >>> 0);
    return out;
  }

  reset(): void {
    this.value = 0;
  }
}

const notBundled = (name: string) =>
  class {
    constructor() {
      throw new Error(`${name} checksums are not bundled (infra/lambda/native-hashes.ts)`);
    }
  };

export const Crc32c = notBundled('CRC32C');
export const Crc64Nvme = notBundled('CRC64NVME');

/** Hashes a stream body (flexible checksums on a streamed upload) as it is piped through. */
export function readableStreamHasher(
  Checksum: new () => { update(data: Data): void; digest(): Promise<Uint8Array> },
  stream: Readable,
): Promise<Uint8Array> {
  if (stream.readableFlowing !== null)
    throw new Error('Unable to calculate hash for flowing readable stream');
  const hash = new Checksum();
  return new Promise((resolve, reject) => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done();
      },
    });
    stream.on('error', (error) => {
      sink.end();
      reject(error);
    });
    sink.on('error', reject);
    sink.on('finish', () => hash.digest().then(resolve, reject));
    stream.pipe(sink);
  });
}
