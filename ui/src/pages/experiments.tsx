/** Home: the experiments list. (Placeholder until the page lands.) */
import { PageHeader } from '../components/common.js';

export function ExperimentsPage() {
  return <PageHeader title="Experiments" />;
}
