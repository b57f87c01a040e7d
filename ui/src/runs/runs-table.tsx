/**
 * The runs table of an experiment. Built for 10,000 runs: pages of 500 by next_page_token as the
 * viewport nears the end (infinite scroll), and only the rows in view (plus overscan) are in the DOM,
 * in a fixed-row-height scroll box with a sticky header. Sorting and filtering are the server's
 * (order_by, MLflow's filter grammar), so they work on every run, not only the loaded ones.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ErrorBox, Link, navigate } from '../components/common.js';
import { FilterForm } from '../components/filter-form.js';
import { ApiError, api } from '../lib/api.js';
import { formatDuration, formatNumber, formatTime } from '../lib/format.js';
import { useStored } from '../lib/hooks.js';
import { useSession } from '../lib/session.js';
import { ColumnChooser } from './column-chooser.js';
import {
  addKeys,
  columnId,
  DEFAULT_SORT,
  defaultColumns,
  type Entity,
  emptyKeys,
  entityOf,
  type KeyColumn,
  nextSort,
  orderByClause,
  type RunRow,
  type SortSpec,
  sameColumn,
  toggleColumn,
  toRow,
} from './columns.js';
import { ConfirmDialog } from './dialog.js';
import { flattenTree } from './tree.js';
import { usePaged } from './use-paged.js';
import { type ViewType, ViewTypeSelect } from './view-type.js';
import { nearEnd, visibleWindow } from './virtual.js';
import './runs.css';

const PAGE_SIZE = 500;
const ROW_HEIGHT = 32;
const OVERSCAN = 12;
/** Fetch the next page when the viewport is this many rows from the end of what is loaded. */
const PREFETCH_ROWS = 150;
const COMPARE_LIMIT = 100;

interface FixedColumn {
  id: string;
  label: string;
  width: number;
  sort?: { entity: Entity; key: string };
  cell: (row: RunRow) => string;
}

const FIXED: readonly FixedColumn[] = [
  {
    id: 'status',
    label: 'Status',
    width: 104,
    sort: { entity: 'attributes', key: 'status' },
    cell: (r) => r.status,
  },
  {
    id: 'start',
    label: 'Started',
    width: 176,
    sort: { entity: 'attributes', key: 'start_time' },
    cell: (r) => formatTime(r.start),
  },
  {
    id: 'duration',
    label: 'Duration',
    width: 90,
    cell: (r) => (r.status === 'RUNNING' && !r.end ? 'running' : formatDuration(r.start, r.end)),
  },
  {
    id: 'user',
    label: 'User',
    width: 100,
    // The tag, not attributes.user_id: it is what the cell shows when both exist (the client sets both).
    sort: { entity: 'tags', key: 'mlflow.user' },
    cell: (r) => r.user,
  },
  {
    id: 'source',
    label: 'Source',
    width: 120,
    sort: { entity: 'tags', key: 'mlflow.source.name' },
    cell: (r) => r.source,
  },
];
const CHECK_WIDTH = 40;
const NAME_WIDTH = 240;
const KEY_WIDTH = 130;

function keyCell(row: RunRow, column: KeyColumn): string {
  if (column.kind === 'param') return row.params.get(column.key) ?? '';
  if (column.kind === 'tag') return row.tags.get(column.key) ?? '';
  const value = row.metrics.get(column.key);
  return value === undefined ? '' : formatNumber(value);
}

const KIND_LABEL = { param: 'param', metric: 'metric', tag: 'tag' } as const;

/** Runs `work` over `items` with at most `limit` requests in flight; the first failure is rethrown. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function SortHeader(props: {
  label: string;
  title?: string;
  entity: Entity;
  sortKey: string;
  sort: SortSpec;
  onSort: (entity: Entity, key: string) => void;
  hint?: string;
}) {
  const active = sameColumn(props.sort, props.entity, props.sortKey);
  return (
    <th
      scope="col"
      aria-sort={active ? (props.sort.ascending ? 'ascending' : 'descending') : 'none'}
      title={props.title}
    >
      <button
        type="button"
        class={props.hint ? 'sort-button stacked' : 'sort-button'}
        onClick={() => props.onSort(props.entity, props.sortKey)}
      >
        {props.hint && <span class="kind">{props.hint}</span>}
        <span class="label">{props.label}</span>
        <span class="arrow" aria-hidden="true">
          {active ? (props.sort.ascending ? '▲' : '▼') : ''}
        </span>
      </button>
    </th>
  );
}

/**
 * `canChangeRuns`: whether the caller may delete and restore this experiment's runs (EDIT on it, issue 16);
 * the scope decides when the page does not say.
 */
