import { describe, expect, it } from 'vitest';
import { matchRoute } from '../../../shared/api/routes.js';

const MODEL = `m-${'a'.repeat(32)}`;

describe('matchRoute', () => {
  it('prefers an exact path to a {name} segment, as API Gateway prefers the most specific route', () => {
    expect(matchRoute('POST', '/api/2.0/mlflow/logged-models/search')?.route.operation).toBe(
      'searchLoggedModels',
    );
    expect(matchRoute('POST', '/api/2.0/mlflow/logged-models')?.route.operation).toBe('createLoggedModel');
    const get = matchRoute('GET', `/api/2.0/mlflow/logged-models/${MODEL}`);
    expect(get?.route.operation).toBe('getLoggedModel');
    expect(get?.pathParameters).toEqual({ model_id: MODEL });
  });

  it('matches by method, and several {name} segments in one path', () => {
    expect(matchRoute('PATCH', `/api/2.0/mlflow/logged-models/${MODEL}`)?.route.operation).toBe(
      'finalizeLoggedModel',
    );
    expect(matchRoute('DELETE', `/api/2.0/mlflow/logged-models/${MODEL}`)?.route.operation).toBe(
      'deleteLoggedModel',
    );
    const tag = matchRoute('DELETE', `/ajax-api/2.0/mlflow/logged-models/${MODEL}/tags/my%20key`);
    expect(tag?.route.operation).toBe('deleteLoggedModelTag');
    expect(tag?.pathParameters).toEqual({ model_id: MODEL, tag_key: 'my key' });
    expect(matchRoute('PUT', `/api/2.0/mlflow/logged-models/${MODEL}`)).toBeUndefined();
  });

  it('never lets a {name} segment span a slash, nor match an empty segment', () => {
    expect(matchRoute('DELETE', `/api/2.0/mlflow/logged-models/${MODEL}/tags/a/b`)).toBeUndefined();
    expect(matchRoute('GET', '/api/2.0/mlflow/logged-models/')).toBeUndefined();
  });

  it('decodes a {name} value once and keeps a malformed escape as sent', () => {
    expect(
      matchRoute('DELETE', `/api/2.0/mlflow/logged-models/${MODEL}/tags/a%2541`)?.pathParameters,
    ).toEqual({
      model_id: MODEL,
      tag_key: 'a%41',
    });
    expect(
      matchRoute('DELETE', `/api/2.0/mlflow/logged-models/${MODEL}/tags/a%zz`)?.pathParameters?.tag_key,
    ).toBe('a%zz');
  });

  it('leaves a greedy {path+} value raw: artifact handlers canonicalize it themselves', () => {
    const download = matchRoute('GET', '/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/a%2Fb');
    expect(download?.route.operation).toBe('downloadArtifact');
    expect(download?.pathParameters).toEqual({ path: '1/abc/artifacts/a%2Fb' });
    expect(matchRoute('GET', '/api/2.0/mlflow-artifacts/artifacts/')).toBeUndefined();
  });

  it('serves the UI-only logged-model file route under /ajax-api alone', () => {
    const path = `/logged-models/${MODEL}/artifacts/files`;
    expect(matchRoute('GET', `/ajax-api/2.0/mlflow${path}`)?.route.operation).toBe('getLoggedModelArtifact');
    expect(matchRoute('GET', `/api/2.0/mlflow${path}`)).toBeUndefined();
  });
});
