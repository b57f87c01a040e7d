/**
 * One metric of one or more runs, drawn with uPlot from min/max/last envelopes: per run a line through each
 * bucket's last value and a shaded min–max band, so a one-step spike stays visible at any zoom. Drag-select
 * zooms and re-asks the server for the selected steps (the previous request aborted); double-click or
 * "Reset zoom" goes back. The run page and the compare page both use it.
 */
import 'uplot/dist/uPlot.min.css';
import './charts.css';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { ErrorBox } from '../components/common.js';
import { formatNumber, formatSpan, formatTime } from '../lib/format.js';
import { fetchEnvelopes, type StepRange } from './api-charts.js';
import { bucketsForWidth, type Envelope } from './envelope.js';
import { colorOf, dashOf } from './palette.js';
import {
  buildPlotData,
  type ChartSettings,
  DEFAULT_SETTINGS,
  stepRangeForX,
  timeBaseOf,
} from './plot-data.js';
import { ChartControls } from './settings.js';

export interface ChartRun {
  runId: string;
  /** Legend label, usually the run name. */
  label: string;
}

export interface MetricChartProps {
  metricKey: string;
  runs: readonly ChartRun[];
  height?: number;
  /** Shared settings (the compare page passes one for all its charts); without it the chart has its own. */
  settings?: ChartSettings;
}

interface Loaded {
  envelopes: Envelope[];
  range: StepRange | null;
}

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value === '' ? fallback : value;
}

