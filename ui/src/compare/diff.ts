/**
 * The compare table's model: rows are param or metric keys, columns are runs. A row "differs" when its
 * values are not all the same (a run missing the key counts as different); metric rows mark the runs with
 * the lowest and highest value. Linear in runs × keys, so 100 runs × 50 params is instant.
 * Pure: unit-tested in test/unit/ui/compare-diff.test.ts.
 */

export interface CompareRun {
  runId: string;
  name: string;
  params: readonly { key: string; value: string }[];
  /** Latest values, as runs/search returns them. */
  metrics: readonly { key: string; value: number | string }[];
}

export interface DiffRow {
  key: string;
  /** One per run, in run order; undefined where the run lacks the key. */
  values: (string | undefined)[];
  differs: boolean;
  /** Metric rows: indices of the runs holding the minimum / maximum value (ties all marked). */
  minRuns: number[];
  maxRuns: number[];
}

export interface DiffModel {
  params: DiffRow[];
  metrics: DiffRow[];
}

function numeric(value: number | string): number {
  if (typeof value === 'number') return value;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return value.trim() === '' ? Number.NaN : Number(value);
}

function rowsOf(
  runs: readonly CompareRun[],
  pick: (run: CompareRun) => readonly { key: string; value: number | string }[],
  markExtremes: boolean,
): DiffRow[] {
  const table = new Map<string, (number | string | undefined)[]>();
  runs.forEach((run, column) => {
    for (const { key, value } of pick(run)) {
      let row = table.get(key);
      if (!row) {
        row = new Array(runs.length).fill(undefined);
        table.set(key, row);
      }
      row[column] = value;
    }
  });
  const keys = [...table.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return keys.map((key) => {
    const raw = table.get(key)!;
    const values = raw.map((value) => (value === undefined ? undefined : String(value)));
    const first = values[0];
    const differs = values.some((value) => value !== first);
    const minRuns: number[] = [];
    const maxRuns: number[] = [];
    if (markExtremes && differs) {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      const numbers = raw.map((value) => (value === undefined ? Number.NaN : numeric(value)));
      for (const n of numbers) {
        if (Number.isNaN(n)) continue;
        if (n < lo) lo = n;
        if (n > hi) hi = n;
      }
      // Only worth marking when at least two distinct numbers are compared.
      if (lo < hi) {
        numbers.forEach((n, i) => {
          if (n === lo) minRuns.push(i);
          if (n === hi) maxRuns.push(i);
        });
      }
    }
    return { key, values, differs, minRuns, maxRuns };
  });
}

export function buildDiff(runs: readonly CompareRun[]): DiffModel {
  return {
    params: rowsOf(runs, (run) => run.params, false),
    metrics: rowsOf(runs, (run) => run.metrics, true),
  };
}

export function onlyDiffering(rows: readonly DiffRow[], only: boolean): readonly DiffRow[] {
  return only ? rows.filter((row) => row.differs) : rows;
}

/** The metric keys to offer: all (sorted) and those every run has, which are the default choice. */
export function metricKeyChoices(runs: readonly CompareRun[]): { all: string[]; common: string[] } {
  const counts = new Map<string, number>();
  for (const run of runs) {
    for (const key of new Set(run.metrics.map((metric) => metric.key)))
      counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const all = [...counts.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return { all, common: all.filter((key) => counts.get(key) === runs.length) };
}

/** Keys charted when the URL names none: the first six common to all runs, else the first six of any. */
export function defaultMetricKeys(runs: readonly CompareRun[], limit = 6): string[] {
  const { all, common } = metricKeyChoices(runs);
  return (common.length > 0 ? common : all).slice(0, limit);
}

/** MLflow's search grammar for "one of these run ids": quotes inside an id are escaped. */
export function runIdFilter(runIds: readonly string[]): string {
  return `attributes.run_id IN (${runIds.map((id) => `'${id.replace(/'/g, "''")}'`).join(', ')})`;
}

/** The largest comparison the page draws; past it a clear message instead of a frozen tab. */
export const MAX_COMPARE_RUNS = 100;
