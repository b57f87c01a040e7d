/**
 * `cairn env`'s rendering from a stack's outputs (the function the command calls after DescribeStacks):
 * the URI, the token variable read from Secrets Manager or SSM at run time (never a secret in the
 * output), and the multipart variables that keep models above 4 MB from a 413.
 */
import { describe, expect, it } from 'vitest';
import { jobEnvironment, renderEnv, shellQuote } from '../../../bin/commands/env.js';

const outputs = {
  TrackingUri: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
  UiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/',
  CairnTableName: 'CairnData-Table',
};
const base = { stackName: 'CairnApi', outputs, region: 'eu-west-1' };

describe('jobEnvironment', () => {
  it('has the tracking URI and the multipart settings, 4 MB threshold and 10 MB parts', () => {
    expect(jobEnvironment(base)).toEqual({
      environment: {
        MLFLOW_TRACKING_URI: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
        MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD: 'true',
        MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE: '4194304',
        MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE: '10485760',
      },
      secrets: {},
    });
  });

  it('strips a trailing slash and refuses a stack without the output', () => {
    const slashed = jobEnvironment({ ...base, outputs: { TrackingUri: 'https://x.example/prod/' } });
    expect(slashed.environment.MLFLOW_TRACKING_URI).toBe('https://x.example/prod');
    expect(() => jobEnvironment({ ...base, outputs: {} })).toThrow(/TrackingUri/);
  });
});

describe('renderEnv', () => {
  it('shell: export lines, and the token read from Secrets Manager at run time', () => {
    const text = renderEnv(
      { ...base, tokenName: 'ci', tokenSource: { kind: 'secretsmanager', id: 'cairn/ci-token' } },
      'shell',
    );
    expect(text.split('\n')).toEqual([
      '# Cairn stack CairnApi (eu-west-1): npx cairn env',
      'export MLFLOW_TRACKING_URI=https://abc123.execute-api.eu-west-1.amazonaws.com',
      'export MLFLOW_TRACKING_TOKEN="$(aws secretsmanager get-secret-value --secret-id cairn/ci-token --region eu-west-1 --query SecretString --output text)"',
      '# models above 4 MB upload in parts straight to S3 (without these: 413 from the API)',
      'export MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true',
      'export MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE=4194304',
      'export MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE=10485760',
    ]);
  });

  it('shell: from an SSM SecureString parameter, decrypted', () => {
    const text = renderEnv({ ...base, tokenSource: { kind: 'ssm', id: '/cairn/ci token' } }, 'shell');
    expect(text).toContain(
      `export MLFLOW_TRACKING_TOKEN="$(aws ssm get-parameter --name '/cairn/ci token' --with-decryption --region eu-west-1 --query Parameter.Value --output text)"`,
    );
  });

  it('without a secret store the token is a commented placeholder naming the create command', () => {
    const text = renderEnv({ ...base, tokenName: 'ci' }, 'shell');
    expect(text).toContain(
      '# the token, printed once by: npx cairn token create --name ci --scope write --stack CairnApi',
    );
    expect(text).toContain('# export MLFLOW_TRACKING_TOKEN=cairn_ci_<secret>');
    expect(text).not.toMatch(/^export MLFLOW_TRACKING_TOKEN/m);
  });

  it('dotenv: KEY=value lines; the token is named for injection, not fetched', () => {
    const text = renderEnv({ ...base, tokenSource: { kind: 'ssm', id: '/cairn/ci' } }, 'dotenv');
    expect(text).toContain('MLFLOW_TRACKING_URI=https://abc123.execute-api.eu-west-1.amazonaws.com');
    expect(text).toContain('MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true');
    expect(text).toContain('# MLFLOW_TRACKING_TOKEN: inject at run time from SSM parameter /cairn/ci');
    expect(text).not.toContain('export ');
  });

  it('json: environment and secrets, the shape of a Batch or ECS container definition', () => {
    const parsed = JSON.parse(
      renderEnv(
        {
          ...base,
          tokenSource: { kind: 'secretsmanager', id: 'arn:aws:secretsmanager:eu-west-1:1:secret:c' },
        },
        'json',
      ),
    );
    expect(parsed.secrets).toEqual({ MLFLOW_TRACKING_TOKEN: 'arn:aws:secretsmanager:eu-west-1:1:secret:c' });
    expect(parsed.environment.MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE).toBe('4194304');
  });
});

describe('shellQuote', () => {
  it('leaves safe words alone and single-quotes the rest', () => {
    expect(shellQuote('https://x.example/a')).toBe('https://x.example/a');
    expect(shellQuote("it's $HOME")).toBe(`'it'\\''s $HOME'`);
  });
});
