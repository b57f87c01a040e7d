/**
 * Home: the experiments list. Search by name (case-insensitive, on the server), Active/Deleted/All,
 * "Load more" by next_page_token; write tokens create and rename, tokens whose scope gives MANAGE (admin)
 * delete and restore here (others do it on the experiment's own page, where their level on it is known).
 * Each page's run counts and last activity come from one run-stats call for that page's experiments
 * (counters, not run listings).
 */
import { useEffect, useState } from 'preact/hooks';
import { ErrorBox, Link, Loading, navigate, PageHeader } from '../components/common.js';
import { api, type Experiment, type ExperimentRunStats } from '../lib/api.js';
import { formatTime, nameFilter } from '../lib/format.js';
import { defaultStanding, experimentActions } from '../lib/permissions.js';
import { useSession } from '../lib/session.js';
import { ConfirmDialog, NameDialog } from '../runs/dialog.js';
import { usePaged } from '../runs/use-paged.js';
import { type ViewType, ViewTypeSelect } from '../runs/view-type.js';
import '../runs/runs.css';

const PAGE_SIZE = 100;

function tagSummary(experiment: Experiment): string {
  const tags = (experiment.tags ?? []).filter((tag) => !tag.key.startsWith('mlflow.'));
  const shown = tags.slice(0, 3).map((tag) => `${tag.key}: ${tag.value}`);
  if (tags.length > 3) shown.push(`+${tags.length - 3} more`);
  return shown.join(', ');
}

/** A listed experiment with its run counters; `stats` is absent when they could not be read. */
type Row = Experiment & { stats?: ExperimentRunStats };

/**
 * The page's experiments with their counters. A failed counters call leaves the columns blank rather than
 * hiding the list: the list is what the page is for.
 */
async function withRunStats(experiments: Experiment[], signal: AbortSignal): Promise<Row[]> {
  if (experiments.length === 0) return [];
  const answer = await api
    .experimentRunStats(
      experiments.map((experiment) => experiment.experiment_id),
      signal,
    )
    .catch(() => undefined);
  const byId = new Map((answer?.stats ?? []).map((stats) => [stats.experiment_id, stats]));
  return experiments.map((experiment) => {
    const stats = byId.get(experiment.experiment_id);
    return stats ? { ...experiment, stats } : experiment;
  });
}

function RunCount({ stats }: { stats: ExperimentRunStats | undefined }) {
  if (stats?.active_runs === undefined) {
    // Not counted yet: an experiment from before counters (the operator runs `cairn migrate`).
    return (
      <span class="muted" title={stats ? 'Not counted yet: run `cairn migrate`' : undefined}>
        —
      </span>
    );
  }
  const deleted = stats.deleted_runs ?? 0;
  return (
    <>
      {stats.active_runs}
      {deleted > 0 && <span class="muted small"> ({deleted} deleted)</span>}
    </>
  );
}

type Dialog =
  | { kind: 'create' }
  | { kind: 'rename'; experiment: Experiment }
  | { kind: 'delete'; experiment: Experiment }
  | { kind: 'restore'; experiment: Experiment };

