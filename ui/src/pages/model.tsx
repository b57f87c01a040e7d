/** One registered model: description, tags, aliases, versions, promotion policies and their audit trail. */
import { useState } from 'preact/hooks';
import { ErrorBox, FormAlerts, Link, Loading, navigate, PageHeader } from '../components/common.js';
import { PermissionsPanel } from '../components/permissions-panel.js';
import { api, type ModelVersion, type RegisteredModel } from '../lib/api.js';
import { formatTime } from '../lib/format.js';
import { useLoad } from '../lib/hooks.js';
import { modelActions } from '../lib/permissions.js';
import { useSession } from '../lib/session.js';
import { LevelBadge, useStanding } from '../lib/standing.js';
import { registryApi } from '../registry/api-registry.js';
import {
  aliasesByVersion,
  aliasProblem,
  loggedModelIdOf,
  sortedAliases,
  stageOf,
  versionsOfModelFilter,
} from '../registry/logic.js';
import {
  AliasChip,
  DescriptionEditor,
  LoggedModelLink,
  Pager,
  RunLink,
  StageBadge,
  TagsEditor,
  useAction,
} from '../registry/parts.js';
import { AuditSection, PoliciesSection } from '../registry/promotion.js';

const VERSIONS_PAGE = 50;

function AliasesSection(props: { model: RegisteredModel; canWrite: boolean; onChange: () => void }) {
  const [alias, setAlias] = useState('');
  const [version, setVersion] = useState('');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const action = useAction();
  const aliases = sortedAliases(props.model.aliases);
  return (
    <section class="panel" aria-labelledby="aliases-title">
      <h2 id="aliases-title">Aliases</h2>
      {aliases.length === 0 ? (
        <p class="muted">No aliases.</p>
      ) : (
        <table class="grid compact">
          <thead>
            <tr>
              <th scope="col">Alias</th>
              <th scope="col">Version</th>
              {props.canWrite && (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {aliases.map((entry) => (
              <tr key={entry.alias}>
                <td>
                  <AliasChip model={props.model.name} alias={entry.alias} />
                </td>
                <td>
                  <Link to={{ page: 'version', name: props.model.name, version: entry.version }}>
                    Version {entry.version}
                  </Link>
                </td>
                {props.canWrite && (
                  <td>
                    <button
                      type="button"
                      class="link-button danger"
                      disabled={action.busy}
                      onClick={async () => {
                        if (!window.confirm(`Remove alias @${entry.alias}?`)) return;
                        if (await action.run(() => registryApi.deleteAlias(props.model.name, entry.alias))) {
                          props.onChange();
                        }
                      }}
                    >
                      Remove<span class="visually-hidden"> alias {entry.alias}</span>
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.canWrite && (
        <form
          class="row inline-form"
          aria-label="Set an alias"
          onSubmit={async (event) => {
            event.preventDefault();
            const name = alias.trim();
            const found =
              aliasProblem(name) ?? (/^\d+$/.test(version.trim()) ? undefined : 'Give a version number.');
            setProblem(found);
            if (found) return;
            if (await action.run(() => registryApi.setAlias(props.model.name, name, version.trim()))) {
              setAlias('');
              setVersion('');
              props.onChange();
            }
          }}
        >
          <label>
            Alias <input value={alias} onInput={(event) => setAlias(event.currentTarget.value)} />
          </label>
          <label>
            Version{' '}
            <input
              value={version}
              inputMode="numeric"
              size={6}
              onInput={(event) => setVersion(event.currentTarget.value)}
            />
          </label>
          <button type="submit" disabled={action.busy}>
            Set alias
          </button>
        </form>
      )}
      <FormAlerts problem={problem} refused={action.error} />
    </section>
  );
}

function SourceCell(props: { version: ModelVersion }) {
  const modelId = loggedModelIdOf(props.version);
  return (
    <span class="chips">
      {props.version.run_id && (
        <span>
          run <RunLink runId={props.version.run_id} />
        </span>
      )}
      {modelId && (
        <span>
          model <LoggedModelLink modelId={modelId} />
        </span>
      )}
      {!props.version.run_id && !modelId && <span class="mono small">{props.version.source}</span>}
    </span>
  );
}

function VersionsSection(props: { model: RegisteredModel; refreshKey: number }) {
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const page = tokens.length - 1;
  const loaded = useLoad(
    () =>
      api.searchModelVersions(versionsOfModelFilter(props.model.name), VERSIONS_PAGE, tokens[page], [
        'version_number DESC',
      ]),
    [props.model.name, page, props.refreshKey],
  );
  const versions = loaded.data?.model_versions ?? [];
  const next = loaded.data?.next_page_token;
  const byVersion = aliasesByVersion(props.model.aliases);
  return (
    <section class="panel" aria-labelledby="versions-title">
      <h2 id="versions-title">Versions</h2>
      {loaded.error && <ErrorBox error={loaded.error} onRetry={loaded.reload} />}
      {loaded.loading && !loaded.data && <Loading />}
      {loaded.data && versions.length === 0 && <p class="muted">No versions yet.</p>}
      {versions.length > 0 && (
        <table class="grid">
          <caption class="visually-hidden">Versions of {props.model.name}</caption>
          <thead>
            <tr>
              <th scope="col" aria-sort="descending">
                Version
              </th>
              <th scope="col">Stage</th>
              <th scope="col">Aliases</th>
              <th scope="col">Created</th>
              <th scope="col">Source</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((version) => (
              <tr key={version.version}>
                <td>
                  <Link to={{ page: 'version', name: props.model.name, version: version.version }}>
                    Version {version.version}
                  </Link>
                </td>
                <td>
                  <StageBadge stage={stageOf(version)} />
                </td>
                <td>
                  <span class="chips">
                    {(byVersion.get(version.version) ?? version.aliases ?? []).map((alias) => (
                      <AliasChip key={alias} model={props.model.name} alias={alias} />
                    ))}
                  </span>
                </td>
                <td class="nowrap">{formatTime(version.creation_timestamp)}</td>
                <td>
                  <SourceCell version={version} />
                </td>
                <td>{version.status ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager
        label="Version pages"
        tokens={tokens}
        next={next}
        loading={loaded.loading}
        onTokens={setTokens}
      />
    </section>
  );
}

function RenameForm(props: { name: string; onCancel: () => void }) {
  const [newName, setNewName] = useState(props.name);
  const action = useAction();
  return (
    <form
      class="row inline-form"
      aria-label="Rename the model"
      onSubmit={async (event) => {
        event.preventDefault();
        let renamed = '';
        const ok = await action.run(async () => {
          renamed = (await registryApi.renameModel(props.name, newName)).registered_model.name;
        });
        if (ok) navigate({ page: 'model', name: renamed });
      }}
    >
      <label>
        New name <input value={newName} onInput={(event) => setNewName(event.currentTarget.value)} />
      </label>
      <button type="submit" class="primary" disabled={action.busy || newName === props.name}>
        Rename
      </button>
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
      {action.error && (
        <p class="error-text" role="alert">
          {action.error.message}
        </p>
      )}
    </form>
  );
}

export function ModelPage(props: { name: string }) {
  const loaded = useLoad(() => api.getRegisteredModel(props.name), [props.name]);
  const standing = useStanding('registered_model', props.name);
  const session = useSession();
  const can = modelActions(standing);
  const [renaming, setRenaming] = useState(false);
  // Bumped after an alias write: it changes the versions' aliases and adds to the audit trail.
  const [refreshKey, setRefreshKey] = useState(0);
  const deletion = useAction();
  const model = loaded.data?.registered_model;
  const refresh = () => {
    loaded.reload();
    setRefreshKey((key) => key + 1);
  };

  const crumbs = <Link to={{ page: 'models' }}>Registered models</Link>;
  if (loaded.error && !model) {
    return (
      <div class="registry">
        <PageHeader title={props.name} crumbs={crumbs} />
        <ErrorBox error={loaded.error} onRetry={loaded.reload} />
      </div>
    );
  }
  if (!model) return <Loading />;
  return (
    <div class="registry">
      <PageHeader
        title={model.name}
        crumbs={crumbs}
        actions={
          <>
            <LevelBadge standing={standing} kind="registered_model" />
            {can.rename && !renaming && (
              <button type="button" onClick={() => setRenaming(true)}>
                Rename
              </button>
            )}
            {can.delete && !renaming && (
              <button
                type="button"
                class="danger"
                disabled={deletion.busy}
                onClick={async () => {
                  if (
                    !window.confirm(
                      `Delete model '${model.name}' and all its versions? This cannot be undone.`,
                    )
                  ) {
                    return;
                  }
                  if (await deletion.run(() => registryApi.deleteModel(model.name)))
                    navigate({ page: 'models' });
                }}
              >
                Delete model
              </button>
            )}
          </>
        }
      />
      {renaming && <RenameForm name={model.name} onCancel={() => setRenaming(false)} />}
      {deletion.error && <ErrorBox error={deletion.error} />}
      <dl class="meta-grid">
        <dt>Created</dt>
        <dd>{formatTime(model.creation_timestamp)}</dd>
        <dt>Last modified</dt>
        <dd>{formatTime(model.last_updated_timestamp)}</dd>
      </dl>
      <section class="panel" aria-labelledby="description-title">
        <h2 id="description-title">Description</h2>
        <DescriptionEditor
          text={model.description}
          canWrite={can.editDescription}
          onSave={async (text) => {
            await registryApi.updateModel(model.name, text);
            loaded.reload();
          }}
        />
      </section>
      <section class="panel" aria-labelledby="tags-title">
        <h2 id="tags-title">Tags</h2>
        <TagsEditor
          tags={model.tags}
          canWrite={can.editTags}
          onSet={async (key, value) => {
            await registryApi.setModelTag(model.name, key, value);
            loaded.reload();
          }}
          onDelete={async (key) => {
            await registryApi.deleteModelTag(model.name, key);
            loaded.reload();
          }}
        />
      </section>
      <AliasesSection model={model} canWrite={can.setAliases} onChange={refresh} />
      <VersionsSection model={model} refreshKey={refreshKey} />
      <PoliciesSection model={model.name} canEdit={can.editPolicies} />
      {standing.auth && can.managePermissions && (
        <PermissionsPanel
          kind="registered_model"
          resource={model.name}
          onChanged={(user) => {
            if (user === session.name) standing.reload();
          }}
        />
      )}
      <AuditSection model={model.name} refreshKey={refreshKey} />
    </div>
  );
}
