/** The run's overview tab: facts, description, params, latest metrics, tags, inputs/outputs, relatives. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ErrorBox, KeyValueTable, Link } from '../components/common.js';
import { api, type Run } from '../lib/api.js';
import { formatDuration, formatNumber, formatTime } from '../lib/format.js';
import { useLoad } from '../lib/hooks.js';
import { childRuns, versionsOfRun } from './api-run.js';
import { datasetRows, filterPairs, modelLinks, runFacts, runLabel, splitTags } from './run-model.js';

/** Above this many params the table gets a search box. */
const PARAM_SEARCH_FROM = 10;

/** A titled section of a run-like page (run overview, logged model), with an optional count. */
export function Section(props: { title: string; id: string; children: ComponentChildren; count?: number }) {
  return (
    <section class="run-section" aria-labelledby={props.id}>
      <h2 id={props.id}>
        {props.title}
        {props.count !== undefined && <span class="muted count"> ({props.count})</span>}
      </h2>
      {props.children}
    </section>
  );
}

function SearchBox(props: { label: string; value: string; onInput: (value: string) => void }) {
  return (
    <input
      type="search"
      class="run-search"
      aria-label={props.label}
      placeholder={props.label}
      value={props.value}
      onInput={(event) => props.onInput(event.currentTarget.value)}
    />
  );
}

function Facts(props: { run: Run; experimentId: string }) {
  const { run } = props;
  const facts = runFacts(run);
  const rows: { key: string; value: ComponentChildren }[] = [
    { key: 'Status', value: run.info.status },
    { key: 'Started', value: formatTime(run.info.start_time) || '—' },
    { key: 'Ended', value: formatTime(run.info.end_time) || '—' },
    { key: 'Duration', value: formatDuration(run.info.start_time, run.info.end_time) || '—' },
    { key: 'User', value: facts.user ?? '—' },
    {
      key: 'Source',
      value: facts.sourceName ? (
        <>
          <code>{facts.sourceName}</code>
          {facts.sourceType && <span class="muted"> ({facts.sourceType.toLowerCase()})</span>}
        </>
      ) : (
        '—'
      ),
    },
  ];
  if (facts.gitCommit) {
    rows.push({
      key: 'Git commit',
      value: <code title={facts.gitCommit}>{facts.gitCommit.slice(0, 12)}</code>,
    });
  }
  rows.push({ key: 'Lifecycle', value: run.info.lifecycle_stage });
  if (facts.parentRunId) {
    rows.push({
      key: 'Parent run',
      value: (
        <Link
          to={{ page: 'run', experimentId: props.experimentId, runId: facts.parentRunId, tab: 'overview' }}
        >
          <ParentName runId={facts.parentRunId} />
        </Link>
      ),
    });
  }
  return <KeyValueTable caption="Run details" rows={rows} />;
}

/** The parent's name when it can be read, else its id. */
function ParentName(props: { runId: string }) {
  const parent = useLoad(() => api.getRun(props.runId), [props.runId]);
  return <>{parent.data ? runLabel(parent.data.run) : props.runId}</>;
}

function Params(props: { run: Run }) {
  const [query, setQuery] = useState('');
  const params = [...(props.run.data.params ?? [])].sort((a, b) => (a.key < b.key ? -1 : 1));
  const shown = filterPairs(params, query);
  return (
    <Section title="Parameters" id="run-params" count={params.length}>
      {params.length > PARAM_SEARCH_FROM && (
        <SearchBox label="Search parameters" value={query} onInput={setQuery} />
      )}
      {params.length > 0 && shown.length === 0 ? (
        <p class="muted">No parameter matches “{query}”.</p>
      ) : (
        <KeyValueTable caption="Parameters" rows={shown.map((p) => ({ key: p.key, value: p.value }))} />
      )}
    </Section>
  );
}