/** Re-renders when the OS switches between light and dark, so axes are redrawn in the new colours. */
function useColorScheme(): boolean {
  const query = useMemo(() => window.matchMedia?.('(prefers-color-scheme: dark)'), []);
  const [dark, setDark] = useState(() => query?.matches ?? false);
  useEffect(() => {
    if (!query) return;
    const onChange = () => setDark(query.matches);
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, [query]);
  return dark;
}

function formatX(value: number, settings: ChartSettings): string {
  if (settings.xAxis === 'wall') return formatTime(value * 1000);
  if (settings.xAxis === 'relative') return formatSpan(value * 1000);
  return `step ${value}`;
}

export function MetricChart(props: MetricChartProps) {
  // A chart's own controls change that chart only, for this visit: one chart's log scale must not
  // silently turn up on every other chart (the compare page's shared settings are remembered there).
  const [ownSettings, setOwnSettings] = useState<ChartSettings>(DEFAULT_SETTINGS);
  const settings = props.settings ?? ownSettings;
  const height = props.height ?? 260;
  const host = useRef<HTMLDivElement>(null);
  const figure = useRef<HTMLElement>(null);
  const plot = useRef<uPlot | null>(null);
  const arrivedAt = useRef<number | null>(null);
  const timeBases = useRef(new Map<string, number>());
  const [width, setWidth] = useState(0);
  const [range, setRange] = useState<StepRange | null>(null);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [hover, setHover] = useState<number | null>(null);
  const [attempt, setAttempt] = useState(0);
  const dark = useColorScheme();

  const runIdsKey = props.runs.map((run) => run.runId).join(',');
  const buckets = bucketsForWidth(width);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    setWidth(element.clientWidth);
    const observer = new ResizeObserver((entries) => {
      const next = entries[0]?.contentRect.width ?? 0;
      setWidth(Math.floor(next));
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    if (width === 0) return;
    const controller = new AbortController();
    setLoading(true);
    const runIds = runIdsKey === '' ? [] : runIdsKey.split(',');
    fetchEnvelopes(runIds, props.metricKey, buckets, range ?? undefined, controller.signal).then(
      (envelopes) => {
        if (controller.signal.aborted) return;
        // Relative time counts from the run's first point, measured on the unzoomed view so zooming in
        // does not move the origin.
        if (range === null) {
          for (const envelope of envelopes) {
            if (envelope.buckets.length > 0)
              timeBases.current.set(envelope.runId, timeBaseOf(envelope.buckets));
          }
        }
        arrivedAt.current = performance.now();
        setLoaded({ envelopes, range });
        setError(null);
        setLoading(false);
      },
      (failure: unknown) => {
        if (controller.signal.aborted) return;
        setError(failure instanceof Error ? failure : new Error(String(failure)));
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [runIdsKey, props.metricKey, buckets, range, attempt, width === 0]);

  const runBuckets = useMemo(
    () =>
      (loaded?.envelopes ?? []).map((envelope) => ({
        runId: envelope.runId,
        buckets: envelope.buckets,
        timeBase: timeBases.current.get(envelope.runId),
      })),
    [loaded],
  );
  const data = useMemo(() => buildPlotData(runBuckets, settings), [runBuckets, settings]);

  // Read inside uPlot's hooks, which are created once per chart and must see the latest state.
  const latest = useRef({ runBuckets, settings, setRange });
  latest.current = { runBuckets, settings, setRange };

  useEffect(() => {
    const element = host.current;
    if (!element || data.runsWithData === 0 || width === 0) return;
    const axisColor = cssVar('--muted', '#5d6670');
    const gridColor = cssVar('--border', '#d8dde3');
    const series: uPlot.Series[] = [{}];
    const bands: uPlot.Band[] = [];
    const columns: (number | null)[][] = [];
    props.runs.forEach((run, i) => {
      const color = colorOf(i);
      const base = 1 + 3 * i;
      // A metric logged once (or a few times) has no line to draw: mark its points instead.
      const sparse = (runBuckets.find((entry) => entry.runId === run.runId)?.buckets.length ?? 0) <= 30;
      series.push(
        {
          label: run.label,
          stroke: color,
          width: 1.5,
          dash: dashOf(i),
          spanGaps: true,
          points: sparse ? { show: true, size: 6, fill: color, stroke: color } : { show: false },
        },
        {
          label: `${run.label} max`,
          stroke: 'transparent',
          width: 0,
          spanGaps: true,
          points: { show: false },
        },
        {
          label: `${run.label} min`,
          stroke: 'transparent',
          width: 0,
          spanGaps: true,
          points: { show: false },
        },
      );
      bands.push({ series: [base + 1, base + 2], fill: `${color}4d` });
      columns.push(data.lines[i] ?? [], data.maxs[i] ?? [], data.mins[i] ?? []);
    });
    const axis = (extra: Partial<uPlot.Axis>): uPlot.Axis => ({
      stroke: axisColor,
      grid: { stroke: gridColor, width: 1 },
      ticks: { stroke: gridColor, width: 1 },
      ...extra,
    });
    const xAxis = settings.xAxis;
    const options: uPlot.Options = {
      width: element.clientWidth,
      height,
      series,
      bands,
      legend: { show: false },
      scales: {
        x: { time: xAxis === 'wall' },
        y: settings.logY ? { distr: 3 } : {},
      },
      axes: [
        axis(
          xAxis === 'relative'
            ? { values: (_u, splits) => splits.map((value) => formatSpan(value * 1000)) }
            : {},
        ),
        axis({ size: 60, values: (_u, splits) => splits.map((value) => formatNumber(value)) }),
      ],
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const x0 = u.posToVal(u.select.left, 'x');
            const x1 = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            const current = latest.current;
            const next = stepRangeForX(current.runBuckets, current.settings.xAxis, x0, x1);
            if (!next) return;
            // Shown at once from the buckets in hand; the re-query then fills in the detail.
            u.setScale('x', { min: x0, max: x1 });
            current.setRange(next);
          },
        ],
        setCursor: [
          (u) => {
            const idx = u.cursor.idx ?? null;
            setHover((previous) => (previous === idx ? previous : idx));
          },
        ],
        draw: [
          () => {
            const started = arrivedAt.current;
            if (started === null) return;
            arrivedAt.current = null;
            figure.current?.setAttribute('data-draw-ms', (performance.now() - started).toFixed(1));
          },
        ],
      },
    };
    const chart = new uPlot(options, [data.x, ...columns], element);
    const onDoubleClick = () => latest.current.setRange(null);
    chart.over.addEventListener('dblclick', onDoubleClick);
    plot.current = chart;
    return () => {
      chart.over.removeEventListener('dblclick', onDoubleClick);
      chart.destroy();
      plot.current = null;
    };
    // The chart is rebuilt when its data or look changes; a width change alone only resizes it (below).
  }, [data, height, dark, width === 0]);

  useEffect(() => {
    if (plot.current && width > 0) plot.current.setSize({ width, height });
  }, [width, height]);

  const notes: string[] = [];
  if (data.clippedInfinite > 0) {
    notes.push(`${data.clippedInfinite} ±Infinity values drawn at the edge of the finite range.`);
  }
  if (data.hiddenNonPositive > 0) {
    notes.push(`${data.hiddenNonPositive} values ≤ 0 not shown on the log scale.`);
  }
  if (data.skippedNaN > 0) notes.push(`${data.skippedNaN} NaN values skipped.`);
  const totalPoints = loaded?.envelopes.reduce((sum, envelope) => sum + envelope.totalPoints, 0) ?? 0;
  const noData = loaded !== null && data.runsWithData === 0;
  const hoverX = hover === null ? undefined : data.x[hover];

  return (
    <figure class="metric-chart" ref={figure} aria-busy={loading}>
      <figcaption>
        <span class="metric-chart-title">{props.metricKey}</span>
        {range && (
          <span class="muted small">
            steps {range.start}–{range.end}{' '}
            <button type="button" class="link-button" onClick={() => setRange(null)}>
              Reset zoom
            </button>
          </span>
        )}
        {loading && <span class="muted small">Loading…</span>}
      </figcaption>
      {!props.settings && <ChartControls settings={ownSettings} onChange={setOwnSettings} />}
      {error && <ErrorBox error={error} onRetry={() => setAttempt((value) => value + 1)} />}
      <div
        class="metric-chart-plot"
        ref={host}
        style={{ minHeight: `${height}px` }}
        role="img"
        aria-label={`Chart of ${props.metricKey} for ${props.runs.length} run${props.runs.length === 1 ? '' : 's'}${range ? `, steps ${range.start} to ${range.end}` : ''}`}
      >
        {noData && <p class="metric-chart-empty muted">No data for {props.metricKey}.</p>}
      </div>
      {notes.length > 0 && <p class="metric-chart-note small muted">{notes.join(' ')}</p>}
      {!noData && loaded && (
        <ul class="metric-chart-legend" aria-label={`Legend for ${props.metricKey}`}>
          {hoverX !== undefined && <li class="legend-x muted">{formatX(hoverX, settings)}</li>}
          {props.runs.map((run, i) => {
            const envelope = loaded.envelopes[i];
            const value = hover === null ? undefined : data.lines[i]?.[hover];
            return (
              <li key={run.runId}>
                <span class="swatch" style={{ background: colorOf(i) }} aria-hidden="true" />
                <span class="legend-label">{run.label}</span>
                {envelope && envelope.buckets.length === 0 ? (
                  <span class="muted small">no data</span>
                ) : (
                  value !== undefined &&
                  value !== null && <span class="legend-value">{formatNumber(value)}</span>
                )}
              </li>
            );
          })}
          <li class="muted small legend-points">
            {totalPoints.toLocaleString()} {totalPoints === 1 ? 'point' : 'points'} · drag to zoom
          </li>
        </ul>
      )}
    </figure>
  );
}
