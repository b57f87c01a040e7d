/**
 * Where a command that writes or removes artifacts (`cairn gc`, `cairn import`) finds the target's bucket:
 * a stack's from its `CairnArtifactLocation` output, a local data directory's from the running server's
 * published S3 socket, or an s3rver started here on the directory's files when no server runs (the
 * caller holds the directory's lock through withTarget meanwhile).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { readPublishedEndpoint } from '../local/data-dir-endpoint.js';
import { isAlive } from '../local/data-dir-lock.js';
import { LOCAL_BUCKET_NAME } from '../local/server.js';
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type RunningStandIn,
  standInSocketDir,
  startS3rver,
} from '../local/stand-ins.js';
import { endpointOptions } from '../shared/store/clients.js';
import { TokenStoreUnavailableError } from './token-stores.js';

/** The API stack's output naming where artifacts live: `s3://<bucket>/<key prefix>`. */
export const ARTIFACT_LOCATION_OUTPUT = 'CairnArtifactLocation';

/** The target's artifact bucket and key prefix, `--stack` or `--data-dir` as for every command. */
export function openArtifactTarget(
  values: { 'data-dir'?: string; stack?: string; region?: string },
  command: string,
): Promise<ArtifactTarget> {
  return values.stack !== undefined
    ? stackArtifacts(values.stack, values.region)
    : localArtifacts(resolve(values['data-dir'] ?? (process.env.CAIRN_DATA_DIR || './cairn-data')), command);
}

export interface ArtifactTarget {
  s3: S3Client;
  bucket: string;
  keyPrefix: string;
  close(): Promise<void>;
}

/** The stack's bucket and key prefix, from its `CairnArtifactLocation` output. */
async function stackArtifacts(stackName: string, region: string | undefined): Promise<ArtifactTarget> {
  const config = region ? { region } : {};
  const cloudFormation = new CloudFormationClient(config);
  let location: string | undefined;
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    location = Stacks?.[0]?.Outputs?.find(
      (output) => output.OutputKey === ARTIFACT_LOCATION_OUTPUT,
    )?.OutputValue;
  } finally {
    cloudFormation.destroy();
  }
  const match = location ? /^s3:\/\/([^/]+)\/(.*)$/.exec(location) : null;
  if (!match) {
    throw new TokenStoreUnavailableError(
      `The stack '${stackName}' has no ${ARTIFACT_LOCATION_OUTPUT} output: deploy this version of Cairn first.`,
    );
  }
  const s3 = new S3Client({
    ...config,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { s3, bucket: match[1] as string, keyPrefix: match[2] as string, close: async () => s3.destroy() };
}

/**
 * The data directory's s3rver: the running server's (the socket it published), or one started here on
 * the same files when no server runs (withTarget then holds the directory's lock).
 */
async function localArtifacts(dataDir: string, command: string): Promise<ArtifactTarget> {
  const client = (socketPath: string) =>
    new S3Client({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      forcePathStyle: true,
      ...endpointOptions(undefined, socketPath),
    });
  const published = readPublishedEndpoint(dataDir);
  if (published && isAlive(published.pid)) {
    if (!published.s3Socket) {
      throw new TokenStoreUnavailableError(
        `The server running on ${dataDir} (pid ${published.pid}) is from an earlier Cairn and does not say where its artifacts are: stop it, or restart it with this version, and run cairn ${command} again.`,
      );
    }
    const s3 = client(published.s3Socket);
    return { s3, bucket: LOCAL_BUCKET_NAME, keyPrefix: '', close: async () => s3.destroy() };
  }
  if (!existsSync(dataDir)) throw new TokenStoreUnavailableError(`No Cairn data in ${dataDir}.`);
  const sockets = standInSocketDir(dataDir);
  let standIn: RunningStandIn | undefined;
  try {
    standIn = await startS3rver(dataDir, LOCAL_BUCKET_NAME, join(sockets.dir, `${command}-s3.sock`));
  } catch (error) {
    sockets.remove();
    throw error;
  }
  const running = standIn;
  const s3 = client(running.socketPath as string);
  return {
    s3,
    bucket: LOCAL_BUCKET_NAME,
    keyPrefix: '',
    close: async () => {
      s3.destroy();
      await running.close();
      sockets.remove();
    },
  };
}
