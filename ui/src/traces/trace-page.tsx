/**
 * One trace: its info (state, times, run, tags, assessments, request and response previews) and its spans
 * as a tree with a waterfall of timing bars, each bar placed relative to the whole trace. Selecting a span
 * (click, or the arrow keys in the tree) shows its status and exception, times, inputs and outputs,
 * attributes and events beside the tree. The selected span is kept in the link (`?span=<hex id>`), replaced
 * rather than pushed, so walking the tree with the keys does not fill the browser's history.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ErrorBox, KeyValueTable, Link, Loading, PageHeader } from '../components/common.js';
import { api } from '../lib/api.js';
import { formatTime } from '../lib/format.js';
import { useLoad } from '../lib/hooks.js';
import { formatHash } from '../lib/route.js';
import { RunLink } from '../registry/parts.js';
import '../runs/runs.css';
import { getTrace } from './api-traces.js';
import {
  type Assessment,
  assessmentValue,
  attribute,
  attributeText,
  barOf,
  buildSpanTree,
  durationMs,
  exceptionsOf,
  formatMs,
  INPUTS_ATTRIBUTE,
  nanosToMs,
  OUTPUTS_ATTRIBUTE,
  SPAN_TYPE_ATTRIBUTE,
  type SpanNode,
  type SpanTree,
  sourceRunId,
  spanKind,
  spanStatus,
  spanType,
  stateOf,
  type TraceInfo,
  type TreeKey,
  traceName,
  treeKey,
  unquote,
  userTags,
  visibleRows,
} from './model.js';
import { StateBadge, ValueView } from './parts.js';

export function TracePage(props: { experimentId: string; traceId: string; spanId?: string }) {
  const { experimentId, traceId } = props;
  const loaded = useLoad((signal) => getTrace(traceId, signal), [traceId]);
  const experiment = useLoad(() => api.getExperiment(experimentId), [experimentId]);
  const info = loaded.data?.trace.trace_info;
  const spans = loaded.data?.trace.spans;
  const tree = useMemo(() => buildSpanTree(spans ?? []), [spans]);

  return (
    <>
      <PageHeader
        crumbs={
          <>
            <Link to={{ page: 'experiments' }}>Experiments</Link>
            <Link to={{ page: 'experiment', experimentId, tab: 'runs' }}>
              {experiment.data?.experiment.name ?? `Experiment ${experimentId}`}
            </Link>
            <Link to={{ page: 'experiment', experimentId, tab: 'traces' }}>Traces</Link>
          </>
        }
        title={info ? (traceName(info) ?? info.trace_id) : traceId}
      />
      {loaded.error && <ErrorBox error={loaded.error} onRetry={loaded.reload} />}
      {!loaded.data && loaded.loading && <Loading label="Loading trace…" />}
      {info && <TraceSummary info={info} experimentId={experimentId} />}
      {info && (
        <section class="trace-spans" aria-labelledby="spans-title">
          <h2 id="spans-title">Spans ({tree.byId.size})</h2>
          {tree.byId.size === 0 ? (
            <p class="muted">
              No spans stored for this trace
              {stateOf(info) === 'IN_PROGRESS' ? ' yet: it is still in progress.' : '.'}
            </p>
          ) : (
            <SpansView tree={tree} initialSpan={props.spanId} experimentId={experimentId} traceId={traceId} />
          )}
        </section>
      )}
    </>
  );
}

function TraceSummary(props: { info: TraceInfo; experimentId: string }) {
  const { info } = props;
  const latency = durationMs(info.execution_duration);
  const runId = sourceRunId(info);
  const tags = userTags(info.tags);
  const systemTags = Object.entries(info.tags ?? {}).filter(([key]) => key.startsWith('mlflow.'));
  const metadata = Object.entries(info.trace_metadata ?? {});
  return (
    <>
      <dl class="experiment-meta trace-meta">
        <div>
          <dt>Trace ID</dt>
          <dd class="mono">{info.trace_id}</dd>
        </div>
        <div>
          <dt>State</dt>
          <dd>
            <StateBadge state={stateOf(info)} />
          </dd>
        </div>
        <div>
          <dt>Request time</dt>
          <dd>{formatTime(info.request_time ? Date.parse(info.request_time) : undefined)}</dd>
        </div>
        {latency !== undefined && (
          <div>
            <dt>Latency</dt>
            <dd>{formatMs(latency)}</dd>
          </div>
        )}
        {runId && (
          <div>
            <dt>Run</dt>
            <dd>
              <RunLink runId={runId} />
            </dd>
          </div>
        )}
        {info.client_request_id && (
          <div>
            <dt>Client request ID</dt>
            <dd class="mono">{info.client_request_id}</dd>
          </div>
        )}
        {tags.length > 0 && (
          <div>
            <dt>Tags</dt>
            <dd>
              <ul class="tag-list" aria-label="Trace tags">
                {tags.map(([key, value]) => (
                  <li key={key}>
                    <span class="tag-key">{key}</span>
                    {value !== '' && <span class="tag-value">{value}</span>}
                  </li>
                ))}
              </ul>
            </dd>
          </div>
        )}
      </dl>
      {(info.request_preview || info.response_preview) && (
        <div class="trace-previews">
          {info.request_preview && (
            <section aria-labelledby="request-preview">
              <h3 id="request-preview">Request</h3>
              <ValueView value={info.request_preview} label="Request preview" />
            </section>
          )}
          {info.response_preview && (
            <section aria-labelledby="response-preview">
              <h3 id="response-preview">Response</h3>
              <ValueView value={info.response_preview} label="Response preview" />
            </section>
          )}
        </div>
      )}
      {(info.assessments?.length ?? 0) > 0 && <Assessments assessments={info.assessments ?? []} />}
      {(systemTags.length > 0 || metadata.length > 0) && (
        <details class="trace-system">
          <summary>MLflow tags and request metadata</summary>
          <KeyValueTable
            caption="MLflow tags"
            rows={systemTags.map(([key, value]) => ({ key, value: <span class="mono">{value}</span> }))}
          />
          <KeyValueTable
            caption="Request metadata"
            rows={metadata.map(([key, value]) => ({ key, value: <span class="mono">{value}</span> }))}
          />
        </details>
      )}
    </>
  );
}

function Assessments(props: { assessments: readonly Assessment[] }) {
  return (
    <section class="trace-assessments" aria-labelledby="assessments-title">
      <h2 id="assessments-title">Assessments ({props.assessments.length})</h2>
      <table class="grid">
        <caption class="visually-hidden">Assessments</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Kind</th>
            <th scope="col">Value</th>
            <th scope="col">Source</th>
            <th scope="col">Rationale</th>
            <th scope="col">Time</th>
          </tr>
        </thead>
        <tbody>
          {props.assessments.map((assessment, index) => (
            <tr
              key={assessment.assessment_id ?? index}
              class={assessment.valid === false ? 'overridden' : ''}
            >
              <td>
                {assessment.assessment_name}
                {assessment.valid === false && <span class="badge">overridden</span>}
              </td>
              <td>{assessment.feedback ? 'feedback' : assessment.expectation ? 'expectation' : ''}</td>
              <td class="mono assessment-value">{assessmentValue(assessment)}</td>
              <td>
                {assessment.source?.source_type?.toLowerCase().replace(/_/g, ' ')}
                {assessment.source?.source_id && (
                  <span class="muted small"> · {assessment.source.source_id}</span>
                )}
              </td>
              <td class="assessment-rationale">{assessment.rationale}</td>
              <td class="nowrap">
                {formatTime(assessment.create_time ? Date.parse(assessment.create_time) : undefined)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

const ROW_STEP = 500;
const TREE_KEYS: readonly string[] = ['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End'];

function SpansView(props: { tree: SpanTree; initialSpan?: string; experimentId: string; traceId: string }) {
  const { tree, experimentId, traceId } = props;
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const first = tree.roots[0]?.id;
  const [selected, setSelected] = useState<string | undefined>(
    props.initialSpan && tree.byId.has(props.initialSpan) ? props.initialSpan : first,
  );
  // A link to another span of this trace (back, forward, a pasted link) moves the selection.
  useEffect(() => {
    if (props.initialSpan && tree.byId.has(props.initialSpan)) setSelected(props.initialSpan);
  }, [props.initialSpan]);
  const rows = useMemo(() => visibleRows(tree, collapsed), [tree, collapsed]);
  const treeRef = useRef<HTMLDivElement>(null);
  // Rows drawn: an agent trace can hold thousands of spans, and drawing them all at once holds the page.
  const [limit, setLimit] = useState(ROW_STEP);
  const reach = (id: string) => {
    const index = rows.findIndex((row) => row.id === id);
    if (index >= limit) setLimit(Math.ceil((index + 1) / ROW_STEP) * ROW_STEP);
  };
  useEffect(() => {
    if (selected) reach(selected);
  }, [selected]);

  const select = (id: string, focus: boolean) => {
    reach(id);
    setSelected(id);
    const hash = formatHash({ page: 'trace', experimentId, traceId, spanId: id });
    if (window.location.hash !== hash) history.replaceState(history.state, '', hash);
    if (focus) {
      // After the render that makes the row the tab stop.
      requestAnimationFrame(() =>
        treeRef.current?.querySelector<HTMLElement>(`[data-span="${CSS.escape(id)}"]`)?.focus(),
      );
    }
  };
  const toggle = (id: string) => {
    const next = new Set(collapsed);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setCollapsed(next);
  };

  const node = selected ? tree.byId.get(selected) : undefined;
  // The tab stop: the selected row, or the first when the selected one is hidden in a collapsed parent.
  const tabStop = rows.some((row) => row.id === selected) ? selected : rows[0]?.id;

  return (
    <div class="spans-layout">
      <div class="span-tree-pane">
        <div class="span-tree-head small muted" aria-hidden="true">
          <span>Span</span>
          <span class="span-axis">
            <span>0</span>
            <span>{formatMs(tree.endMs - tree.startMs)}</span>
          </span>
        </div>
        <div
          class="span-tree"
          role="tree"
          aria-label="Span tree"
          ref={treeRef}
          onKeyDown={(event) => {
            if (!TREE_KEYS.includes(event.key) || !tabStop) return;
            event.preventDefault();
            const action = treeKey(rows, tabStop, event.key as TreeKey, collapsed);
            if (action.toggle) toggle(action.toggle);
            if (action.focus) select(action.focus, true);
          }}
        >
          {rows.slice(0, limit).map((row) => (
            <SpanRow
              key={row.id}
              node={row}
              tree={tree}
              selected={row.id === selected}
              tabStop={row.id === tabStop}
              expanded={row.children.length > 0 ? !collapsed.has(row.id) : undefined}
              onSelect={() => select(row.id, false)}
              onToggle={() => toggle(row.id)}
            />
          ))}
        </div>
        {rows.length > limit && (
          <p class="small muted span-more">
            Showing {limit.toLocaleString()} of {rows.length.toLocaleString()} spans.{' '}
            <button type="button" class="link-button" onClick={() => setLimit(limit + ROW_STEP)}>
              Show {Math.min(ROW_STEP, rows.length - limit).toLocaleString()} more
            </button>
          </p>
        )}
      </div>
      <div class="span-detail-pane">{node && <SpanDetail node={node} tree={tree} />}</div>
    </div>
  );
}

function SpanRow(props: {
  node: SpanNode;
  tree: SpanTree;
  selected: boolean;
  tabStop: boolean;
  expanded: boolean | undefined;
  onSelect: () => void;
  onToggle: () => void;
}) {
  const { node, tree } = props;
  const bar = barOf(node, tree);
  const status = spanStatus(node.span);
  const type = spanType(node.span);
  const duration = node.endMs - node.startMs;
  return (
    <div
      role="treeitem"
      class={`span-row${props.selected ? ' selected' : ''}${status === 'ERROR' ? ' span-error' : ''}`}
      aria-level={node.depth + 1}
      aria-selected={props.selected}
      aria-expanded={props.expanded}
      tabIndex={props.tabStop ? 0 : -1}
      data-span={node.id}
      onClick={props.onSelect}
      onKeyDown={(event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          if (props.expanded !== undefined && props.selected) props.onToggle();
          else props.onSelect();
        }
      }}
    >
      <span class="span-label" style={{ paddingLeft: `${node.depth * 14}px` }}>
        {props.expanded === undefined ? (
          <span class="span-toggle" />
        ) : (
          <button
            type="button"
            class="span-toggle"
            tabIndex={-1}
            aria-hidden="true"
            onClick={(event) => {
              event.stopPropagation();
              props.onToggle();
            }}
          >
            {props.expanded ? '▾' : '▸'}
          </button>
        )}
        <span class="span-name">{node.span.name}</span>
        {type && <span class="span-type">{type}</span>}
        {status === 'ERROR' && <span class="trace-state trace-state-ERROR">Error</span>}
      </span>
      <span class="span-track" aria-hidden="true">
        <span
          class={`span-bar span-bar-${status}`}
          style={{ left: `${bar.left}%`, width: `max(2px, ${bar.width}%)` }}
        />
      </span>
      <span class="span-duration small">{node.ended ? formatMs(duration) : 'running'}</span>
    </div>
  );
}

function SpanDetail(props: { node: SpanNode; tree: SpanTree }) {
  const { node, tree } = props;
  const { span } = node;
  const status = spanStatus(span);
  const exceptions = exceptionsOf(span);
  const inputs = attribute(span, INPUTS_ATTRIBUTE);
  const outputs = attribute(span, OUTPUTS_ATTRIBUTE);
  const shownAttributes = (span.attributes ?? []).filter(
    (kv) => kv.key !== INPUTS_ATTRIBUTE && kv.key !== OUTPUTS_ATTRIBUTE && kv.key !== SPAN_TYPE_ATTRIBUTE,
  );
  const type = spanType(span);
  const kind = spanKind(span);
  return (
    <section class="span-detail" aria-labelledby="span-detail-title">
      <h3 id="span-detail-title">
        {span.name} <StateBadge state={status} />
      </h3>
      <dl class="span-facts">
        {type && (
          <div>
            <dt>Type</dt>
            <dd>{type}</dd>
          </div>
        )}
        {kind && (
          <div>
            <dt>Kind</dt>
            <dd>{kind}</dd>
          </div>
        )}
        <div>
          <dt>Start</dt>
          <dd>
            +{formatMs(node.startMs - tree.startMs)}{' '}
            <span class="muted small nowrap">{formatTime(node.startMs)}</span>
          </dd>
        </div>
        <div>
          <dt>End</dt>
          <dd>{node.ended ? `+${formatMs(node.endMs - tree.startMs)}` : 'not ended'}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{node.ended ? formatMs(node.endMs - node.startMs) : ''}</dd>
        </div>
        <div>
          <dt>Span ID</dt>
          <dd class="mono">{node.id}</dd>
        </div>
        {node.parentId && (
          <div>
            <dt>Parent</dt>
            <dd class="mono">{node.parentId}</dd>
          </div>
        )}
      </dl>
      {(status === 'ERROR' || exceptions.length > 0) && (
        <section class="span-exception" aria-label="Error">
          {/* The client writes the status message as "Type: message", which the exception below says already. */}
          {span.status?.message &&
            !exceptions.some(
              (exception) =>
                `${exception.type ?? 'Exception'}${exception.message ? `: ${exception.message}` : ''}` ===
                span.status?.message,
            ) && <p class="error-text">{span.status.message}</p>}
          {exceptions.map((exception, index) => (
            <div key={index}>
              <p>
                <strong class="mono">{exception.type ?? 'Exception'}</strong>
                {exception.message ? `: ${exception.message}` : ''}
              </p>
              {exception.stacktrace && (
                <details>
                  <summary>Stack trace</summary>
                  <pre class="value-text">{exception.stacktrace}</pre>
                </details>
              )}
            </div>
          ))}
        </section>
      )}
      <h4>Inputs</h4>
      {inputs === undefined ? (
        <p class="muted small">None recorded.</p>
      ) : (
        <ValueView key={`${node.id}-in`} value={attributeText(inputs)} label="Span inputs" />
      )}
      <h4>Outputs</h4>
      {outputs === undefined ? (
        <p class="muted small">None recorded.</p>
      ) : (
        <ValueView key={`${node.id}-out`} value={attributeText(outputs)} label="Span outputs" />
      )}
      <h4>Attributes ({shownAttributes.length})</h4>
      <KeyValueTable
        caption="Attributes"
        rows={shownAttributes.map((kv) => {
          const text = unquote(attributeText(kv.value));
          return {
            key: kv.key,
            value:
              text.length > 300 ? (
                <ValueView key={`${node.id}-${kv.key}`} value={text} label={kv.key} />
              ) : (
                <span class="mono">{text}</span>
              ),
          };
        })}
      />
      <h4>Events ({span.events?.length ?? 0})</h4>
      {(span.events?.length ?? 0) === 0 ? (
        <p class="muted small">No events.</p>
      ) : (
        <ol class="span-events">
          {(span.events ?? []).map((event, index) => {
            const at = nanosToMs(event.time_unix_nano);
            return (
              <li key={index}>
                <strong>{event.name}</strong>
                {at !== undefined && <span class="muted small"> +{formatMs(at - tree.startMs)}</span>}
                {(event.attributes?.length ?? 0) > 0 && (
                  <KeyValueTable
                    caption={`Attributes of ${event.name}`}
                    rows={(event.attributes ?? []).map((kv) => ({
                      key: kv.key,
                      value: <span class="mono pre-wrap">{attributeText(kv.value)}</span>,
                    }))}
                  />
                )}
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
