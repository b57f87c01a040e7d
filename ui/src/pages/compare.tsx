/** Compare runs: overlaid charts and a params/metrics diff table. (Placeholder until the page lands.) */
import { PageHeader } from '../components/common.js';

export function ComparePage(props: { experimentIds: string[]; runIds: string[]; metricKeys: string[] }) {
  return <PageHeader title={`Compare ${props.runIds.length} runs`} />;
}
