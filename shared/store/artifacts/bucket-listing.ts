/** One page of the artifact bucket's listing under a prefix: the registry's only S3 call. */
import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';

export type BucketListing = (
  prefix: string,
  maxKeys: number,
  continuationToken: string | undefined,
) => Promise<ListObjectsV2CommandOutput>;

export function bucketListing(client: S3Client, bucket: string): BucketListing {
  return (prefix, maxKeys, continuationToken) =>
    client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        MaxKeys: maxKeys,
        ...(continuationToken ? { ContinuationToken: continuationToken } : {}),
      }),
    );
}