export function ExperimentsPage() {
  const session = useSession();
  const can = experimentActions(defaultStanding(session));
  const rowActions = can.rename || can.deleteOrRestore;
  const [text, setText] = useState('');
  const [search, setSearch] = useState('');
  const [view, setView] = useState<ViewType>('ACTIVE_ONLY');
  const [dialog, setDialog] = useState<Dialog>();

  // Searching as one types, but one request per pause rather than per key.
  useEffect(() => {
    const timer = setTimeout(() => setSearch(text), 250);
    return () => clearTimeout(timer);
  }, [text]);

  const list = usePaged<Row>(
    async (token, signal) => {
      const answer = await api.searchExperiments({
        filter: nameFilter(search),
        max_results: PAGE_SIZE,
        page_token: token,
        view_type: view,
        order_by: ['last_update_time DESC'],
      });
      return {
        items: await withRunStats(answer.experiments ?? [], signal),
        next: answer.next_page_token,
      };
    },
    [search, view],
  );

  const closeAndReload = () => {
    setDialog(undefined);
    list.reload();
  };

  return (
    <section aria-labelledby="experiments-title">
      <PageHeader
        title={<span id="experiments-title">Experiments</span>}
        actions={
          session.canWrite && (
            <button type="button" class="primary" onClick={() => setDialog({ kind: 'create' })}>
              New experiment
            </button>
          )
        }
      />
      <div class="toolbar">
        <label class="search">
          <span class="visually-hidden">Search experiments by name</span>
          <input
            type="search"
            class="search-input"
            placeholder="Search by name"
            aria-label="Search experiments by name"
            value={text}
            onInput={(event) => setText(event.currentTarget.value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter') setSearch(text);
            }}
          />
        </label>
        <ViewTypeSelect value={view} onChange={setView} label="Show experiments" />
        {list.loading && !list.initial && <span class="muted small">Updating…</span>}
      </div>

      {list.error && <ErrorBox error={list.error} onRetry={list.queryError ? list.reload : list.loadMore} />}
      {list.initial && list.loading ? (
        <Loading label="Loading experiments…" />
      ) : list.items.length === 0 && !list.error ? (
        <p class="muted">
          {search.trim() ? `No experiment matches "${search.trim()}".` : 'No experiments here yet.'}
        </p>
      ) : (
        list.items.length > 0 && (
          <table class="grid experiments-table" aria-busy={list.loading}>
            <caption class="visually-hidden">Experiments</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">ID</th>
                <th scope="col">Runs</th>
                <th scope="col">Last activity</th>
                <th scope="col">Last update</th>
                <th scope="col">Created</th>
                <th scope="col">Tags</th>
                {rowActions && (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {list.items.map((experiment) => (
                <tr
                  key={experiment.experiment_id}
                  class={experiment.lifecycle_stage === 'deleted' ? 'deleted' : ''}
                >
                  <td>
                    <Link to={{ page: 'experiment', experimentId: experiment.experiment_id, tab: 'runs' }}>
                      {experiment.name}
                    </Link>
                    {experiment.lifecycle_stage === 'deleted' && <span class="badge">deleted</span>}
                  </td>
                  <td class="mono">{experiment.experiment_id}</td>
                  <td class="num">
                    <RunCount stats={experiment.stats} />
                  </td>
                  <td>
                    {experiment.stats?.last_activity ? formatTime(experiment.stats.last_activity) : '—'}
                  </td>
                  <td>{formatTime(experiment.last_update_time)}</td>
                  <td>{formatTime(experiment.creation_time)}</td>
                  <td class="muted small">{tagSummary(experiment)}</td>
                  {rowActions && (
                    <td>
                      <div class="row-actions">
                        {experiment.lifecycle_stage === 'deleted' ? (
                          can.deleteOrRestore && (
                            <button type="button" onClick={() => setDialog({ kind: 'restore', experiment })}>
                              Restore<span class="visually-hidden"> {experiment.name}</span>
                            </button>
                          )
                        ) : (
                          <>
                            {can.rename && (
                              <button type="button" onClick={() => setDialog({ kind: 'rename', experiment })}>
                                Rename<span class="visually-hidden"> {experiment.name}</span>
                              </button>
                            )}
                            {can.deleteOrRestore && (
                              <button
                                type="button"
                                class="danger"
                                onClick={() => setDialog({ kind: 'delete', experiment })}
                              >
                                Delete<span class="visually-hidden"> {experiment.name}</span>
                              </button>
                            )}
                          </>
                        )}
                      </div>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )
      )}
      {list.next && (
        <p>
          <button type="button" onClick={list.loadMore} disabled={list.loading}>
            {list.loading ? 'Loading…' : 'Load more'}
          </button>
        </p>
      )}

      {dialog?.kind === 'create' && (
        <NameDialog
          title="New experiment"
          label="Name"
          submitLabel="Create"
          onClose={() => setDialog(undefined)}
          onSubmit={async (name) => {
            const { experiment_id } = await api.createExperiment(name);
            navigate({ page: 'experiment', experimentId: experiment_id, tab: 'runs' });
          }}
        />
      )}
      {dialog?.kind === 'rename' && (
        <NameDialog
          title={`Rename ${dialog.experiment.name}`}
          label="New name"
          initial={dialog.experiment.name}
          submitLabel="Rename"
          action="rename this experiment"
          onClose={closeAndReload}
          onSubmit={(name) => api.renameExperiment(dialog.experiment.experiment_id, name).then(() => {})}
        />
      )}
      {dialog?.kind === 'delete' && (
        <ConfirmDialog
          title="Delete experiment"
          message={
            <p>
              Delete <strong>{dialog.experiment.name}</strong> and hide its runs? It can be restored from the
              Deleted view.
            </p>
          }
          confirmLabel="Delete"
          danger
          onClose={closeAndReload}
          onConfirm={() => api.deleteExperiment(dialog.experiment.experiment_id).then(() => {})}
        />
      )}
      {dialog?.kind === 'restore' && (
        <ConfirmDialog
          title="Restore experiment"
          message={
            <p>
              Restore <strong>{dialog.experiment.name}</strong>?
            </p>
          }
          confirmLabel="Restore"
          onClose={closeAndReload}
          onConfirm={() => api.restoreExperiment(dialog.experiment.experiment_id).then(() => {})}
        />
      )}
    </section>
  );
}
