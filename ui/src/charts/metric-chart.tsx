/**
 * One metric of one or more runs, drawn with uPlot from the server's min/max/last envelope (placeholder
 * until the charts land). The run page and the compare page both use it.
 */
export interface ChartRun {
  runId: string;
  /** Legend label, usually the run name. */
  label: string;
}

export interface MetricChartProps {
  metricKey: string;
  runs: readonly ChartRun[];
  height?: number;
}

export function MetricChart(props: MetricChartProps) {
  return (
    <figure class="metric-chart">
      <figcaption>{props.metricKey}</figcaption>
    </figure>
  );
}
