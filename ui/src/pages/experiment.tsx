/** One experiment: its runs table, and its logged models. (Placeholder until the page lands.) */
import { PageHeader } from '../components/common.js';
import type { ExperimentTab } from '../lib/route.js';

export function ExperimentPage(props: { experimentId: string; tab: ExperimentTab }) {
  return <PageHeader title={`Experiment ${props.experimentId}`} />;
}
