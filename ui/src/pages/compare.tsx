/**
 * Compare runs (`#/compare-runs?runs=[…]&experiments=[…]`, MLflow's URL): overlaid charts of the chosen
 * metric keys with one set of chart settings, then params and metrics side by side with differences
 * highlighted. Up to 100 runs; a longer list gets a clear refusal instead of a frozen tab.
 */
import '../compare/compare.css';
import type { ComponentChildren } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { MetricChart } from '../charts/metric-chart.js';
import { type ChartSettings, DEFAULT_SETTINGS } from '../charts/plot-data.js';
import { ChartControls, SETTINGS_KEY } from '../charts/settings.js';
import { loadCompareRuns } from '../compare/api-compare.js';
import {
  buildDiff,
  type CompareRun,
  defaultMetricKeys,
  MAX_COMPARE_RUNS,
  metricKeyChoices,
} from '../compare/diff.js';
import { DiffTable } from '../compare/diff-table.js';
import { MetricKeyChooser } from '../compare/key-chooser.js';
import { ErrorBox, Link, Loading, PageHeader } from '../components/common.js';
import { api, type Run } from '../lib/api.js';
import { useLoad, useStored } from '../lib/hooks.js';
import { formatHash } from '../lib/route.js';

export function runLabel(run: Run): string {
  return run.info.run_name || run.info.run_id.slice(0, 8);
}

function toCompareRun(run: Run): CompareRun {
  return {
    runId: run.info.run_id,
    name: runLabel(run),
    params: run.data.params ?? [],
    metrics: run.data.metrics ?? [],
  };
}

/** The experiment's name in the crumbs (its id until the name arrives, or if it cannot be read). */
function ExperimentCrumb(props: { experimentId: string }) {
  const loaded = useLoad(() => api.getExperiment(props.experimentId), [props.experimentId]);
  return (
    <Link to={{ page: 'experiment', experimentId: props.experimentId, tab: 'runs' }}>
      {loaded.data?.experiment.name ?? `Experiment ${props.experimentId}`}
    </Link>
  );
}

export function ComparePage(props: { experimentIds: string[]; runIds: string[]; metricKeys: string[] }) {
  const runIds = useMemo(() => [...new Set(props.runIds)], [props.runIds.join(',')]);
  const title = `Compare ${runIds.length} run${runIds.length === 1 ? '' : 's'}`;
  const crumbs = (
    <>
      <Link to={{ page: 'experiments' }}>Experiments</Link>
      {props.experimentIds.length === 1 && <ExperimentCrumb experimentId={props.experimentIds[0]!} />}
    </>
  );
  if (runIds.length === 0) {
    return (
      <>
        <PageHeader title="Compare runs" crumbs={crumbs} />
        <p>No runs to compare. Select runs in an experiment's runs table, then choose “Compare”.</p>
      </>
    );
  }
  if (runIds.length > MAX_COMPARE_RUNS) {
    return (
      <>
        <PageHeader title={title} crumbs={crumbs} />
        <div class="error-box" role="alert">
          <strong>Too many runs to compare</strong>
          <p>
            This link names {runIds.length} runs; the compare page shows at most {MAX_COMPARE_RUNS}. Select
            fewer runs and compare again.
          </p>
        </div>
      </>
    );
  }
  return <CompareLoaded {...props} runIds={runIds} title={title} crumbs={crumbs} />;
}

function CompareLoaded(props: {
  experimentIds: string[];
  runIds: string[];
  metricKeys: string[];
  title: string;
  crumbs: ComponentChildren;
}) {
  const loaded = useLoad(
    (signal) => loadCompareRuns(props.experimentIds, props.runIds, signal),
    [props.experimentIds.join(','), props.runIds.join(',')],
  );
  return (
    <>
      <PageHeader title={props.title} crumbs={props.crumbs} />
      {loaded.error && <ErrorBox error={loaded.error} onRetry={loaded.reload} />}
      {!loaded.data && !loaded.error && <Loading label="Loading runs…" />}
      {loaded.data && (
        <CompareBody
          runs={loaded.data.runs}
          missing={loaded.data.missing}
          experimentIds={props.experimentIds}
          urlMetricKeys={props.metricKeys}
        />
      )}
    </>
  );
}

function CompareBody(props: {
  runs: Run[];
  missing: string[];
  experimentIds: string[];
  urlMetricKeys: string[];
}) {
  const { runs } = props;
  const compareRuns = useMemo(() => runs.map(toCompareRun), [runs]);
  const choices = useMemo(() => metricKeyChoices(compareRuns), [compareRuns]);
  const [chosen, setChosenState] = useState<string[]>(() => {
    const fromUrl = props.urlMetricKeys.filter((key) => choices.all.includes(key));
    return fromUrl.length > 0 ? fromUrl : defaultMetricKeys(compareRuns);
  });
  const [settings, setSettings] = useStored<ChartSettings>(SETTINGS_KEY, DEFAULT_SETTINGS);
  const [onlyDiffering, setOnlyDiffering] = useStored('cairn.compare.only-differing', false);
  const diff = useMemo(() => buildDiff(compareRuns), [compareRuns]);
  const chartRuns = useMemo(
    () => compareRuns.map((run) => ({ runId: run.runId, label: run.name })),
    [compareRuns],
  );

  // The chosen keys go into the URL so the view can be shared; replaceState keeps Back meaningful and does
  // not fire hashchange (the page keeps its state instead of reloading).
  const setChosen = (keys: string[]) => {
    setChosenState(keys);
    const hash = formatHash({
      page: 'compare',
      experimentIds: props.experimentIds,
      runIds: runs.map((run) => run.info.run_id),
      metricKeys: keys,
    });
    window.history.replaceState(null, '', hash);
  };

  return (
    <>
      {props.missing.length > 0 && (
        <p class="warn-text" role="status">
          {props.missing.length} run{props.missing.length === 1 ? ' was' : 's were'} not found:{' '}
          <span class="mono">{props.missing.join(', ')}</span>
        </p>
      )}
      <section aria-labelledby="compare-charts-title" class="compare-section">
        <h2 id="compare-charts-title">Charts</h2>
        <div class="compare-toolbar">
          <MetricKeyChooser all={choices.all} common={choices.common} chosen={chosen} onChange={setChosen} />
          <ChartControls settings={settings} onChange={setSettings} />
        </div>
        {choices.all.length === 0 && <p class="muted">These runs have no metrics.</p>}
        <div class="compare-charts">
          {chosen.map((key) => (
            <MetricChart key={key} metricKey={key} runs={chartRuns} settings={settings} />
          ))}
        </div>
      </section>
      <section aria-labelledby="compare-table-title" class="compare-section">
        <div class="compare-table-head">
          <h2 id="compare-table-title">Parameters and metrics</h2>
          <label>
            <input
              type="checkbox"
              checked={onlyDiffering}
              onChange={(event) => setOnlyDiffering(event.currentTarget.checked)}
            />{' '}
            Only differing
          </label>
        </div>
        <DiffTable runs={runs} diff={diff} onlyDiffering={onlyDiffering} />
      </section>
    </>
  );
}
