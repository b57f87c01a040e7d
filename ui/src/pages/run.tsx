/**
 * One run: a header (name, status, crumbs, id, delete/restore), and three tabs — the overview, a chart per
 * metric key, and the artifacts browser. `#/experiments/<id>/runs/<run_id>[/metrics|/artifacts[/<path>]]`.
 */
import { useState } from 'preact/hooks';
import { ArtifactsTab } from '../artifacts/artifacts-tab.js';
import { ErrorBox, Link, Loading, PageHeader, Tabs } from '../components/common.js';
import { api, type Run } from '../lib/api.js';
import { useLoad } from '../lib/hooks.js';
import { experimentActions } from '../lib/permissions.js';
import type { RunTab } from '../lib/route.js';
import { LevelBadge, useStanding } from '../lib/standing.js';
import { MetricsTab } from '../run/metrics-tab.js';
import { Overview } from '../run/overview.js';
import { metricKeys, runLabel } from '../run/run-model.js';
import '../run/run.css';

function CopyButton(props: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="link-button small"
      aria-label={props.label}
      onClick={() => {
        navigator.clipboard?.writeText(props.text).then(
          () => {
            setCopied(true);
            setTimeout(() => setCopied(false), 1500);
          },
          () => setCopied(false),
        );
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

function LifecycleActions(props: { run: Run; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const deleted = props.run.info.lifecycle_stage === 'deleted';
  const act = async () => {
    if (!deleted && !window.confirm(`Delete run "${runLabel(props.run)}"? It can be restored later.`)) return;
    setBusy(true);
    setError(undefined);
    try {
      if (deleted) await api.restoreRun(props.run.info.run_id);
      else await api.deleteRun(props.run.info.run_id);
      props.onChanged();
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class={deleted ? '' : 'danger'} disabled={busy} onClick={() => void act()}>
        {deleted ? 'Restore' : 'Delete'}
      </button>
      {error && <ErrorBox error={error} />}
    </>
  );
}

export function RunPage(props: { experimentId: string; runId: string; tab: RunTab; artifactPath?: string }) {
  const loaded = useLoad(async () => (await api.getRun(props.runId)).run, [props.runId]);
  const run = loaded.data;
  // The run's own experiment wins over the one in the link (a hand-edited link may name another).
  const experimentId = run?.info.experiment_id ?? props.experimentId;
  const experiment = useLoad(async () => (await api.getExperiment(experimentId)).experiment, [experimentId]);
  // Deleting or restoring a run needs EDIT on its experiment: asked once the run has said which one.
  const standing = useStanding('experiment', run?.info.experiment_id);
  const canChangeRun = experimentActions(standing).deleteOrRestoreRuns;

  if (loaded.error && !run) return <ErrorBox error={loaded.error} onRetry={loaded.reload} />;
  if (!run) return <Loading label="Loading run…" />;

  const base = { page: 'run', experimentId, runId: props.runId } as const;
  const keys = metricKeys(run);
  const deleted = run.info.lifecycle_stage === 'deleted';
  return (
    <div class="run-page">
      <PageHeader
        crumbs={
          <>
            <Link to={{ page: 'experiments' }}>Experiments</Link>
            <Link to={{ page: 'experiment', experimentId, tab: 'runs' }}>
              {experiment.data?.name ?? `Experiment ${experimentId}`}
            </Link>
            <span aria-current="page">Run</span>
          </>
        }
        title={
          <>
            {runLabel(run)} <span class={`status status-${run.info.status}`}>{run.info.status}</span>
            {deleted && <span class="status run-deleted">deleted</span>}
          </>
        }
        actions={
          <>
            <LevelBadge standing={standing} kind="experiment" />
            {canChangeRun && <LifecycleActions run={run} onChanged={loaded.reload} />}
          </>
        }
      />
      <p class="run-id muted small">
        Run ID <code>{run.info.run_id}</code> <CopyButton text={run.info.run_id} label="Copy run ID" />
      </p>
      <Tabs
        active={props.tab}
        tabs={[
          { id: 'overview', label: 'Overview', to: { ...base, tab: 'overview' } },
          { id: 'metrics', label: `Metrics (${keys.length})`, to: { ...base, tab: 'metrics' } },
          { id: 'artifacts', label: 'Artifacts', to: { ...base, tab: 'artifacts' } },
        ]}
      />
      {props.tab === 'overview' && <Overview run={run} experimentId={experimentId} />}
      {props.tab === 'metrics' && <MetricsTab run={run} keys={keys} />}
      {props.tab === 'artifacts' && (
        <ArtifactsTab run={run} experimentId={experimentId} selected={props.artifactPath} />
      )}
    </div>
  );
}
