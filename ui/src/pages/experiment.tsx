/** One experiment: its header (id, artifact location, tags, description), the runs table, its logged models. */
import { ErrorBox, Link, Loading, PageHeader, Tabs } from '../components/common.js';
import { api } from '../lib/api.js';
import { formatTime } from '../lib/format.js';
import { useLoad } from '../lib/hooks.js';
import type { ExperimentTab } from '../lib/route.js';
import { LoggedModelsTab } from '../registry/logged-models.js';
import { RunsTable } from '../runs/runs-table.js';
import { TracesTab } from '../traces/traces-tab.js';
import '../runs/runs.css';

const NOTE_TAG = 'mlflow.note.content';

export function ExperimentPage(props: { experimentId: string; tab: ExperimentTab; filter?: string }) {
  const { experimentId, tab } = props;
  const loaded = useLoad(() => api.getExperiment(experimentId), [experimentId]);
  const experiment = loaded.data?.experiment;
  const tags = (experiment?.tags ?? []).filter((tag) => !tag.key.startsWith('mlflow.'));
  const note = experiment?.tags?.find((tag) => tag.key === NOTE_TAG)?.value;

  return (
    <>
      <PageHeader
        crumbs={<Link to={{ page: 'experiments' }}>Experiments</Link>}
        title={experiment ? experiment.name : `Experiment ${experimentId}`}
      />
      {loaded.error && <ErrorBox error={loaded.error} onRetry={loaded.reload} />}
      {!experiment && loaded.loading && <Loading label="Loading experiment…" />}
      {experiment && (
        <dl class="experiment-meta">
          <div>
            <dt>ID</dt>
            <dd class="mono">{experiment.experiment_id}</dd>
          </div>
          <div>
            <dt>Artifact location</dt>
            <dd class="mono">{experiment.artifact_location}</dd>
          </div>
          {experiment.creation_time !== undefined && (
            <div>
              <dt>Created</dt>
              <dd>{formatTime(experiment.creation_time)}</dd>
            </div>
          )}
          {experiment.lifecycle_stage === 'deleted' && (
            <div>
              <dt>State</dt>
              <dd>
                <span class="badge">deleted</span>
              </dd>
            </div>
          )}
          {tags.length > 0 && (
            <div>
              <dt>Tags</dt>
              <dd>
                <ul class="tag-list">
                  {tags.map((tag) => (
                    <li key={tag.key}>
                      <span class="tag-key">{tag.key}</span>
                      {tag.value !== '' && <span class="tag-value">{tag.value}</span>}
                    </li>
                  ))}
                </ul>
              </dd>
            </div>
          )}
        </dl>
      )}
      {note && (
        <section class="description" aria-label="Description">
          <p>{note}</p>
        </section>
      )}
      {(experiment || !loaded.error) && (
        <>
          <Tabs
            tabs={[
              { id: 'runs', label: 'Runs', to: { page: 'experiment', experimentId, tab: 'runs' } },
              {
                id: 'models',
                label: 'Logged models',
                to: { page: 'experiment', experimentId, tab: 'models' },
              },
              { id: 'traces', label: 'Traces', to: { page: 'experiment', experimentId, tab: 'traces' } },
            ]}
            active={tab}
          />
          {tab === 'runs' ? (
            <RunsTable experimentId={experimentId} />
          ) : tab === 'traces' ? (
            <TracesTab experimentId={experimentId} filter={props.filter} />
          ) : (
            <LoggedModelsTab experimentId={experimentId} />
          )}
        </>
      )}
    </>
  );
}
