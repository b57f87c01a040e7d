import { describe, expect, it } from 'vitest';
import {
  type ModelResolver,
  promotionPartition,
  resolveSuffix,
} from '../../../shared/store/promotion/migrate.js';

const ID = 'a'.repeat(32);
const OTHER_ID = 'b'.repeat(32);

/** Models by id: `fraud` (id ID) and one named after another model's id (an attempt to take its policies). */
const models: ModelResolver = {
  getModel: async (id) =>
    ({ [ID]: { modelId: ID, name: 'fraud' }, [OTHER_ID]: { modelId: OTHER_ID, name: ID } })[id],
  getModelByName: async (name) =>
    ({ fraud: { modelId: ID, name: 'fraud' }, [ID]: { modelId: OTHER_ID, name: ID } })[name],
};

describe('promotionPartition', () => {
  it('tells policy and audit partitions and their suffix, and nothing else', () => {
    expect(promotionPartition('POLICY#fraud')).toEqual({ kind: 'policy', suffix: 'fraud' });
    expect(promotionPartition(`PROMOTIONS#${ID}`)).toEqual({ kind: 'audit', suffix: ID });
    expect(promotionPartition('POLICY#a#b')).toEqual({ kind: 'policy', suffix: 'a#b' });
    expect(promotionPartition('MODEL#x')).toBeUndefined();
    expect(promotionPartition('MODELNAME#POLICY#x')).toBeUndefined();
  });
});

describe('resolveSuffix', () => {
  it('leaves id-keyed partitions alone and moves names to their model id', async () => {
    expect(await resolveSuffix(ID, models)).toEqual({ kind: 'id' });
    expect(await resolveSuffix('fraud', models)).toEqual({ kind: 'name', modelId: ID, modelName: 'fraud' });
  });

  it("never hands a model's id-keyed policies to a model named after that id", async () => {
    expect(await resolveSuffix(ID, models)).toEqual({ kind: 'id' });
  });

  it('calls a name of no model an orphan, but leaves an id-shaped suffix of a deleted model alone', async () => {
    expect(await resolveSuffix('gone', models)).toEqual({ kind: 'orphan' });
    expect(await resolveSuffix('c'.repeat(32), models)).toEqual({ kind: 'id' });
  });
});
