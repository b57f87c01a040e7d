/**
 * One experiment: its header (id, artifact location, tags, description), the runs table, its logged models.
 * Under `--auth` the caller's level on it is shown as a badge and decides which actions are offered
 * (lib/permissions.ts); MANAGE holders also get its Permissions section.
 */
import { useState } from 'preact/hooks';
import { ErrorBox, Link, Loading, PageHeader, Tabs } from '../components/common.js';
import { PermissionsPanel } from '../components/permissions-panel.js';
import { api, type Experiment } from '../lib/api.js';
import { formatTime } from '../lib/format.js';
import { useLoad } from '../lib/hooks.js';
import { experimentActions } from '../lib/permissions.js';
import type { ExperimentTab } from '../lib/route.js';
import { useSession } from '../lib/session.js';
import { LevelBadge, useStanding } from '../lib/standing.js';
import { LoggedModelsTab } from '../registry/logged-models.js';
import { DescriptionEditor, TagsEditor } from '../registry/parts.js';
import { ConfirmDialog, NameDialog } from '../runs/dialog.js';
import { RunsTable } from '../runs/runs-table.js';
import { TracesTab } from '../traces/traces-tab.js';
import '../runs/runs.css';

const NOTE_TAG = 'mlflow.note.content';

type Dialog = 'rename' | 'delete' | 'restore';

function ExperimentDialog(props: { dialog: Dialog; experiment: Experiment; onClose: () => void }) {
  const { experiment } = props;
  if (props.dialog === 'rename') {
    return (
      <NameDialog
        title={`Rename ${experiment.name}`}
        label="New name"
        initial={experiment.name}
        submitLabel="Rename"
        onClose={props.onClose}
        onSubmit={(name) => api.renameExperiment(experiment.experiment_id, name).then(() => {})}
      />
    );
  }
  const deleting = props.dialog === 'delete';
  return (
    <ConfirmDialog
      title={deleting ? 'Delete experiment' : 'Restore experiment'}
      message={
        <p>
          {deleting ? 'Delete ' : 'Restore '}
          <strong>{experiment.name}</strong>
          {deleting ? ' and hide its runs? It can be restored from the Deleted view.' : '?'}
        </p>
      }
      confirmLabel={deleting ? 'Delete' : 'Restore'}
      danger={deleting}
      onClose={props.onClose}
      onConfirm={() =>
        (deleting
          ? api.deleteExperiment(experiment.experiment_id)
          : api.restoreExperiment(experiment.experiment_id)
        ).then(() => {})
      }
    />
  );
}

export function ExperimentPage(props: { experimentId: string; tab: ExperimentTab; filter?: string }) {
  const { experimentId, tab } = props;
  const loaded = useLoad(() => api.getExperiment(experimentId), [experimentId]);
  const standing = useStanding('experiment', experimentId);
  const session = useSession();
  const can = experimentActions(standing);
  const [dialog, setDialog] = useState<Dialog>();
  const experiment = loaded.data?.experiment;
  const tags = (experiment?.tags ?? []).filter((tag) => !tag.key.startsWith('mlflow.'));
  const note = experiment?.tags?.find((tag) => tag.key === NOTE_TAG)?.value;
  const deleted = experiment?.lifecycle_stage === 'deleted';

  return (
    <>
      <PageHeader
        crumbs={<Link to={{ page: 'experiments' }}>Experiments</Link>}
        title={experiment ? experiment.name : `Experiment ${experimentId}`}
        actions={
          experiment && (
            <>
              <LevelBadge standing={standing} kind="experiment" />
              {can.rename && !deleted && (
                <button type="button" onClick={() => setDialog('rename')}>
                  Rename<span class="visually-hidden"> experiment</span>
                </button>
              )}
              {can.deleteOrRestore && !deleted && (
                <button type="button" class="danger" onClick={() => setDialog('delete')}>
                  Delete<span class="visually-hidden"> experiment</span>
                </button>
              )}
              {can.deleteOrRestore && deleted && (
                <button type="button" onClick={() => setDialog('restore')}>
                  Restore<span class="visually-hidden"> experiment</span>
                </button>
              )}
            </>
          )
        }
      />
      {dialog && experiment && (
        <ExperimentDialog
          dialog={dialog}
          experiment={experiment}
          onClose={() => {
            setDialog(undefined);
            loaded.reload();
          }}
        />
      )}
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
      {experiment && can.editTags ? (
        <section class="experiment-edit" aria-label="Description">
          <DescriptionEditor
            text={note}
            canWrite
            onSave={async (text) => {
              await api.setExperimentTag(experimentId, NOTE_TAG, text);
              loaded.reload();
            }}
          />
          <details class="experiment-tags-editor">
            <summary>Edit tags</summary>
            <TagsEditor
              tags={tags}
              canWrite
              onSet={async (key, value) => {
                await api.setExperimentTag(experimentId, key, value);
                loaded.reload();
              }}
              onDelete={async (key) => {
                await api.deleteExperimentTag(experimentId, key);
                loaded.reload();
              }}
            />
          </details>
        </section>
      ) : (
        note && (
          <section class="description" aria-label="Description">
            <p>{note}</p>
          </section>
        )
      )}
      {experiment && standing.auth && can.managePermissions && (
        <details class="panel experiment-permissions">
          <summary>Permissions</summary>
          <PermissionsPanel
            kind="experiment"
            resource={experimentId}
            onChanged={(user) => {
              if (user === session.name) standing.reload();
            }}
          />
        </details>
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
            <RunsTable experimentId={experimentId} canChangeRuns={can.deleteOrRestoreRuns} />
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
