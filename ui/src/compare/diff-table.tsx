/** Params and latest metrics side by side: rows are keys, columns are runs (linked to their pages). */
import { Link } from '../components/common.js';
import type { Run } from '../lib/api.js';
import { formatNumber } from '../lib/format.js';
import { type DiffModel, type DiffRow, onlyDiffering } from './diff.js';

function Rows(props: { rows: readonly DiffRow[]; numeric: boolean; group: string; width: number }) {
  const rows = props.rows;
  return (
    <tbody>
      <tr class="diff-group">
        <th scope="rowgroup" colSpan={props.width}>
          {props.group}{' '}
          {rows.length === 0 && <span class="muted small">(none{props.numeric ? '' : ''})</span>}
        </th>
      </tr>
      {rows.map((row) => (
        <tr key={row.key} class={row.differs ? 'differs' : undefined}>
          <th scope="row" class="mono">
            {row.key}
          </th>
          {row.values.map((value, i) => {
            const isMin = row.minRuns.includes(i);
            const isMax = row.maxRuns.includes(i);
            return (
              <td
                key={i}
                class={`${value === undefined ? 'missing' : ''}${isMin ? ' is-min' : ''}${isMax ? ' is-max' : ''}`}
              >
                {value === undefined ? '—' : props.numeric ? formatNumber(value) : value}
                {isMin && (
                  <span class="mark" title="lowest">
                    {' '}
                    ▼<span class="visually-hidden">lowest</span>
                  </span>
                )}
                {isMax && (
                  <span class="mark" title="highest">
                    {' '}
                    ▲<span class="visually-hidden">highest</span>
                  </span>
                )}
              </td>
            );
          })}
        </tr>
      ))}
    </tbody>
  );
}

export function DiffTable(props: { runs: readonly Run[]; diff: DiffModel; onlyDiffering: boolean }) {
  const { runs, diff } = props;
  const params = onlyDiffering(diff.params, props.onlyDiffering);
  const metrics = onlyDiffering(diff.metrics, props.onlyDiffering);
  const width = runs.length + 1;
  return (
    <div class="diff-scroll">
      <table class="grid diff-table">
        <caption class="visually-hidden">
          Parameters and latest metrics of the compared runs; rows whose values differ are highlighted.
        </caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            {runs.map((run) => (
              <th scope="col" key={run.info.run_id}>
                <Link
                  to={{
                    page: 'run',
                    experimentId: run.info.experiment_id,
                    runId: run.info.run_id,
                    tab: 'overview',
                  }}
                  title={run.info.run_id}
                >
                  {run.info.run_name || run.info.run_id.slice(0, 8)}
                </Link>
              </th>
            ))}
          </tr>
        </thead>
        <Rows rows={params} numeric={false} group="Parameters" width={width} />
        <Rows rows={metrics} numeric={true} group="Metrics (latest)" width={width} />
      </table>
    </div>
  );
}
