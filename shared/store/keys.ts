/**
 * The only module that knows how items are keyed (design decision 5). The table's physical layout is
 * declared here too, so the CDK table, the local stand-in's table and the code cannot disagree.
 *
 * Access patterns (no Scan on any request path):
 *
 * | Pattern                        | Where  | Key condition                                          | Notes                                     |
 * |--------------------------------|--------|--------------------------------------------------------|-------------------------------------------|
 * | Experiment by id               | table  | pk = `EXP#<id>`, sk = `EXP`                              | GetItem, strongly consistent               |
 * | Experiment id by name          | table  | pk = `EXPNAME#<name>`, sk = `EXPNAME`                    | the name claim; unique by conditional put |
 * | All experiments                | gsi1   | gsi1pk = `EXPERIMENTS`                                  | Query, sorted by id; search filters after |
 * | Next experiment id             | table  | pk = `COUNTER#EXPERIMENT`, sk = `COUNTER`                | atomic ADD                                |
 *
 * Two generic GSIs (`gsi1`, `gsi2`, projection ALL) are created with the table because neither
 * dynalite nor an existing local data directory can gain a GSI later (local-stand-ins.md 4.1.3).
 * Items that carry no gsi attributes are not indexed (sparse), so they cost no index writes.
 */

export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  indexes: [
    { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  ],
} as const;

export type IndexName = (typeof TABLE_KEYS.indexes)[number]['name'];

export interface ItemKey {
  pk: string;
  sk: string;
}

/** Zero-padded so that numeric ids sort as numbers in a string sort key (ids have ≤ 19 digits). */
function padId(id: string): string {
  return id.padStart(20, '0');
}

export const keys = {
  experiment: (experimentId: string): ItemKey => ({ pk: `EXP#${experimentId}`, sk: 'EXP' }),
  experimentListing: (experimentId: string) => ({
    gsi1pk: 'EXPERIMENTS',
    gsi1sk: `EXP#${padId(experimentId)}`,
  }),
  allExperimentsPartition: 'EXPERIMENTS',
  experimentName: (name: string): ItemKey => ({ pk: `EXPNAME#${name}`, sk: 'EXPNAME' }),
  experimentCounter: (): ItemKey => ({ pk: 'COUNTER#EXPERIMENT', sk: 'COUNTER' }),
} as const;
