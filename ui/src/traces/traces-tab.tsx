/**
 * An experiment's traces (a tab of the experiment page): newest first, a page at a time with the server's
 * tokens ("Load more"), filtered by MLflow's trace search grammar. The filter lives in the link
 * (`#/experiments/<id>/traces?filter=…`), so a filtered list survives a reload and can be shared; a filter
 * the server refuses shows its 400 message beside the box and leaves the last good list in place.
 */
import { useEffect, useState } from 'preact/hooks';
import { ErrorBox, Link, navigate } from '../components/common.js';
import { FilterForm } from '../components/filter-form.js';
import { ApiError } from '../lib/api.js';
import { formatSpan, formatTime } from '../lib/format.js';
import { RunLink } from '../registry/parts.js';
import { usePaged } from '../runs/use-paged.js';
import { searchTraces } from './api-traces.js';
import { durationMs, sourceRunId, stateOf, type TraceInfo, traceName, userTags } from './model.js';
import { StateBadge } from './parts.js';

const PAGE_SIZE = 50;

export function TracesTab(props: { experimentId: string; filter?: string }) {
  const { experimentId } = props;
  const filter = props.filter ?? '';
  const [filterText, setFilterText] = useState(filter);
  // Back/forward or a link changes the filter under the box: the box follows.
  useEffect(() => setFilterText(filter), [filter]);

  const traces = usePaged<TraceInfo>(
    async (token, signal) => {
      const answer = await searchTraces(
        { experimentId, filter: filter.trim() || undefined, maxResults: PAGE_SIZE, pageToken: token },
        signal,
      );
      return { items: answer.traces ?? [], next: answer.next_page_token };
    },
    [experimentId, filter],
  );

  const apply = (text: string) => {
    const trimmed = text.trim();
    navigate({ page: 'experiment', experimentId, tab: 'traces', ...(trimmed ? { filter: trimmed } : {}) });
    // The same filter again (after a failed or slow answer) asks the server again.
    if (trimmed === filter.trim()) traces.reload();
  };

  const filterError =
    traces.error && traces.queryError && traces.error instanceof ApiError && traces.error.status === 400;

  return (
    <section class="traces" aria-label="Traces">
      <FilterForm
        id="traces-filter"
        label="Filter traces"
        placeholder="trace.status = 'ERROR' and tags.env = 'prod'"
        text={filterText}
        onText={setFilterText}
        applied={filter}
        onApply={apply}
        onClear={() => apply('')}
        error={
          filterError ? (
            <>
              {traces.error?.message}{' '}
              {traces.items.length > 0 && (
                <span class="muted">
                  The list below still shows the traces of the last filter that worked.
                </span>
              )}
            </>
          ) : undefined
        }
        help={
          <>
            MLflow trace search: <code>trace.status</code>, <code>trace.name</code>,{' '}
            <code>trace.timestamp_ms</code>, <code>trace.execution_time_ms</code>, <code>trace.run_id</code>,{' '}
            <code>tags.*</code>, <code>metadata.*</code>… joined by <code>and</code>; press Enter to apply.
          </>
        }
      />

      {traces.error && !filterError && (
        <ErrorBox error={traces.error} onRetry={traces.queryError ? traces.reload : traces.loadMore} />
      )}

      <div class="runs-status small" role="status" aria-live="polite">
        {traces.initial && traces.loading
          ? 'Loading traces…'
          : `${traces.items.length.toLocaleString()} trace${traces.items.length === 1 ? '' : 's'} shown${
              traces.next ? ' · more available' : ''
            }${traces.loading ? (traces.stale ? ' · updating…' : ' · loading more…') : ''}`}
      </div>

      {!traces.initial && traces.items.length === 0 && !traces.loading && !traces.error ? (
        <p class="muted empty">
          {filter ? 'No trace matches this filter.' : 'No traces in this experiment yet.'}
        </p>
      ) : (
        traces.items.length > 0 && (
          <div class="traces-scroll">
            <table class="grid traces-table" aria-busy={traces.stale ? true : undefined}>
              <caption class="visually-hidden">Traces of experiment {experimentId}</caption>
              <thead>
                <tr>
                  <th scope="col">Trace</th>
                  <th scope="col">State</th>
                  <th scope="col">Request time</th>
                  <th scope="col" class="num">
                    Latency
                  </th>
                  <th scope="col">Request</th>
                  <th scope="col">Tags</th>
                  <th scope="col">Run</th>
                </tr>
              </thead>
              <tbody>
                {traces.items.map((info) => (
                  <TraceRow key={info.trace_id} info={info} experimentId={experimentId} />
                ))}
              </tbody>
            </table>
          </div>
        )
      )}
      {traces.next && (
        <div class="load-more">
          <button type="button" disabled={traces.loading} onClick={traces.loadMore}>
            {traces.loading && !traces.stale ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
    </section>
  );
}

function TraceRow(props: { info: TraceInfo; experimentId: string }) {
  const { info, experimentId } = props;
  const name = traceName(info);
  const latency = durationMs(info.execution_duration);
  const runId = sourceRunId(info);
  const tags = userTags(info.tags);
  return (
    <tr>
      <td>
        <Link to={{ page: 'trace', experimentId, traceId: info.trace_id }} title={info.trace_id}>
          {name ?? <span class="mono">{info.trace_id}</span>}
        </Link>
        {name && <div class="mono small muted">{info.trace_id}</div>}
      </td>
      <td>
        <StateBadge state={stateOf(info)} />
      </td>
      <td class="nowrap">{formatTime(info.request_time ? Date.parse(info.request_time) : undefined)}</td>
      <td class="num nowrap">{latency === undefined ? '' : formatSpan(latency)}</td>
      <td class="preview mono small" title={info.request_preview}>
        {(info.request_preview ?? '').slice(0, 120)}
      </td>
      <td>
        {tags.length > 0 && (
          <ul class="tag-list">
            {tags.map(([key, value]) => (
              <li key={key}>
                <span class="tag-key">{key}</span>
                {value !== '' && <span class="tag-value">{value}</span>}
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>{runId ? <RunLink runId={runId} /> : ''}</td>
    </tr>
  );
}
