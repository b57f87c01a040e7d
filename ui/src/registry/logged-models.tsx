/**
 * The logged models of an experiment (a tab of the experiment page): name, id, status, created, source run,
 * the registered versions made from each, params and metrics counts; paging by the server's tokens.
 */
import { useState } from 'preact/hooks';
import { ErrorBox, Link, Loading } from '../components/common.js';
import { api, type LoggedModel } from '../lib/api.js';
import { formatTime } from '../lib/format.js';
import { useLoad } from '../lib/hooks.js';
import { registrationsByModelId, versionsFromLoggedModelsFilter, withListedRegistrations } from './logic.js';
import { Pager, RunLink } from './parts.js';

const PAGE_SIZE = 50;

interface LoggedModelsPage {
  models: LoggedModel[];
  next?: string;
  registrations: Map<string, { name: string; version: string }[]>;
}

async function loadPage(experimentId: string, pageToken: string | undefined): Promise<LoggedModelsPage> {
  const answer = await api.searchLoggedModels({
    experiment_ids: [experimentId],
    max_results: PAGE_SIZE,
    page_token: pageToken,
  });
  const models = answer.models ?? [];
  // Registrations: one version search for the whole page, by the versions' `models:/<id>` sources.
  const filter = versionsFromLoggedModelsFilter(models.map((model) => model.info.model_id));
  let registrations = new Map<string, { name: string; version: string }[]>();
  if (filter) {
    try {
      registrations = registrationsByModelId(
        (await api.searchModelVersions(filter, 1000)).model_versions ?? [],
      );
    } catch {
      // A token that cannot read the registry still sees the logged models.
    }
  }
  withListedRegistrations(registrations, models);
  return { models, registrations, ...(answer.next_page_token ? { next: answer.next_page_token } : {}) };
}

export function LoggedModelsTab(props: { experimentId: string }) {
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const page = tokens.length - 1;
  const loaded = useLoad(() => loadPage(props.experimentId, tokens[page]), [props.experimentId, page]);
  const models = loaded.data?.models ?? [];
  const next = loaded.data?.next;
  return (
    <section class="registry" aria-label="Logged models">
      {loaded.error && <ErrorBox error={loaded.error} onRetry={loaded.reload} />}
      {loaded.loading && !loaded.data && <Loading />}
      {loaded.data && models.length === 0 && <p class="muted">No logged models in this experiment.</p>}
      {models.length > 0 && (
        <table class="grid">
          <caption class="visually-hidden">Logged models</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Model ID</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Source run</th>
              <th scope="col">Registered versions</th>
              <th scope="col">Params</th>
              <th scope="col">Metrics</th>
            </tr>
          </thead>
          <tbody>
            {models.map(({ info, data }) => (
              <tr key={info.model_id}>
                <td>
                  <Link
                    to={{ page: 'logged-model', experimentId: info.experiment_id, modelId: info.model_id }}
                  >
                    {info.name}
                  </Link>
                </td>
                <td class="mono small">{info.model_id}</td>
                <td>{(info.status ?? '').replace(/^LOGGED_MODEL_/, '')}</td>
                <td class="nowrap">{formatTime(info.creation_timestamp_ms)}</td>
                <td>{info.source_run_id ? <RunLink runId={info.source_run_id} /> : ''}</td>
                <td>
                  <span class="chips">
                    {(loaded.data?.registrations.get(info.model_id) ?? []).map((r) => (
                      <Link
                        key={`${r.name}/${r.version}`}
                        to={{ page: 'version', name: r.name, version: r.version }}
                      >
                        {r.name} v{r.version}
                      </Link>
                    ))}
                  </span>
                </td>
                <td>{data?.params?.length ?? 0}</td>
                <td>{data?.metrics?.length ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager
        label="Logged model pages"
        tokens={tokens}
        next={next}
        loading={loaded.loading}
        onTokens={setTokens}
      />
    </section>
  );
}