export function RunsTable(props: { experimentId: string; canChangeRuns?: boolean }) {
  const { experimentId } = props;
  const session = useSession();
  const canChangeRuns = props.canChangeRuns ?? session.canWrite;
  const [filterText, setFilterText] = useState('');
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<SortSpec>(DEFAULT_SORT);
  const [view, setView] = useState<ViewType>('ACTIVE_ONLY');
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [confirm, setConfirm] = useState<'delete' | 'restore'>();
  const [stored, setStored] = useStored<KeyColumn[] | null>(`cairn.runs.columns.${experimentId}`, null);

  const orderBy = orderByClause(sort);
  const runs = usePaged<RunRow>(
    async (token, signal) => {
      const answer = await api.searchRuns(
        {
          experiment_ids: [experimentId],
          filter: filter.trim() || undefined,
          run_view_type: view,
          max_results: PAGE_SIZE,
          order_by: [orderBy],
          page_token: token,
        },
        signal,
      );
      return { items: (answer.runs ?? []).map(toRow), next: answer.next_page_token };
    },
    [experimentId, filter, orderBy, view],
  );

  // Keys grow page by page; only the runs added since the last look are scanned.
  const seenRef = useRef({ keys: emptyKeys(), items: [] as RunRow[], version: 0 });
  const seen = seenRef.current;
  if (seen.items !== runs.items) {
    const appended = runs.items.length >= seen.items.length && runs.items[0] === seen.items[0];
    const fresh = appended ? runs.items.slice(seen.items.length) : runs.items;
    if (addKeys(seen.keys, fresh)) seen.version += 1;
    seen.items = runs.items;
  }
  const columns = useMemo(() => stored ?? defaultColumns(seen.keys), [stored, seen.version]);

  const flat = useMemo(
    () =>
      flattenTree(
        runs.items,
        (row) => row.id,
        (row) => row.parentId,
        collapsed,
      ),
    [runs.items, collapsed],
  );
  const byId = useMemo(() => new Map(runs.items.map((row) => [row.id, row])), [runs.items]);

  // Virtual scrolling.
  const scroller = useRef<HTMLDivElement>(null);
  const head = useRef<HTMLTableSectionElement>(null);
  const [viewport, setViewport] = useState({ top: 0, height: 600 });
  useEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const measure = () => setViewport({ top: element.scrollTop, height: element.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, [runs.initial]);
  const headerHeight = head.current?.offsetHeight ?? ROW_HEIGHT;
  const span = visibleWindow(viewport.top, viewport.height, ROW_HEIGHT, flat.length, OVERSCAN, headerHeight);

  useEffect(() => {
    if (runs.next && !runs.loading && !runs.error && nearEnd(span, flat.length, PREFETCH_ROWS))
      runs.loadMore();
  }, [span.last, flat.length, runs.next, runs.loading, runs.error]);

  // A new sort or filter starts at the top of the new order.
  useEffect(() => {
    if (scroller.current) scroller.current.scrollTop = 0;
  }, [filter, orderBy, view]);

  const onSort = (entity: Entity, key: string) => setSort(nextSort(sort, entity, key));

  const allLoadedSelected = runs.items.length > 0 && runs.items.every((row) => selected.has(row.id));
  const someSelected = selected.size > 0 && !allLoadedSelected;
  const selectAll = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (selectAll.current) selectAll.current.indeterminate = someSelected;
  }, [someSelected]);

  const toggleSelected = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const selectedRows = [...selected].map((id) => byId.get(id)).filter((row) => row !== undefined);
  const deletable = selectedRows.filter((row) => !row.deleted);
  const restorable = selectedRows.filter((row) => row.deleted);
  const tooMany = selected.size > COMPARE_LIMIT;

  const filterError =
    runs.error && runs.queryError && runs.error instanceof ApiError && runs.error.status === 400;
  const tableWidth =
    CHECK_WIDTH + NAME_WIDTH + FIXED.reduce((sum, c) => sum + c.width, 0) + columns.length * KEY_WIDTH;
  const colCount = 2 + FIXED.length + columns.length;

  return (
    <section class="runs" aria-label="Runs">
      <FilterForm
        id="runs-filter"
        label="Filter runs"
        placeholder="metrics.loss < 0.5 and params.max_depth = '3'"
        text={filterText}
        onText={setFilterText}
        applied={filter}
        onApply={setFilter}
        onClear={() => {
          setFilterText('');
          setFilter('');
        }}
        error={
          filterError ? (
            <>
              {runs.error?.message}{' '}
              <span class="muted">The table below still shows the runs of the last filter that worked.</span>
            </>
          ) : undefined
        }
        help={
          <>
            MLflow search syntax: <code>metrics.*</code>, <code>params.*</code>, <code>tags.*</code>,{' '}
            <code>attributes.status</code>… joined by <code>and</code>; press Enter to apply.
          </>
        }
      />

      <div class="toolbar">
        <ViewTypeSelect value={view} onChange={setView} label="Show runs" />
        <ColumnChooser
          seen={seen.keys}
          columns={columns}
          customised={stored !== null}
          onToggle={(column) => setStored(toggleColumn(columns, column))}
          onReset={() => setStored(null)}
        />
        <span class="spacer" />
        {tooMany && (
          <span class="warn-text small" role="status">
            Compare takes at most {COMPARE_LIMIT} runs; {selected.size} are selected.
          </span>
        )}
        <button
          type="button"
          class="primary"
          disabled={selected.size === 0 || tooMany}
          onClick={() =>
            navigate({
              page: 'compare',
              experimentIds: [experimentId],
              runIds: [...selected],
              metricKeys: [],
            })
          }
        >
          Compare ({selected.size})
        </button>
        {canChangeRuns && view !== 'DELETED_ONLY' && (
          <button
            type="button"
            class="danger"
            disabled={deletable.length === 0}
            onClick={() => setConfirm('delete')}
          >
            Delete ({deletable.length})
          </button>
        )}
        {canChangeRuns && view !== 'ACTIVE_ONLY' && (
          <button type="button" disabled={restorable.length === 0} onClick={() => setConfirm('restore')}>
            Restore ({restorable.length})
          </button>
        )}
      </div>

      {runs.error && !filterError && (
        <ErrorBox error={runs.error} onRetry={runs.queryError ? runs.reload : runs.loadMore} />
      )}

      <div class="runs-status small" role="status" aria-live="polite">
        {runs.initial && runs.loading
          ? 'Loading runs…'
          : `${runs.items.length.toLocaleString()} run${runs.items.length === 1 ? '' : 's'} loaded${
              runs.next ? ' · more available' : ''
            }${runs.loading ? (runs.stale ? ' · updating…' : ' · loading more…') : ''}`}
        {runs.next && !runs.loading && (
          <button type="button" class="link-button" onClick={runs.loadMore}>
            Load more
          </button>
        )}
      </div>

      {!runs.initial && runs.items.length === 0 && !runs.loading ? (
        <p class="muted empty">{filter ? 'No run matches this filter.' : 'No runs in this view.'}</p>
      ) : (
        <div
          class="runs-scroll"
          ref={scroller}
          onScroll={(event) =>
            setViewport({ top: event.currentTarget.scrollTop, height: event.currentTarget.clientHeight })
          }
        >
          <table
            class={`runs-table${runs.stale && runs.loading ? ' stale' : ''}`}
            style={{ width: `${tableWidth}px` }}
            aria-rowcount={flat.length + 1}
            aria-busy={runs.loading}
          >
            <caption class="visually-hidden">Runs of experiment {experimentId}</caption>
            <colgroup>
              <col style={{ width: `${CHECK_WIDTH}px` }} />
              <col style={{ width: `${NAME_WIDTH}px` }} />
              {FIXED.map((column) => (
                <col key={column.id} style={{ width: `${column.width}px` }} />
              ))}
              {columns.map((column) => (
                <col key={columnId(column)} style={{ width: `${KEY_WIDTH}px` }} />
              ))}
            </colgroup>
            <thead ref={head}>
              <tr aria-rowindex={1}>
                <th scope="col" class="check">
                  <input
                    ref={selectAll}
                    type="checkbox"
                    aria-label="Select all loaded runs"
                    checked={allLoadedSelected}
                    onChange={() =>
                      setSelected(allLoadedSelected ? new Set() : new Set(runs.items.map((r) => r.id)))
                    }
                  />
                </th>
                <SortHeader
                  label="Run name"
                  entity="attributes"
                  sortKey="run_name"
                  sort={sort}
                  onSort={onSort}
                />
                {FIXED.map((column) =>
                  column.sort ? (
                    <SortHeader
                      key={column.id}
                      label={column.label}
                      entity={column.sort.entity}
                      sortKey={column.sort.key}
                      sort={sort}
                      onSort={onSort}
                    />
                  ) : (
                    <th key={column.id} scope="col">
                      <span class="plain-header">{column.label}</span>
                    </th>
                  ),
                )}
                {columns.map((column) => (
                  <SortHeader
                    key={columnId(column)}
                    label={column.key}
                    hint={KIND_LABEL[column.kind]}
                    title={`${entityOf(column.kind)}.${column.key}`}
                    entity={entityOf(column.kind)}
                    sortKey={column.key}
                    sort={sort}
                    onSort={onSort}
                  />
                ))}
              </tr>
            </thead>
            <tbody>
              {span.first > 0 && (
                <tr class="spacer" style={{ height: `${span.first * ROW_HEIGHT}px` }}>
                  <td colSpan={colCount} />
                </tr>
              )}
              {flat.slice(span.first, span.last).map((node, offset) => {
                const row = node.item;
                const index = span.first + offset;
                const isSelected = selected.has(row.id);
                return (
                  <tr
                    key={row.id}
                    aria-rowindex={index + 2}
                    aria-level={node.depth + 1}
                    class={`${isSelected ? 'selected' : ''}${row.deleted ? ' deleted' : ''}`}
                  >
                    <td class="check">
                      <input
                        type="checkbox"
                        aria-label={`Select ${row.name}`}
                        checked={isSelected}
                        onChange={() => toggleSelected(row.id)}
                      />
                    </td>
                    <td class="name" style={{ paddingLeft: `${8 + node.depth * 18}px` }}>
                      {node.childCount > 0 ? (
                        <button
                          type="button"
                          class="toggle"
                          aria-expanded={node.expanded}
                          aria-label={`${node.expanded ? 'Collapse' : 'Expand'} ${node.childCount} child run${node.childCount === 1 ? '' : 's'} of ${row.name}`}
                          onClick={() => {
                            const next = new Set(collapsed);
                            if (next.has(row.id)) next.delete(row.id);
                            else next.add(row.id);
                            setCollapsed(next);
                          }}
                        >
                          {node.expanded ? '▾' : '▸'}
                        </button>
                      ) : (
                        <span class="toggle-space" />
                      )}
                      <Link
                        to={{ page: 'run', experimentId, runId: row.id, tab: 'overview' }}
                        title={row.name}
                      >
                        {row.name}
                      </Link>
                      {node.childCount > 0 && !node.expanded && (
                        <span class="muted small"> ({node.childCount})</span>
                      )}
                      {row.deleted && <span class="badge">deleted</span>}
                    </td>
                    <td>
                      <span class={`status status-${row.status}`}>{row.status}</span>
                    </td>
                    {FIXED.slice(1).map((column) => (
                      <td key={column.id} title={column.cell(row)}>
                        {column.cell(row)}
                      </td>
                    ))}
                    {columns.map((column) => {
                      const text = keyCell(row, column);
                      return (
                        <td key={columnId(column)} class={column.kind === 'metric' ? 'num' : ''} title={text}>
                          {text}
                        </td>
                      );
                    })}
                  </tr>
                );
              })}
              {span.last < flat.length && (
                <tr class="spacer" style={{ height: `${(flat.length - span.last) * ROW_HEIGHT}px` }}>
                  <td colSpan={colCount} />
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}

      {confirm && (
        <ConfirmDialog
          title={confirm === 'delete' ? 'Delete runs' : 'Restore runs'}
          message={
            <p>
              {confirm === 'delete'
                ? `Delete ${deletable.length} run${deletable.length === 1 ? '' : 's'}? They stay restorable from the Deleted view.`
                : `Restore ${restorable.length} run${restorable.length === 1 ? '' : 's'}?`}
            </p>
          }
          confirmLabel={confirm === 'delete' ? 'Delete' : 'Restore'}
          danger={confirm === 'delete'}
          onClose={() => setConfirm(undefined)}
          onConfirm={async () => {
            const rows = confirm === 'delete' ? deletable : restorable;
            try {
              await eachLimited(rows, 6, (row) =>
                confirm === 'delete' ? api.deleteRun(row.id) : api.restoreRun(row.id),
              );
              setSelected(new Set());
            } finally {
              // Some may have gone through before one failed: the table shows what is now true.
              runs.reload();
            }
          }}
        />
      )}
    </section>
  );
}
