import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalArtifactPath } from '../../../shared/domain/artifacts/paths.js';
import type { ModelVersion, RegisteredModel } from '../../../shared/domain/registry/model.js';
import {
  latestPerStage,
  parseStage,
  parseVersion,
  validateAlias,
  validateModelName,
} from '../../../shared/domain/registry/rules.js';
import { searchModels, searchVersions } from '../../../shared/domain/registry/search.js';
import {
  confirmPathOwner,
  locateSource,
  readingOnce,
  resolveVersionSource,
  validateSource,
} from '../../../shared/domain/registry/sources.js';
import { InvalidParameterValueError } from '../../../shared/errors.js';

const ROOT = 'mlflow-artifacts:/';
const RUN = '0123456789abcdef0123456789abcdef';

describe('model version sources', () => {
  it.each([
    [`runs:/${RUN}`, { kind: 'run', runId: RUN }],
    [`runs:/${RUN}/model`, { kind: 'run', runId: RUN }],
    [`runs:/${RUN}/a/b.c/d`, { kind: 'run', runId: RUN }],
    [`models:/m-${RUN}`, { kind: 'model', modelId: `m-${RUN}` }],
    [`mlflow-artifacts:/1/models/m-${RUN}/artifacts`, { kind: 'model', modelId: `m-${RUN}` }],
    [`mlflow-artifacts:/1/${RUN}/artifacts/model`, { kind: 'run', runId: RUN }],
    // MLflow's run id form: a run the stock client imported may have one (resolveVersionSource checks it)
    ['runs:/run_id_1/model', { kind: 'run', runId: 'run_id_1' }],
  ])('reads %j as files this deployment owns', (source, owner) => {
    expect(validateSource(source, ROOT)).toMatchObject({ kind: 'owned', owner });
  });

  it('an artifact-root path is owned only where its run or logged model really is (confirmPathOwner)', async () => {
    const lookup = {
      get: async (runId: string) => (runId === RUN ? { experimentId: '1', artifactUri: 'x' } : undefined),
      getLoggedModel: async () => ({ experimentId: '1', lifecycleStage: 'active', artifactUri: 'x' }),
    };
    const inOne = validateSource(`mlflow-artifacts:/1/${RUN}/artifacts/model`, ROOT);
    expect(await confirmPathOwner(inOne, lookup)).toEqual(inOne);
    const inTwo = validateSource(`mlflow-artifacts:/2/${RUN}/artifacts/model`, ROOT);
    expect(await confirmPathOwner(inTwo, lookup)).toEqual({
      kind: 'foreign',
      why: `lies under experiment 2, to which run ${RUN} does not belong`,
    });
    const model = validateSource(`mlflow-artifacts:/2/models/m-${RUN}/artifacts`, ROOT);
    expect((await confirmPathOwner(model, lookup)).kind).toBe('foreign');
    // runs:/ names no experiment: nothing to confirm.
    const viaRun = validateSource(`runs:/${RUN}/model`, ROOT);
    expect(await confirmPathOwner(viaRun, lookup)).toEqual(viaRun);
  });

  // What MLflow stores and the server never reads: kept, and the version is marked unverified.
  it.each([
    'http://host/model',
    'https://host/model',
    's3://any-bucket/model',
    'gs://bucket/model',
    'wasbs://c@a.blob.core.windows.net/m',
    'hdfs://host/m',
    'dbfs:/m',
    'ftp://host/m',
    'mlflow-artifacts://other-host:5000/1/m',
    'mlflow-artifacts://host:9000/models/artifact/..../',
    'mlflow-artifacts:/models',
    'mlflow-artifacts:/models/foo///bar',
    // paths the artifact API would refuse: nothing can be uploaded there, and the server never reads them
    'mlflow-artifacts:/1\\..\\x',
    'mlflow-artifacts:/1/x#frag',
    'mlflow-artifacts:/1/x?q=1',
    'runs:/-x/model',
    'models:/name/1',
    'models:/name@alias',
    `models:/m-${RUN.toUpperCase()}`,
  ])('stores %j as a foreign source', (source) => {
    expect(validateSource(source, ROOT).kind).toBe('foreign');
  });

  it.each([
    ['file:///etc/passwd', 'To use a local path as a model version source'],
    ['file:/etc/passwd', 'To use a local path'],
    ['/etc/passwd', 'To use a local path'],
    ['C:\\models\\m', 'To use a local path'],
    ['../model', 'To use a local path'],
    ['model', 'To use a local path'],
    ['mlflow-artifacts:/1/../../etc/passwd', 'without relative path references'],
    ['mlflow-artifacts:/1/%2e%2e/x', 'without relative path references'],
    ['mlflow-artifacts:/1/%252e%252e/x', 'without relative path references'],
    ['mlflow-artifacts:/1/..%2fx', 'without relative path references'],
    ['mlflow-artifacts://host:9000/models/../../../', 'If supplying a source as an http, https,'],
    ['mlflow-artifacts://host:9000/models/..%2f..%2fartifacts', 'If supplying a source as an http'],
    ['mlflow-artifacts://host:9000/models/artifact%00', 'If supplying a source as an http'],
    ['http://host:9000/models/../../../', 'If supplying a source as an http'],
    ['s3a://my_bucket/api/2.0/mlflow-artifacts/artifacts/../../../', 'If supplying a source'],
    [`dbfs:/${RUN}/artifacts/a%3f/../../../../../../../../../../`, 'Invalid model version source'],
    ['s3://bucket', 'without relative path references'],
    ['mlflow-artifacts:/./x', 'without relative path references'],
    ['mlflow-artifacts:', 'without relative path references'],
    [`runs:/${RUN}/../other`, 'without relative path references'],
    [`runs:/${RUN}/a/%2E%2E/%2E%2E/b`, 'without relative path references'],
    ['runs:/', 'without relative path references'],
    [`models:/m-${RUN}/../x`, 'without relative path references'],
    ['', 'To use a local path'],
    [' runs:/abc', 'whitespace'],
    [`runs:/${RUN}/a b`, 'whitespace'],
    [`mlflow-artifacts:/${'a'.repeat(2048)}`, 'too long'],
  ])('refuses %j with 400 INVALID_PARAMETER_VALUE', (source, message) => {
    expect(() => validateSource(source, ROOT)).toThrow(InvalidParameterValueError);
    expect(() => validateSource(source, ROOT)).toThrow(message);
  });

  it('follows the deployment artifact root', () => {
    const root = 's3://cairn-bucket/prefix';
    expect(validateSource(`${root}/1/${RUN}/artifacts/m`, root).kind).toBe('owned');
    expect(validateSource('s3://cairn-bucket/prefix/1/m', root).kind).toBe('foreign');
    expect(validateSource('s3://cairn-bucket/other/1/m', root).kind).toBe('foreign');
    expect(validateSource(`s3://cairn-bucket/prefixed/1/${RUN}/artifacts/m`, root).kind).toBe('foreign');
  });
});

