/**
 * The run's metrics tab: one chart per metric key, in a grid. A run may log hundreds of keys, so a chart
 * mounts (and fetches its series) only once it comes near the viewport.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { MetricChart } from '../charts/metric-chart.js';
import type { Run } from '../lib/api.js';
import { filterKeys, runLabel } from './run-model.js';

/** How far outside the viewport a chart starts loading, so scrolling rarely shows an empty frame. */
const PRELOAD_MARGIN = '300px';

function WhenNear(props: { children: ComponentChildren; placeholder: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const [near, setNear] = useState(() => typeof IntersectionObserver === 'undefined');
  useEffect(() => {
    const element = ref.current;
    if (near || !element) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) {
          setNear(true);
          observer.disconnect();
        }
      },
      { rootMargin: PRELOAD_MARGIN },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [near]);
  return (
    <div ref={ref} class="chart-cell">
      {near ? props.children : <p class="muted chart-placeholder">{props.placeholder}</p>}
    </div>
  );
}

export function MetricsTab(props: { run: Run; keys: readonly string[] }) {
  const [query, setQuery] = useState('');
  const shown = filterKeys(props.keys, query);
  const label = runLabel(props.run);
  const runId = props.run.info.run_id;
  // One array per run, so a chart does not see new props (and refetch) on every keystroke in the filter.
  const runs = useMemo(() => [{ runId, label }], [runId, label]);
  if (props.keys.length === 0) return <p class="muted">This run has logged no metrics.</p>;
  return (
    <div class="run-metrics">
      <div class="run-toolbar">
        <label>
          Filter metrics{' '}
          <input
            type="search"
            value={query}
            placeholder="key contains…"
            onInput={(event) => setQuery(event.currentTarget.value)}
          />
        </label>
        <span class="muted small" role="status">
          {shown.length === props.keys.length
            ? `${props.keys.length} metrics`
            : `${shown.length} of ${props.keys.length} metrics`}
        </span>
      </div>
      <div class="chart-grid">
        {shown.map((key) => (
          <WhenNear key={key} placeholder={key}>
            <MetricChart metricKey={key} runs={runs} />
          </WhenNear>
        ))}
      </div>
    </div>
  );
}
