/** Registered models: search by name, the table (latest versions per stage, aliases, tags), paging, create. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorBox, Link, Loading, navigate, PageHeader } from '../components/common.js';
import { api, type RegisteredModel } from '../lib/api.js';
import { formatTime, nameFilter } from '../lib/format.js';
import { useLoad, useStored } from '../lib/hooks.js';
import { emptyModelsMessage } from '../lib/messages.js';
import { useSession } from '../lib/session.js';
import { registryApi } from '../registry/api-registry.js';
import { latestPerStage, sortedAliases } from '../registry/logic.js';
import { AliasChip, Pager, StageBadge, useAction } from '../registry/parts.js';

const PAGE_SIZE = 50;

type SortKey = 'name' | 'last_updated_timestamp';
interface Sort {
  key: SortKey;
  ascending: boolean;
}

/** A header that sorts server-side (order_by) on click; a second click reverses it. */
function SortHeader(props: { label: string; column: SortKey; sort: Sort; onSort: (sort: Sort) => void }) {
  const active = props.sort.key === props.column;
  return (
    <th scope="col" aria-sort={active ? (props.sort.ascending ? 'ascending' : 'descending') : 'none'}>
      <button
        type="button"
        class="link-button sort-button"
        onClick={() =>
          props.onSort({
            key: props.column,
            ascending: active ? !props.sort.ascending : props.column === 'name',
          })
        }
      >
        {props.label}
        {active ? (props.sort.ascending ? ' ▲' : ' ▼') : ''}
      </button>
    </th>
  );
}

function CreateModelForm(props: { onCancel: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const action = useAction();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <form
      class="panel policy-form"
      aria-label="Create a registered model"
      onSubmit={async (event) => {
        event.preventDefault();
        let created = '';
        const ok = await action.run(async () => {
          created = (await registryApi.createModel(name, description.trim() || undefined)).registered_model
            .name;
        });
        if (ok) navigate({ page: 'model', name: created });
      }}
    >
      <label class="stacked">
        Model name
        <input
          ref={input}
          value={name}
          aria-invalid={action.error ? true : undefined}
          aria-describedby={action.error ? 'create-model-error' : undefined}
          onInput={(event) => setName(event.currentTarget.value)}
        />
      </label>
      {action.error && (
        <p class="error-text" id="create-model-error" role="alert">
          {action.error.message}
        </p>
      )}
      <label class="stacked">
        Description (optional)
        <textarea
          rows={2}
          value={description}
          onInput={(event) => setDescription(event.currentTarget.value)}
        />
      </label>
      <div class="row">
        <button type="submit" class="primary" disabled={action.busy}>
          Create model
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function ModelRow(props: { model: RegisteredModel }) {
  const { model } = props;
  const aliases = sortedAliases(model.aliases);
  return (
    <tr>
      <td>
        <Link to={{ page: 'model', name: model.name }}>{model.name}</Link>
      </td>
      <td>
        <span class="chips">
          {latestPerStage(model.latest_versions ?? []).map(({ stage, version }) => (
            <Link
              key={stage}
              to={{ page: 'version', name: model.name, version: version.version }}
              title={`Latest version in ${stage}`}
            >
              Version {version.version} <StageBadge stage={stage} />
            </Link>
          ))}
        </span>
      </td>
      <td>
        <span class="chips">
          {aliases.map(({ alias, version }) => (
            <AliasChip key={alias} model={model.name} alias={alias} version={version} />
          ))}
          {aliases.length === 0 && <span class="muted">—</span>}
        </span>
      </td>
      <td class="nowrap">{formatTime(model.last_updated_timestamp)}</td>
      <td class="wrap small">
        {(model.tags ?? [])
          .filter((tag) => !tag.key.startsWith('mlflow.'))
          .map((tag) => `${tag.key}=${tag.value}`)
          .join(', ')}
      </td>
    </tr>
  );
}

export function ModelsPage() {
  const session = useSession();
  const [text, setText] = useState('');
  const [query, setQuery] = useState('');
  // Page tokens are forward-only: keep the token of every page seen so "Previous" can go back.
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const [creating, setCreating] = useState(false);
  const [sort, setSort] = useStored<Sort>('cairn.models.sort', { key: 'name', ascending: true });
  const page = tokens.length - 1;
  const loaded = useLoad(
    () =>
      api.searchRegisteredModels({
        filter: nameFilter(query),
        max_results: PAGE_SIZE,
        page_token: tokens[page],
        order_by: [`${sort.key} ${sort.ascending ? 'ASC' : 'DESC'}`],
      }),
    [query, page, sort.key, sort.ascending],
  );
  const sortBy = (next: Sort) => {
    setSort(next);
    setTokens([undefined]);
  };
  const models = loaded.data?.registered_models ?? [];
  const next = loaded.data?.next_page_token;

  return (
    <div class="registry">
      <PageHeader
        title="Registered models"
        actions={
          session.canWrite &&
          !creating && (
            <button type="button" class="primary" onClick={() => setCreating(true)}>
              Create model
            </button>
          )
        }
      />
      {creating && <CreateModelForm onCancel={() => setCreating(false)} />}
      <form
        class="registry-search"
        aria-label="Search models"
        onSubmit={(event) => {
          event.preventDefault();
          setTokens([undefined]);
          setQuery(text);
        }}
      >
        <label for="model-search">Search by name</label>
        <input
          id="model-search"
          type="search"
          value={text}
          placeholder="part of a model name"
          onInput={(event) => setText(event.currentTarget.value)}
        />
        <button type="submit">Search</button>
        {query !== '' && (
          <button
            type="button"
            class="link-button"
            onClick={() => {
              setText('');
              setQuery('');
              setTokens([undefined]);
            }}
          >
            Clear
          </button>
        )}
      </form>
      {loaded.error && <ErrorBox error={loaded.error} onRetry={loaded.reload} />}
      {loaded.loading && !loaded.data && <Loading />}
      {loaded.data && models.length === 0 && <p class="muted">{emptyModelsMessage(query, session)}</p>}
      {models.length > 0 && (
        <table class="grid">
          <caption class="visually-hidden">Registered models</caption>
          <thead>
            <tr>
              <SortHeader label="Name" column="name" sort={sort} onSort={sortBy} />
              <th scope="col">Latest versions</th>
              <th scope="col">Aliases</th>
              <SortHeader label="Last modified" column="last_updated_timestamp" sort={sort} onSort={sortBy} />
              <th scope="col">Tags</th>
            </tr>
          </thead>
          <tbody>
            {models.map((model) => (
              <ModelRow key={model.name} model={model} />
            ))}
          </tbody>
        </table>
      )}
      <Pager label="Pages" tokens={tokens} next={next} loading={loaded.loading} onTokens={setTokens} />
    </div>
  );
}
