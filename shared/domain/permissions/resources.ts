/**
 * How the permission service finds the resource a grant names, per kind: the key grants are stored under
 * (an experiment's id; a registered model's stored name, found as the registry finds it), or undefined.
 */
import { ResourceDoesNotExistError } from '../../errors.js';
import type { Experiment } from '../experiments/model.js';
import type { RegisteredModel } from '../registry/model.js';
import { findByName } from '../rules.js';

/** By id, any lifecycle stage: a deleted experiment can be restored, and its grants with it. */
export function experimentResource(experiments: { get(id: string): Promise<Experiment> }) {
  return async (raw: string): Promise<string | undefined> => {
    try {
      return (await experiments.get(raw)).experimentId;
    } catch (error) {
      // A malformed id stays INVALID_PARAMETER_VALUE; only "no such experiment" becomes undefined.
      if (error instanceof ResourceDoesNotExistError) return undefined;
      throw error;
    }
  };
}

export function registeredModelResource(models: {
  getModelByName(name: string): Promise<RegisteredModel | undefined>;
}) {
  return async (raw: string): Promise<string | undefined> =>
    (await findByName(raw, (name) => models.getModelByName(name)))?.name;
}
