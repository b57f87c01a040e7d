/**
 * One model version: stage (transition with EDIT on the model; a promotion policy's refusal shown as the
 * server words it), aliases, tags, description, source, and the version's own audit entries.
 */
import { useState } from 'preact/hooks';
import { ErrorBox, Link, Loading, PageHeader } from '../components/common.js';
import { api, type ModelVersion } from '../lib/api.js';
import { formatTime } from '../lib/format.js';
import { useLoad } from '../lib/hooks.js';
import { modelActions } from '../lib/permissions.js';
import { LevelBadge, useStanding } from '../lib/standing.js';
import { registryApi } from '../registry/api-registry.js';
import { loggedModelIdOf, STAGES, type Stage, stageOf } from '../registry/logic.js';
import {
  AliasChip,
  DescriptionEditor,
  LoggedModelLink,
  RunLink,
  StageBadge,
  TagsEditor,
  useAction,
} from '../registry/parts.js';
import { AuditSection } from '../registry/promotion.js';

function StageControl(props: { version: ModelVersion; onChange: () => void }) {
  const current = stageOf(props.version);
  const [target, setTarget] = useState<Stage>(current === 'Production' ? 'Archived' : 'Production');
  const [archive, setArchive] = useState(false);
  const action = useAction();
  const canArchive = target === 'Staging' || target === 'Production';
  return (
    <form
      class="row inline-form"
      aria-label="Transition the stage"
      onSubmit={async (event) => {
        event.preventDefault();
        const ok = await action.run(() =>
          registryApi.transitionStage(
            props.version.name,
            props.version.version,
            target,
            canArchive && archive,
          ),
        );
        // A refusal is recorded in the audit trail too: refresh it either way.
        props.onChange();
        if (ok) action.clear();
      }}
    >
      <label>
        Move to stage{' '}
        <select value={target} onChange={(event) => setTarget(event.currentTarget.value as Stage)}>
          {STAGES.filter((stage) => stage !== current).map((stage) => (
            <option key={stage} value={stage}>
              {stage}
            </option>
          ))}
        </select>
      </label>
      {canArchive && (
        <label>
          <input
            type="checkbox"
            checked={archive}
            onChange={(event) => setArchive(event.currentTarget.checked)}
          />{' '}
          Archive other versions in {target}
        </label>
      )}
      <button type="submit" class="primary" disabled={action.busy}>
        Transition
      </button>
      {action.error && (
        <div class="refusal" role="alert">
          <strong>
            {action.error.message.includes('refused by its promotion policy')
              ? 'Refused by policy'
              : 'Not moved'}
          </strong>
          <p>{action.error.message}</p>
        </div>
      )}
    </form>
  );
}

function AliasControl(props: { version: ModelVersion; onChange: () => void }) {
  const [alias, setAlias] = useState('');
  const action = useAction();
  return (
    <form
      class="row inline-form"
      aria-label="Set an alias on this version"
      onSubmit={async (event) => {
        event.preventDefault();
        if (alias.trim() === '') return;
        const ok = await action.run(() =>
          registryApi.setAlias(props.version.name, alias.trim(), props.version.version),
        );
        if (ok) setAlias('');
        props.onChange();
      }}
    >
      <label>
        Alias <input value={alias} onInput={(event) => setAlias(event.currentTarget.value)} />
      </label>
      <button type="submit" disabled={action.busy || alias.trim() === ''}>
        Set alias
      </button>
      {action.error && (
        <div class="refusal" role="alert">
          {action.error.message}
        </div>
      )}
    </form>
  );
}

