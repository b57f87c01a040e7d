/**
 * A registered version's files, for the registry: sealing them (a seal item, seal-entity.ts) and listing
 * them with their ETags for the promotion audit. Listing is the registry function's only S3 action
 * (s3:ListBucket under the artifact key prefix): it never reads or writes bytes. The listing comes
 * through `BucketListing` (bucket-listing.ts), which the registry loads only when it first lists: every
 * other registry call, and its cold start, go without the S3 client.
 */
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { artifactKey } from '../../domain/artifacts/paths.js';
import type { FileDigest } from '../../domain/promotion/model.js';
import type { SourceLocation, VersionFiles } from '../../domain/registry/model.js';
import type { BucketListing } from './bucket-listing.js';
import { toSealItem } from './seal-entity.js';

export class StoredVersionFiles implements VersionFiles {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Absent where the function has no bucket: files are then sealed but not listed. */
    private readonly s3: { listing: () => Promise<BucketListing>; keyPrefix: string } | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async seal(location: SourceLocation, by: { modelId: string; version: number }): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: toSealItem(location.owner, location.relative, by, this.now()),
      }),
    );
  }

  async list(location: SourceLocation, max: number) {
    if (!this.s3) return undefined;
    const listing = await this.s3.listing();
    const key = artifactKey(this.s3.keyPrefix, location.owner, location.relative);
    // The root key ends in '/'; any other names a directory (listed below it) or a single file.
    const directory = key.endsWith('/') ? key : `${key}/`;
    const listed = await listUnder(listing, directory, max);
    if (listed.files.length > 0 || key === directory) return { location: directory, ...listed };
    const file = await listUnder(listing, key, 1, key);
    return { location: key, ...file };
  }
}

/** Objects under `prefix` (only `exact` when given), up to `max`, paths relative to the prefix. */
async function listUnder(listing: BucketListing, prefix: string, max: number, exact?: string) {
  const files: FileDigest[] = [];
  let token: string | undefined;
  do {
    const page = await listing(prefix, Math.min(1000, max + 1 - files.length), token);
    for (const object of page.Contents ?? []) {
      if (!object.Key || (exact !== undefined && object.Key !== exact)) continue;
      files.push({
        path:
          exact !== undefined
            ? object.Key.slice(object.Key.lastIndexOf('/') + 1)
            : object.Key.slice(prefix.length),
        etag: object.ETag ?? '',
        size: object.Size ?? 0,
        ...(object.LastModified ? { lastModified: object.LastModified.getTime() } : {}),
      });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token && files.length <= max);
  const truncated = files.length > max || token !== undefined;
  return { files: files.slice(0, max), truncated: exact === undefined && truncated };
}