function Metrics(props: { run: Run; experimentId: string }) {
  const [query, setQuery] = useState('');
  const metrics = [...(props.run.data.metrics ?? [])].sort((a, b) => (a.key < b.key ? -1 : 1));
  const shown = filterPairs(metrics, query);
  return (
    <Section title="Metrics" id="run-metrics" count={metrics.length}>
      {metrics.length > PARAM_SEARCH_FROM && (
        <SearchBox label="Search metrics" value={query} onInput={setQuery} />
      )}
      {metrics.length === 0 ? (
        <p class="muted">No metrics.</p>
      ) : (
        <table class="grid run-table">
          <caption class="visually-hidden">Latest metrics</caption>
          <thead>
            <tr>
              <th scope="col">Metric</th>
              <th scope="col">Latest value</th>
              <th scope="col">Step</th>
              <th scope="col">Logged</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((metric) => (
              <tr key={metric.key}>
                <th scope="row">
                  <Link
                    to={{
                      page: 'run',
                      experimentId: props.experimentId,
                      runId: props.run.info.run_id,
                      tab: 'metrics',
                    }}
                    title={`Charts of ${metric.key}`}
                  >
                    {metric.key}
                  </Link>
                </th>
                <td class="num" title={String(metric.value)}>
                  {formatNumber(metric.value)}
                </td>
                <td class="num">{String(metric.step)}</td>
                <td>{formatTime(metric.timestamp)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function Tags(props: { run: Run }) {
  const { user, system } = splitTags(props.run.data.tags);
  return (
    <Section title="Tags" id="run-tags" count={user.length}>
      <KeyValueTable caption="Tags" rows={user.map((tag) => ({ key: tag.key, value: tag.value }))} />
      {system.length > 0 && (
        <details class="system-tags">
          <summary>System tags ({system.length})</summary>
          <KeyValueTable
            caption="System tags"
            rows={system.map((tag) => ({ key: tag.key, value: tag.value }))}
          />
        </details>
      )}
    </Section>
  );
}

function Datasets(props: { run: Run }) {
  const rows = datasetRows(props.run);
  if (rows.length === 0) return null;
  return (
    <Section title="Datasets" id="run-datasets" count={rows.length}>
      <table class="grid run-table">
        <caption class="visually-hidden">Datasets used by this run</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Digest</th>
            <th scope="col">Source type</th>
            <th scope="col">Context</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={`${row.name}/${row.digest}/${i}`}>
              <th scope="row">{row.name}</th>
              <td>
                <code>{row.digest}</code>
              </td>
              <td>{row.sourceType}</td>
              <td>{row.context}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function LoggedModelName(props: { modelId: string; experimentId: string }) {
  const model = useLoad((signal) => api.getLoggedModel(props.modelId, signal), [props.modelId]);
  const info = model.data?.model.info;
  return (
    <>
      <Link
        to={{
          page: 'logged-model',
          experimentId: info?.experiment_id ?? props.experimentId,
          modelId: props.modelId,
        }}
      >
        {info?.name ?? props.modelId}
      </Link>
      {info && <code class="muted small"> {props.modelId}</code>}
      {model.error && <span class="muted small"> (details unavailable: {model.error.message})</span>}
    </>
  );
}

function LoggedModels(props: { run: Run; experimentId: string }) {
  const links = modelLinks(props.run);
  if (links.length === 0) return null;
  return (
    <Section title="Logged models" id="run-models" count={links.length}>
      <ul class="plain-list">
        {links.map((link) => (
          <li key={link.modelId}>
            <LoggedModelName modelId={link.modelId} experimentId={props.experimentId} />{' '}
            <span class="muted small">
              {link.role === 'output' ? 'logged by this run' : 'used by this run'}
              {link.step !== undefined ? ` at step ${link.step}` : ''}
            </span>
          </li>
        ))}
      </ul>
    </Section>
  );
}

function RegisteredVersions(props: { runId: string }) {
  const versions = useLoad(() => versionsOfRun(props.runId), [props.runId]);
  if (versions.error) {
    return (
      <Section title="Registered model versions" id="run-versions">
        <ErrorBox error={versions.error} onRetry={versions.reload} />
      </Section>
    );
  }
  if (!versions.data || versions.data.length === 0) return null;
  return (
    <Section title="Registered model versions" id="run-versions" count={versions.data.length}>
      <ul class="plain-list">
        {versions.data.map((version) => (
          <li key={`${version.name}/${version.version}`}>
            <Link to={{ page: 'version', name: version.name, version: version.version }}>
              {version.name} v{version.version}
            </Link>
            {version.current_stage && version.current_stage !== 'None' && (
              <span class="muted small"> {version.current_stage}</span>
            )}
            {(version.aliases ?? []).map((alias) => (
              <span key={alias} class="alias small">
                @{alias}
              </span>
            ))}
          </li>
        ))}
      </ul>
    </Section>
  );
}

function Children(props: { run: Run; experimentId: string }) {
  const children = useLoad(
    (signal) => childRuns(props.experimentId, props.run.info.run_id, 200, signal),
    [props.experimentId, props.run.info.run_id],
  );
  if (children.error) {
    return (
      <Section title="Child runs" id="run-children">
        <ErrorBox error={children.error} onRetry={children.reload} />
      </Section>
    );
  }
  if (children.loading && !children.data) return null;
  if (!children.data || children.data.runs.length === 0) return null;
  return (
    <Section title="Child runs" id="run-children" count={children.data.runs.length}>
      <ul class="plain-list child-runs">
        {children.data.runs.map((child) => (
          <li key={child.info.run_id}>
            <Link
              to={{
                page: 'run',
                experimentId: props.experimentId,
                runId: child.info.run_id,
                tab: 'overview',
              }}
            >
              {runLabel(child)}
            </Link>{' '}
            <span class={`status status-${child.info.status}`}>{child.info.status}</span>
          </li>
        ))}
      </ul>
      {children.data.more && (
        <p class="muted small">
          Showing the first {children.data.runs.length};{' '}
          <Link to={{ page: 'experiment', experimentId: props.experimentId, tab: 'runs' }}>
            see all in the runs table
          </Link>
          .
        </p>
      )}
    </Section>
  );
}

export function Overview(props: { run: Run; experimentId: string }) {
  const { run, experimentId } = props;
  const { description } = runFacts(run);
  return (
    <div class="run-overview">
      <div class="run-column">
        <Section title="Details" id="run-details">
          <Facts run={run} experimentId={experimentId} />
        </Section>
        <Section title="Description" id="run-description">
          {description ? (
            // Plain text on purpose: a note is user input and is never parsed as HTML or Markdown here.
            <p class="run-description">{description}</p>
          ) : (
            <p class="muted">No description.</p>
          )}
        </Section>
        <Params run={run} />
        <Tags run={run} />
      </div>
      <div class="run-column">
        <Metrics run={run} experimentId={experimentId} />
        <Datasets run={run} />
        <LoggedModels run={run} experimentId={experimentId} />
        <RegisteredVersions runId={run.info.run_id} />
        <Children run={run} experimentId={experimentId} />
      </div>
    </div>
  );
}
