/** One run: overview, metric charts, artifacts. (Placeholder until the page lands.) */
import { PageHeader } from '../components/common.js';
import type { RunTab } from '../lib/route.js';

export function RunPage(props: { experimentId: string; runId: string; tab: RunTab; artifactPath?: string }) {
  return <PageHeader title={`Run ${props.runId}`} />;
}
