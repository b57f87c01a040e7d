/**
 * `cairn migrate`: brings data stored by earlier builds up to the current layout. Today: the run order
 * keys that let a runs search read one page instead of every run, then the value entries that let a
 * filtered or metric-ordered search read a key range (store/runs/migrate-index.ts).
 */
import { parseArgs } from 'node:util';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import {
  migrateRunIndex,
  migrateRunSummaries,
  migrateValueIndex,
} from '../../shared/store/runs/migrate-index.js';
import { reportFailure, TARGET_OPTIONS, withTarget } from '../target.js';
import { UsageError, usage } from '../usage.js';

export async function migrate(args: string[]): Promise<number> {
  try {
    return await migrateCommand(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`cairn: ${error.message}\n`);
      return usage(2, 'migrate');
    }
    return reportFailure(error);
  }
}

async function migrateCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_OPTIONS,
      'dry-run': { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return usage(0);
  // With --stack this runs with the operator's own AWS credentials (the usual chain): it needs
  // cloudformation:DescribeStacks, and dynamodb:Query, GetItem, BatchGetItem, UpdateItem, PutItem and BatchWriteItem on the table.
  return withTarget(values, async (store) => {
    const doc = createDocumentClient(store.client);
    const report = await migrateRunIndex(doc, store.tableName, {
      dryRun: values['dry-run'],
      all: values.all,
      progress: (experimentId, runs) =>
        console.log(`experiment ${experimentId}: ${runs} runs ${values['dry-run'] ? 'to key' : 'keyed'}`),
    });
    // After the order keys: a dry run reports both steps as they stand, each on its own.
    const valueReport = await migrateValueIndex(doc, store.tableName, {
      dryRun: values['dry-run'],
      all: values.all,
      progress: (experimentId, runs) =>
        console.log(
          `experiment ${experimentId}: ${runs} runs ${values['dry-run'] ? 'to lay out' : 'laid out'} for value search`,
        ),
    });
    if (valueReport.experiments.length > 0) {
      console.log(
        `${valueReport.dryRun ? 'Would lay out' : 'Laid out'} ${valueReport.runs} runs in ${valueReport.experiments.length} experiments for value search in ${store.where}.`,
      );
    }
    const summaryReport = await migrateRunSummaries(doc, store.tableName, {
      dryRun: values['dry-run'],
      all: values.all,
      progress: (experimentId, runs) =>
        console.log(
          `experiment ${experimentId}: ${runs} runs ${values['dry-run'] ? 'to summarize' : 'summarized'} for filtered search`,
        ),
    });
    if (summaryReport.experiments.length > 0) {
      console.log(
        `${summaryReport.dryRun ? 'Would summarize' : 'Summarized'} ${summaryReport.runs} runs in ${summaryReport.experiments.length} experiments for filtered search in ${store.where}.`,
      );
    }
    if (
      report.experiments.length === 0 &&
      valueReport.experiments.length === 0 &&
      summaryReport.experiments.length === 0
    ) {
      console.log(
        `Nothing to migrate in ${store.where}: every experiment's runs are keyed for paged searches and laid out for value search and summarized${values.all ? ' (all checked)' : ''}.`,
      );
      return 0;
    }
    if (report.experiments.length === 0) {
      if (values['dry-run']) console.log('Dry run: nothing was changed.');
      return 0;
    }
    console.log(
      `${report.dryRun ? 'Would key' : 'Keyed'} ${report.runs} runs in ${report.experiments.length} experiments in ${store.where}; ${report.dryRun ? 'they would then be' : 'they are now'} searched a page at a time.`,
    );
    if (report.dryRun) console.log('Dry run: nothing was changed.');
    return 0;
  });
}
