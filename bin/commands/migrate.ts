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
    // After the order keys: a dry run reports every step as it stands, each on its own.
    const later = async (
      migrate: typeof migrateValueIndex,
      doing: string,
      did: string,
      would: string,
      what: string,
    ) => {
      const stepReport = await migrate(doc, store.tableName, {
        dryRun: values['dry-run'],
        all: values.all,
        progress: (experimentId, runs) =>
          console.log(`experiment ${experimentId}: ${runs} runs ${values['dry-run'] ? doing : did} ${what}`),
      });
      if (stepReport.experiments.length > 0) {
        console.log(
          `${stepReport.dryRun ? would : did.replace(/^./, (first) => first.toUpperCase())} ${stepReport.runs} runs in ${stepReport.experiments.length} experiments ${what} in ${store.where}.`,
        );
      }
      return stepReport;
    };
    const valueReport = await later(
      migrateValueIndex,
      'to lay out',
      'laid out',
      'Would lay out',
      'for value search',
    );
    const summaryReport = await later(
      migrateRunSummaries,
      'to summarize',
      'summarized',
      'Would summarize',
      'for filtered search',
    );
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
