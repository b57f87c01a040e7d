/** The experiments service's rules on an in-memory repository: no HTTP, no table. */
import { describe, expect, it } from 'vitest';
import {
  InvalidParameterValueError,
  ResourceAlreadyExistsError,
  ResourceDoesNotExistError,
} from '../../../shared/errors.js';
import { memoryTracking } from '../../helpers/memory/index.js';

describe('experiments', () => {
  it('creates the Default experiment before the first one, and assigns the artifact location', async () => {
    const { experiments } = memoryTracking();
    const id = await experiments.create({ name: 'first', tags: [{ key: 'team', value: 'a' }] });
    expect((await experiments.get('0')).name).toBe('Default');
    expect(await experiments.get(id)).toMatchObject({
      name: 'first',
      artifactLocation: `mlflow-artifacts:/${id}`,
      lifecycleStage: 'active',
      tags: { team: 'a' },
    });
  });

  it('refuses a client-chosen artifact location the server or clients would dereference, duplicate tag keys and a taken name', async () => {
    const { experiments } = memoryTracking();
    for (const location of [
      'https://elsewhere/x',
      'file:///tmp/x',
      'my_location',
      'mlflow-artifacts://other/x',
    ]) {
      await expect(experiments.create({ name: 'x', artifactLocation: location, tags: [] })).rejects.toThrow(
        /for parameter 'artifact_location'/,
      );
    }
    const stored = await experiments.create({ name: 'own', artifactLocation: 's3://elsewhere/x', tags: [] });
    expect((await experiments.get(stored)).artifactLocation).toBe('s3://elsewhere/x');
    await expect(
      experiments.create({
        name: 'x',
        tags: [
          { key: 'k', value: '1' },
          { key: 'k', value: '2' },
        ],
      }),
    ).rejects.toThrow(/Duplicate tag key/);
    await experiments.create({ name: 'taken', tags: [] });
    await expect(experiments.create({ name: 'taken', tags: [] })).rejects.toBeInstanceOf(
      ResourceAlreadyExistsError,
    );
  });

  it('refuses renaming a deleted experiment, and tags on it', async () => {
    const { experiments } = memoryTracking();
    const id = await experiments.create({ name: 'old', tags: [] });
    await experiments.rename(id, 'new');
    expect((await experiments.getByName('new')).experimentId).toBe(id);
    await experiments.delete(id);
    await expect(experiments.rename(id, 'newer')).rejects.toThrow(/non-active experiment/);
    await expect(experiments.setTag(id, 'k', 'v')).rejects.toBeInstanceOf(InvalidParameterValueError);
  });

  it('answers 404 for a missing experiment or tag, 400 for a malformed id', async () => {
    const { experiments } = memoryTracking();
    const id = await experiments.create({ name: 'e', tags: [] });
    await expect(experiments.get('999')).rejects.toBeInstanceOf(ResourceDoesNotExistError);
    await expect(experiments.deleteTag(id, 'absent')).rejects.toThrow(/No tag with name: absent/);
    await expect(experiments.get('not-a-number')).rejects.toBeInstanceOf(InvalidParameterValueError);
  });
});