export function VersionPage(props: { name: string; version: string }) {
  const loaded = useLoad(() => api.getModelVersion(props.name, props.version), [props.name, props.version]);
  // A version has no permissions of its own: MLflow decides on its registered model.
  const standing = useStanding('registered_model', props.name);
  const can = modelActions(standing);
  const [refreshKey, setRefreshKey] = useState(0);
  const removal = useAction();
  const version = loaded.data?.model_version;
  const refresh = () => {
    loaded.reload();
    setRefreshKey((key) => key + 1);
  };
  const crumbs = (
    <>
      <Link to={{ page: 'models' }}>Registered models</Link>
      <Link to={{ page: 'model', name: props.name }}>{props.name}</Link>
    </>
  );
  const title = `${props.name} version ${props.version}`;
  if (loaded.error && !version) {
    return (
      <div class="registry">
        <PageHeader title={title} crumbs={crumbs} />
        <ErrorBox error={loaded.error} onRetry={loaded.reload} />
      </div>
    );
  }
  if (!version) return <Loading />;
  const modelId = loggedModelIdOf(version);
  const aliases = [...(version.aliases ?? [])].sort();
  return (
    <div class="registry">
      <PageHeader
        title={title}
        crumbs={crumbs}
        actions={<LevelBadge standing={standing} kind="registered_model" />}
      />
      <dl class="meta-grid">
        <dt>Stage</dt>
        <dd>
          <StageBadge stage={stageOf(version)} />
        </dd>
        <dt>Aliases</dt>
        <dd>
          <span class="chips">
            {aliases.length === 0 && <span class="muted">none</span>}
            {aliases.map((alias) => (
              <span key={alias} class="chips">
                <AliasChip model={version.name} alias={alias} />
                {can.setAliases && (
                  <button
                    type="button"
                    class="link-button danger"
                    disabled={removal.busy}
                    onClick={async () => {
                      if (!window.confirm(`Remove alias @${alias}?`)) return;
                      if (await removal.run(() => registryApi.deleteAlias(version.name, alias))) refresh();
                    }}
                  >
                    Remove<span class="visually-hidden"> alias {alias}</span>
                  </button>
                )}
              </span>
            ))}
          </span>
        </dd>
        <dt>Status</dt>
        <dd>
          {version.status ?? ''}
          {version.status_message ? ` — ${version.status_message}` : ''}
        </dd>
        <dt>Source</dt>
        <dd class="mono">{version.source}</dd>
        <dt>Source run</dt>
        <dd>{version.run_id ? <RunLink runId={version.run_id} /> : <span class="muted">none</span>}</dd>
        <dt>Logged model</dt>
        <dd>{modelId ? <LoggedModelLink modelId={modelId} /> : <span class="muted">none</span>}</dd>
        <dt>Created</dt>
        <dd>{formatTime(version.creation_timestamp)}</dd>
        <dt>Last updated</dt>
        <dd>{formatTime(version.last_updated_timestamp)}</dd>
        <dt>Registered by</dt>
        <dd>{version.user_id || <span class="muted">unknown</span>}</dd>
      </dl>
      {removal.error && <ErrorBox error={removal.error} />}
      {(can.transition || can.setAliases) && (
        <section class="panel" aria-labelledby="promote-title">
          <h2 id="promote-title">Promote</h2>
          {can.transition && (
            <StageControl key={`${version.current_stage}`} version={version} onChange={refresh} />
          )}
          {can.setAliases && <AliasControl version={version} onChange={refresh} />}
        </section>
      )}
      <section class="panel" aria-labelledby="description-title">
        <h2 id="description-title">Description</h2>
        <DescriptionEditor
          text={version.description}
          canWrite={can.editDescription}
          onSave={async (text) => {
            await registryApi.updateVersion(version.name, version.version, text);
            loaded.reload();
          }}
        />
      </section>
      <section class="panel" aria-labelledby="tags-title">
        <h2 id="tags-title">Tags</h2>
        <TagsEditor
          tags={version.tags}
          canWrite={can.editTags}
          onSet={async (key, value) => {
            await registryApi.setVersionTag(version.name, version.version, key, value);
            loaded.reload();
          }}
          onDelete={async (key) => {
            await registryApi.deleteVersionTag(version.name, version.version, key);
            loaded.reload();
          }}
        />
      </section>
      <AuditSection model={version.name} version={version.version} refreshKey={refreshKey} />
    </div>
  );
}