describe('names, aliases, versions and stages', () => {
  it.each(['', ' ', 'a/b', 'a:b', '..'])('refuses the model name %j', (name) => {
    expect(() => validateModelName('name', name)).toThrow(InvalidParameterValueError);
  });
  it.each(['latest', 'Latest', 'v1', 'V007', '', 'a b', 'a.b', 'a/b', 'x'.repeat(256)])(
    'refuses the alias %j',
    (alias) => {
      expect(() => validateAlias(alias)).toThrow(InvalidParameterValueError);
    },
  );
  it.each(['champion', 'v1a', 'latest-1', 'x'.repeat(255), 'ünïcode'])('accepts the alias %j', (alias) => {
    expect(() => validateAlias(alias)).not.toThrow();
  });
  it('parses versions and stages like MLflow', () => {
    expect(parseVersion('version', '12')).toBe(12);
    expect(() => parseVersion('version', '1.5')).toThrow(InvalidParameterValueError);
    expect(() => parseVersion('version', 'latest')).toThrow(InvalidParameterValueError);
    expect(parseStage('production')).toBe('Production');
    expect(parseStage('NONE')).toBe('None');
    expect(() => parseStage('Prod')).toThrow(InvalidParameterValueError);
  });
});

const version = (n: number, stage: ModelVersion['currentStage'], modelId = 'm1'): ModelVersion => ({
  modelId,
  version: n,
  creationTimestamp: n,
  lastUpdatedTimestamp: n,
  currentStage: stage,
  source: `runs:/${RUN}/m`,
  status: 'READY',
  tags: {},
});
const model = (name: string, tags: Record<string, string> = {}, modelId = name): RegisteredModel => ({
  modelId,
  name,
  creationTimestamp: 1,
  lastUpdatedTimestamp: 1,
  tags,
  aliases: {},
});

describe('latest versions', () => {
  it('keeps the newest version per stage, ordered by version', () => {
    const versions = [
      version(1, 'Production'),
      version(2, 'None'),
      version(3, 'Production'),
      version(4, 'Staging'),
    ];
    expect(latestPerStage(versions).map((v) => v.version)).toEqual([2, 3, 4]);
    expect(latestPerStage(versions, ['Staging']).map((v) => v.version)).toEqual([4]);
    expect(latestPerStage(versions, ['Archived'])).toEqual([]);
  });
});

