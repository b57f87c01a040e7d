import { describe, expect, it } from 'vitest';
import type { LoggedModel } from '../../../shared/domain/logged-models/model.js';
import { MODEL_VERSIONS_TAG, withModelVersion } from '../../../shared/domain/logged-models/registrations.js';

const model = (tags: Record<string, string> = {}): LoggedModel => ({
  modelId: `m-${'a'.repeat(32)}`,
  experimentId: '1',
  name: 'm',
  artifactUri: 'mlflow-artifacts:/1/models/m/artifacts',
  creationTimestamp: 1,
  lastUpdatedTimestamp: 1,
  status: 'LOGGED_MODEL_READY',
  lifecycleStage: 'active',
  tags,
  params: {},
  metrics: [],
});

describe("the logged model's mlflow.modelVersions tag", () => {
  it("lists registrations as MLflow's json.dumps writes them, each once", () => {
    const first = withModelVersion(model(), 'model', 1, 5, 100_000);
    expect(first?.tags[MODEL_VERSIONS_TAG]).toBe('[{"name": "model", "version": 1}]');
    expect(first?.lastUpdatedTimestamp).toBe(5);
    const second = withModelVersion(first as LoggedModel, 'model', 2, 6, 100_000);
    expect(second?.tags[MODEL_VERSIONS_TAG]).toBe(
      '[{"name": "model", "version": 1}, {"name": "model", "version": 2}]',
    );
    expect(withModelVersion(second as LoggedModel, 'model', 2, 7, 100_000)).toBeNull();
  });

  it('escapes names as Python does (ensure_ascii) and keeps other tags', () => {
    const tagged = withModelVersion(model({ other: 'x' }), 'modèle "q"', 3, 1, 100_000);
    expect(tagged?.tags).toEqual({
      other: 'x',
      [MODEL_VERSIONS_TAG]: '[{"name": "mod\\u00e8le \\"q\\"", "version": 3}]',
    });
  });

  it('starts over from a tag a client set to something else, and stops at the tag value limit', () => {
    expect(withModelVersion(model({ [MODEL_VERSIONS_TAG]: 'not json' }), 'a', 1, 1, 100)?.tags).toEqual({
      [MODEL_VERSIONS_TAG]: '[{"name": "a", "version": 1}]',
    });
    expect(withModelVersion(model(), 'a'.repeat(100), 1, 1, 100)).toBeNull();
  });
});
