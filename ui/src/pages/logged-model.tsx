/**
 * One logged model (MLflow 3's `log_model` output): its details, params, metrics and tags, the registered
 * versions made from it, and its files, which live under the model's own artifact root rather than under
 * the run's. `#/experiments/<experiment_id>/models/<model_id>`, the form MLflow links to.
 */
import { useMemo, useState } from 'preact/hooks';
import { ArtifactBrowser, proxiedSource } from '../artifacts/artifacts-tab.js';
import { artifactRoot } from '../artifacts/paths.js';
import { ErrorBox, KeyValueTable, Link, Loading, PageHeader } from '../components/common.js';
import { api, type LoggedModel } from '../lib/api.js';
import { formatNumber, formatTime } from '../lib/format.js';
import { useLoad } from '../lib/hooks.js';
import {
  registrationsByModelId,
  versionsFromLoggedModelsFilter,
  withListedRegistrations,
} from '../registry/logic.js';
import { RunLink } from '../registry/parts.js';
import { Section } from '../run/overview.js';
import '../run/run.css';

/** Versions registered from the model: by their `models:/<id>` source, plus any the model itself lists. */
async function registrationsOf(model: LoggedModel): Promise<{ name: string; version: string }[]> {
  const filter = versionsFromLoggedModelsFilter([model.info.model_id]);
  const found = filter
    ? registrationsByModelId((await api.searchModelVersions(filter, 1000)).model_versions ?? [])
    : new Map<string, { name: string; version: string }[]>();
  return withListedRegistrations(found, [model]).get(model.info.model_id) ?? [];
}

function Registrations(props: { model: LoggedModel }) {
  const loaded = useLoad(() => registrationsOf(props.model), [props.model.info.model_id]);
  if (loaded.error) return <ErrorBox error={loaded.error} onRetry={loaded.reload} />;
  if (!loaded.data) return <Loading />;
  if (loaded.data.length === 0) return <p class="muted">Not registered in the model registry.</p>;
  return (
    <ul class="plain-list">
      {loaded.data.map((r) => (
        <li key={`${r.name}/${r.version}`}>
          <Link to={{ page: 'version', name: r.name, version: r.version }}>
            {r.name} version {r.version}
          </Link>
        </li>
      ))}
    </ul>
  );
}

function Metrics(props: { model: LoggedModel }) {
  const metrics = props.model.data?.metrics ?? [];
  if (metrics.length === 0) return <p class="muted">No metrics.</p>;
  return (
    <table class="grid">
      <caption class="visually-hidden">Metrics</caption>
      <thead>
        <tr>
          <th scope="col">Metric</th>
          <th scope="col">Value</th>
          <th scope="col">Step</th>
        </tr>
      </thead>
      <tbody>
        {metrics.map((metric, i) => (
          <tr key={`${metric.key}/${i}`}>
            <th scope="row">{metric.key}</th>
            <td>{formatNumber(metric.value)}</td>
            <td>{metric.step ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Files(props: { model: LoggedModel }) {
  const { info } = props.model;
  // A model's root is `<exp>/models/<id>/artifacts`: the run form's fallback with `models/<id>` as the run.
  const root = artifactRoot(info.artifact_uri, info.experiment_id, `models/${info.model_id}`);
  const source = useMemo(() => proxiedSource(root, 'This model has no files yet.'), [root]);
  const [selected, setSelected] = useState<string>();
  return <ArtifactBrowser source={source} selected={selected} onSelect={setSelected} />;
}

export function LoggedModelPage(props: { experimentId: string; modelId: string }) {
  const loaded = useLoad((signal) => api.getLoggedModel(props.modelId, signal), [props.modelId]);
  const model = loaded.data?.model;
  // The model's own experiment wins over the one in the link.
  const experimentId = model?.info.experiment_id ?? props.experimentId;
  const experiment = useLoad(async () => (await api.getExperiment(experimentId)).experiment, [experimentId]);

  if (loaded.error && !model) return <ErrorBox error={loaded.error} onRetry={loaded.reload} />;
  if (!model) return <Loading label="Loading logged model…" />;
  const { info, data } = model;
  const status = (info.status ?? '').replace(/^LOGGED_MODEL_/, '');
  return (
    <div class="run-page">
      <PageHeader
        crumbs={
          <>
            <Link to={{ page: 'experiments' }}>Experiments</Link>
            <Link to={{ page: 'experiment', experimentId, tab: 'runs' }}>
              {experiment.data?.name ?? `Experiment ${experimentId}`}
            </Link>
            <Link to={{ page: 'experiment', experimentId, tab: 'models' }}>Logged models</Link>
            <span aria-current="page">{info.name}</span>
          </>
        }
        title={
          <>
            {info.name} {status && <span class={`status status-${status}`}>{status}</span>}
          </>
        }
      />
      <p class="run-id muted small">
        Model ID <code>{info.model_id}</code>
      </p>
      <Section title="Details" id="lm-details">
        <KeyValueTable
          caption="Details"
          rows={[
            { key: 'Created', value: formatTime(info.creation_timestamp_ms) },
            { key: 'Last updated', value: formatTime(info.last_updated_timestamp_ms) },
            { key: 'Source run', value: info.source_run_id ? <RunLink runId={info.source_run_id} /> : '—' },
            { key: 'Model type', value: info.model_type || '—' },
            { key: 'Artifact location', value: <code>{info.artifact_uri ?? ''}</code> },
          ]}
        />
      </Section>
      <Section title="Files" id="lm-files">
        <Files model={model} />
      </Section>
      <Section title="Parameters" id="lm-params">
        <KeyValueTable
          caption="Parameters"
          rows={(data?.params ?? []).map((param) => ({ key: param.key, value: param.value }))}
        />
      </Section>
      <Section title="Metrics" id="lm-metrics">
        <Metrics model={model} />
      </Section>
      <Section title="Tags" id="lm-tags">
        <KeyValueTable
          caption="Tags"
          rows={(info.tags ?? []).map((tag) => ({ key: tag.key, value: tag.value }))}
        />
      </Section>
      <Section title="Registered versions" id="lm-versions">
        <Registrations model={model} />
      </Section>
    </div>
  );
}