describe('registry search', () => {
  const models = [model('b', { k: 'v' }), model('a'), model('c', { 'mlflow.prompt.is_prompt': 'true' })];
  it('keeps models without the tag for != (the prompt exclusion)', () => {
    const page = searchModels(models, {
      filter: "tags.`mlflow.prompt.is_prompt` != 'true'",
      orderBy: [],
      maxResults: 10,
    });
    expect(page.models.map((m) => m.name)).toEqual(['a', 'b']);
  });
  it('refuses unknown identifiers, comparators and order keys', () => {
    for (const filter of ['run_id = 1', "name > 'a'", "params.x = 'y'", "tags.k IN ('a')"]) {
      expect(() => searchModels(models, { filter, orderBy: [], maxResults: 10 })).toThrow(
        InvalidParameterValueError,
      );
    }
    expect(() => searchModels(models, { orderBy: ['version_number'], maxResults: 10 })).toThrow(
      InvalidParameterValueError,
    );
  });
  it('pins one model for name = and pages versions without repeats', () => {
    const byId = new Map(models.map((m) => [m.modelId, m]));
    const versions = [version(1, 'None', 'a'), version(2, 'None', 'a'), version(1, 'None', 'b')];
    const first = searchVersions(versions, byId, { filter: "name = 'a'", orderBy: [], maxResults: 1 });
    expect(first.exactName).toBe('a');
    expect(first.versions.map((v) => v.version)).toEqual([2]);
    const second = searchVersions(versions, byId, {
      filter: "name = 'a'",
      orderBy: [],
      maxResults: 1,
      ...(first.nextPageToken ? { pageToken: first.nextPageToken } : {}),
    });
    expect(second.versions.map((v) => v.version)).toEqual([1]);
    expect(second.nextPageToken).toBeUndefined();
    expect(() =>
      searchVersions(versions, byId, {
        orderBy: [],
        maxResults: 1,
        pageToken: first.nextPageToken as string,
      }),
    ).toThrow(InvalidParameterValueError);
  });
});

describe('source paths are decoded as artifact paths are', () => {
  // One decoder for both: a source path and an artifact path with the same bytes are refused alike.
  const pathChars = fc.stringMatching(/^[a-zA-Z0-9%./_-]{1,40}$/);

  it('refuses a runs:/ path exactly when the artifact-path canonicaliser refuses it', () => {
    fc.assert(
      fc.property(pathChars, (path) => {
        let canonical = true;
        try {
          canonicalArtifactPath(path.replace(/\/+$/, ''), 'source');
        } catch {
          canonical = false;
        }
        let refused = false;
        try {
          validateSource(`runs:/${RUN}/${path}`, ROOT);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidParameterValueError);
          refused = true;
        }
        expect(refused).toBe(!canonical);
      }),
    );
  });

  it.each([
    ['..%c0%af..', 'malformed percent-encoding'],
    ['%c0%ae%c0%ae/x', 'malformed percent-encoding'],
    ['a/%252e%252e/b', 'without relative path references'],
    ['a;b', "';'"],
    ['d:notes', 'drive letter'],
    ['a//b', 'empty segments'],
  ])('refuses the runs:/ path %j as an artifact path would be refused', (path, reason) => {
    expect(() => validateSource(`runs:/${RUN}/${path}`, ROOT)).toThrow(reason);
    const underRoot = `${ROOT}1/${RUN}/artifacts/${path}`;
    // under the root, a path the artifact API would refuse is either refused or never read (foreign)
    let kind: string;
    try {
      kind = validateSource(underRoot, ROOT).kind;
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidParameterValueError);
      kind = 'refused';
    }
    expect(kind).not.toBe('owned');
  });

  it("names the 'source' field when the encoding is malformed", () => {
    for (const path of ['a%', 'a%zz', '%E0%A4%A']) {
      expect(() => validateSource(`runs:/${RUN}/${path}`, ROOT)).toThrow("parameter 'source'");
    }
  });
});

describe('readingOnce', () => {
  it('reads the run a source names once while resolving and locating it', async () => {
    const reads: string[] = [];
    const lookup = readingOnce({
      get: async (runId) => {
        reads.push(`run ${runId}`);
        return { experimentId: '3', artifactUri: `${ROOT}3/${runId}/artifacts` };
      },
      getLoggedModel: async (modelId) => {
        reads.push(`model ${modelId}`);
        return undefined;
      },
    });
    const runId = 'a'.repeat(32);
    const source = `runs:/${runId}/model`;
    await resolveVersionSource({ name: 'm', source, tags: [] }, validateSource(source, ROOT), lookup, ROOT);
    const location = await locateSource(source, 'mlflow-artifacts:/', lookup);
    expect(location).toEqual({ owner: { kind: 'run', experimentId: '3', runId }, relative: 'model' });
    expect(reads).toEqual([`run ${runId}`]);
  });
});
